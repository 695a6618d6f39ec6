/**
 * GNU grep 3.8 (-E -F -G -v -i -c -q -x -n -s -h -H -e), and Debian's `egrep`, a script that
 * runs `grep -E` found on the child's PATH (it prints no obsolescence warning on Debian 12).
 * Inputs with NUL or non-ASCII bytes are not answered (binary-file and multibyte rules).
 */
import type { ChildContext, CommandIO, EmulatedCommand, EmulationResult } from '../../types'
import { DASH_DEFAULT_PATH, isSystemBinary, lookupInPath } from '../../resolve'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, rawName, readFileOperand, result, stdinText, textLocale } from './common'
import { translateRegex } from './regex'
import { gnuGetopt, type LongOption } from '../getopt'

interface GrepOptions {
  ere: boolean
  fixed: boolean
  invert: boolean
  icase: boolean
  count: boolean
  quiet: boolean
  lineRegexp: boolean
  lineNumbers: boolean
  noMessages: boolean
  withFilename: boolean | null
  patterns: string[] | null
  files: string[]
}

/** What option parsing ends in: options, GNU's early exit for two matchers, or null (not answered). */
type ParsedGrep = GrepOptions | { readonly conflict: true } | null

const CONFLICT = { conflict: true } as const

/** grep 3.8's whole option table (getopt resolves abbreviations against all of it). */
export const SPEC = '0123456789A:B:C:D:EFGHILPRTUVX:abcd:e:f:hiLlm:noqRrsuvwxyZz'
export const LONGS: readonly LongOption[] = [
  { name: 'after-context', arg: 'required', key: 'A' },
  { name: 'basic-regexp', arg: 'none', key: 'G' },
  { name: 'before-context', arg: 'required', key: 'B' },
  { name: 'binary', arg: 'none', key: 'U' },
  { name: 'binary-files', arg: 'required', key: 'binary-files' },
  { name: 'byte-offset', arg: 'none', key: 'b' },
  { name: 'color', arg: 'optional', key: 'color' },
  { name: 'colour', arg: 'optional', key: 'color' },
  { name: 'context', arg: 'required', key: 'C' },
  { name: 'count', arg: 'none', key: 'c' },
  { name: 'dereference-recursive', arg: 'none', key: 'R' },
  { name: 'devices', arg: 'required', key: 'D' },
  { name: 'directories', arg: 'required', key: 'd' },
  { name: 'exclude', arg: 'required', key: 'exclude' },
  { name: 'exclude-dir', arg: 'required', key: 'exclude-dir' },
  { name: 'exclude-from', arg: 'required', key: 'exclude-from' },
  { name: 'extended-regexp', arg: 'none', key: 'E' },
  { name: 'file', arg: 'required', key: 'f' },
  { name: 'files-with-matches', arg: 'none', key: 'l' },
  { name: 'files-without-match', arg: 'none', key: 'L' },
  { name: 'fixed-regexp', arg: 'none', key: 'F' },
  { name: 'fixed-strings', arg: 'none', key: 'F' },
  { name: 'group-separator', arg: 'required', key: 'group-separator' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'ignore-case', arg: 'none', key: 'i' },
  { name: 'include', arg: 'required', key: 'include' },
  { name: 'initial-tab', arg: 'none', key: 'T' },
  { name: 'invert-match', arg: 'none', key: 'v' },
  { name: 'label', arg: 'required', key: 'label' },
  { name: 'line-buffered', arg: 'none', key: 'line-buffered' },
  { name: 'line-number', arg: 'none', key: 'n' },
  { name: 'line-regexp', arg: 'none', key: 'x' },
  { name: 'max-count', arg: 'required', key: 'm' },
  { name: 'no-filename', arg: 'none', key: 'h' },
  { name: 'no-group-separator', arg: 'none', key: 'no-group-separator' },
  { name: 'no-ignore-case', arg: 'none', key: 'no-ignore-case' },
  { name: 'no-messages', arg: 'none', key: 's' },
  { name: 'null', arg: 'none', key: 'Z' },
  { name: 'null-data', arg: 'none', key: 'z' },
  { name: 'only-matching', arg: 'none', key: 'o' },
  { name: 'perl-regexp', arg: 'none', key: 'P' },
  { name: 'quiet', arg: 'none', key: 'q' },
  { name: 'recursive', arg: 'none', key: 'r' },
  { name: 'regexp', arg: 'required', key: 'e' },
  { name: 'silent', arg: 'none', key: 'q' },
  { name: 'text', arg: 'none', key: 'a' },
  { name: 'unix-byte-offsets', arg: 'none', key: 'u' },
  { name: 'version', arg: 'none', key: 'V' },
  { name: 'with-filename', arg: 'none', key: 'H' },
  { name: 'word-regexp', arg: 'none', key: 'w' },
]

function parseGrepArgs(args: readonly string[], ere: boolean, env: ChildContext['env']): ParsedGrep {
  const o: GrepOptions = {
    ere, fixed: false, invert: false, icase: false, count: false, quiet: false, lineRegexp: false,
    lineNumbers: false, noMessages: false, withFilename: null, patterns: null, files: [],
  }
  // grep 3.8 setmatcher(): a second, different matcher (-E -F -G -P, egrep's -E included)
  // ends option parsing with "conflicting matchers specified".
  let matcher: string | null = ere ? 'E' : null
  const parsed = gnuGetopt(args, SPEC, LONGS, env)
  if (parsed === undefined) return null
  for (const { key, value } of parsed.options) {
    switch (key) {
      case 'E': case 'F': case 'G': case 'P':
        if (matcher !== null && matcher !== key) return CONFLICT
        matcher = key
        if (key === 'P') return null
        o.ere = key === 'E'
        o.fixed = key === 'F'
        break
      case 'e': (o.patterns ??= []).push(utf8ToBytes(value!)); break
      case 'v': o.invert = true; break
      case 'i': case 'y': o.icase = true; break
      case 'c': o.count = true; break
      case 'q': o.quiet = true; break
      case 'x': o.lineRegexp = true; break
      case 'n': o.lineNumbers = true; break
      case 's': o.noMessages = true; break
      case 'h': o.withFilename = false; break
      case 'H': o.withFilename = true; break
      default: return null
    }
  }
  const operands = parsed.operands.map(utf8ToBytes)
  if (o.patterns === null) {
    const p = operands.shift()
    if (p === undefined) return null
    o.patterns = [p]
  }
  o.files = operands
  return o
}

function escapeLiteral(s: string): string {
  let out = ''
  for (const c of s) out += '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')
  return out
}

function compile(o: GrepOptions): RegExp | null {
  // A pattern argument holding newlines is several patterns.
  const pats = o.patterns!.flatMap((p) => p.split('\n'))
  const sources: string[] = []
  for (const p of pats) {
    if (o.fixed) {
      if (/[^\x01-\x7f]/.test(p)) return null
      sources.push(escapeLiteral(p))
      continue
    }
    const t = translateRegex(p, { ere: o.ere, extent: false, dialect: 'grep', icase: o.icase })
    if (t === null) return null
    // Back-references are refused, so groups never interact across patterns.
    sources.push(t.source)
  }
  let src = sources.length === 1 ? sources[0]! : sources.map((s) => `(?:${s})`).join('|')
  if (o.lineRegexp) src = `^(?:${src})$`
  try {
    return new RegExp(src, o.icase ? 'i' : '')
  } catch {
    return null
  }
}

function runGrep(prog: 'grep' | 'egrep', args: readonly string[], io: CommandIO): EmulationResult | null {
  if (textLocale(io.ctx.env) === null) return null
  const o = parseGrepArgs(args, prog === 'egrep', io.ctx.env)
  if (o === null) return null
  // Debian's egrep runs grep: the message carries grep's name.
  if ('conflict' in o) return result('', 'grep: conflicting matchers specified\n', 2)
  // grep exits 1 at once, printing nothing and opening no file (not even for -c), when its
  // only pattern is empty and inverted without -x or -w.
  if (o.invert && !o.lineRegexp && o.patterns!.every((p) => p.split('\n').every((x) => x === ''))) return null
  const re = compile(o)
  if (re === null) return null
  const files = o.files.length === 0 ? ['-'] : o.files
  const withName = o.withFilename ?? files.length > 1
  let out = ''
  let err = ''
  let selectedAny = false
  let error = false
  let stdinUsed = false
  for (const f of files) {
    let data: string
    let label: string
    if (f === '-') {
      data = stdinUsed ? '' : stdinText(io)
      stdinUsed = true
      label = '(standard input)'
    } else {
      const r = readFileOperand(f, io.ctx)
      if (r === null || (!r.ok && r.error === 'EISDIR')) return null
      if (!r.ok) {
        error = true
        if (!o.noMessages) {
          const q = rawName(f)
          if (q === null) return null
          err += `grep: ${q}: ${STRERROR[r.error]}\n`
        }
        continue
      }
      data = r.data
      label = f
    }
    if (/[^\x01-\x7f]/.test(data)) return null
    const lines = data === '' ? [] : (data.endsWith('\n') ? data.slice(0, -1) : data).split('\n')
    let count = 0
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n]!
      if (re.test(line) === o.invert) continue
      count++
      selectedAny = true
      if (o.quiet) return result('', err, 0)
      if (!o.count) out += `${withName ? label + ':' : ''}${o.lineNumbers ? `${n + 1}:` : ''}${line}\n`
    }
    if (o.count && !o.quiet) out += `${withName ? label + ':' : ''}${count}\n`
  }
  return result(out, err, error ? 2 : selectedAny ? 0 : 1)
}

export const grep: EmulatedCommand = {
  name: 'grep',
  run: (args, io) => runGrep('grep', args, io),
}

/** Debian's egrep is `exec grep -E "$@"` under /bin/sh: it runs whatever grep PATH finds. */
export const egrep: EmulatedCommand = {
  name: 'egrep',
  run(args, io) {
    const { ctx } = io
    const r = lookupInPath('grep', ctx.env.PATH ?? DASH_DEFAULT_PATH, ctx.cwd, ctx)
    if (r.kind !== 'found' || !isSystemBinary(r.real, 'grep')) return null
    return runGrep('egrep', args, io)
  },
}
