/**
 * GNU sed 4.9, the common subset: `-n`, `-e` (several), `-E`/`-r`, scripts of `s///` (flags g,
 * N, p, i/I), `p` and `d`, each with an optional single address (a line number, `$` or
 * `/regex/`). Regexes are translated only inside the subset where JS's match equals POSIX's
 * leftmost-longest one (see regex.ts).
 */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, rawName, readFileOperand, result, stdinText, textLocale } from './common'
import { translateRegex } from './regex'
import { gnuGetopt, type LongOption } from '../getopt'

type Address = { kind: 'line'; n: number } | { kind: 'last' } | { kind: 're'; re: RegExp }

type Replacement = readonly ({ lit: string } | { group: number })[]

type Cmd =
  | { readonly addr: Address | null; readonly op: 'p' | 'd' }
  | {
      readonly addr: Address | null
      readonly op: 's'
      readonly re: RegExp
      readonly repl: Replacement
      readonly global: boolean
      readonly nth: number
      readonly print: boolean
    }

class ScriptReader {
  i = 0
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.i]
  }
  skipSpace(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++
  }
}

/**
 * The end of a bracket expression that starts at `from` (just after its `[`), or -1 when it is
 * not one this reader copies as it is: unterminated on its line, or holding a backslash or the
 * delimiter (GNU sed's match_slash keeps `\<delim>` inside brackets and does not end the
 * regex at a delimiter there; not modelled).
 */
function bracketEnd(s: string, from: number, delim: string): number {
  let j = from
  if (s[j] === '^') j++
  if (s[j] === ']') j++
  for (;;) {
    const d = s[j]
    if (d === undefined || d === '\n' || d === '\\' || d === delim) return -1
    if (d === ']') return j + 1
    if (d === '[' && (s[j + 1] === ':' || s[j + 1] === '.' || s[j + 1] === '=')) {
      const close = s.indexOf(s[j + 1] + ']', j + 2)
      if (close < 0) return -1
      const inner = s.slice(j + 2, close)
      if (inner.includes('\n') || inner.includes('\\') || inner.includes(delim)) return -1
      j = close + 2
      continue
    }
    j++
  }
}

/**
 * Reads up to the unescaped delimiter; `\delim` becomes delim, `\n` a newline (GNU match_slash).
 * In a regex, a bracket expression is copied as it is (see bracketEnd).
 */
function readDelimited(r: ScriptReader, delim: string, regex: boolean): string | null {
  let out = ''
  for (;;) {
    const c = r.s[r.i]
    if (c === undefined || c === '\n') return null
    r.i++
    if (c === delim) return out
    if (regex && c === '[') {
      const end = bracketEnd(r.s, r.i, delim)
      if (end < 0) return null
      out += '[' + r.s.slice(r.i, end)
      r.i = end
      continue
    }
    if (c === '\\') {
      const n = r.s[r.i]
      if (n === undefined) return null
      r.i++
      if (n === delim) out += regex || n !== '&' ? n : '\\&'
      else if (n === 'n' && regex) out += '\n'
      else if (n === '\n') return null
      else out += '\\' + n
      continue
    }
    out += c
  }
}

function compileRegex(src: string, ere: boolean, icase: boolean, extent: boolean): { re: RegExp; groups: number } | null {
  if (src === '') return null
  const t = translateRegex(src, { ere, extent, dialect: 'sed', icase })
  if (t === null) return null
  try {
    return { re: new RegExp(t.source, icase ? 'gi' : 'g'), groups: t.groups }
  } catch {
    return null
  }
}

function parseReplacement(s: string, groups: number): Replacement | null {
  const parts: ({ lit: string } | { group: number })[] = []
  let lit = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '&') {
      parts.push({ lit }, { group: 0 })
      lit = ''
      continue
    }
    if (c !== '\\') {
      if (c === '\n') return null
      lit += c
      continue
    }
    const n = s[++i]
    if (n === undefined) return null
    if (n >= '1' && n <= '9') {
      if (Number(n) > groups) return null
      parts.push({ lit }, { group: Number(n) })
      lit = ''
    } else if (n === 'n') {
      lit += '\n'
    } else if (n === 't') {
      lit += '\t'
    } else if (n === '&' || n === '\\') {
      lit += n
    } else {
      return null
    }
  }
  parts.push({ lit })
  return parts
}

/** A script GNU rejects while compiling: its message (bad_prog) and exit status 1. */
interface ScriptError {
  readonly error: string
}

/**
 * Parses the script. `single`: it is the only expression, so GNU's "-e expression #1, char N"
 * position is the offset in it (with several, positions are per expression: not answered).
 */
function parseScript(script: string, ere: boolean, single: boolean): Cmd[] | ScriptError | null {
  if (script.startsWith('#n')) return null
  const r = new ScriptReader(script)
  const cmds: Cmd[] = []
  for (;;) {
    while (r.peek() === ' ' || r.peek() === '\t' || r.peek() === '\n' || r.peek() === ';') r.i++
    if (r.peek() === undefined) return cmds
    let addr: Address | null = null
    const c0 = r.peek()!
    if (c0 >= '0' && c0 <= '9') {
      let n = ''
      while (r.peek() !== undefined && r.peek()! >= '0' && r.peek()! <= '9') n += r.s[r.i++]
      if (n.length > 12 || Number(n) === 0) return null
      addr = { kind: 'line', n: Number(n) }
    } else if (c0 === '$') {
      r.i++
      addr = { kind: 'last' }
    } else if (c0 === '/') {
      r.i++
      const src = readDelimited(r, '/', true)
      if (src === null) return null
      const re = compileRegex(src, ere, false, false)
      if (re === null) return null
      addr = { kind: 're', re: new RegExp(re.re.source, '') }
    }
    r.skipSpace()
    const op = r.s[r.i++]
    if (op === 'p' || op === 'd') {
      cmds.push({ addr, op })
    } else if (op === 's') {
      const delim = r.s[r.i++]
      if (delim === undefined || delim === '\n' || delim === '\\') return null
      const src = readDelimited(r, delim, true)
      if (src === null) return null
      const repl = readDelimited(r, delim, false)
      if (repl === null) return null
      let global = false
      let nth = 0
      let print = false
      let icase = false
      // GNU mark_subst_opts: a repeated g or p is an error at that character.
      const excess = (flag: string): ScriptError | null =>
        single ? { error: `sed: -e expression #1, char ${r.i + 1}: multiple \`${flag}' options to \`s' command\n` } : null
      for (;;) {
        const f = r.peek()
        if (f === 'g') {
          if (global) return excess('g')
          global = true
        } else if (f === 'p') {
          if (print) return excess('p')
          print = true
        }
        else if (f === 'i' || f === 'I') icase = true
        else if (f !== undefined && f >= '1' && f <= '9') {
          let n = ''
          while (r.peek() !== undefined && r.peek()! >= '0' && r.peek()! <= '9') n += r.s[r.i++]
          if (nth !== 0 || Number(n) > 512) return null
          nth = Number(n)
          continue
        } else break
        r.i++
      }
      const re = compileRegex(src, ere, icase, true)
      if (re === null) return null
      const parts = parseReplacement(repl, re.groups)
      if (parts === null) return null
      cmds.push({ addr, op: 's', re: re.re, repl: parts, global, nth: nth === 0 ? 1 : nth, print })
    } else {
      return null
    }
    r.skipSpace()
    const end = r.peek()
    if (end !== undefined && end !== ';' && end !== '\n' && end !== '}') return null
    if (end === '}') return null
  }
}

function substitute(line: string, c: Extract<Cmd, { op: 's' }>): string | null {
  const re = c.re
  re.lastIndex = 0
  let out = ''
  let pos = 0
  let count = 0
  let prevEnd = -1
  let replaced = false
  while (re.lastIndex <= line.length) {
    const m = re.exec(line)
    if (m === null) break
    const start = m.index
    const end = start + m[0].length
    if (m[0] === '' && start === prevEnd) {
      // GNU skips an empty match right after the previous match.
      re.lastIndex = start + 1
      continue
    }
    count++
    if (count >= c.nth) {
      out += line.slice(pos, start)
      for (const p of c.repl) out += 'lit' in p ? p.lit : (m[p.group] ?? '')
      pos = end
      replaced = true
      if (!c.global) break
    }
    prevEnd = end
    re.lastIndex = end === start ? end + 1 : end
  }
  if (!replaced) return null
  return out + line.slice(pos)
}

/** sed 4.9's whole option table (getopt resolves abbreviations against all of it). */
export const SPEC = 'bsnrzuEe:f:l:i::V:'
export const LONGS: readonly LongOption[] = [
  { name: 'binary', arg: 'none', key: 'b' },
  { name: 'debug', arg: 'none', key: 'debug' },
  { name: 'expression', arg: 'required', key: 'e' },
  { name: 'file', arg: 'required', key: 'f' },
  { name: 'follow-symlinks', arg: 'none', key: 'follow-symlinks' },
  { name: 'in-place', arg: 'optional', key: 'i' },
  { name: 'line-length', arg: 'required', key: 'l' },
  { name: 'null-data', arg: 'none', key: 'z' },
  { name: 'zero-terminated', arg: 'none', key: 'z' },
  { name: 'posix', arg: 'none', key: 'posix' },
  { name: 'quiet', arg: 'none', key: 'n' },
  { name: 'silent', arg: 'none', key: 'n' },
  { name: 'regexp-extended', arg: 'none', key: 'r' },
  { name: 'sandbox', arg: 'none', key: 'sandbox' },
  { name: 'separate', arg: 'none', key: 's' },
  { name: 'unbuffered', arg: 'none', key: 'u' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

export const sed: EmulatedCommand = {
  name: 'sed',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    let quiet = false
    let ere = false
    const scripts: string[] = []
    const parsed = gnuGetopt(args, SPEC, LONGS, io.ctx.env)
    if (parsed === undefined) return null
    for (const { key, value } of parsed.options) {
      if (key === 'n') quiet = true
      else if (key === 'E' || key === 'r') ere = true
      else if (key === 'e') scripts.push(utf8ToBytes(value!))
      else return null
    }
    const files = parsed.operands.map(utf8ToBytes)
    if (scripts.length === 0) {
      const s = files.shift()
      if (s === undefined) return null
      scripts.push(s)
    }
    const cmds = parseScript(scripts.join('\n'), ere, scripts.length === 1)
    if (cmds === null) return null
    if ('error' in cmds) return result('', cmds.error, 1)
    if (files.length === 0) files.push('-')
    let err = ''
    let status = 0
    // Every input line, and whether it ended with a newline (only a file's last line may not:
    // GNU prints such a line without one, and adds it only if more output follows).
    const lines: string[] = []
    const chomped: boolean[] = []
    const add = (data: string): void => {
      if (data === '') return
      const terminated = data.endsWith('\n')
      const parts = (terminated ? data.slice(0, -1) : data).split('\n')
      for (let k = 0; k < parts.length; k++) {
        lines.push(parts[k]!)
        chomped.push(terminated || k < parts.length - 1)
      }
    }
    let stdinUsed = false
    for (const f of files) {
      if (f === '-') {
        if (!stdinUsed) add(stdinText(io))
        stdinUsed = true
        continue
      }
      const r = readFileOperand(f, io.ctx)
      if (r === null || (!r.ok && r.error === 'EISDIR')) return null
      if (!r.ok) {
        const q = rawName(f)
        if (q === null) return null
        err += `sed: can't read ${q}: ${STRERROR[r.error]}\n`
        status = 2
        continue
      }
      add(r.data)
    }
    for (const l of lines) if (/[^\x01-\x7f]/.test(l)) return null
    if (lines.length === 0) return result('', err, status)
    let out = ''
    let missingNewline = false
    const emit = (text: string, n: number): void => {
      if (missingNewline) out += '\n'
      out += text
      missingNewline = !chomped[n]
      if (!missingNewline) out += '\n'
    }
    for (let n = 0; n < lines.length; n++) {
      let ps = lines[n]!
      const last = n === lines.length - 1
      let deleted = false
      for (const c of cmds) {
        if (c.addr !== null) {
          const a = c.addr
          const hit = a.kind === 'line' ? a.n === n + 1 : a.kind === 'last' ? last : a.re.test(ps)
          if (!hit) continue
        }
        if (c.op === 'd') {
          deleted = true
          break
        }
        if (c.op === 's') {
          const r = substitute(ps, c)
          if (r !== null) {
            ps = r
            if (c.print) emit(ps, n)
          }
        } else {
          emit(ps, n)
        }
      }
      if (!deleted && !quiet) emit(ps, n)
    }
    return result(out, err, status)
  },
}
