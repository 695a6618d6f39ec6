/**
 * Which program would run: the system binary for a command name, what its file contains, and
 * (on dpkg systems) which unmodified package build it is. Behaviour that differs between builds
 * of the same program (`uname -p` is `unknown` on Debian, the machine name on Fedora) is only
 * reproduced for builds it was verified against.
 */
import type * as Crypto from 'node:crypto'
import type { SystemView } from './view'

const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin']

/*
 * Program files are identified once per file identity (device, inode, size, mtime, ctime):
 * each call stats the file, and a package upgrade that replaces it (a new inode) has it read
 * and identified again; the read itself is not repeated while the file is unchanged.
 */

/** The path of the system binary named `name` (first of /usr/bin, /bin, /usr/sbin, /sbin). */
export function systemBinary(view: SystemView, name: string): string | undefined {
  return view.once('system binary\0' + name, () => {
    for (const dir of SYSTEM_DIRS) {
      const p = dir + '/' + name
      if (view.stat(p)?.isFile() === true) return p
    }
    return undefined
  })
}

/** Whether the file holds each marker byte string. */
export function fileMarkers(view: SystemView, path: string, markers: readonly string[]): boolean[] | undefined {
  return view.parsed('markers\0' + markers.join('\0'), path, (data) =>
    markers.map((m) => data.includes(Buffer.from(m, 'latin1'))),
  )
}

/** True when the system binary `name` exists and holds every marker. */
export function binaryHas(view: SystemView, name: string, markers: readonly string[]): boolean {
  const p = systemBinary(view, name)
  if (p === undefined) return false
  const found = fileMarkers(view, p, markers)
  return found !== undefined && found.every(Boolean)
}

interface DpkgPackage {
  readonly version: string
  readonly architecture: string
}

const DPKG_STATUS = '/var/lib/dpkg/status'

/** Installed packages; `null` for a name installed for several architectures. */
function parseDpkgStatus(data: Buffer): Map<string, DpkgPackage | null> {
  const out = new Map<string, DpkgPackage | null>()
  for (const stanza of data.toString('latin1').split(/\n\n+/)) {
    const field = (name: string) => new RegExp('^' + name + ': ([^\\n]*)$', 'm').exec(stanza)?.[1]
    const pkg = field('Package')
    const status = field('Status')
    const version = field('Version')
    const architecture = field('Architecture')
    if (pkg === undefined || version === undefined || architecture === undefined) continue
    if (status !== 'install ok installed') continue
    out.set(pkg, out.has(pkg) ? null : { version, architecture })
  }
  return out
}

function parseMd5sums(data: Buffer): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of data.toString('latin1').split('\n')) {
    const m = /^([0-9a-f]{32}) {2}(.+)$/.exec(line)
    if (m !== null) out.set('/' + m[2], m[1]!)
  }
  return out
}

/** Paths dpkg may have recorded for a file on a merged-/usr system. */
function recordedNames(path: string): string[] {
  const names = [path]
  for (const [merged, legacy] of [
    ['/usr/bin/', '/bin/'],
    ['/usr/sbin/', '/sbin/'],
    ['/usr/lib/', '/lib/'],
  ] as const) {
    if (path.startsWith(merged)) names.push(legacy + path.slice(merged.length))
    if (path.startsWith(legacy)) names.push(merged + path.slice(legacy.length))
  }
  return names
}

/** A package build, as `name version architecture` (e.g. `coreutils 9.1-1 amd64`). */
export type BuildId = string

/**
 * The dpkg build that installed `path`, when the file is byte-for-byte what that package
 * shipped (its md5 matches the package's md5sums). Undefined on non-dpkg systems, for
 * modified files, or when `pkg` does not own the file.
 */
export function dpkgBuild(view: SystemView, pkg: string, path: string): BuildId | undefined {
  const packages = view.parsed('dpkg status', DPKG_STATUS, parseDpkgStatus)
  const info = packages?.get(pkg)
  if (info === undefined || info === null) return undefined
  const sums =
    view.parsed('md5sums', `/var/lib/dpkg/info/${pkg}.md5sums`, parseMd5sums) ??
    view.parsed('md5sums', `/var/lib/dpkg/info/${pkg}:${info.architecture}.md5sums`, parseMd5sums)
  if (sums === undefined) return undefined
  let expected: string | undefined
  for (const name of recordedNames(path)) {
    expected = sums.get(name)
    if (expected !== undefined) break
  }
  if (expected === undefined) return undefined
  // node:crypto is loaded only here (it costs a process that never asks for a build ~3 ms).
  const actual = view.parsed('md5', path, (data) => (require('node:crypto') as typeof Crypto).createHash('md5').update(data).digest('hex'))
  if (actual !== expected) return undefined
  return `${pkg} ${info.version} ${info.architecture}`
}
