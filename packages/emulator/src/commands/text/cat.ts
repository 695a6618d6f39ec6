/** GNU `cat` without options: concatenate files and `-` (stdin). */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, quotef, readFileOperand, result, stdinText, textLocale } from './common'

export const cat: EmulatedCommand = {
  name: 'cat',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    const files: string[] = []
    let options = true
    for (const a of args) {
      if (options && a === '--') {
        options = false
      } else if (options && a.length > 1 && a[0] === '-') {
        return null
      } else {
        files.push(utf8ToBytes(a))
      }
    }
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
