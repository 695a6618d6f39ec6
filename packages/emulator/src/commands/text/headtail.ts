/** GNU `head` and `tail` (-n, -c, -N, +N for tail, -q, -v, several files with headers). */
import type { ChildContext, CommandIO, EmulatedCommand, EmulationResult } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { parseCount, quoteaf, rawName, readFileOperand, result, stdinText, STRERROR, textLocale } from './common'
import { gnuGetopt, type LongOption } from '../getopt'

interface Amount {
  readonly bytes: boolean
  readonly count: number
  /** head: `-N` means all but the last N; tail: `+N` means starting at the Nth. */
  readonly mark: boolean
}

interface Parsed {
  amount: Amount
  headers: boolean | null
  files: string[]
}

function parseAmount(v: string, bytes: boolean, markChar: '-' | '+'): Amount | null {
  let mark = false
  let s = v
  if (s[0] === markChar) {
    mark = true
    s = s.slice(1)
  } else if (markChar === '-' && s[0] === '+') {
    s = s.slice(1)
  } else if (markChar === '+' && s[0] === '-') {
    s = s.slice(1)
  }
  const count = parseCount(s)
  if (count === null) return null
  return { bytes, count, mark }
}

/** tail's test for the obsolete `-N` form (coreutils 9.1 parse_obsolete_option): one option, at most one file. */
function tailObsoleteApplies(args: readonly string[]): boolean {
  const n = args.length
  if (n === 1) return true
  if (n === 2 && !(args[1]![0] === '-' && args[1]!.length > 1)) return true
  return (n === 2 || n === 3) && args[1] === '--'
}

type ParseOutcome = Parsed | { readonly invalidContext: string } | null

/** head's and tail's whole option tables (getopt resolves abbreviations against all of them). */
export const HEAD_SPEC = 'c:n:qvz0123456789'
export const HEAD_LONGS: readonly LongOption[] = [
  { name: 'bytes', arg: 'required', key: 'c' },
  { name: 'lines', arg: 'required', key: 'n' },
  { name: '-presume-input-pipe', arg: 'none', key: 'presume-input-pipe' },
  { name: 'quiet', arg: 'none', key: 'q' },
  { name: 'silent', arg: 'none', key: 'q' },
  { name: 'verbose', arg: 'none', key: 'v' },
  { name: 'zero-terminated', arg: 'none', key: 'z' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]
export const TAIL_SPEC = 'c:n:fFqs:vz0123456789'
export const TAIL_LONGS: readonly LongOption[] = [
  { name: 'bytes', arg: 'required', key: 'c' },
  { name: 'follow', arg: 'optional', key: 'follow' },
  { name: 'lines', arg: 'required', key: 'n' },
  { name: 'max-unchanged-stats', arg: 'required', key: 'max-unchanged-stats' },
  { name: '-disable-inotify', arg: 'none', key: 'disable-inotify' },
  { name: 'pid', arg: 'required', key: 'pid' },
  { name: '-presume-input-pipe', arg: 'none', key: 'presume-input-pipe' },
  { name: 'quiet', arg: 'none', key: 'q' },
  { name: 'retry', arg: 'none', key: 'retry' },
  { name: 'silent', arg: 'none', key: 'q' },
  { name: 'sleep-interval', arg: 'required', key: 's' },
  { name: 'verbose', arg: 'none', key: 'v' },
  { name: 'zero-terminated', arg: 'none', key: 'z' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

/**
 * The obsolete leading `-NUM` (head) and `-NUM[cl]`/`+NUM` (tail) are read here, as coreutils
 * does before getopt; getopt parses the rest.
 */
function parseArgs(prog: 'head' | 'tail', args: readonly string[], env: ChildContext['env']): ParseOutcome {
  const markChar = prog === 'head' ? '-' : '+'
  const p: Parsed = { amount: { bytes: false, count: 10, mark: false }, headers: null, files: [] }
  let i = 0
  const first = args[0]
  if (prog === 'head' && first !== undefined && /^-[0-9]+$/.test(first)) {
    // head takes `-N` as its first argument whatever follows.
    const n = parseCount(first.slice(1))
    if (n === null) return null
    p.amount = { bytes: false, count: n, mark: false }
    i = 1
  } else if (prog === 'tail' && first !== undefined && /^[-+][0-9]*[bcfl]*$/.test(first) && first !== '-' && tailObsoleteApplies(args)) {
    const m = /^-([0-9]+)([cl]?)$/.exec(first)
    if (m === null) return null
    const n = parseCount(m[1]!)
    if (n === null) return null
    p.amount = { bytes: m[2] === 'c', count: n, mark: false }
    i = 1
  } else if (prog === 'tail' && first !== undefined && /^\+/.test(first)) {
    return null
  }
  const parsed = prog === 'head' ? gnuGetopt(args.slice(i), HEAD_SPEC, HEAD_LONGS, env) : gnuGetopt(args.slice(i), TAIL_SPEC, TAIL_LONGS, env)
  if (parsed === undefined) return null
  for (const { key, value } of parsed.options) {
    // getopt meets a digit: tail rejects it where the obsolete form does not apply.
    if (key >= '0' && key <= '9' && key.length === 1) return prog === 'tail' ? { invalidContext: key } : null
    if (key === 'q') {
      p.headers = false
      continue
    }
    if (key === 'v') {
      p.headers = true
      continue
    }
    if (key !== 'n' && key !== 'c') return null
    const amount = parseAmount(value!, key === 'c', markChar)
    if (amount === null) return null
    // tail's from_start is only ever set: `-c +2 -n 2` counts lines from the second.
    p.amount = prog === 'tail' && p.amount.mark && !amount.mark ? { ...amount, mark: true } : amount
  }
  p.files = parsed.operands.map(utf8ToBytes)
  if (p.files.length === 0) p.files.push('-')
  return p
}

function headOf(data: string, a: Amount): string {
  if (a.bytes) return a.mark ? data.slice(0, Math.max(0, data.length - a.count)) : data.slice(0, a.count)
  if (!a.mark) {
    let pos = 0
    for (let n = 0; n < a.count; n++) {
      const nl = data.indexOf('\n', pos)
      if (nl < 0) return data
      pos = nl + 1
    }
    return data.slice(0, pos)
  }
  // All but the last N lines (a final unterminated line counts as a line).
  if (a.count === 0) return data
  let end = data.length
  if (end > 0 && data[end - 1] !== '\n') {
    end = data.lastIndexOf('\n', end - 1) + 1
    if (a.count === 1) return data.slice(0, end)
    return dropLines(data, end, a.count - 1)
  }
  return dropLines(data, end, a.count)
}

/** data[0, end) ends with a newline (or is empty): remove its last n lines. */
function dropLines(data: string, end: number, n: number): string {
  let e = end
  for (let k = 0; k < n; k++) {
    if (e === 0) return ''
    e = e < 2 ? 0 : data.lastIndexOf('\n', e - 2) + 1
  }
  return data.slice(0, e)
}

function tailOf(data: string, a: Amount): string {
  if (a.bytes) {
    if (a.mark) return data.slice(Math.max(0, a.count - 1))
    return a.count === 0 ? '' : data.slice(Math.max(0, data.length - a.count))
  }
  if (a.mark) {
    let pos = 0
    for (let n = 1; n < a.count; n++) {
      const nl = data.indexOf('\n', pos)
      if (nl < 0) return ''
      pos = nl + 1
    }
    return data.slice(pos)
  }
  if (a.count === 0 || data === '') return ''
  let start = data.length
  // A trailing newline ends the last line; it does not start a new one.
  let scan = data[start - 1] === '\n' ? start - 1 : start
  for (let n = 0; n < a.count; n++) {
    if (scan === 0) return data
    const nl = data.lastIndexOf('\n', scan - 1)
    if (nl < 0) return data
    start = nl + 1
    scan = nl
  }
  return data.slice(start)
}

function runHeadTail(prog: 'head' | 'tail', args: readonly string[], io: CommandIO): EmulationResult | null {
  if (textLocale(io.ctx.env) === null) return null
  const p = parseArgs(prog, args, io.ctx.env)
  if (p === null) return null
  if ('invalidContext' in p) return result('', `${prog}: option used in invalid context -- ${p.invalidContext}\n`, 1)
  // tail outputs nothing for a count of 0 from the end, and opens nothing (no headers, no errors).
  if (prog === 'tail' && p.amount.count === 0 && !p.amount.mark) return result('', '', 0)
  const headers = p.headers ?? p.files.length > 1
  let out = ''
  let err = ''
  let status = 0
  let printed = false
  let stdinUsed = false
  for (const f of p.files) {
    let data: string
    if (f === '-') {
      data = stdinUsed ? '' : stdinText(io)
      stdinUsed = true
    } else {
      const r = readFileOperand(f, io.ctx)
      if (r === null) return null
      if (!r.ok) {
        if (r.error === 'EISDIR') return null
        const q = quoteaf(f)
        if (q === null) return null
        err += `${prog}: cannot open ${q} for reading: ${STRERROR[r.error]}\n`
        status = 1
        continue
      }
      data = r.data
    }
    if (headers) {
      if (rawName(f) === null) return null
      out += `${printed ? '\n' : ''}==> ${f === '-' ? 'standard input' : f} <==\n`
      printed = true
    }
    out += prog === 'head' ? headOf(data, p.amount) : tailOf(data, p.amount)
  }
  return result(out, err, status)
}

export const head: EmulatedCommand = {
  name: 'head',
  run: (args, io) => runHeadTail('head', args, io),
}

export const tail: EmulatedCommand = {
  name: 'tail',
  run: (args, io) => runHeadTail('tail', args, io),
}
