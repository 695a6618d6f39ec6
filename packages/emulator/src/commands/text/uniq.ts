/** GNU uniq (-c -d -u) over one input (a second operand, an output file, is not answered). */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, quotef, readFileOperand, result, splitLines, stdinText, textLocale } from './common'

export const uniq: EmulatedCommand = {
  name: 'uniq',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    let count = false
    let repeated = false
    let unique = false
    const operands: string[] = []
    let options = true
    for (const a of args) {
      if (!options || a === '-' || a[0] !== '-') {
        operands.push(utf8ToBytes(a))
        continue
      }
      if (a === '--') {
        options = false
        continue
      }
      if (a === '--count') count = true
      else if (a === '--repeated') repeated = true
      else if (a === '--unique') unique = true
      else if (/^-[cdu]+$/.test(a)) {
        count ||= a.includes('c')
        repeated ||= a.includes('d')
        unique ||= a.includes('u')
      } else return null
    }
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
