/** GNU `cat` without options: concatenate files and `-` (stdin). */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, quotef, readFileOperand, result, stdinText, textLocale } from './common'
import { gnuGetopt, type LongOption } from '../getopt'

/** cat 9.1's option table: every option is declined, but `--` and abbreviations are getopt's. */
export const SPEC = 'benstuvAET'
export const LONGS: readonly LongOption[] = [
  { name: 'number-nonblank', arg: 'none', key: 'b' },
  { name: 'number', arg: 'none', key: 'n' },
  { name: 'squeeze-blank', arg: 'none', key: 's' },
  { name: 'show-nonprinting', arg: 'none', key: 'v' },
  { name: 'show-ends', arg: 'none', key: 'E' },
  { name: 'show-tabs', arg: 'none', key: 'T' },
  { name: 'show-all', arg: 'none', key: 'A' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

export const cat: EmulatedCommand = {
  name: 'cat',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    const parsed = gnuGetopt(args, SPEC, LONGS, io.ctx.env)
    if (parsed === undefined || parsed.options.length > 0) return null
    const files = parsed.operands.map(utf8ToBytes)
    if (files.length === 0) files.push('-')
    let out = ''
    let err = ''
    let status = 0
    let stdinUsed = false
    for (const f of files) {
      if (f === '-') {
        // A second `-` reads an already exhausted stdin.
        if (!stdinUsed) out += stdinText(io)
        stdinUsed = true
        continue
      }
      const r = readFileOperand(f, io.ctx)
      if (r === null) return null
      if (r.ok) {
        out += r.data
        continue
      }
      const q = quotef(f)
      if (q === null) return null
      err += `cat: ${q}: ${STRERROR[r.error]}\n`
      status = 1
    }
    // Interleaving of data and messages is not representable: the shell checks that only one
    // of the two streams is non-empty when both go to the same place.
    return result(out, err, status)
  },
}
