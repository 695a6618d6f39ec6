/** GNU cut 9.1: -b/-c LIST (bytes; 9.1 has no multibyte -c), -f LIST with -d and -s. */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { readOperands, result, splitLines, textLocale } from './common'
import { gnuGetopt, type LongOption } from '../getopt'

/** cut 9.1's whole option table (getopt resolves abbreviations against all of it). */
export const SPEC = 'b:c:d:f:nsz'
export const LONGS: readonly LongOption[] = [
  { name: 'bytes', arg: 'required', key: 'b' },
  { name: 'characters', arg: 'required', key: 'c' },
  { name: 'delimiter', arg: 'required', key: 'd' },
  { name: 'fields', arg: 'required', key: 'f' },
  { name: 'complement', arg: 'none', key: 'complement' },
  { name: 'only-delimited', arg: 'none', key: 's' },
  { name: 'output-delimiter', arg: 'required', key: 'output-delimiter' },
  { name: 'zero-terminated', arg: 'none', key: 'z' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

type Ranges = readonly (readonly [number, number])[]

/** Parses LIST (1-based, inclusive; Infinity for open ends). Null on anything GNU rejects. */
function parseList(list: string): Ranges | null {
  const out: [number, number][] = []
  for (const part of list.split(',')) {
    const m = /^([0-9]*)(-?)([0-9]*)$/.exec(part)
    if (m === null || (m[1] === '' && m[3] === '')) return null
    const lo = m[1] === '' ? 1 : Number(m[1])
    const hi = m[2] === '' ? lo : m[3] === '' ? Infinity : Number(m[3])
    if (lo === 0 || hi === 0 || hi < lo || lo > 1e9) return null
    out.push([lo, hi])
  }
  return out
}

function selected(r: Ranges, i: number): boolean {
  for (const [lo, hi] of r) if (i >= lo && i <= hi) return true
  return false
}

export const cut: EmulatedCommand = {
  name: 'cut',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    let mode: 'b' | 'f' | null = null
    let list: Ranges | null = null
    let delim: string | null = null
    let onlyDelimited = false
    const parsed = gnuGetopt(args, SPEC, LONGS, io.ctx.env)
    if (parsed === undefined) return null
    for (const { key, value } of parsed.options) {
      if (key === 's') {
        onlyDelimited = true
      } else if (key === 'd') {
        const d = utf8ToBytes(value!)
        // A newline delimiter makes GNU cut read the whole input as one record of line fields.
        if (d.length !== 1 || d === '\n') return null
        delim = d
      } else if (key === 'b' || key === 'c' || key === 'f') {
        if (mode !== null) return null
        mode = key === 'f' ? 'f' : 'b'
        list = parseList(value!)
        if (list === null) return null
      } else {
        return null
      }
    }
    const files = parsed.operands.map(utf8ToBytes)
    if (mode === null || list === null) return null
    if (mode === 'b' && (delim !== null || onlyDelimited)) return null
    const d = delim ?? '\t'
    if (files.length === 0) files.push('-')
    const read = readOperands('cut', files, io)
    if (read === null) return null
    let out = ''
    for (const { data } of read.files) {
      for (const line of splitLines(data).lines) {
        if (mode === 'b') {
          let s = ''
          for (let i = 0; i < line.length; i++) if (selected(list, i + 1)) s += line[i]
          out += s + '\n'
          continue
        }
        if (!line.includes(d)) {
          if (!onlyDelimited) out += line + '\n'
          continue
        }
        const fields = line.split(d)
        const picked: string[] = []
        for (let i = 0; i < fields.length; i++) if (selected(list, i + 1)) picked.push(fields[i]!)
        out += picked.join(d) + '\n'
      }
    }
    return result(out, read.err, read.status)
  },
}
