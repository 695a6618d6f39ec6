/**
 * Pathname expansion as dash does it (expmeta/pmatch): component by component, `.`-files only
 * for patterns starting with `.`, no match → the word stays, matches sorted bytewise (dash has
 * no locale support, so its order is strcmp's whatever the locale).
 *
 * Patterns are byte strings carrying two markers from the expander: ESC before a quoted
 * character (never special) and QM for quote boundaries (ignored). A raw backslash (from an
 * unquoted expansion) escapes the next character, as in dash.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { bail } from './bail'
import { toFsPath } from '../bytes'
import { walkPath } from '../path'
import { classBody, hexEscape } from '../charclass'

export const ESC = '\u0101'
export const QM = '\u0100'

/** True when `field` holds an unescaped `*`, `?` or a `[` with a closing `]` (dash's metaflag). */
export function hasGlobMeta(field: string): boolean {
  for (let i = 0; i < field.length; i++) {
    const c = field[i]
    if (c === ESC || c === '\\') {
      i++
    } else if (c === '*' || c === '?') {
      return true
    } else if (c === '[') {
      let j = i + 1
      if (field[j] === '!') j++
      for (;;) {
        let d = field[j]
        if (d === ESC || d === '\\') {
          j++
          d = field[j]
        }
        if (d === undefined || d === '/') break
        j++
        if (field[j] === ']') return true
      }
    }
  }
  return false
}

/** Removes the expander's markers (raw backslashes stay, as dash's rmescapes leaves them). */
export function stripMarkers(field: string): string {
  if (field.indexOf(ESC) < 0 && field.indexOf(QM) < 0) return field
  let out = ''
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!
    if (c === QM) continue
    if (c === ESC) {
      i++
      out += field[i] ?? ''
      continue
    }
    out += c
  }
  return out
}

/** Compiles one path component of a pattern to an anchored RegExp. */
export function componentRegExp(pat: string): RegExp {
  let re = '^'
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i]!
    if (c === QM) continue
    if (c === ESC || c === '\\') {
      const n = pat[i + 1]
      if (n === undefined) {
        re += hexEscape('\\')
      } else {
        re += hexEscape(n)
        i++
      }
    } else if (c === '*') {
      re += '[\\s\\S]*'
    } else if (c === '?') {
      re += '[\\s\\S]'
    } else if (c === '[') {
      const r = bracket(pat, i)
      if (r === null) {
        re += hexEscape('[')
      } else {
        re += r.re
        i = r.end
      }
    } else {
      re += hexEscape(c)
    }
  }
  return new RegExp(re + '$')
}

/** A bracket expression at `start`, or null when it has no closing `]` (then `[` is literal). */
function bracket(pat: string, start: number): { re: string; end: number } | null {
  let i = start + 1
  let negate = false
  if (pat[i] === '!') {
    negate = true
    i++
  }
  let body = ''
  let first = true
  for (;;) {
    let c = pat[i]
    if (c === undefined) return null
    if (c === QM) {
      i++
      continue
    }
    if (c === ']' && !first) break
    first = false
    if (c === '[' && pat[i + 1] === ':') {
      const close = pat.indexOf(':]', i + 2)
      if (close > 0) {
        const name = pat.slice(i + 2, close)
        const cls = classBody(name)
        if (cls === undefined) bail('unknown character class')
        body += cls
        i = close + 2
        continue
      }
    }
    if (c === ESC || c === '\\') {
      i++
      c = pat[i]
      if (c === undefined) return null
    }
    const lo = c
    i++
    if (pat[i] === '-' && pat[i + 1] !== ']' && pat[i + 1] !== undefined) {
      let hi = pat[i + 1]!
      let skip = 2
      if (hi === ESC || hi === '\\') {
        const h = pat[i + 2]
        if (h === undefined) return null
        hi = h
        skip = 3
      }
      if (hi === QM) bail('quote mark in a range')
      if (hi.charCodeAt(0) < lo.charCodeAt(0)) bail('reversed range')
      body += hexEscape(lo) + '-' + hexEscape(hi)
      i += skip
      continue
    }
    body += hexEscape(lo)
  }
  if (body === '') return null
  return { re: (negate ? '[^' : '[') + body + ']', end: i }
}

function lexists(p: string): boolean {
  // dash's lstat: the kernel resolves `..` through symlinks; the name is spelled unnormalised.
  if (walkPathGuard(p) === null) bail('glob over a process-relative path')
  try {
    return fs.lstatSync(toFsPath(p), { throwIfNoEntry: false }) !== undefined
  } catch {
    return false
  }
}

/** `p` against `cwd`, keeping a trailing slash (path.resolve would drop it). */
function absolute(cwd: string, p: string): string {
  return p[0] === '/' ? p : `${cwd}/${p}`
}

/** The kernel's walk of `p`, or null when it reaches process-relative content. */
function walkPathGuard(p: string): ReturnType<typeof walkPath> {
  return walkPath(p, '/')
}

function listDir(dir: string): string[] {
  // A listing of /proc/self/fd (or any process-relative directory) is the reader's own.
  if (walkPathGuard(dir) === null) bail('glob over a process-relative directory')
  try {
    return fs.readdirSync(toFsPath(dir), { encoding: 'latin1' }) as string[]
  } catch {
    return []
  }
}

/**
 * Expands one field. Returns the sorted matches, or null when nothing matched (the caller
 * then keeps the word with its markers removed). `cwd` anchors relative patterns.
 */
export function globField(field: string, cwd: string): string[] | null {
  const out: string[] = []
  expmeta('', field, cwd, out)
  if (out.length === 0) return null
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** Removes escapes from a literal stretch of a pattern. */
function literal(s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === QM) continue
    if ((c === ESC || c === '\\') && i + 1 < s.length) {
      i++
      out += s[i]
      continue
    }
    if (c === ESC) continue
    out += c
  }
  return out
}

function expmeta(prefix: string, rest: string, cwd: string, out: string[]): void {
  // Find the first component holding a meta character.
  let compStart = 0
  let metaEnd = -1
  for (let i = 0; i <= rest.length; i++) {
    if (i === rest.length || rest[i] === '/') {
      if (hasGlobMeta(rest.slice(compStart, i))) {
        metaEnd = i
        break
      }
      compStart = i + 1
    } else if (rest[i] === ESC || rest[i] === '\\') {
      i++
    }
  }
  if (metaEnd < 0) {
    if (prefix === '') return
    const full = prefix + literal(rest)
    if (lexists(absolute(cwd, full))) out.push(full)
    return
  }
  const dirPart = prefix + literal(rest.slice(0, compStart))
  const comp = rest.slice(compStart, metaEnd)
  const atEnd = metaEnd >= rest.length
  const after = atEnd ? '' : rest.slice(metaEnd + 1)
  const dirAbs = absolute(cwd, dirPart === '' ? '.' : dirPart)
  let names = listDir(dirAbs)
  let first = comp[0]
  let k = 0
  while (first === QM) first = comp[++k]
  if (first === ESC || first === '\\') first = comp[k + 1]
  const matchDot = first === '.'
  if (matchDot) names = ['.', '..', ...names]
  const re = componentRegExp(comp)
  for (const name of names) {
    if (name[0] === '.' && !matchDot) continue
    if (!re.test(name)) continue
    if (atEnd) {
      out.push(dirPart + name)
    } else {
      expmeta(dirPart + name + '/', after, cwd, out)
    }
  }
}
