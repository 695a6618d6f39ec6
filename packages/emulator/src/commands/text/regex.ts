/**
 * POSIX basic/extended regular expressions (GNU dialect, C locale, ASCII) translated to JS
 * RegExp source where the translation is exact, else null.
 *
 * For `grep` only "does the line match" matters, so any exact translation is enough. For `sed`
 * the matched extent and groups matter: POSIX picks the leftmost-longest match, JS the first
 * one its backtracking finds. They agree when the expression is a concatenation of
 * single-character atoms (literal, `.`, bracket) each with at most one quantifier, optionally
 * grouped by unquantified parentheses (checked by brute force over generated patterns); with
 * `extent: true` anything beyond that (alternation, quantified groups) is refused.
 */
import { classBody, hexEscape } from '../../charclass'

export interface RegexOptions {
  readonly ere: boolean
  /** The match extent and groups are used (sed): restrict to the exact subset. */
  readonly extent: boolean
  /** grep warns about stray backslashes (grep 3.8); sed accepts `\n` and `\t`. */
  readonly dialect: 'grep' | 'sed'
}

export interface Translated {
  readonly source: string
  readonly groups: number
}

/** A bracket expression starting at `i` (at `[`): JS class and the index after `]`. */
function bracket(p: string, i: number, icase: boolean): { re: string; next: number } | null {
  let j = i + 1
  let negate = false
  if (p[j] === '^') {
    negate = true
    j++
  }
  // `[:alpha:]` outside a bracket is an error in GNU grep and sed ("character class syntax is
  // [[:space:]], not [:space:]"); a list starting with a colon is not answered at all.
  if (p[j] === ':') return null
  let body = ''
  let first = true
  for (;;) {
    const c = p[j]
    if (c === undefined) return null
    if (c === ']' && !first) {
      j++
      break
    }
    const atFirst = first
    first = false
    if (c === '[' && (p[j + 1] === '.' || p[j + 1] === '=')) return null
    if (c === '[' && p[j + 1] === ':') {
      const close = p.indexOf(':]', j + 2)
      if (close < 0) return null
      const cls = classBody(p.slice(j + 2, close))
      if (cls === undefined) return null
      if (icase && (p.slice(j + 2, close) === 'upper' || p.slice(j + 2, close) === 'lower')) {
        body += 'A-Za-z'
      } else {
        body += cls
      }
      j = close + 2
      continue
    }
    if (p[j + 1] === '-' && p[j + 2] !== ']' && p[j + 2] !== undefined) {
      const hi = p[j + 2]!
      if (hi === '[') return null
      if (hi.charCodeAt(0) < c.charCodeAt(0)) return null
      if (icase && !/^[a-z]-[a-z]$|^[A-Z]-[A-Z]$|^[0-9]-[0-9]$/.test(c + '-' + hi)) return null
      body += hexEscape(c) + '-' + hexEscape(hi)
      j += 3
      continue
    }
    // A `-` that neither starts the list, ends it, nor is a range's start follows a range or
    // a class (`[a-c-e]`, `[[:alpha:]-z]`): GNU's "Invalid range end".
    if (c === '-' && !atFirst && p[j + 1] !== ']') return null
    body += hexEscape(c)
    j++
  }
  // In a negated list, GNU never matches a newline; lines hold none, so nothing to add.
  return { re: (negate ? '[^' : '[') + body + ']', next: j }
}

type Last = 'none' | 'atom' | 'group' | 'quant' | 'anchor'

/** Translates a pattern (a byte string) or returns null when not exact. */
export function translateRegex(p: string, o: RegexOptions & { readonly icase: boolean }): Translated | null {
  if (/[^\x01-\x7f]/.test(p)) return null
  let out = ''
  let groups = 0
  const open: number[] = []
  let last: Last = 'none'
  let alternation = false
  /** Whether a `*` here is literal (BRE: at the start of the RE or a group, after an anchor). */
  const atStart = (): boolean => last === 'none' || (last === 'anchor' && out.endsWith('^'))

  const quantifier = (q: string): boolean => {
    if (last === 'quant' || last === 'anchor') return false
    if (last === 'none') return false
    if (last === 'group' && o.extent) return false
    out += q
    last = 'quant'
    return true
  }

  const interval = (start: number, closeBrace: string): number => {
    const end = p.indexOf(closeBrace, start)
    if (end < 0) return -1
    const m = /^([0-9]*)(,([0-9]*))?$/.exec(p.slice(start, end))
    if (m === null || (m[1] === '' && m[2] === undefined)) return -1
    const lo = m[1] === '' ? 0 : Number(m[1])
    const hi = m[2] === undefined ? lo : m[3] === '' ? -1 : Number(m[3])
    if (lo > 255 || hi > 255 || (hi >= 0 && hi < lo)) return -1
    if (!quantifier(`{${lo},${hi < 0 ? '' : hi}}`)) return -1
    return end + closeBrace.length
  }

  for (let i = 0; i < p.length; ) {
    const c = p[i]!
    if (c === '\\') {
      const n = p[i + 1]
      if (n === undefined) return null
      i += 2
      if (!o.ere && n === '(') {
        groups++
        open.push(out.length)
        out += '('
        last = 'none'
        continue
      }
      if (!o.ere && n === ')') {
        if (open.length === 0) return null
        open.pop()
        out += ')'
        last = 'group'
        continue
      }
      if (!o.ere && n === '|') {
        if (o.extent) return null
        alternation = true
        out += '|'
        last = 'none'
        continue
      }
      if (!o.ere && (n === '+' || n === '?')) {
        if (!quantifier(n)) return null
        continue
      }
      if (!o.ere && n === '{') {
        const next = interval(i, '\\}')
        if (next < 0) return null
        i = next
        continue
      }
      if (n >= '1' && n <= '9') return null
      if ('.*[]^$\\'.includes(n) || (o.ere && '+?(){}|'.includes(n))) {
        out += hexEscape(n)
        last = 'atom'
        continue
      }
      if (o.dialect === 'sed' && (n === 'n' || n === 't')) {
        out += n === 'n' ? '\\n' : '\\t'
        last = 'atom'
        continue
      }
      if (n === 'w' || n === 'W' || n === 's' || n === 'S') {
        out += n === 's' ? '[\\t\\n\\v\\f\\r ]' : n === 'S' ? '[^\\t\\n\\v\\f\\r ]' : '\\' + n
        last = 'atom'
        continue
      }
      if (n === 'b' || n === 'B' || n === '<' || n === '>' || n === '`' || n === "'") {
        // Word and buffer anchors: equal to these JS forms for "does the line match" outside
        // groups (no repetition, no alternative inside a group to interact with). Their effect
        // on a match's extent (sed: `s/a*\B/X/g`) and inside groups was not proven: not answered.
        if (o.extent || open.length > 0) return null
        out += n === '<' ? '\\b(?=\\w)' : n === '>' ? '\\b(?<=\\w)' : n === '`' ? '(?<![\\s\\S])' : n === "'" ? '(?![\\s\\S])' : '\\' + n
        last = 'anchor'
        continue
      }
      return null
    }
    i++
    if (c === '[') {
      const b = bracket(p, i - 1, o.icase)
      if (b === null) return null
      out += b.re
      i = b.next
      last = 'atom'
      continue
    }
    if (c === '.') {
      out += '[\\s\\S]'
      last = 'atom'
      continue
    }
    if (c === '*') {
      if (!o.ere && atStart()) {
        out += '\\*'
        last = 'atom'
        continue
      }
      if (!quantifier('*')) return null
      continue
    }
    if (c === '^') {
      // An anchor inside a group (or, in an ERE, anywhere but the start of a top-level
      // alternative) is not answered: GNU's rules there (`(^a)*`, `a^b`, intervals over
      // anchored groups) were not proven equal to JS's.
      if ((o.ere || last === 'none') && (open.length > 0 || last !== 'none')) return null
      if (o.ere || last === 'none') {
        out += '^'
        last = 'anchor'
      } else {
        out += '\\^'
        last = 'atom'
      }
      continue
    }
    if (c === '$') {
      const rest = p.slice(i)
      if (o.ere || rest === '' || rest.startsWith('\\)') || rest.startsWith('\\|')) {
        if (open.length > 0) return null
        if (o.ere && rest !== '' && rest[0] !== '|') return null
        out += '$'
        last = 'anchor'
      } else {
        // grep's dfa lexer takes a `$` just before a plain `|` or `)` for an anchor in a BRE
        // too (glibc's regex, which sed uses, takes it literally): `grep '$|*'` matches every
        // line. Not modelled for grep.
        if (o.dialect === 'grep' && (rest[0] === '|' || rest[0] === ')')) return null
        out += '\\$'
        last = 'atom'
      }
      continue
    }
    if (o.ere) {
      if (c === '(') {
        if (p[i] === ')') return null
        groups++
        open.push(out.length)
        out += '('
        last = 'none'
        continue
      }
      if (c === ')') {
        if (open.length === 0) return null
        open.pop()
        out += ')'
        last = 'group'
        continue
      }
      if (c === '|') {
        if (o.extent || last === 'none' || i >= p.length || p[i] === '|' || p[i] === ')') return null
        alternation = true
        out += '|'
        last = 'none'
        continue
      }
      if (c === '+' || c === '?') {
        if (!quantifier(c)) return null
        continue
      }
      if (c === '{') {
        const next = interval(i, '}')
        if (next < 0) return null
        i = next
        continue
      }
    }
    out += hexEscape(c)
    last = 'atom'
  }
  if (open.length > 0) return null
  if (o.extent && alternation) return null
  return { source: out, groups }
}
