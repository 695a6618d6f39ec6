/** GNU uniq (-c -d -u) over one input (a second operand, an output file, is not answered). */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, quotef, readFileOperand, result, splitLines, stdinText, textLocale } from './common'
import { gnuGetopt, type LongOption } from '../getopt'

/** uniq 9.1's whole option table; `-` keeps operands in order (the obsolete `+N`). */
export const SPEC = '-0123456789Dcdf:is:uw:z'
export const LONGS: readonly LongOption[] = [
  { name: 'all-repeated', arg: 'optional', key: 'D' },
  { name: 'check-chars', arg: 'required', key: 'w' },
  { name: 'count', arg: 'none', key: 'c' },
  { name: 'group', arg: 'optional', key: 'group' },
  { name: 'ignore-case', arg: 'none', key: 'i' },
  { name: 'repeated', arg: 'none', key: 'd' },
  { name: 'skip-chars', arg: 'required', key: 's' },
  { name: 'skip-fields', arg: 'required', key: 'f' },
  { name: 'unique', arg: 'none', key: 'u' },
  { name: 'zero-terminated', arg: 'none', key: 'z' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

export const uniq: EmulatedCommand = {
  name: 'uniq',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    let count = false
    let repeated = false
    let unique = false
    const parsed = gnuGetopt(args, SPEC, LONGS, io.ctx.env)
    if (parsed === undefined) return null
    for (const { key } of parsed.options) {
      if (key === 'c') count = true
      else if (key === 'd') repeated = true
      else if (key === 'u') unique = true
      else return null // digits: the obsolete -N (skip fields); the options not modelled
    }
    // `+N` before `--` is the obsolete form of --skip-chars.
    if (parsed.operands.slice(0, parsed.beforeDashDash).some((a) => a.startsWith('+'))) return null
    const operands = parsed.operands.map(utf8ToBytes)
    if (operands.length > 1) return null
    let data: string
    const f = operands[0] ?? '-'
    if (f === '-') {
      data = stdinText(io)
    } else {
      const r = readFileOperand(f, io.ctx)
      if (r === null || (!r.ok && r.error === 'EISDIR')) return null
      if (!r.ok) {
        const q = quotef(f)
        if (q === null) return null
        return result('', `uniq: ${q}: ${STRERROR[r.error]}\n`, 1)
      }
      data = r.data
    }
    const { lines } = splitLines(data)
    let out = ''
    for (let i = 0; i < lines.length; ) {
      let j = i + 1
      while (j < lines.length && lines[j] === lines[i]) j++
      const n = j - i
      const show = repeated || unique ? (repeated && n > 1) || (unique && n === 1) : true
      if (show && !(repeated && unique)) out += (count ? `${String(n).padStart(7)} ` : '') + lines[i] + '\n'
      i = j
    }
    return result(out, '', 0)
  },
}
