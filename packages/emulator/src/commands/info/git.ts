/**
 * `git config [--global|--system|--local] [--get] <key>` (git 2.39): the value git would print,
 * read from the files git reads, or null. Only read-only lookups of one key are answered:
 *
 * - scopes as git builds them: system (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_SYSTEM, /etc/gitconfig),
 *   global (GIT_CONFIG_GLOBAL, else $XDG_CONFIG_HOME/git/config or ~/.config/git/config, then
 *   ~/.gitconfig; `--global` reads the one file git_global_config() picks), local (the
 *   repository's config, found by walking up from the physical cwd, stopping at a mount point
 *   as git does without GIT_DISCOVERY_ACROSS_FILESYSTEM), command (GIT_CONFIG_COUNT,
 *   GIT_CONFIG_KEY_<n>, GIT_CONFIG_VALUE_<n>); the last value wins;
 * - `[include] path = …` followed where git follows it (only without a scope option), relative
 *   to the including file, `~/` from HOME;
 * - git's value syntax (quotes, `\n \t \b \\ \"` escapes, line continuations, `;`/`#`
 *   comments, whitespace runs kept as spaces inside a value, trailing ones dropped).
 *
 * Declined: any other GIT_* variable (GIT_DIR, GIT_CONFIG_PARAMETERS, tracing, …), includeIf,
 * legacy `[section.sub]` headers, implicit booleans (a key without `=`), anything git would
 * reject or warn about (bad lines, unreadable files), worktrees and gitfiles, bare
 * repositories, repositories not owned by the child's uid (safe.directory), repository
 * extensions, `--local` outside a repository.
 */
import * as fs from 'node:fs'
import type { ChildContext, EmulatedCommand } from '../../types'
import { sameCredentials } from '../../creds'
import { result } from '../result'

class Decline {}
const DECLINE = new Decline()

function decline(): never {
  throw DECLINE
}

type Env = ChildContext['env']

interface Entry {
  /** `section.sub.name` with section and name lowercased (git's canonical key). */
  readonly key: string
  /** null: an implicit boolean (no `=`). */
  readonly value: string | null
}

/** Variables git-config reads that this emulation models; any other GIT_* is declined. */
const MODELLED_GIT_VARS = /^GIT_CONFIG_(GLOBAL|SYSTEM|NOSYSTEM|COUNT|KEY_[0-9]+|VALUE_[0-9]+)$/

const MAX_INCLUDE_DEPTH = 10
const UTF8_BOM = '\xef\xbb\xbf'

function isKeyChar(c: string): boolean {
  return /^[A-Za-z0-9-]$/.test(c)
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r'
}

/**
 * The entries of one config file (a byte string) in order, git's parser (config.c
 * git_parse_source) step by step; anything it would reject, or that is not modelled, declines.
 */
export function parseGitConfig(text: string): Entry[] {
  if (text.startsWith(UTF8_BOM) || /[\0\v\f]/.test(text)) decline()
  let i = 0
  let eof = false
  const next = (): string => {
    if (i >= text.length) {
      eof = true
      return '\n'
    }
    const c = text[i++]!
    if (c === '\r' && text[i] === '\n') {
      i++
      return '\n'
    }
    return c
  }
  const entries: Entry[] = []
  let section: string | null = null
  let comment = false
  for (;;) {
    let c = next()
    if (c === '\n') {
      if (eof) return entries
      comment = false
      continue
    }
    if (comment || isSpace(c)) continue
    if (c === '#' || c === ';') {
      comment = true
      continue
    }
    if (c === '[') {
      let name = ''
      for (;;) {
        c = next()
        if (eof) decline()
        if (c === ']') break
        if (isSpace(c)) {
          // `[section "subsection"]`
          do {
            if (c === '\n') decline()
            c = next()
          } while (isSpace(c))
          if (c !== '"') decline()
          let sub = ''
          for (;;) {
            c = next()
            if (c === '\n') decline()
            if (c === '"') break
            if (c === '\\') {
              c = next()
              if (c === '\n') decline()
            }
            sub += c
          }
          if (next() !== ']') decline()
          name += '.' + sub
          break
        }
        // A dotted (legacy) header lowercases its subsection: not modelled.
        if (!isKeyChar(c)) decline()
        name += c.toLowerCase()
      }
      if (name === '' || name.startsWith('.')) decline()
      section = name
      continue
    }
    if (!/^[A-Za-z]$/.test(c)) decline()
    if (section === null) decline()
    let key = c.toLowerCase()
    for (;;) {
      c = next()
      if (eof || !isKeyChar(c)) break
      key += c.toLowerCase()
    }
    while (c === ' ' || c === '\t') c = next()
    let value: string | null = null
    if (c !== '\n') {
      if (c !== '=') decline()
      value = parseValue(next)
    }
    entries.push({ key: `${section}.${key}`, value })
    if (eof) return entries
  }
}

function parseValue(next: () => string): string {
  let quote = false
  let comment = false
  let space = 0
  let value = ''
  for (;;) {
    let c = next()
    if (c === '\n') {
      if (quote) decline()
      return value
    }
    if (comment) continue
    if (isSpace(c) && !quote) {
      if (value.length > 0) space++
      continue
    }
    if (!quote && (c === ';' || c === '#')) {
      comment = true
      continue
    }
    for (; space > 0; space--) value += ' '
    if (c === '\\') {
      c = next()
      if (c === '\n') continue
      if (c === 't') c = '\t'
      else if (c === 'b') c = '\b'
      else if (c === 'n') c = '\n'
      else if (c !== '\\' && c !== '"') decline()
      value += c
      continue
    }
    if (c === '"') {
      quote = !quote
      continue
    }
    value += c
  }
}

/** A key as given on the command line, canonical (section and name lowercased), or null. */
function canonicalKey(key: string): string | null {
  const first = key.indexOf('.')
  const last = key.lastIndexOf('.')
  if (first <= 0 || last === key.length - 1) return null
  const section = key.slice(0, first)
  const name = key.slice(last + 1)
  if (!/^[A-Za-z0-9-]+$/.test(section) || !/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) return null
  const sub = first === last ? null : key.slice(first + 1, last)
  if (sub !== null && /[\n\0]/.test(sub)) return null
  return `${section.toLowerCase()}${sub === null ? '' : '.' + sub}.${name.toLowerCase()}`
}

function fsPath(p: string): string | Buffer {
  return /^[\x00-\x7f]*$/.test(p) ? p : Buffer.from(p, 'latin1')
}

/**
 * A config file's path must be absolute: git resolves a relative one (GIT_CONFIG_GLOBAL=rel,
 * a relative HOME or XDG_CONFIG_HOME) against its own cwd, which setup may have moved to the
 * work tree's top; never against this process's cwd.
 */
function requireAbsolute(p: string): void {
  if (p[0] !== '/') decline()
}

/** A config file's bytes; null when it does not exist (git skips it). */
function readConfig(p: string): string | null {
  requireAbsolute(p)
  let st: fs.Stats | undefined
  try {
    st = fs.statSync(fsPath(p), { throwIfNoEntry: false })
  } catch (e) {
    // ENOTDIR is a missing file to git's access(); anything else it warns about.
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return null
    decline()
  }
  if (st === undefined) return null
  if (!st.isFile()) decline()
  try {
    return fs.readFileSync(fsPath(p)).toString('latin1')
  } catch {
    return decline()
  }
}

interface Reader {
  readonly env: Env
  readonly includes: boolean
  readonly out: Entry[]
}

function dirname(p: string): string {
  const slash = p.lastIndexOf('/')
  return slash <= 0 ? '/' : p.slice(0, slash)
}

function readFileInto(r: Reader, p: string, depth: number): void {
  const text = readConfig(p)
  if (text === null) return
  for (const e of parseGitConfig(text)) {
    if (e.key.startsWith('includeif.')) decline()
    r.out.push(e)
    if (r.includes && e.key === 'include.path') {
      if (e.value === null || e.value === '' || depth >= MAX_INCLUDE_DEPTH) decline()
      let target = e.value
      if (target.startsWith('~')) {
        if (!target.startsWith('~/')) decline()
        const home = r.env['HOME']
        if (home === undefined || home === '') decline()
        target = home.replace(/\/+$/, '') + target.slice(1)
      } else if (target[0] !== '/') {
        target = dirname(p) + '/' + target
      }
      readFileInto(r, target, depth + 1)
    }
  }
}

/** git_env_bool(name, false), or decline for a value git would die on. */
function envBool(env: Env, name: string): boolean {
  const v = env[name]
  if (v === undefined) return false
  const l = v.toLowerCase()
  if (l === '' || l === 'false' || l === 'no' || l === 'off' || l === '0') return false
  if (l === 'true' || l === 'yes' || l === 'on' || l === '1') return true
  return decline()
}

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name]
  if (v === '') decline()
  return v
}

function globalPaths(env: Env): { user: string; xdg: string | null } {
  const given = nonEmpty(env, 'GIT_CONFIG_GLOBAL')
  if (given !== undefined) return { user: given, xdg: null }
  const home = env['HOME']
  if (home === undefined || home === '') decline()
  const xdgHome = env['XDG_CONFIG_HOME']
  const xdg = xdgHome !== undefined && xdgHome !== '' ? `${xdgHome}/git/config` : `${home}/.config/git/config`
  return { user: `${home}/.gitconfig`, xdg }
}

function readable(p: string): boolean {
  requireAbsolute(p)
  try {
    fs.accessSync(fsPath(p), fs.constants.R_OK)
    return true
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return false
    return decline()
  }
}

function isDir(p: string): boolean {
  return fs.statSync(fsPath(p), { throwIfNoEntry: false })?.isDirectory() === true
}

/**
 * The repository's config file for the child's cwd, null outside a repository, declined for
 * anything not modelled (gitfiles, bare repositories, other owners, extensions).
 */
function localConfig(ctx: ChildContext): string | null {
  let dir: string
  try {
    dir = fs.realpathSync.native(ctx.cwd)
  } catch {
    return decline()
  }
  let dev = fs.statSync(dir).dev
  for (;;) {
    const dotGit = (dir === '/' ? '' : dir) + '/.git'
    const st = fs.lstatSync(fsPath(dotGit), { throwIfNoEntry: false })
    if (st !== undefined) {
      if (!st.isDirectory()) decline()
      if (!fs.statSync(dotGit + '/HEAD', { throwIfNoEntry: false })?.isFile() || !isDir(dotGit + '/objects') || !isDir(dotGit + '/refs')) decline()
      // safe.directory: git ignores a repository the user does not own.
      const top = fs.statSync(dir)
      if (st.uid !== ctx.uid || top.uid !== ctx.uid) decline()
      if (fs.existsSync(dotGit + '/commondir') || fs.existsSync(dotGit + '/config.worktree')) decline()
      return dotGit + '/config'
    }
    // The directory itself a git directory: a bare repository.
    if (fs.existsSync(dir + '/HEAD') && isDir(dir + '/objects') && isDir(dir + '/refs')) decline()
    if (dir === '/') return null
    const parent = dirname(dir)
    const pdev = fs.statSync(parent).dev
    if (pdev !== dev) return null
    dev = pdev
    dir = parent
  }
}

function commandScope(env: Env, out: Entry[]): void {
  const count = env['GIT_CONFIG_COUNT']
  if (count === undefined) return
  if (!/^[0-9]{1,6}$/.test(count)) decline()
  for (let n = 0; n < Number(count); n++) {
    const key = env[`GIT_CONFIG_KEY_${n}`]
    const value = env[`GIT_CONFIG_VALUE_${n}`]
    if (key === undefined || value === undefined) decline()
    const canonical = canonicalKey(key)
    if (canonical === null || canonical.startsWith('include')) decline()
    out.push({ key: canonical, value: Buffer.from(value, 'utf8').toString('latin1') })
  }
}

export function createGit(): EmulatedCommand {
  return {
    name: 'git',
    run(args, io) {
      const { ctx } = io
      const env = ctx.env
      if (args[0] !== 'config') return null
      if (!sameCredentials(ctx)) return null
      for (const k in env) if (k.startsWith('GIT_') && env[k] !== undefined && !MODELLED_GIT_VARS.test(k)) return null
      if (env['SUDO_UID'] !== undefined) return null
      let scope: 'system' | 'global' | 'local' | null = null
      let key: string | undefined
      for (const a of args.slice(1)) {
        if (a === '--get') continue
        if (a === '--global' || a === '--system' || a === '--local') {
          if (scope !== null) return null
          scope = a.slice(2) as 'system' | 'global' | 'local'
          continue
        }
        if (a.startsWith('-') || key !== undefined) return null
        key = a
      }
      if (key === undefined || /[^\x20-\x7e]/.test(key)) return null
      const canonical = canonicalKey(key)
      if (canonical === null) return null
      try {
        const out: Entry[] = []
        const r: Reader = { env, includes: scope === null, out }
        if (scope === 'system') {
          if (envBool(env, 'GIT_CONFIG_NOSYSTEM')) return null
          readFileInto(r, nonEmpty(env, 'GIT_CONFIG_SYSTEM') ?? '/etc/gitconfig', 0)
        } else if (scope === 'global') {
          // git_global_config(): ~/.gitconfig if readable or if the XDG file is not, else XDG.
          const { user, xdg } = globalPaths(env)
          readFileInto(r, xdg === null || readable(user) || !readable(xdg) ? user : xdg, 0)
        } else if (scope === 'local') {
          const local = localConfig(ctx)
          if (local === null) return null
          readFileInto(r, local, 0)
        } else {
          if (!envBool(env, 'GIT_CONFIG_NOSYSTEM')) readFileInto(r, nonEmpty(env, 'GIT_CONFIG_SYSTEM') ?? '/etc/gitconfig', 0)
          const { user, xdg } = globalPaths(env)
          if (xdg !== null) readFileInto(r, xdg, 0)
          readFileInto(r, user, 0)
          const local = localConfig(ctx)
          if (local !== null) readFileInto(r, local, 0)
          commandScope(env, out)
        }
        // A repository whose config sets extensions (worktreeConfig, …) reads more.
        if (scope !== 'system' && scope !== 'global' && out.some((e) => e.key.startsWith('extensions.'))) return null
        let value: string | null | undefined
        for (const e of out) if (e.key === canonical) value = e.value
        if (value === undefined) return result('', '', 1)
        if (value === null) return null
        return result(value + '\n', '', 0)
      } catch (e) {
        if (e === DECLINE) return null
        throw e
      }
    },
  }
}
