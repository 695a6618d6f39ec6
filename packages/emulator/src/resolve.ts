/**
 * Which file would run: execvp-style PATH search (libuv's for direct execs, dash's for shell
 * commands) and the check that the file is a system binary. Answers are cached, but every
 * call re-validates them against the filesystem, so a cached answer is never stale:
 *
 * - the candidates before the cached hit are stat'ed again (each must still be absent), and
 * - the hit itself is stat'ed again (same device and inode, still a runnable regular file).
 *
 * Only the derived facts (the candidate list, the hit's realpath) are reused; a changed inode
 * or a new file earlier on PATH invalidates the entry. "Not found" is never cached.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'

/** Where emulated programs must live (after realpath). */
export const SYSTEM_DIRS: readonly string[] = ['/usr/bin', '/bin', '/usr/sbin', '/sbin']

/** libuv's search path when the child's env has no PATH (`_PATH_DEFPATH`). */
export const EXECVP_DEFAULT_PATH = '/usr/bin:/bin'

/** dash's PATH when none is inherited. */
export const DASH_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Binaries whose real file name differs from the command name on Debian. */
const REAL_NAMES: Readonly<Record<string, readonly string[]>> = {
  which: ['which.debianutils'],
}

export type Lookup =
  /** Nothing by that name anywhere on PATH (every candidate ENOENT/ENOTDIR). */
  | { readonly kind: 'missing' }
  /** The file that would run: `file` as the search formed it, `real` its realpath. */
  | { readonly kind: 'found'; readonly file: string; readonly real: string }
  /** Something is there that would not simply run (a directory, a non-executable file, …). */
  | { readonly kind: 'unclear' }

interface Entry {
  /** Absolute candidate paths in PATH order. */
  readonly candidates: readonly string[]
  /** The same candidates as the search spells them (relative entries stay relative). */
  readonly spelled: readonly string[]
  /** Whether a candidate repeats an earlier one (a PATH that names a directory twice). */
  readonly repeated: readonly boolean[]
  hit: number
  dev: number
  ino: number
  real: string
}

const MAX_ENTRIES = 256
const cache = new Map<string, Entry>()

const MISSING: Lookup = { kind: 'missing' }
const UNCLEAR: Lookup = { kind: 'unclear' }

/**
 * Whether a path has a `..` component. The kernel takes `..` from where the walk has got to,
 * after any symlink before it (`/bin/..` is `/usr` when /bin links to usr/bin), so such a path
 * cannot be resolved as text (`path.resolve` would give `/`).
 */
export function hasDotDot(p: string): boolean {
  return /(^|\/)\.\.(\/|$)/.test(p)
}

/**
 * Whether a child can be started in `dir` (absolute, or relative to this process's cwd): a
 * directory this process may enter (spawn changes into it before it drops to other
 * credentials), named without `..`, which the kernel takes after the symlinks before it where
 * any text normalisation of the path would erase it. A removed directory fails here.
 */
export function enterableDir(dir: string): boolean {
  if (dir === '' || hasDotDot(dir)) return false
  try {
    fs.accessSync(dir.endsWith('/') ? dir + '.' : dir + '/.', fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

type Probe = 'absent' | 'runnable' | 'other'

/**
 * Whose exec permission counts: the child's ids as exec would check them. `groups` are its
 * supplementary groups; absent, they are this process's when the ids are this process's
 * (spawn without uid/gid keeps them), else unknown.
 */
export interface Credentials {
  readonly uid: number
  readonly gid: number
  readonly groups?: readonly number[] | undefined
}

function groupsOf(creds: Credentials): readonly number[] | undefined {
  if (creds.groups !== undefined) return creds.groups
  if (process.getuid !== undefined && creds.uid === process.getuid() && creds.gid === process.getgid!()) return process.getgroups!()
  return undefined
}

/** stat (following symlinks) that fails with undefined; the filesystem a search looks at. */
export type StatFn = (p: string) => fs.Stats | undefined

function liveStat(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })
  } catch {
    return undefined
  }
}

/** The credentials are this process's effective ones: its own stat already checks the way. */
function isSelf(creds: Credentials): boolean {
  if (process.geteuid === undefined) return true
  if (creds.uid !== process.geteuid() || creds.gid !== process.getegid!()) return false
  if (creds.groups === undefined) return true
  const norm = (l: readonly number[]) => [...new Set(l.filter((g) => g !== creds.gid))].sort((a, b) => a - b).join(',')
  return norm(creds.groups) === norm(process.getgroups!())
}

/**
 * Whether a process with `creds` gets through the directories leading to the absolute path
 * `abs` (search permission on each, as path walking checks it; root always may). Checked only
 * for ids other than this process's, whose own stat already tells: the directories on the path
 * as written and on its parent's realpath are checked. `undefined` when unknown supplementary
 * groups decide.
 */
export function reachable(abs: string, creds: Credentials, stat: StatFn = liveStat, realpath: (p: string) => string | undefined = realpathOrUndefined): boolean | undefined {
  if (creds.uid === 0 || isSelf(creds)) return true
  const parent = path.dirname(abs)
  const real = realpath(parent)
  const dirs = new Set<string>()
  for (const d of [parent, real ?? parent]) {
    for (let p = d; ; p = path.dirname(p)) {
      dirs.add(p)
      if (p === '/') break
    }
  }
  let verdict: boolean | undefined = true
  for (const d of dirs) {
    const st = stat(d)
    if (st === undefined) continue // a missing directory: the lookup fails either way
    const ok = canExecute(st, creds)
    if (ok === false) return false
    if (ok === undefined) verdict = undefined
  }
  return verdict
}

function realpathOrUndefined(p: string): string | undefined {
  return realpathOf(p) ?? undefined
}

/**
 * dash's `[ -f FILE ] && [ -x FILE ]` for a process with `creds` (debianutils `which`'s test of
 * each candidate): FILE, after symlinks, is a regular file it reaches and may execute.
 * `undefined` when unknown supplementary groups decide.
 */
export function testExecutableFile(abs: string, creds: Credentials, stat: StatFn = liveStat, realpath?: (p: string) => string | undefined): boolean | undefined {
  const st = stat(abs)
  if (st === undefined || !st.isFile()) return false
  const way = reachable(abs, creds, stat, realpath)
  if (way === false) return false
  const x = canExecute(st, creds)
  return x === false ? false : way === undefined || x === undefined ? undefined : true
}

function probe(p: string, creds: Credentials): { state: Probe; st: fs.Stats | undefined } {
  // Another process's walk may stop where ours does not (EACCES instead of ENOENT): unclear.
  if (reachable(p, creds) !== true) return { state: 'other', st: undefined }
  let st: fs.Stats | undefined
  try {
    st = fs.statSync(p, { throwIfNoEntry: false })
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return { state: code === 'ENOTDIR' ? 'absent' : 'other', st: undefined }
  }
  if (st === undefined) return { state: 'absent', st }
  if (!st.isFile()) return { state: 'other', st }
  return { state: canExecute(st, creds) === true ? 'runnable' : 'other', st }
}

/**
 * Exec permission on a regular file as the kernel grants it (generic_permission, no ACLs):
 * root needs one x bit; the owner gets the owner bits; a member of the file's group (primary
 * or supplementary) the group bits; everybody else the other bits. `undefined` when the
 * answer depends on supplementary groups that are not known.
 */
export function canExecute(st: { readonly mode: number; readonly uid: number; readonly gid: number }, creds: Credentials): boolean | undefined {
  const m = st.mode
  if (creds.uid === 0) return (m & 0o111) !== 0
  if (st.uid === creds.uid) return (m & 0o100) !== 0
  const groupBit = (m & 0o010) !== 0
  const otherBit = (m & 0o001) !== 0
  if (st.gid === creds.gid) return groupBit
  const groups = groupsOf(creds)
  if (groups === undefined) return groupBit === otherBit ? otherBit : undefined
  return groups.includes(st.gid) ? groupBit : otherBit
}

function remember(key: string, e: Entry): void {
  if (cache.size >= MAX_ENTRIES) {
    const oldest = cache.keys().next().value
    if (oldest !== undefined) cache.delete(oldest)
  }
  cache.set(key, e)
}

function realpathOf(p: string): string | null {
  try {
    return fs.realpathSync.native(p)
  } catch {
    return null
  }
}

/**
 * Searches `name` (no slash) along `searchPath` like execvp. Relative PATH entries (and empty
 * ones, meaning the current directory) are taken relative to `cwd`.
 */
export function lookupInPath(name: string, searchPath: string, cwd: string, creds: Credentials): Lookup {
  // A `..` in an entry (or the name) goes through symlinks as the kernel walks them: not modelled.
  if (hasDotDot(name) || (searchPath.includes('..') && searchPath.split(':').some(hasDotDot))) return UNCLEAR
  const relative = searchPath === '' || /(^|:)(?!\/)/.test(searchPath)
  const key = relative ? `${searchPath}\0${name}\0${cwd}` : `${searchPath}\0${name}`
  let e = cache.get(key)
  if (e === undefined) {
    const spelled: string[] = []
    const candidates: string[] = []
    const repeated: boolean[] = []
    for (const dir of searchPath.split(':')) {
      const s = dir === '' ? name : `${dir}/${name}`
      const abs = path.resolve(cwd, s)
      spelled.push(s)
      repeated.push(candidates.includes(abs))
      candidates.push(abs)
    }
    e = { candidates, spelled, repeated, hit: -1, dev: 0, ino: 0, real: '' }
    remember(key, e)
  }
  const c = e.candidates
  const start = e.hit >= 0 ? e.hit : 0
  // Revalidate the absence of everything before the cached hit. A repeated candidate was
  // absent a moment ago (the earlier one, in this same search): the search moves past it.
  for (let i = 0; i < start; i++) {
    if (e.repeated[i]) continue
    if (probe(c[i]!, creds).state !== 'absent') {
      e.hit = -1
      return lookupInPath(name, searchPath, cwd, creds)
    }
  }
  for (let i = start; i < c.length; i++) {
    if (e.repeated[i]) continue
    const { state, st } = probe(c[i]!, creds)
    if (state === 'absent') continue
    if (state === 'other') return UNCLEAR
    if (e.hit === i && st!.dev === e.dev && st!.ino === e.ino) {
      return { kind: 'found', file: e.spelled[i]!, real: e.real }
    }
    const real = realpathOf(c[i]!)
    if (real === null) return UNCLEAR
    e.hit = i
    e.dev = st!.dev
    e.ino = st!.ino
    e.real = real
    return { kind: 'found', file: e.spelled[i]!, real }
  }
  e.hit = -1
  return MISSING
}

interface FileEntry {
  dev: number
  ino: number
  real: string
}
const fileCache = new Map<string, FileEntry>()

/** A path with a slash (relative to `cwd`): what runs if it is executed. */
export function lookupFile(file: string, cwd: string, creds: Credentials): Lookup {
  if (hasDotDot(file)) return UNCLEAR
  const abs = path.resolve(cwd, file)
  const { state, st } = probe(abs, creds)
  if (state === 'absent') return MISSING
  if (state === 'other') return UNCLEAR
  const cached = fileCache.get(abs)
  if (cached !== undefined && cached.dev === st!.dev && cached.ino === st!.ino) {
    return { kind: 'found', file, real: cached.real }
  }
  const real = realpathOf(abs)
  if (real === null) return UNCLEAR
  if (fileCache.size >= MAX_ENTRIES) {
    const oldest = fileCache.keys().next().value
    if (oldest !== undefined) fileCache.delete(oldest)
  }
  fileCache.set(abs, { dev: st!.dev, ino: st!.ino, real })
  return { kind: 'found', file, real }
}

/** execvp's view of `file`: a path when it has a slash, else a PATH search. */
export function lookupCommand(file: string, searchPath: string, cwd: string, creds: Credentials): Lookup {
  return file.includes('/') ? lookupFile(file, cwd, creds) : lookupInPath(file, searchPath, cwd, creds)
}

/**
 * The file execvp would run for `word` (libuv's search for a direct exec): a word with a slash
 * is that path; otherwise the first PATH candidate that is a regular file the child may
 * execute. Candidates it may not execute (a directory, a file without its x bit) are passed
 * over, as execvp passes over EACCES. Relative and empty PATH entries are taken from `cwd`.
 * Returns the absolute path, `undefined` when nothing would run, or `null` when the answer
 * depends on supplementary groups that are not known. Never cached: it is asked once per
 * request by the policy, for path rules only.
 */
export function execvpTarget(word: string, searchPath: string, cwd: string, creds: Credentials): string | undefined | null {
  const candidates = word.includes('/') ? [word] : searchPath.split(':').map((dir) => (dir === '' ? word : `${dir}/${word}`))
  for (const c of candidates) {
    const abs = hasDotDot(c) ? physicalPath(cwd, c) : path.resolve(cwd, c)
    if (abs === null) return null
    // A directory part that does not exist or cannot be searched: execvp passes over it.
    if (abs === undefined) continue
    // Not a regular file, out of reach, or no x for these ids: execvp passes over it.
    const ok = testExecutableFile(abs, creds)
    if (ok === undefined) return null
    if (ok) return abs
  }
  return undefined
}

/**
 * `c` (relative to `cwd`) with its directory part resolved as the kernel walks it (realpath:
 * symlinks first, then `..`): undefined when that part does not exist or cannot be searched
 * (execvp's ENOENT, ENOTDIR, EACCES: it goes on to the next candidate), null for any other
 * error (execvp would stop there).
 */
function physicalPath(cwd: string, c: string): string | undefined | null {
  const full = c[0] === '/' ? c : `${cwd}/${c}`
  const slash = full.lastIndexOf('/')
  const base = full.slice(slash + 1)
  let dir: string
  try {
    dir = fs.realpathSync.native(full.slice(0, slash) || '/')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' ? undefined : null
  }
  return dir === '/' ? `/${base}` : `${dir}/${base}`
}

/**
 * The PATH elements debianutils `which` searches, as its `IFS=:` field splitting yields them:
 * its `case $PATH in (*[!:]:) PATH="$PATH:"` keeps a trailing empty element (the working
 * directory), and a delimiter at the end opens no further field.
 */
export function pathElements(pathVar: string): string[] {
  let p = pathVar
  if (/[^:]:$/.test(p)) p += ':'
  if (p === '') return []
  const fields = p.split(':')
  if (fields[fields.length - 1] === '') fields.pop()
  return fields
}

/** True when `real` is the system binary of command `name` (realpath in a system dir). */
export function isSystemBinary(real: string, name: string): boolean {
  const slash = real.lastIndexOf('/')
  const dir = real.slice(0, slash)
  if (!SYSTEM_DIRS.includes(dir)) return false
  const base = real.slice(slash + 1)
  return base === name || (REAL_NAMES[name]?.includes(base) ?? false)
}

/** Forgets every cached resolution (tests). */
export function clearResolveCache(): void {
  cache.clear()
  fileCache.clear()
}
