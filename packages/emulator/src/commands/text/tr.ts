/**
 * GNU tr 9.1 (bytes): translate SET1 to SET2, -d, -s, -ds. Sets with ranges, escapes and
 * character classes; `[:upper:]`/`[:lower:]` in SET2 only as the case-mapping pair.
 * -c, `[c*n]` and `[=c=]` are not answered.
 */
import type { EmulatedCommand } from '../../types'
import { classMembers } from '../../charclass'
import { utf8ToBytes } from '../../bytes'
import { result, stdinText, textLocale } from './common'
import { gnuGetopt, type LongOption } from '../getopt'

interface Parsed {
  chars: string
  /** A lone case class (for the [:upper:] ↔ [:lower:] pairing). */
  caseClass: 'upper' | 'lower' | null
  hasClass: boolean
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' }

/**
 * Parses a set. A three-digit octal escape above \377 is read as two digits and the third
 * digit (coreutils unescape), with the warning appended to `warn`.
 */
function parseSet(s: string, warn: string[]): Parsed | null {
  // First pass: unescape into a list of [char, escaped] so ranges and classes see literals.
  const items: { c: string; lit: boolean }[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== '\\') {
      items.push({ c, lit: false })
      continue
    }
    const n = s[i + 1]
    if (n === undefined) return null
    if (n >= '0' && n <= '7') {
      let v = 0
      let j = i + 1
      for (let k = 0; k < 3 && s[j] !== undefined && s[j]! >= '0' && s[j]! <= '7'; k++, j++) {
        const nv = v * 8 + (s.charCodeAt(j) - 48)
        if (nv > 255) {
          const d = s.slice(i + 1, i + 4)
          warn.push(`tr: warning: the ambiguous octal escape \\${d} is being\n\tinterpreted as the 2-byte sequence \\0${d.slice(0, 2)}, ${d[2]}\n`)
          break
        }
        v = nv
      }
      items.push({ c: String.fromCharCode(v), lit: true })
      i = j - 1
      continue
    }
    items.push({ c: ESCAPES[n] ?? n, lit: true })
    i++
  }
  let chars = ''
  let hasClass = false
  let caseClass: 'upper' | 'lower' | null = null
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    if (!it.lit && it.c === '[' && items[i + 1]?.c === ':' && !items[i + 1]!.lit) {
      let j = i + 2
      let name = ''
      while (j < items.length && !(items[j]!.c === ':' && items[j + 1]?.c === ']')) name += items[j++]!.c
      const cls = classMembers(name)
      if (j < items.length && cls !== undefined) {
        hasClass = true
        if ((name === 'upper' || name === 'lower') && items.length === j + 2 && i === 0) caseClass = name
        chars += cls
        i = j + 1
        continue
      }
      return null
    }
    if (!it.lit && it.c === '[' && (items[i + 1]?.c === '=' || items.slice(i).some((x) => x.c === '*'))) return null
    const next = items[i + 1]
    const hi = items[i + 2]
    if (next !== undefined && next.c === '-' && !next.lit && hi !== undefined) {
      if (hi.c.charCodeAt(0) < it.c.charCodeAt(0)) return null
      for (let c = it.c.charCodeAt(0); c <= hi.c.charCodeAt(0); c++) chars += String.fromCharCode(c)
      i += 2
      continue
    }
    chars += it.c
  }
  return { chars, caseClass, hasClass }
}

/** tr 9.1's whole option table; `+`: options end at the first operand (`tr a -d` maps a to -). */
export const SPEC = '+AcCdst'
export const LONGS: readonly LongOption[] = [
  { name: 'complement', arg: 'none', key: 'c' },
  { name: 'delete', arg: 'none', key: 'd' },
  { name: 'squeeze-repeats', arg: 'none', key: 's' },
  { name: 'truncate-set1', arg: 'none', key: 't' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

export const tr: EmulatedCommand = {
  name: 'tr',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    let del = false
    let squeeze = false
    const parsed = gnuGetopt(args, SPEC, LONGS, io.ctx.env)
    if (parsed === undefined) return null
    for (const { key } of parsed.options) {
      if (key === 'd') del = true
      else if (key === 's') squeeze = true
      else return null
    }
    const sets = parsed.operands.map(utf8ToBytes)
    const want = del ? (squeeze ? 2 : 1) : squeeze ? (sets.length === 2 ? 2 : 1) : 2
    if (sets.length !== want) return null
    const warn: string[] = []
    const s1 = parseSet(sets[0]!, warn)
    const s2 = sets[1] === undefined ? null : parseSet(sets[1], warn)
    if (s1 === null || (sets[1] !== undefined && s2 === null)) return null
    const input = stdinText(io)
    const inSet1 = new Set(s1.chars)
    let map: Map<string, string> | null = null
    if (!del && s2 !== null) {
      if (s2.chars === '') return null
      let target = s2.chars
      if (s2.hasClass) {
        const pair = s1.caseClass !== null && s2.caseClass !== null && s1.caseClass !== s2.caseClass
        if (!pair) return null
      } else if (s1.hasClass && target.length < s1.chars.length && s1.caseClass === null) {
        return null
      }
      if (target.length < s1.chars.length) target += target[target.length - 1]!.repeat(s1.chars.length - target.length)
      map = new Map()
      for (let i = 0; i < s1.chars.length; i++) map.set(s1.chars[i]!, target[i]!)
    }
    const squeezeSet = squeeze ? new Set(s2 !== null ? s2.chars : s1.chars) : null
    let out = ''
    let last = ''
    for (let i = 0; i < input.length; i++) {
      let c = input[i]!
      if (del && inSet1.has(c)) continue
      if (map !== null) c = map.get(c) ?? c
      if (squeezeSet !== null && c === last && squeezeSet.has(c)) continue
      out += c
      last = c
    }
    return result(out, warn.join(''), 0)
  },
}
