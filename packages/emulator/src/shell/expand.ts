/**
 * Word expansion in dash's order: tilde, parameters, command substitution, then field
 * splitting over the unquoted expansion results only (IFS rules of dash's ifsbreakup), then
 * pathname expansion, then quote removal.
 */
import type { List, Part, Word } from './ast'
import { EXPANDED, QUOTED } from './ast'
import { bail } from './bail'
import { ESC, QM, globField, hasGlobMeta, stripMarkers } from './glob'

/** What expansion needs from the shell. */
export interface ExpandHost {
  /** A parameter's value, undefined when unset (bails on parameters it cannot answer). */
  param(name: string): string | undefined
  setVar(name: string, value: string): void
  /** Runs `$(…)` in a subshell and returns its stdout (a byte string, untrimmed). */
  commandSubstitution(body: List): string
  readonly cwd: string
}

const DEFAULT_IFS = ' \t\n'
/** Characters that must not act as pattern syntax when they come from quoted text. */
const PATTERN_SPECIAL = /[*?[\]\\!\-^:]/

interface Buf {
  s: string
  /** Flat [begin, end) pairs of text subject to field splitting. */
  regions: number[]
}

function appendQuoted(b: Buf, text: string): void {
  if (!PATTERN_SPECIAL.test(text)) {
    b.s += text
    return
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    b.s += PATTERN_SPECIAL.test(c) ? ESC + c : c
  }
}

function appendExpansion(b: Buf, text: string, quoted: boolean): void {
  if (quoted) {
    appendQuoted(b, text)
    return
  }
  if (text === '') return
  const start = b.s.length
  b.s += text
  // One region per expansion, adjacent or not: dash splits each separately, so IFS white space
  // ending one does not absorb an IFS character that starts the next (`$x$y` with x='a ',
  // y=':b' and IFS=': ' gives a, '' and b).
  b.regions.push(start, b.s.length)
}

/** Strips trailing newlines and NUL bytes, as dash does for `$(…)`. */
function substitutionText(out: string): string {
  let s = out.indexOf('\0') >= 0 ? out.replace(/\0/g, '') : out
  let end = s.length
  while (end > 0 && s[end - 1] === '\n') end--
  if (end !== s.length) s = s.slice(0, end)
  return s
}

function expandParts(parts: readonly Part[], host: ExpandHost, b: Buf): void {
  for (const p of parts) {
    switch (p.k) {
      case 'lit':
        if (p.q === QUOTED) appendQuoted(b, p.s)
        else if (p.q === EXPANDED) appendExpansion(b, p.s, false)
        else b.s += p.s
        break
      case 'mark':
        b.s += QM
        break
      case 'tilde': {
        const home = host.param('HOME')
        if (home === undefined || home === '') bail('~ without HOME')
        appendQuoted(b, home)
        break
      }
      case 'cmd':
        appendExpansion(b, substitutionText(host.commandSubstitution(p.body)), p.quoted)
        break
      case 'param':
        expandParam(p, host, b)
        break
      case 'arith':
        bail('arithmetic expansion (read mode only)')
    }
  }
}

function expandParam(p: Extract<Part, { k: 'param' }>, host: ExpandHost, b: Buf): void {
  if (p.name === '@' || p.name === '*') {
    if (p.quoted) bail('quoted $@ / $* inside a word')
    // dash counts $@ and $* as set with no positional parameters (`${@-x}` is empty, `${@+y}` is y).
    if (p.op !== '') bail(`\${${p.name}${p.op}…}`)
  }
  const value = host.param(p.name)
  switch (p.op) {
    case '':
      appendExpansion(b, value ?? '', p.quoted)
      return
    case '#':
      appendExpansion(b, String((value ?? '').length), p.quoted)
      return
    case '-':
    case ':-': {
      const useArg = value === undefined || (p.op === ':-' && value === '')
      if (useArg) expandParts(p.arg!.parts, host, b)
      else appendExpansion(b, value, p.quoted)
      return
    }
    case '+':
    case ':+': {
      const useArg = value !== undefined && (p.op === '+' || value !== '')
      if (useArg) expandParts(p.arg!.parts, host, b)
      return
    }
    case '=':
    case ':=': {
      if (value === undefined || (p.op === ':=' && value === '')) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) bail('assignment to a special parameter')
        const assigned = expandToString(p.arg!, host)
        host.setVar(p.name, assigned)
        appendExpansion(b, assigned, p.quoted)
      } else {
        appendExpansion(b, value, p.quoted)
      }
      return
    }
    default:
      bail(`parameter operator ${p.op}`)
  }
}

/** Field splitting, following dash's ifsbreakup over the recorded regions. */
function splitFields(b: Buf, ifs: string): string[] {
  const s = b.s
  const fields: string[] = []
  let start = 0
  if (b.regions.length > 0 && ifs !== '') {
    let ifsspc = false
    for (let r = 0; r < b.regions.length; r += 2) {
      const end = b.regions[r + 1]!
      let p = b.regions[r]!
      while (p < end) {
        const c = s[p]!
        if (ifs.indexOf(c) < 0) {
          p++
          continue
        }
        ifsspc = DEFAULT_IFS.indexOf(c) >= 0
        if (p === start && ifsspc) {
          p++
          start = p
          continue
        }
        fields.push(s.slice(start, p))
        p++
        while (p < end) {
          const d = s[p]!
          if (ifs.indexOf(d) < 0) break
          if (DEFAULT_IFS.indexOf(d) < 0) {
            if (ifsspc) {
              p++
              ifsspc = false
            } else {
              break
            }
          } else {
            p++
          }
        }
        start = p
      }
    }
  }
  if (start < s.length) fields.push(s.slice(start))
  return fields
}

/** Expands a word to its fields (after splitting, globbing and quote removal). */
export function expandWord(w: Word, host: ExpandHost, out: string[]): void {
  if (w.plain !== null) {
    out.push(w.plain)
    return
  }
  const parts = w.parts
  if (parts.length === 2 && parts[0]!.k === 'mark') {
    const p = parts[1]!
    if (p.k === 'param' && p.name === '@' && p.op === '' && p.quoted) return
  }
  const b: Buf = { s: '', regions: [] }
  expandParts(parts, host, b)
  const ifsVal = host.param('IFS')
  const ifs = ifsVal === undefined ? DEFAULT_IFS : ifsVal
  for (const f of splitFields(b, ifs)) {
    if (hasGlobMeta(f)) {
      const m = globField(f, host.cwd)
      if (m !== null) {
        for (const x of m) out.push(x)
        continue
      }
    }
    out.push(stripMarkers(f))
  }
}

/** Expands a word without splitting or globbing (assignments, redirection targets). */
export function expandToString(w: Word, host: ExpandHost): string {
  if (w.plain !== null) return w.plain
  const b: Buf = { s: '', regions: [] }
  expandParts(w.parts, host, b)
  return stripMarkers(b.s)
}
