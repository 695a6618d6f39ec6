/**
 * GNU sort (-u -n -r -f -b -t -k, -s) in the C locale's byte order. C.UTF-8 collates the same
 * on glibc 2.36 (bytewise, checked on random bytes including invalid UTF-8); any other locale
 * is not answered.
 */
import type { EmulatedCommand } from '../../types'
import { utf8ToBytes } from '../../bytes'
import { STRERROR, quotef, readFileOperand, result, stdinText, textLocale } from './common'
import { gnuGetopt, type LongOption } from '../getopt'

/** sort 9.1's whole option table; `-` keeps operands in order (the obsolete `+POS`). */
export const SPEC = '-bcCdfghik:mMno:rRsS:t:T:uVy:z'
export const LONGS: readonly LongOption[] = [
  { name: 'batch-size', arg: 'required', key: 'batch-size' },
  { name: 'buffer-size', arg: 'required', key: 'S' },
  { name: 'check', arg: 'optional', key: 'check' },
  { name: 'compress-program', arg: 'required', key: 'compress-program' },
  { name: 'debug', arg: 'none', key: 'debug' },
  { name: 'dictionary-order', arg: 'none', key: 'd' },
  { name: 'field-separator', arg: 'required', key: 't' },
  { name: 'files0-from', arg: 'required', key: 'files0-from' },
  { name: 'general-numeric-sort', arg: 'none', key: 'g' },
  { name: 'human-numeric-sort', arg: 'none', key: 'h' },
  { name: 'ignore-case', arg: 'none', key: 'f' },
  { name: 'ignore-leading-blanks', arg: 'none', key: 'b' },
  { name: 'ignore-nonprinting', arg: 'none', key: 'i' },
  { name: 'key', arg: 'required', key: 'k' },
  { name: 'merge', arg: 'none', key: 'm' },
  { name: 'month-sort', arg: 'none', key: 'M' },
  { name: 'numeric-sort', arg: 'none', key: 'n' },
  { name: 'output', arg: 'required', key: 'o' },
  { name: 'parallel', arg: 'required', key: 'parallel' },
  { name: 'random-sort', arg: 'none', key: 'R' },
  { name: 'random-source', arg: 'required', key: 'random-source' },
  { name: 'reverse', arg: 'none', key: 'r' },
  { name: 'sort', arg: 'required', key: 'sort' },
  { name: 'stable', arg: 'none', key: 's' },
  { name: 'temporary-directory', arg: 'required', key: 'T' },
  { name: 'unique', arg: 'none', key: 'u' },
  { name: 'version-sort', arg: 'none', key: 'V' },
  { name: 'zero-terminated', arg: 'none', key: 'z' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

interface KeyFlags {
  numeric: boolean
  reverse: boolean
  fold: boolean
  blanksStart: boolean
  blanksEnd: boolean
}

interface Key extends KeyFlags {
  sField: number
  sChar: number
  /** 0 = end of line. */
  eField: number
  /** 0 = end of the field. */
  eChar: number
}

function noFlags(): KeyFlags {
  return { numeric: false, reverse: false, fold: false, blanksStart: false, blanksEnd: false }
}

/** Applies key-local letters; returns false on letters we do not support. */
function keyLetters(s: string, k: KeyFlags, end: boolean): boolean {
  for (const c of s) {
    if (c === 'n') k.numeric = true
    else if (c === 'r') k.reverse = true
    else if (c === 'f') k.fold = true
    else if (c === 'b') {
      if (end) k.blanksEnd = true
      else k.blanksStart = true
    } else return false
  }
  return true
}

function parseKey(spec: string): { key: Key; hasLetters: boolean } | null {
  const m = /^([0-9]+)(?:\.([0-9]+))?([a-zA-Z]*)(?:,([0-9]+)(?:\.([0-9]+))?([a-zA-Z]*))?$/.exec(spec)
  if (m === null) return null
  const sField = Number(m[1])
  const sChar = m[2] === undefined ? 1 : Number(m[2])
  if (sField === 0 || sChar === 0) return null
  const key: Key = { ...noFlags(), sField, sChar, eField: 0, eChar: 0 }
  if (!keyLetters(m[3] ?? '', key, false)) return null
  if (m[4] !== undefined) {
    key.eField = Number(m[4])
    key.eChar = m[5] === undefined ? 0 : Number(m[5])
    if (key.eField === 0) return null
    if (!keyLetters(m[6] ?? '', key, true)) return null
  }
  return { key, hasLetters: (m[3] ?? '') !== '' || (m[6] ?? '') !== '' }
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t'
}

/** Start offset of field `f` (1-based) in `line`. */
function fieldStart(line: string, f: number, tab: string | null): number {
  let pos = 0
  for (let i = 1; i < f; i++) {
    if (tab !== null) {
      const t = line.indexOf(tab, pos)
      if (t < 0) return line.length
      pos = t + 1
    } else {
      while (pos < line.length && isBlank(line[pos])) pos++
      while (pos < line.length && !isBlank(line[pos])) pos++
    }
  }
  return pos
}

/** End offset (exclusive) of field `f` in `line`. */
function fieldEnd(line: string, f: number, tab: string | null): number {
  const start = fieldStart(line, f, tab)
  if (tab !== null) {
    const t = line.indexOf(tab, start)
    return t < 0 ? line.length : t
  }
  let pos = start
  while (pos < line.length && isBlank(line[pos])) pos++
  while (pos < line.length && !isBlank(line[pos])) pos++
  return pos
}

function keyText(line: string, k: Key, tab: string | null): string {
  let s = fieldStart(line, k.sField, tab)
  if (k.blanksStart) while (s < line.length && isBlank(line[s])) s++
  s = Math.min(line.length, s + k.sChar - 1)
  let e: number
  if (k.eField === 0) {
    e = line.length
  } else if (k.eChar === 0) {
    e = fieldEnd(line, k.eField, tab)
  } else {
    e = fieldStart(line, k.eField, tab)
    if (k.blanksEnd) while (e < line.length && isBlank(line[e])) e++
    e = Math.min(line.length, e + k.eChar)
  }
  return e <= s ? '' : line.slice(s, e)
}

/** GNU's numeric comparison (-n) in the C locale: blanks, optional '-', digits, '.', digits. */
function numericParts(s: string): { neg: boolean; int: string; frac: string } {
  let i = 0
  while (isBlank(s[i]) || s[i] === '\n') i++
  let neg = false
  if (s[i] === '-') {
    neg = true
    i++
  }
  let j = i
  while (s[j] !== undefined && s[j]! >= '0' && s[j]! <= '9') j++
  const int = s.slice(i, j).replace(/^0+/, '')
  let frac = ''
  if (s[j] === '.') {
    let k = j + 1
    while (s[k] !== undefined && s[k]! >= '0' && s[k]! <= '9') k++
    frac = s.slice(j + 1, k).replace(/0+$/, '')
  }
  if (int === '' && frac === '') neg = false
  return { neg, int, frac }
}

function compareNumeric(a: string, b: string): number {
  const x = numericParts(a)
  const y = numericParts(b)
  if (x.neg !== y.neg) return x.neg ? -1 : 1
  let c: number
  if (x.int.length !== y.int.length) c = x.int.length < y.int.length ? -1 : 1
  else c = x.int < y.int ? -1 : x.int > y.int ? 1 : x.frac < y.frac ? -1 : x.frac > y.frac ? 1 : 0
  return x.neg ? -c : c
}

/** C's toupper: ASCII letters only. */
function upperAscii(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase())
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareKey(a: string, b: string, k: KeyFlags): number {
  let c: number
  if (k.numeric) c = compareNumeric(a, b)
  else if (k.fold) c = compareBytes(upperAscii(a), upperAscii(b))
  else c = compareBytes(a, b)
  return k.reverse ? -c : c
}

export const sort: EmulatedCommand = {
  name: 'sort',
  run(args, io) {
    if (textLocale(io.ctx.env) === null) return null
    const global = noFlags()
    let unique = false
    let stable = false
    let tab: string | null = null
    const keys: Key[] = []
    const parsed = gnuGetopt(args, SPEC, LONGS, io.ctx.env)
    if (parsed === undefined) return null
    for (const { key, value } of parsed.options) {
      if (key === 't') {
        const t = utf8ToBytes(value!)
        if (t.length !== 1 || (tab !== null && tab !== t)) return null
        tab = t
      } else if (key === 'k') {
        const k = parseKey(value!)
        if (k === null) return null
        keys.push(k.key)
      } else if (key === 'u') unique = true
      else if (key === 's') stable = true
      else if (key === 'b') global.blanksStart = global.blanksEnd = true
      else if (key.length !== 1 || !keyLetters(key, global, false)) return null
    }
    // `+POS` before `--` is an obsolete key (sort +1 sorts on the second field).
    if (parsed.operands.slice(0, parsed.beforeDashDash).some((a) => a.startsWith('+'))) return null
    const files = parsed.operands.map(utf8ToBytes)
    // Keys without letters inherit the global ordering options.
    for (const k of keys) {
      if (!k.numeric && !k.reverse && !k.fold && !k.blanksStart && !k.blanksEnd) {
        Object.assign(k, { numeric: global.numeric, reverse: global.reverse, fold: global.fold,
          blanksStart: global.blanksStart, blanksEnd: global.blanksEnd })
      }
    }
    if (global.numeric && global.fold) return null
    for (const k of keys) if (k.numeric && k.fold) return null
    if (files.length === 0) files.push('-')
    let data = ''
    let stdinUsed = false
    for (const f of files) {
      if (f === '-') {
        if (!stdinUsed) data += terminate(stdinText(io))
        stdinUsed = true
        continue
      }
      const r = readFileOperand(f, io.ctx)
      if (r === null || (!r.ok && r.error === 'EISDIR')) return null
      if (!r.ok) {
        const q = quotef(f)
        if (q === null) return null
        return result('', `sort: cannot read: ${q}: ${STRERROR[r.error]}\n`, 2)
      }
      data += terminate(r.data)
    }
    if (data === '') return result('', '', 0)
    if (data.includes('\0')) return null
    const lines = data.slice(0, -1).split('\n')
    const noKeys = keys.length === 0
    const cmp = (a: string, b: string): number => {
      if (noKeys) {
        if (global.numeric || global.fold || global.blanksStart) {
          const s1 = global.blanksStart ? a.replace(/^[ \t]+/, '') : a
          const s2 = global.blanksStart ? b.replace(/^[ \t]+/, '') : b
          const c = compareKey(s1, s2, global)
          if (c !== 0) return c
        } else {
          const c = compareBytes(a, b)
          return global.reverse ? -c : c
        }
      } else {
        for (const k of keys) {
          const c = compareKey(keyText(a, k, tab), keyText(b, k, tab), k)
          if (c !== 0) return c
        }
      }
      if (unique || stable) return 0
      const c = compareBytes(a, b)
      return global.reverse ? -c : c
    }
    const sorted = lines.map((l, i) => ({ l, i })).sort((x, y) => cmp(x.l, y.l) || x.i - y.i)
    let out = ''
    let prev: string | null = null
    for (const { l } of sorted) {
      if (unique && prev !== null && cmp(prev, l) === 0) continue
      out += l + '\n'
      prev = l
    }
    return result(out, '', 0)
  },
}

function terminate(s: string): string {
  return s === '' || s.endsWith('\n') ? s : s + '\n'
}
