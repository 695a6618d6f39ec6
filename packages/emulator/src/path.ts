/**
 * The path model: a file name resolved the way the kernel's path walk resolves it, component
 * by component with lstat/readlink, so that every emulated open sees the file (or the error)
 * the real program would see:
 *
 * - relative names start at the child's working directory as the kernel holds it (the
 *   directory itself, reached through any symlinks in the spelled cwd), so `..` from a
 *   symlinked cwd goes to the parent of the directory it points to;
 * - `..` after a symlink goes up from the link's target, never by erasing text;
 * - a component followed by anything (`x/`, `x/.`, `x//`, `x/..`) must be a directory, else
 *   ENOTDIR; a missing component anywhere (`nosuch/../f`) is ENOENT;
 * - more than 40 symlinks is ELOOP.
 *
 * Files whose content depends on which process reads them are refused (`null`): anything
 * reached through procfs's `self`, `thread-self`, `keys`, `key-users` or a numeric (pid/tid)
 * entry, and `/dev/fd`,
 * `/dev/stdin`, `/dev/stdout`, `/dev/stderr`, `/dev/tty`. Names are byte strings (latin1).
 */
import * as fs from 'node:fs'

const ASCII = /^[\x00-\x7f]*$/
const PROC_SUPER_MAGIC = 0x9fa0
/** The kernel's limit on symlinks followed in one walk (MAXSYMLINKS). */
const MAX_SYMLINKS = 40

/** /dev entries that name the reading process's own descriptors or terminal. */
const DEV_PROCESS_RELATIVE = new Set(['fd', 'stdin', 'stdout', 'stderr', 'tty'])

/** procfs entries whose content is the reader's own: the process directories and the keys it may view. */
const PROC_PROCESS_RELATIVE = new Set(['self', 'thread-self', 'keys', 'key-users'])

export type WalkError = 'ENOENT' | 'ENOTDIR' | 'EACCES' | 'ELOOP'

export type Walk =
  /** The path resolved: `path` is absolute, free of symlinks, `.` and `..`. */
  | { readonly ok: true; readonly path: string; readonly st: fs.Stats }
  /** The walk fails with this errno, as open() would. */
  | { readonly ok: false; readonly error: WalkError }

function fsPath(p: string): string | Buffer {
  return ASCII.test(p) ? p : Buffer.from(p, 'latin1')
}

function join(stack: readonly string[]): string {
  return stack.length === 0 ? '/' : '/' + stack.join('/')
}

function isProcfs(dir: string): boolean | null {
  try {
    return fs.statfsSync(fsPath(dir)).type === PROC_SUPER_MAGIC
  } catch {
    return null
  }
}

/** True when looking up `comp` in directory `dir` reaches process-relative content (or that is unclear). */
function processRelative(dir: string, comp: string): boolean {
  if (dir === '/dev' && DEV_PROCESS_RELATIVE.has(comp)) return true
  if (PROC_PROCESS_RELATIVE.has(comp) || /^[0-9]+$/.test(comp)) {
    // Only procfs gives these names a per-reader meaning; an unknown filesystem type is refused too.
    return isProcfs(dir) !== false
  }
  return false
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code
}

/**
 * Resolves `name` (a byte string) against `cwd` (absolute). Returns null when the name reaches
 * process-relative content, or when the walk meets something it does not model (an error
 * other than ENOENT/ENOTDIR/EACCES/ELOOP, an overlong name).
 */
export function walkPath(name: string, cwd: string): Walk | null {
  if (name === '') return { ok: false, error: 'ENOENT' }
  if (name.length >= 4096) return null
  let stack: string[]
  if (name[0] === '/') {
    stack = []
  } else {
    if (cwd[0] !== '/') return null
    const base = walkPath(cwd, '/')
    if (base === null || !base.ok || !base.st.isDirectory()) return null
    stack = base.path === '/' ? [] : base.path.slice(1).split('/')
  }
  // Components still to walk, first one last (a stack, so link targets can be pushed in front).
  const todo = name.split('/').reverse()
  let links = 0
  let st: fs.Stats | undefined
  while (todo.length > 0) {
    const comp = todo.pop()!
    // Reaching here with components left means the current one must be a directory; the
    // previous step checked that (`st` is that of join(stack)).
    if (comp === '' || comp === '.') continue
    if (comp === '..') {
      stack.pop()
      st = undefined
      continue
    }
    const dir = join(stack)
    if (processRelative(dir, comp)) return null
    const p = dir === '/' ? '/' + comp : dir + '/' + comp
    let s: fs.Stats | undefined
    try {
      s = fs.lstatSync(fsPath(p), { throwIfNoEntry: false })
    } catch (e) {
      const c = code(e)
      if (c === 'EACCES' || c === 'ENOTDIR') return { ok: false, error: c }
      return null
    }
    if (s === undefined) return { ok: false, error: 'ENOENT' }
    if (s.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) return { ok: false, error: 'ELOOP' }
      let target: string
      try {
        target = (fs.readlinkSync(fsPath(p), { encoding: 'buffer' }) as Buffer).toString('latin1')
      } catch {
        return null
      }
      if (target === '') return { ok: false, error: 'ENOENT' }
      if (target[0] === '/') stack = []
      const parts = target.split('/')
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]!)
      st = undefined
      continue
    }
    stack.push(comp)
    st = s
    if (todo.length > 0 && !s.isDirectory()) return { ok: false, error: 'ENOTDIR' }
  }
  const path = join(stack)
  if (st === undefined) {
    try {
      st = fs.statSync(fsPath(path))
    } catch {
      return null
    }
  }
  return { ok: true, path, st }
}
