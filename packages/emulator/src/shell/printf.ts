/**
 * dash's `echo` and `printf` builtins over byte strings. Error paths of printf (non-numeric
 * arguments, unknown directives, `*` widths, floating point) raise `Unsupported`.
 */
import { bail } from './bail'

/** The C escapes of dash's echo, printf formats and `%b` (dash 0.5.12 has `\e`, not `\E`). */
const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7'
}

/**
 * Expands the escapes of an echo argument or a `%b` argument: `\0NNN` octal, `\NNN` octal,
 * the C escapes, `\c` (stops all output). Unknown escapes keep their backslash.
 */
function escapeString(s: string): { text: string; stop: boolean } {
  if (s.indexOf('\\') < 0) return { text: s, stop: false }
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== '\\') {
      out += c
      continue
    }
    const n = s[i + 1]
    if (n === 'c') return { text: out, stop: true }
    if (n === '0') {
      let v = 0
      let j = i + 2
      for (let k = 0; k < 3 && isOctal(s[j]); k++, j++) v = v * 8 + (s.charCodeAt(j) - 48)
      out += String.fromCharCode(v & 0xff)
      i = j - 1
      continue
    }
    const r = formatEscape(s, i)
    out += r.text
    i = r.next - 1
  }
  return { text: out, stop: false }
}

/** One escape in a printf format at `i` (a backslash): `\NNN`, the C escapes, else `\`. */
function formatEscape(s: string, i: number): { text: string; next: number } {
  const n = s[i + 1]
  if (isOctal(n)) {
    let v = 0
    let j = i + 1
    for (let k = 0; k < 3 && isOctal(s[j]); k++, j++) v = v * 8 + (s.charCodeAt(j) - 48)
    return { text: String.fromCharCode(v & 0xff), next: j }
  }
  if (n !== undefined) {
    const e = SIMPLE_ESCAPES[n]
    if (e !== undefined) return { text: e, next: i + 2 }
  }
  return { text: '\\', next: i + 1 }
}

/** dash's echo: only a first argument of exactly `-n` is an option; escapes always apply. */
export function echoBuiltin(args: readonly string[]): string {
  let i = 0
  let newline = true
  if (args[0] === '-n') {
    newline = false
    i = 1
  }
  let out = ''
  for (; i < args.length; i++) {
    const r = escapeString(args[i]!)
    out += r.text
    if (r.stop) return out
    if (i < args.length - 1) out += ' '
  }
  return newline ? out + '\n' : out
}

const INTMAX = (1n << 63n) - 1n
const INTMIN = -(1n << 63n)
const UINTMAX = (1n << 64n) - 1n

/** strtoimax/strtoumax with base 0 on the whole argument; anything but a clean number bails. */
function parseInteger(arg: string, unsigned: boolean): bigint {
  if (arg === '') return 0n
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(arg)
  if (m === null) bail('printf: not a clean number')
  const digits = m[2]!
  let v: bigint
  if (digits.length > 1 && (digits[1] === 'x' || digits[1] === 'X')) v = BigInt(digits)
  else if (digits.length > 1 && digits[0] === '0') v = BigInt('0o' + digits.slice(1))
  else v = BigInt(digits)
  const neg = m[1] === '-'
  if (unsigned) {
    if (v > UINTMAX) bail('printf: out of range')
    return neg ? (UINTMAX + 1n - v) & UINTMAX : v
  }
  const s = neg ? -v : v
  if (s > INTMAX || s < INTMIN) bail('printf: out of range')
  return s
}

interface Spec {
  minus: boolean
  plus: boolean
  space: boolean
  hash: boolean
  zero: boolean
  width: number
  precision: number
}

function pad(body: string, spec: Spec, zeroOk: boolean, signLen: number): string {
  if (body.length >= spec.width) return body
  const fill = spec.width - body.length
  if (spec.minus) return body + ' '.repeat(fill)
  if (spec.zero && zeroOk) return body.slice(0, signLen) + '0'.repeat(fill) + body.slice(signLen)
  return ' '.repeat(fill) + body
}

function formatInteger(conv: string, v: bigint, spec: Spec): string {
  let sign = ''
  let digits: string
  if (conv === 'd' || conv === 'i') {
    if (v < 0n) {
      sign = '-'
      v = -v
    } else if (spec.plus) {
      sign = '+'
    } else if (spec.space) {
      sign = ' '
    }
    digits = v.toString(10)
  } else if (conv === 'u') {
    digits = v.toString(10)
  } else if (conv === 'o') {
    digits = v.toString(8)
  } else {
    digits = v.toString(16)
    if (conv === 'X') digits = digits.toUpperCase()
  }
  if (spec.precision >= 0) {
    if (spec.precision === 0 && v === 0n) digits = ''
    if (digits.length < spec.precision) digits = '0'.repeat(spec.precision - digits.length) + digits
  }
  if (spec.hash) {
    if (conv === 'o' && digits[0] !== '0') digits = '0' + digits
    else if ((conv === 'x' || conv === 'X') && v !== 0n) sign = conv === 'x' ? '0x' : '0X'
  }
  return pad(sign + digits, spec, spec.precision < 0, sign.length)
}

/** dash's printf builtin. Returns the bytes written (status is always 0 on the paths we answer). */
export function printfBuiltin(argv: readonly string[]): string {
  let args = argv
  if (args[0] === '--') args = args.slice(1)
  const format = args[0]
  if (format === undefined) bail('printf: usage error')
  if (format[0] === '-' && format.length > 1) bail('printf: option-like format')
  let ai = 1
  let out = ''
  for (;;) {
    let consumed = false
    for (let i = 0; i < format.length; i++) {
      const c = format[i]!
      if (c === '\\') {
        const r = formatEscape(format, i)
        out += r.text
        i = r.next - 1
        continue
      }
      if (c !== '%') {
        out += c
        continue
      }
      if (format[i + 1] === '%') {
        out += '%'
        i++
        continue
      }
      const spec: Spec = { minus: false, plus: false, space: false, hash: false, zero: false, width: 0, precision: -1 }
      let j = i + 1
      for (;; j++) {
        const f = format[j]
        if (f === '-') spec.minus = true
        else if (f === '+') spec.plus = true
        else if (f === ' ') spec.space = true
        else if (f === '#') spec.hash = true
        else if (f === '0') spec.zero = true
        else break
      }
      let w = ''
      while (format[j] !== undefined && format[j]! >= '0' && format[j]! <= '9') w += format[j++]
      if (w !== '') spec.width = Number(w)
      if (format[j] === '.') {
        j++
        let p = ''
        while (format[j] !== undefined && format[j]! >= '0' && format[j]! <= '9') p += format[j++]
        spec.precision = p === '' ? 0 : Number(p)
      }
      const conv = format[j]
      if (conv === undefined || spec.width > 4096 || spec.precision > 4096) bail('printf: directive')
      const arg = args[ai]
      if (arg !== undefined) {
        ai++
        consumed = true
      }
      if (conv === 's' || conv === 'b') {
        if (spec.zero || spec.plus || spec.space || spec.hash) bail('printf: flags on %s')
        let text = arg ?? ''
        let stop = false
        if (conv === 'b') {
          const r = escapeString(text)
          text = r.text
          stop = r.stop
        }
        if (spec.precision >= 0) text = text.slice(0, spec.precision)
        out += pad(text, spec, false, 0)
        if (stop) return out
      } else if (conv === 'c') {
        if (arg === undefined || arg === '' || spec.zero || spec.precision >= 0) bail('printf: %c form')
        out += pad(arg[0]!, spec, false, 0)
      } else if (conv === 'd' || conv === 'i' || conv === 'u' || conv === 'o' || conv === 'x' || conv === 'X') {
        if (arg !== undefined && (arg[0] === "'" || arg[0] === '"')) bail('printf: character constant')
        const v = parseInteger(arg ?? '', conv !== 'd' && conv !== 'i')
        out += formatInteger(conv, v, spec)
      } else {
        bail(`printf: %${conv}`)
      }
      i = j
    }
    if (!consumed || ai >= args.length) break
  }
  return out
}
