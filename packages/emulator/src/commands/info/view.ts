/**
 * The system as the info commands see it: files under a root directory (`/` by default) and
 * the facts of this process that a child inherits (credentials, uname, auxv). Unit tests point
 * a view at a fake tree; everything else reads the live system.
 *
 * Text is read as byte strings (latin1: one JS char per byte) so any bytes round-trip exactly.
 */
import * as fs from 'node:fs'
import type * as Os from 'node:os'
import * as path from 'node:path'

/** The uname(2) fields, as byte strings. */
export interface UnameFields {
  readonly sysname: string
  readonly nodename: string
  readonly release: string
  readonly version: string
  readonly machine: string
}

/** What a child inherits from this process, besides the files it can read. */
export interface ProcessFacts {
  /** Real uid/gid of this process (the child's unless spawn's uid/gid say otherwise). */
  uid(): number
  gid(): number
  /** Effective uid/gid of this process (a child keeps both pairs unless spawn's uid/gid set them). */
  euid(): number
  egid(): number
  /** Supplementary groups of this process, as getgroups(2) lists them. */
  groups(): readonly number[]
  /** uname(2) of this process (the child inherits the UTS namespace and personality). */
  uname(): UnameFields | undefined
  /** The auxiliary vector of this process: AT_* type → value (kernel constants live here). */
  auxv(): ReadonlyMap<number, bigint> | undefined
}

export interface SystemView {
  /** The root the system paths are read under (`/` for the live system). */
  readonly root: string
  readonly process: ProcessFacts
  /** Absolute host path of a system path (`/etc/passwd` → `<root>/etc/passwd`). */
  hostPath(p: string): string
  readFile(p: string): Buffer | undefined
  /** File contents as a byte string, or undefined when it cannot be read. */
  readText(p: string): string | undefined
  /** stat (following symlinks), or undefined when it fails. */
  stat(p: string): fs.Stats | undefined
  lstat(p: string): fs.Stats | undefined
  readlink(p: string): string | undefined
  /** The canonical system path (symlinks resolved inside the root). */
  realpath(p: string): string | undefined
  readdir(p: string): fs.Dirent[] | undefined
  /** access(2) with this process's credentials. */
  access(p: string, mode: number): boolean
  /**
   * Parse a file once and reuse the result while the file is unchanged (same device, inode,
   * size, mtime and ctime). `undefined` when the file cannot be read; the parser may return
   * `undefined` too (an unusable file), which is cached the same way.
   */
  parsed<T>(kind: string, p: string, parse: (data: Buffer) => T | undefined): T | undefined
  /** A value computed once per view (facts that cannot change while this process lives). */
  once<T>(key: string, compute: () => T): T
}

export interface SystemViewOptions {
  /** Directory holding the fake `/proc`, `/sys`, `/etc`, `/usr` trees. Default `/`. */
  readonly root?: string
  /** Replace some or all process facts (tests). */
  readonly process?: Partial<ProcessFacts>
}

const AT_NULL = 0

/** Parse a native-endian 64-bit auxv image into a map (last entry of a type wins). */
export function parseAuxv(data: Buffer): Map<number, bigint> | undefined {
  if (data.length % 16 !== 0) return undefined
  const out = new Map<number, bigint>()
  for (let off = 0; off + 16 <= data.length; off += 16) {
    const type = data.readBigUInt64LE(off)
    if (type === BigInt(AT_NULL)) return out
    if (type > 0xffffffffn) return undefined
    out.set(Number(type), data.readBigUInt64LE(off + 8))
  }
  return out
}

/** Parse `Uid:`/`Gid:`/`Groups:` out of a /proc/<pid>/status text. */
export function parseStatusIds(status: string): { uid: number; gid: number; groups: number[] } | undefined {
  const uid = /^Uid:\t(\d+)\t/m.exec(status)
  const gid = /^Gid:\t(\d+)\t/m.exec(status)
  const groups = /^Groups:\t?([^\n]*)$/m.exec(status)
  if (uid === null || gid === null || groups === null) return undefined
  const list = groups[1]!.trim()
  return {
    uid: Number(uid[1]),
    gid: Number(gid[1]),
    groups: list === '' ? [] : list.split(/\s+/).map(Number),
  }
}

interface CacheEntry {
  dev: number
  ino: number
  size: number
  mtimeMs: number
  ctimeMs: number
  value: unknown
}

function liveUname(): UnameFields {
  // node:os is required here, on the first uname: a first exec that needs no uname fact does
  // not pay for a builtin module it would load for the first time (~0.5 ms, its ESM facade).
  const os = require('node:os') as typeof Os
  return {
    sysname: os.type(),
    nodename: Buffer.from(os.hostname(), 'utf8').toString('latin1'),
    release: os.release(),
    version: os.version(),
    machine: os.machine(),
  }
}

class FileSystemView implements SystemView {
  readonly root: string
  readonly process: ProcessFacts
  private readonly fileCache = new Map<string, CacheEntry>()
  private readonly onceCache = new Map<string, unknown>()

  constructor(options: SystemViewOptions) {
    this.root = path.resolve(options.root ?? '/')
    const live = this.root === '/'
    const base: ProcessFacts = live ? this.liveFacts() : this.treeFacts()
    this.process = { ...base, ...options.process }
  }

  hostPath(p: string): string {
    return this.root === '/' ? p : path.join(this.root, p)
  }

  readFile(p: string): Buffer | undefined {
    try {
      return fs.readFileSync(this.hostPath(p))
    } catch {
      return undefined
    }
  }

  readText(p: string): string | undefined {
    return this.readFile(p)?.toString('latin1')
  }

  stat(p: string): fs.Stats | undefined {
    try {
      return fs.statSync(this.hostPath(p), { throwIfNoEntry: false })
    } catch {
      return undefined
    }
  }

  lstat(p: string): fs.Stats | undefined {
    try {
      return fs.lstatSync(this.hostPath(p), { throwIfNoEntry: false })
    } catch {
      return undefined
    }
  }

  readlink(p: string): string | undefined {
    try {
      return fs.readlinkSync(this.hostPath(p))
    } catch {
      return undefined
    }
  }

  realpath(p: string): string | undefined {
    try {
      const real = fs.realpathSync(this.hostPath(p))
      if (this.root === '/') return real
      const rel = path.relative(this.root, real)
      return rel.startsWith('..') ? undefined : '/' + rel
    } catch {
      return undefined
    }
  }

  readdir(p: string): fs.Dirent[] | undefined {
    try {
      return fs.readdirSync(this.hostPath(p), { withFileTypes: true })
    } catch {
      return undefined
    }
  }

  access(p: string, mode: number): boolean {
    try {
      fs.accessSync(this.hostPath(p), mode)
      return true
    } catch {
      return false
    }
  }

  parsed<T>(kind: string, p: string, parse: (data: Buffer) => T | undefined): T | undefined {
    const st = this.stat(p)
    const key = kind + '\0' + p
    if (st === undefined) {
      this.fileCache.delete(key)
      return undefined
    }
    const hit = this.fileCache.get(key)
    if (
      hit !== undefined &&
      hit.dev === st.dev &&
      hit.ino === st.ino &&
      hit.size === st.size &&
      hit.mtimeMs === st.mtimeMs &&
      hit.ctimeMs === st.ctimeMs
    ) {
      return hit.value as T | undefined
    }
    const data = this.readFile(p)
    if (data === undefined) return undefined
    const value = parse(data)
    this.fileCache.set(key, {
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      value,
    })
    return value
  }

  once<T>(key: string, compute: () => T): T {
    if (this.onceCache.has(key)) return this.onceCache.get(key) as T
    const value = compute()
    this.onceCache.set(key, value)
    return value
  }

  private liveFacts(): ProcessFacts {
    return {
      uid: () => process.getuid?.() ?? -1,
      gid: () => process.getgid?.() ?? -1,
      euid: () => process.geteuid?.() ?? -1,
      egid: () => process.getegid?.() ?? -1,
      groups: () => process.getgroups?.() ?? [],
      uname: () => liveUname(),
      auxv: () => this.once('auxv', () => {
        const data = this.readFile('/proc/self/auxv')
        return data === undefined ? undefined : parseAuxv(data)
      }),
    }
  }

  /** Facts of a fake tree: /proc/self/{status,auxv} and /proc/sys/kernel/*. */
  private treeFacts(): ProcessFacts {
    const ids = () => {
      const status = this.readText('/proc/self/status')
      return status === undefined ? undefined : parseStatusIds(status)
    }
    const kernel = (name: string) => this.readText('/proc/sys/kernel/' + name)?.replace(/\n$/, '')
    return {
      uid: () => ids()?.uid ?? -1,
      gid: () => ids()?.gid ?? -1,
      euid: () => ids()?.uid ?? -1,
      egid: () => ids()?.gid ?? -1,
      groups: () => ids()?.groups ?? [],
      uname: () => {
        const fields = [kernel('ostype'), kernel('hostname'), kernel('osrelease'), kernel('version'), kernel('arch')]
        if (fields.some((f) => f === undefined)) return undefined
        const [sysname, nodename, release, version, machine] = fields as string[]
        return { sysname: sysname!, nodename: nodename!, release: release!, version: version!, machine: machine! }
      },
      auxv: () => {
        const data = this.readFile('/proc/self/auxv')
        return data === undefined ? undefined : parseAuxv(data)
      },
    }
  }
}

/** A view of the system under `root` (default `/`, the live system). */
export function createSystemView(options: SystemViewOptions = {}): SystemView {
  return new FileSystemView(options)
}

let liveView: SystemView | undefined

/**
 * The shared view of the live system. Creating it reads nothing: every fact is read (and
 * cached) when a command first needs it.
 */
export function liveSystemView(): SystemView {
  liveView ??= createSystemView()
  return liveView
}
