/**
 * GNU wc 9.1 (-l -w -c -m, default lines/words/bytes) with its column width rule: one count
 * of one input prints unpadded; otherwise the width fits the total size of the regular-file
 * inputs, and is at least 7 when an input is not a regular file (a pipe, a device).
 */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { fileSize, rawName, readOperands, result, textLocale } from './common'
import { gnuGetopt, type LongOption } from '../getopt'

interface Counts {
  lines: number
  words: number
  bytes: number
}

function count(data: string): Counts {
  let lines = 0
  let words = 0
  let inWord = false
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i)
    if (c === 10) lines++
    if (c === 32 || (c >= 9 && c <= 13)) {
      inWord = false
    } else if (c > 32 && c < 127) {
      if (!inWord) words++
      inWord = true
    }
  }
  return { lines, words, bytes: data.length }
}

/** wc 9.1's whole option table (getopt resolves abbreviations against all of it). */
export const SPEC = 'clLmw'
export const LONGS: readonly LongOption[] = [
  { name: 'bytes', arg: 'none', key: 'c' },
  { name: 'chars', arg: 'none', key: 'm' },
  { name: 'debug', arg: 'none', key: 'debug' },
  { name: 'files0-from', arg: 'required', key: 'files0-from' },
  { name: 'lines', arg: 'none', key: 'l' },
  { name: 'max-line-length', arg: 'none', key: 'L' },
  { name: 'words', arg: 'none', key: 'w' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

export const wc: EmulatedCommand = {
  name: 'wc',
  run(args, io) {
    const loc = textLocale(io.ctx.env)
    if (loc === null) return null
    let lines = false
    let words = false
    let bytes = false
    let chars = false
    const parsed = gnuGetopt(args, SPEC, LONGS, io.ctx.env)
    if (parsed === undefined) return null
    for (const { key } of parsed.options) {
      if (key === 'l') lines = true
      else if (key === 'w') words = true
      else if (key === 'c') bytes = true
      else if (key === 'm') chars = true
      else return null
    }
    const files = parsed.operands.map(utf8ToBytes)
    if (!lines && !words && !bytes && !chars) lines = words = bytes = true
    const operands = files.length > 0
    if (!operands) files.push('-')
    const selected = [lines, words, chars, bytes].filter(Boolean).length
    // The width: stat of every input (fstat of stdin for '-'), skipped for one count of one input.
    let width = 1
    if (!(files.length === 1 && selected === 1)) {
      let minimum = 1
      let total = 0
      for (const f of files) {
        if (f === '-') {
          minimum = 7
          continue
        }
        const size = fileSize(f, io.ctx)
        if (size === null) continue
        if (size < 0) minimum = 7
        else total += size
      }
      width = Math.max(String(total).length, minimum)
    }
    const format = (c: Counts, name: string | null): string => {
      const cols: number[] = []
      if (lines) cols.push(c.lines)
      if (words) cols.push(c.words)
      if (chars) cols.push(c.bytes)
      if (bytes) cols.push(c.bytes)
      return cols.map((n) => String(n).padStart(width)).join(' ') + (name === null ? '' : ` ${name}`) + '\n'
    }
    const read = readOperands('wc', files, io)
    if (read === null) return null
    let out = ''
    const sum: Counts = { lines: 0, words: 0, bytes: 0 }
    for (const { name: f, data } of read.files) {
      if ((words || chars) && /[^\x00-\x7f]/.test(data)) return null
      if (words && /[\x00-\x08\x0e-\x1f\x7f]/.test(data)) return null
      const c = count(data)
      sum.lines += c.lines
      sum.words += c.words
      sum.bytes += c.bytes
      // wc prints the name as is (it quotes only names holding a newline).
      const name = operands ? rawName(f) : null
      if (operands && name === null) return null
      out += format(c, name)
    }
    if (files.length > 1) out += format(sum, 'total')
    return result(out, read.err, read.status)
  },
}
