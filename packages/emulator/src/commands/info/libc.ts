/**
 * The C library a child would run with. glibc: the libc.so.6 /etc/ld.so.cache hands to a
 * system binary, and its release version read from its own banner. musl: the dynamic loader
 * file and the version string it prints.
 */
import * as fs from 'node:fs'
import { type CacheEntry, LD_SO_CACHE, ldCacheEntriesFor, libc6FlagsFor, parseLdCache, type LdCache } from './ldcache'
import { perRequest } from '../../request'
import type { SystemView } from './view'

export interface GlibcFacts {
  /** gnu_get_libc_version(), e.g. `2.36`. */
  readonly version: string
  readonly major: number
  readonly minor: number
}

const BANNER = 'GNU C Library '
const BANNER_RE = /^GNU C Library [^\n]*? release version (\d+\.\d+(?:\.\d+)?)\.\n/
/** Without a NUL after it anywhere, a banner's text is at most this long. */
const BANNER_CAP = 512

/**
 * The release version in glibc's banner ("… stable release version 2.36.\n"): the first
 * "GNU C Library " whose text (up to the next NUL; without one, at most 512 bytes) matches.
 */
export function glibcBannerVersion(data: Buffer): string | undefined {
  // The whole data is one window that reaches the end: every candidate is decided.
  return firstBanner(data, data.length, true) ?? undefined
}

/**
 * The first banner version among the candidates of `win` that start before `limit`, as
 * glibcBannerVersion of the data `win` begins would see them: undefined when none matches, null
 * when a candidate's text runs past `win` (not `toEnd`, the data's end) and cannot be decided.
 */
function firstBanner(win: Buffer, limit: number, toEnd: boolean): string | undefined | null {
  for (let from = 0; ; ) {
    const at = win.indexOf(BANNER, from, 'latin1')
    if (at < 0 || at >= limit) return undefined
    const nul = win.indexOf(0, at)
    let text: string
    if (nul >= 0) text = win.toString('latin1', at, nul)
    else if (toEnd) text = win.toString('latin1', at, Math.min(win.length, at + BANNER_CAP))
    else {
      // The text goes on past this window (to a later NUL, or 512 bytes without one). The
      // match is decided by the text up to its first newline: when that is here and within
      // the cap, both possibilities read the same; otherwise the window cannot tell.
      const nl = win.indexOf(0x0a, at)
      if (nl < 0 || nl >= at + BANNER_CAP) return null
      text = win.toString('latin1', at, nl + 1)
    }
    const m = BANNER_RE.exec(text)
    if (m !== null) return m[1]
    from = at + 1
  }
}

/** Bytes each window of bannerVersionInWindows reads beyond its step (more than a banner's cap). */
const WINDOW_OVERLAP = 1024

/**
 * glibcBannerVersion of `size` bytes that `read(buf, length, position)` reads, in windows of
 * `step` + 1 KiB through one buffer (a fresh buffer of a whole `.rodata`, ~150 KiB, costs the
 * first call of a process its page faults). The same answer as glibcBannerVersion of the whole,
 * or null when the windows cannot tell (a short read, or a banner candidate without a NUL or
 * a newline close enough to be decided in its window).
 */
export function bannerVersionInWindows(read: (buf: Buffer, length: number, position: number) => number, size: number, step = 32 * 1024): string | undefined | null {
  const buf = Buffer.allocUnsafe(step + WINDOW_OVERLAP)
  for (let o = 0; o < size; o += step) {
    const length = Math.min(step + WINDOW_OVERLAP, size - o)
    if (read(buf, length, o) !== length) return null
    // Candidates starting at or after `step` are the next window's (it starts there, and one
    // exists whenever this window holds more than `step` bytes).
    const found = firstBanner(buf.subarray(0, length), step, o + length === size)
    if (found !== undefined) return found
  }
  return undefined
}

/** A part of a file read at once: a safe offset, 1 byte to 64 MiB. */
function readable(offset: number, length: number): boolean {
  return Number.isSafeInteger(offset) && Number.isSafeInteger(length) && length > 0 && length <= 64 * 1024 * 1024
}

/**
 * The banner version in an ELF64 little-endian file's `.rodata` section (where glibc keeps its
 * banner), read in windows without reading the rest of the file (bannerVersionInWindows):
 * undefined when the file is not such an ELF, has no `.rodata`, or has no banner there (the
 * caller then searches the whole file, as after an error); null when the section was cut short
 * or a window could not decide.
 */
export function rodataBannerVersion(file: string): string | undefined | null {
  let fd: number | undefined
  try {
    fd = fs.openSync(file, 'r')
    const read = (offset: number, length: number): Buffer | undefined => {
      if (!readable(offset, length)) return undefined
      const buf = Buffer.allocUnsafe(length)
      return fs.readSync(fd!, buf, 0, length, offset) === length ? buf : undefined
    }
    const eh = read(0, 64)
    // \x7fELF, ELFCLASS64, ELFDATA2LSB
    if (eh === undefined || eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return undefined
    const shoff = Number(eh.readBigUInt64LE(0x28))
    const shentsize = eh.readUInt16LE(0x3a)
    const shnum = eh.readUInt16LE(0x3c)
    const shstrndx = eh.readUInt16LE(0x3e)
    if (shentsize < 64 || shnum === 0 || shstrndx >= shnum) return undefined
    const sh = read(shoff, shentsize * shnum)
    if (sh === undefined) return undefined
    const section = (i: number) => ({
      name: sh.readUInt32LE(i * shentsize),
      offset: Number(sh.readBigUInt64LE(i * shentsize + 0x18)),
      size: Number(sh.readBigUInt64LE(i * shentsize + 0x20)),
    })
    const strtab = section(shstrndx)
    const names = read(strtab.offset, strtab.size)
    if (names === undefined) return undefined
    for (let i = 0; i < shnum; i++) {
      const s = section(i)
      const end = names.indexOf(0, s.name)
      if (end < 0 || names.toString('latin1', s.name, end) !== '.rodata') continue
      if (!readable(s.offset, s.size)) return undefined
      return bannerVersionInWindows((buf, length, position) => fs.readSync(fd!, buf, 0, length, s.offset + position), s.size)
    }
    return undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** The ld.so.cache as the child's dynamic loader reads it (unchanged files are parsed once). */
export function ldCache(view: SystemView): LdCache | undefined {
  return view.parsed('ld.so.cache', LD_SO_CACHE, parseLdCache)
}

/** A file's identity: a package upgrade (a new inode) or an edit in place changes it. */
function identity(st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
}

/**
 * The version in the banner of the library file at `file`, read when the file has the identity
 * `id` before and after the read, or undefined.
 */
function readVersion(view: SystemView, file: string, id: string): GlibcFacts | undefined {
  // The banner is in .rodata (a tenth of the library): read that alone, the whole file only
  // when it is not found there; undecided, decline.
  let version = rodataBannerVersion(view.hostPath(file))
  if (version === null) return undefined
  if (version === undefined) {
    const data = view.readFile(file)
    version = data === undefined ? undefined : glibcBannerVersion(data)
  }
  const after = view.stat(file)
  if (version === undefined || after === undefined || identity(after) !== id) return undefined
  const [major, minor] = version.split('.').map(Number) as [number, number]
  return { version, major, minor }
}

/**
 * The version of the glibc a child would load: the libc.so.6 /etc/ld.so.cache hands to a
 * system binary (the child's dynamic loader finds it there: its variables and
 * /etc/ld.so.preload are the loader guard's). Checked at every call, because a package upgrade
 * replaces the library (a new inode) and rewrites the cache while a service runs: the cache is
 * parsed again when it changed (view.parsed), and the file it names is stat'ed (two stats a
 * call). The version in the banner is read once per file identity. What this process itself
 * maps does not matter: the child loads its own. Once per request.
 */
export function glibcFacts(view: SystemView): GlibcFacts | undefined {
  return perRequest('glibc', view, () => currentGlibcFacts(view))
}

function currentGlibcFacts(view: SystemView): GlibcFacts | undefined {
  const flags = libc6FlagsFor(process.arch)
  if (flags === undefined) return undefined
  // Only libc.so.6's entries are read (the whole cache is parsed when a command lists it).
  const entries = view.parsed('ld.so.cache libc.so.6', LD_SO_CACHE, (data) => ldCacheEntriesFor(data, 'libc.so.6'))
  if (entries === undefined) return undefined
  let hit: CacheEntry | undefined
  for (const e of entries) {
    if (e.flags !== flags) continue
    // A glibc-hwcaps build (optimised for a CPU level) is what ld.so picks on a CPU that has
    // it: which one applies is not modelled.
    if (e.hwcap !== 0n || hit !== undefined) return undefined
    hit = e
  }
  if (hit === undefined) return undefined
  const file = hit.value
  const st = view.stat(file)
  if (st === undefined || !st.isFile()) return undefined
  const id = identity(st)
  return view.once(`glibc version\0${file}\0${id}`, () => readVersion(view, file, id))
}

/** True when glibc's version is within [from, to] (inclusive, major.minor). */
export function glibcBetween(facts: GlibcFacts, from: [number, number], to: [number, number]): boolean {
  const v = facts.major * 1000 + facts.minor
  return v >= from[0] * 1000 + from[1] && v <= to[0] * 1000 + to[1]
}

export interface MuslLoader {
  /** LDSO_ARCH as the loader prints it, e.g. `x86_64`. */
  readonly arch: string
  /** The version the loader prints, e.g. `1.2.3`. */
  readonly version: string
}

const MUSL_USAGE = /musl libc \(([A-Za-z0-9_]+)\)\nVersion %s\nDynamic Program Loader\nUsage: %s \[options\] \[--\] pathname%s\n\0/

/**
 * What musl's dynamic loader prints about itself: the usage format must be the one verified
 * (musl 1.2.x) and exactly one bare `x.y.z` string may be in the file (the version).
 */
export function muslLoader(data: Buffer): MuslLoader | undefined {
  const text = data.toString('latin1')
  const usage = MUSL_USAGE.exec(text)
  if (usage === null) return undefined
  const versions = new Set<string>()
  const re = /\0(\d+\.\d+\.\d+)\0/g
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    versions.add(m[1]!)
    re.lastIndex = m.index + 1
  }
  if (versions.size !== 1) return undefined
  let version = ''
  versions.forEach((v) => (version = v))
  return { arch: usage[1]!, version }
}
