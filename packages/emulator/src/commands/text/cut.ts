/** GNU cut 9.1: -b/-c LIST (bytes; 9.1 has no multibyte -c), -f LIST with -d and -s. */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { readOperands, result, splitLines, textLocale } from './common'

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
    const files: string[] = []
    let options = true
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (!options || a === '-' || a[0] !== '-') {
        files.push(utf8ToBytes(a))
        continue
      }
      if (a === '--') {
        options = false
        continue
      }
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!
        if (c === 's') {
          onlyDelimited = true
          continue
        }
        if (c !== 'b' && c !== 'c' && c !== 'f' && c !== 'd') return null
        const v = j + 1 < a.length ? a.slice(j + 1) : args[++i]
        if (v === undefined) return null
        if (c === 'd') {
          const d = utf8ToBytes(v)
          if (d.length !== 1) return null
          delim = d
        } else {
          if (mode !== null) return null
          mode = c === 'f' ? 'f' : 'b'
          list = parseList(v)
          if (list === null) return null
        }
        break
      }
    }
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
