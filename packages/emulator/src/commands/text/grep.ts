/**
 * GNU grep 3.8 (-E -F -G -v -i -c -q -x -n -s -h -H -e), and Debian's `egrep`, a script that
 * runs `grep -E` found on the child's PATH (it prints no obsolescence warning on Debian 12).
 * Inputs with NUL or non-ASCII bytes are not answered (binary-file and multibyte rules).
 */
import type { CommandIO, EmulatedCommand, EmulationResult } from '../../types'
import { DASH_DEFAULT_PATH, isSystemBinary, lookupInPath } from '../../resolve'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, rawName, readFileOperand, result, stdinText, textLocale } from './common'
import { translateRegex } from './regex'

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

const SHORT_FLAGS = 'EFGvicqxnshHy'

function parseGrepArgs(args: readonly string[], ere: boolean): ParsedGrep {
  const o: GrepOptions = {
    ere, fixed: false, invert: false, icase: false, count: false, quiet: false, lineRegexp: false,
    lineNumbers: false, noMessages: false, withFilename: null, patterns: null, files: [],
  }
  const operands: string[] = []
  let options = true
  // grep 3.8 setmatcher(): a second, different matcher (-E -F -G -P, egrep's -E included)
  // ends option parsing with "conflicting matchers specified".
  let matcher: string | null = ere ? 'E' : null
  const setMatcher = (m: string): boolean => {
    if (matcher !== null && matcher !== m) return false
    matcher = m
    return true
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (!options || a === '-' || a[0] !== '-') {
      operands.push(utf8ToBytes(a))
      continue
    }
    if (a === '--') {
      options = false
      continue
    }
    if (a.startsWith('--')) {
      const matchers: Record<string, string> = {
        '--extended-regexp': 'E', '--fixed-strings': 'F', '--basic-regexp': 'G', '--perl-regexp': 'P',
      }
      const m = matchers[a]
      if (m !== undefined) {
        if (!setMatcher(m)) return CONFLICT
        if (m === 'P') return null
        o.ere = m === 'E'
        o.fixed = m === 'F'
        continue
      }
      const long: Record<string, () => void> = {
        '--invert-match': () => { o.invert = true },
        '--ignore-case': () => { o.icase = true },
        '--count': () => { o.count = true },
        '--quiet': () => { o.quiet = true },
        '--silent': () => { o.quiet = true },
        '--line-regexp': () => { o.lineRegexp = true },
        '--line-number': () => { o.lineNumbers = true },
        '--no-messages': () => { o.noMessages = true },
        '--with-filename': () => { o.withFilename = true },
        '--no-filename': () => { o.withFilename = false },
      }
      if (a.startsWith('--regexp=')) {
        ;(o.patterns ??= []).push(utf8ToBytes(a.slice(9)))
        continue
      }
      const f = long[a]
      if (f === undefined) return null
      f()
      continue
    }
    for (let k = 1; k < a.length; k++) {
      const c = a[k]!
      if (c === 'e') {
        const v = k + 1 < a.length ? a.slice(k + 1) : args[++i]
        if (v === undefined) return null
        ;(o.patterns ??= []).push(utf8ToBytes(v))
        break
      }
      if (c === 'E' || c === 'F' || c === 'G' || c === 'P') {
        if (!setMatcher(c)) return CONFLICT
        if (c === 'P') return null
        o.ere = c === 'E'
        o.fixed = c === 'F'
        continue
      }
      if (!SHORT_FLAGS.includes(c)) return null
      switch (c) {
        case 'v': o.invert = true; break
        case 'i': case 'y': o.icase = true; break
        case 'c': o.count = true; break
        case 'q': o.quiet = true; break
        case 'x': o.lineRegexp = true; break
        case 'n': o.lineNumbers = true; break
        case 's': o.noMessages = true; break
        case 'h': o.withFilename = false; break
        case 'H': o.withFilename = true; break
      }
    }
  }
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
  const o = parseGrepArgs(args, prog === 'egrep')
  if (o === null) return null
  // Debian's egrep runs grep: the message carries grep's name.
  if ('conflict' in o) return result('', 'grep: conflicting matchers specified\n', 2)
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
