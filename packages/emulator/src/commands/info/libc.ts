/**
 * The C library a child would run with. glibc: the library mapped into this process, when it
 * is also the one /etc/ld.so.cache hands to a system binary, and its release version read from
 * its own banner. musl: the dynamic loader file and the version string it prints.
 */
import { LD_SO_CACHE, libc6FlagsFor, parseLdCache, type LdCache } from './ldcache'
import type { SystemView } from './view'

export interface GlibcFacts {
  /** gnu_get_libc_version(), e.g. `2.36`. */
  readonly version: string
  readonly major: number
  readonly minor: number
}

/** The release version in glibc's banner ("… stable release version 2.36.\n"). */
export function glibcBannerVersion(data: Buffer): string | undefined {
  let from = 0
  for (;;) {
    const at = data.indexOf('GNU C Library ', from, 'latin1')
    if (at < 0) return undefined
    const end = data.indexOf(0, at)
    const text = data.toString('latin1', at, end < 0 ? Math.min(data.length, at + 512) : end)
    const m = /^GNU C Library [^\n]*? release version (\d+\.\d+(?:\.\d+)?)\.\n/.exec(text)
    if (m !== null) return m[1]
    from = at + 1
  }
}

/** The ld.so.cache as the child's dynamic loader reads it (unchanged files are parsed once). */
export function ldCache(view: SystemView): LdCache | undefined {
  return view.parsed('ld.so.cache', LD_SO_CACHE, parseLdCache)
}

/**
 * glibc's version, computed once per view: a glibc upgrade replaces the library in place,
 * but a process keeps the one it mapped and the child loads the same file until then.
 */
export function glibcFacts(view: SystemView): GlibcFacts | undefined {
  return view.once('glibc', () => {
    const mapped = view.process.mappedLibc()
    if (mapped === undefined) return undefined
    const flags = libc6FlagsFor(process.arch)
    const cache = ldCache(view)
    if (flags === undefined || cache === undefined) return undefined
    const hits = cache.entries.filter((e) => e.key === 'libc.so.6' && e.flags === flags && e.hwcap === 0n)
    if (hits.length !== 1) return undefined
    const ours = view.stat(mapped)
    const theirs = view.stat(hits[0]!.value)
    if (ours === undefined || theirs === undefined || ours.dev !== theirs.dev || ours.ino !== theirs.ino) return undefined
    const data = view.readFile(mapped)
    const version = data === undefined ? undefined : glibcBannerVersion(data)
    if (version === undefined) return undefined
    const [major, minor] = version.split('.').map(Number) as [number, number]
    return { version, major, minor }
  })
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
