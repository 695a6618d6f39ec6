/**
 * Parser for the sh subset, following dash's lexer: the same token boundaries, quoting rules,
 * line counting (dash reports the line on which a simple command's first token ends) and
 * reserved words. Anything outside the subset (loops, functions, here-documents, `&`, `case`,
 * arithmetic, syntax errors) raises `Unsupported`: the real dash then runs the line.
 */
import { bail } from './bail'
import type { AndOr, Assign, Command, List, Part, Pipeline, Redir, SimpleCommand, Word, Quoting } from './ast'
import { BARE, EXPANDED, QUOTED } from './ast'

type Token =
  | { readonly t: 'word'; readonly word: Word; readonly raw: string | null }
  | { readonly t: 'op'; readonly op: string; readonly fd: number }
  | { readonly t: 'nl' }
  | { readonly t: 'eof' }

/** Words that are reserved in command position and start syntax we do not interpret. */
const UNSUPPORTED_RESERVED = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', 'in',
  'function', 'select', '[[', ']]',
])

const NAME_START = /[A-Za-z_]/
const NAME_CHAR = /[A-Za-z0-9_]/
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/
const GLOB_CHARS = /[*?[]/

function isDelimiter(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === ';' || c === '&' || c === '|' ||
    c === '(' || c === ')' || c === '<' || c === '>'
}

/** Builds a word, merging adjacent literals of the same quoting. */
class WordBuilder {
  readonly parts: Part[] = []

  lit(s: string, q: Quoting): void {
    if (s === '') return
    const last = this.parts[this.parts.length - 1]
    if (last !== undefined && last.k === 'lit' && last.q === q) {
      this.parts[this.parts.length - 1] = { k: 'lit', s: last.s + s, q }
    } else {
      this.parts.push({ k: 'lit', s, q })
    }
  }

  push(p: Part): void {
    this.parts.push(p)
  }
}

function makeWord(parts: readonly Part[]): Word {
  let plain: string | null = null
  if (parts.length === 1) {
    const p = parts[0]!
    if (p.k === 'lit' && p.q === BARE && !GLOB_CHARS.test(p.s)) plain = p.s
  }
  return { parts, plain }
}

export class Parser {
  private pos = 0
  private peeked: Token | null = null
  /** Line of the input position (dash's plinno). */
  line: number

  constructor(private readonly src: string, firstLine = 1) {
    this.line = firstLine
  }

  /** Parses the whole input as a list of commands. */
  parseScript(): List {
    const list = this.parseList(null)
    const t = this.next()
    if (t.t !== 'eof') bail('syntax: trailing tokens')
    return list
  }

  // ---------------------------------------------------------------- grammar

  /** `and-or ((; | NL) and-or)*`, ending at EOF or the given closer (`)` or `}`). */
  private parseList(closer: ')' | '}' | null): List {
    const items: AndOr[] = []
    for (;;) {
      this.skipNewlines()
      const t = this.peek()
      if (t.t === 'eof') break
      if (closer === ')' && t.t === 'op' && t.op === ')') break
      if (closer === '}' && t.t === 'word' && t.raw === '}') break
      items.push(this.parseAndOr())
      const sep = this.peek()
      if (sep.t === 'op' && sep.op === ';') {
        this.next()
        continue
      }
      if (sep.t === 'nl') continue
      break
    }
    return items
  }

  private skipNewlines(): void {
    while (this.peek().t === 'nl') this.next()
  }

  private parseAndOr(): AndOr {
    const head = this.parsePipeline()
    const tail: { op: '&&' | '||'; p: Pipeline }[] = []
    for (;;) {
      const t = this.peek()
      if (t.t === 'op' && (t.op === '&&' || t.op === '||')) {
        this.next()
        this.skipNewlines()
        tail.push({ op: t.op, p: this.parsePipeline() })
      } else {
        break
      }
    }
    return { head, tail }
  }

  private parsePipeline(): Pipeline {
    let bang = false
    const t = this.peek()
    if (t.t === 'word' && t.raw === '!') {
      this.next()
      bang = true
    }
    const cmds: Command[] = [this.parseCommand()]
    for (;;) {
      const p = this.peek()
      if (p.t === 'op' && p.op === '|') {
        this.next()
        this.skipNewlines()
        cmds.push(this.parseCommand())
      } else {
        break
      }
    }
    return { bang, cmds }
  }

  private parseCommand(): Command {
    const t = this.peek()
    if (t.t === 'op' && t.op === '(') {
      this.next()
      const body = this.parseList(')')
      const close = this.next()
      if (close.t !== 'op' || close.op !== ')' || body.length === 0) bail('syntax: subshell')
      return { kind: 'subshell', body, redirs: this.parseTrailingRedirs() }
    }
    if (t.t === 'word' && t.raw === '{') {
      this.next()
      const body = this.parseList('}')
      const close = this.next()
      if (close.t !== 'word' || close.raw !== '}' || body.length === 0) bail('syntax: group')
      return { kind: 'group', body, redirs: this.parseTrailingRedirs() }
    }
    if (t.t === 'word' && t.raw !== null && (UNSUPPORTED_RESERVED.has(t.raw) || t.raw === '}' || t.raw === '!')) {
      bail(`reserved word ${t.raw}`)
    }
    return this.parseSimple()
  }

  private parseTrailingRedirs(): Redir[] {
    const redirs: Redir[] = []
    for (;;) {
      const t = this.peek()
      if (t.t === 'op' && isRedirOp(t.op)) {
        this.next()
        redirs.push(this.parseRedir(t.op, t.fd))
      } else if (t.t === 'word') {
        bail('syntax: word after compound command')
      } else {
        return redirs
      }
    }
  }

  private parseSimple(): SimpleCommand {
    const assigns: Assign[] = []
    const words: Word[] = []
    const redirs: Redir[] = []
    let line = -1
    for (;;) {
      const t = this.peek()
      if (t.t === 'word') {
        this.next()
        if (line < 0) line = this.line
        if (words.length === 0) {
          const a = asAssignment(t.word)
          if (a !== null) {
            assigns.push(a)
            continue
          }
        }
        words.push(t.word)
      } else if (t.t === 'op' && isRedirOp(t.op)) {
        this.next()
        if (line < 0) line = this.line
        redirs.push(this.parseRedir(t.op, t.fd))
      } else if (t.t === 'op' && t.op === '(') {
        bail('function definition or syntax error')
      } else {
        break
      }
    }
    if (line < 0) bail('syntax: empty command')
    return { kind: 'simple', assigns, words, redirs, line }
  }

  private parseRedir(op: string, fd: number): Redir {
    const t = this.next()
    if (t.t !== 'word') bail('syntax: redirection without target')
    const defaultFd = op[0] === '<' ? 0 : 1
    const n = fd < 0 ? defaultFd : fd
    if (n !== 0 && n !== 1 && n !== 2) bail('redirection of a high fd')
    if (op === '>&') {
      if (n === 0 || (t.raw !== '1' && t.raw !== '2')) bail('unsupported dup')
      return { fd: n, op: '>&', target: null, dup: t.raw === '1' ? 1 : 2 }
    }
    if (op === '>' || op === '>>' || op === '>|') {
      if (n === 0) bail('output redirection of stdin')
      return { fd: n, op: '>', target: t.word, dup: null }
    }
    if (op === '<') {
      if (n !== 0) bail('input redirection of an output fd')
      return { fd: 0, op: '<', target: t.word, dup: null }
    }
    bail(`redirection ${op}`)
  }

  // ---------------------------------------------------------------- tokens

  private peek(): Token {
    if (this.peeked === null) this.peeked = this.lex()
    return this.peeked
  }

  private next(): Token {
    const t = this.peek()
    this.peeked = null
    return t
  }

  private lex(): Token {
    const src = this.src
    for (;;) {
      const c = src[this.pos]
      if (c === ' ' || c === '\t') {
        this.pos++
      } else if (c === '\\' && src[this.pos + 1] === '\n') {
        this.pos += 2
        this.line++
      } else if (c === '#') {
        while (this.pos < src.length && src[this.pos] !== '\n') this.pos++
      } else {
        break
      }
    }
    if (this.pos >= src.length) return { t: 'eof' }
    const c = src[this.pos]!
    if (c === '\n') {
      this.pos++
      this.line++
      return { t: 'nl' }
    }
    if (isDelimiter(c)) return this.lexOperator(-1)
    const start = this.pos
    const word = this.readWord()
    // An IO number: digits immediately followed by < or >.
    const nc = src[this.pos]
    if ((nc === '<' || nc === '>') && /^[0-9]+$/.test(src.slice(start, this.pos)) && word.plain !== null) {
      if (this.pos - start > 1) bail('multi-digit fd')
      return this.lexOperator(Number(word.plain))
    }
    return { t: 'word', word, raw: rawOf(word) }
  }

  private lexOperator(fd: number): Token {
    const src = this.src
    const two = src.slice(this.pos, this.pos + 2)
    const ops = ['&&', '||', ';;', '<<', '<&', '<>', '>>', '>&', '>|']
    for (const op of ops) {
      if (two === op) {
        this.pos += 2
        if (op === '<<') bail('here-document')
        if (op === ';;') bail('case')
        return { t: 'op', op, fd }
      }
    }
    const c = src[this.pos]!
    this.pos++
    if (c === '&') bail('background job')
    if (fd >= 0 && c !== '<' && c !== '>') bail('syntax')
    return { t: 'op', op: c, fd }
  }

  // ---------------------------------------------------------------- words

  private readWord(): Word {
    const b = new WordBuilder()
    const src = this.src
    let bare = ''
    const flush = (): void => {
      b.lit(bare, BARE)
      bare = ''
    }
    while (this.pos < src.length) {
      const c = src[this.pos]!
      if (isDelimiter(c)) break
      if (c === '\\') {
        const n = src[this.pos + 1]
        if (n === undefined) bail('trailing backslash')
        this.pos += 2
        if (n === '\n') {
          this.line++
          continue
        }
        flush()
        b.lit(n, QUOTED)
      } else if (c === "'") {
        flush()
        const end = src.indexOf("'", this.pos + 1)
        if (end < 0) bail('syntax: unterminated quote')
        const s = src.slice(this.pos + 1, end)
        this.line += countNewlines(s)
        this.pos = end + 1
        b.push({ k: 'mark' })
        b.lit(s, QUOTED)
      } else if (c === '"') {
        flush()
        this.pos++
        b.push({ k: 'mark' })
        this.readDoubleQuoted(b)
      } else if (c === '$') {
        const p = this.readDollar(false)
        if (p === null) {
          bare += '$'
        } else {
          flush()
          b.push(p)
        }
      } else if (c === '`') {
        flush()
        b.push(this.readBackquote(false))
      } else {
        bare += c
        this.pos++
      }
    }
    flush()
    return makeWord(applyTilde(b.parts))
  }

  /** After the opening `"`; consumes the closing one. */
  private readDoubleQuoted(b: WordBuilder): void {
    const src = this.src
    let text = ''
    for (;;) {
      if (this.pos >= src.length) bail('syntax: unterminated double quote')
      const c = src[this.pos]!
      if (c === '"') {
        this.pos++
        break
      }
      if (c === '\\') {
        const n = src[this.pos + 1]
        if (n === undefined) bail('syntax: unterminated double quote')
        this.pos += 2
        if (n === '\n') {
          this.line++
        } else if (n === '$' || n === '`' || n === '"' || n === '\\') {
          text += n
        } else {
          text += '\\' + n
        }
      } else if (c === '$') {
        const p = this.readDollar(true)
        if (p === null) {
          text += '$'
        } else {
          b.lit(text, QUOTED)
          text = ''
          b.push(p)
        }
      } else if (c === '`') {
        b.lit(text, QUOTED)
        text = ''
        b.push(this.readBackquote(true))
      } else {
        if (c === '\n') this.line++
        text += c
        this.pos++
      }
    }
    b.lit(text, QUOTED)
  }

  /** At a `$`. Returns null when the `$` is literal. */
  private readDollar(quoted: boolean): Part | null {
    const src = this.src
    const n = src[this.pos + 1]
    if (n === '(') {
      if (src[this.pos + 2] === '(') bail('arithmetic expansion')
      this.pos += 2
      const saved = this.peeked
      this.peeked = null
      const body = this.parseList(')')
      const close = this.next()
      if (close.t !== 'op' || close.op !== ')') bail('syntax: command substitution')
      this.peeked = saved
      return { k: 'cmd', body, quoted }
    }
    if (n === '{') {
      this.pos += 2
      return this.readBraceParam(quoted)
    }
    if (n !== undefined && NAME_START.test(n)) {
      let end = this.pos + 2
      while (end < src.length && NAME_CHAR.test(src[end]!)) end++
      const name = src.slice(this.pos + 1, end)
      this.pos = end
      return { k: 'param', name, op: '', arg: null, quoted }
    }
    if (n !== undefined && /[0-9?#@*$!-]/.test(n)) {
      this.pos += 2
      return { k: 'param', name: n, op: '', arg: null, quoted }
    }
    this.pos++
    return null
  }

  /** After `${`. */
  private readBraceParam(quoted: boolean): Part {
    const src = this.src
    let length = false
    if (src[this.pos] === '#' && src[this.pos + 1] !== '}') {
      length = true
      this.pos++
    }
    let name: string
    const c = src[this.pos]
    if (c !== undefined && NAME_START.test(c)) {
      let end = this.pos + 1
      while (end < src.length && NAME_CHAR.test(src[end]!)) end++
      name = src.slice(this.pos, end)
      this.pos = end
    } else if (c !== undefined && /[0-9?#@*$!-]/.test(c)) {
      name = c
      this.pos++
      if (/[0-9]/.test(c) && /[0-9]/.test(src[this.pos] ?? '')) bail('multi-digit positional parameter')
    } else {
      bail('syntax: bad substitution')
    }
    if (length) {
      if (src[this.pos] !== '}') bail('syntax: bad substitution')
      this.pos++
      return { k: 'param', name, op: '#', arg: null, quoted }
    }
    if (src[this.pos] === '}') {
      this.pos++
      return { k: 'param', name, op: '', arg: null, quoted }
    }
    let op: string
    if (src[this.pos] === ':' && /[-+=]/.test(src[this.pos + 1] ?? '')) {
      op = src.slice(this.pos, this.pos + 2)
      this.pos += 2
    } else if (/[-+=]/.test(src[this.pos] ?? '')) {
      op = src[this.pos]!
      this.pos++
    } else {
      bail('unsupported parameter expansion operator')
    }
    const arg = this.readBraceArg(quoted)
    return { k: 'param', name, op, arg, quoted }
  }

  /** The word of `${x:-word}` up to the matching `}`. */
  private readBraceArg(quoted: boolean): Word {
    const src = this.src
    const b = new WordBuilder()
    const litQ: Quoting = quoted ? QUOTED : EXPANDED
    let text = ''
    const flush = (): void => {
      b.lit(text, litQ)
      text = ''
    }
    for (;;) {
      if (this.pos >= src.length) bail('syntax: missing }')
      const c = src[this.pos]!
      if (c === '}') {
        this.pos++
        break
      }
      if (c === '\\') {
        const n = src[this.pos + 1]
        if (n === undefined) bail('syntax: missing }')
        this.pos += 2
        if (n === '\n') {
          this.line++
          continue
        }
        if (quoted && !(n === '$' || n === '`' || n === '"' || n === '\\' || n === '}')) {
          text += '\\' + n
          continue
        }
        flush()
        b.lit(n, QUOTED)
      } else if (c === "'" || c === '"') {
        if (quoted) bail('quotes inside a double-quoted ${...}')
        flush()
        if (c === "'") {
          const end = src.indexOf("'", this.pos + 1)
          if (end < 0) bail('syntax: unterminated quote')
          const s = src.slice(this.pos + 1, end)
          this.line += countNewlines(s)
          this.pos = end + 1
          b.push({ k: 'mark' })
          b.lit(s, QUOTED)
        } else {
          this.pos++
          b.push({ k: 'mark' })
          this.readDoubleQuoted(b)
        }
      } else if (c === '$') {
        const p = this.readDollar(quoted)
        if (p === null) {
          text += '$'
        } else {
          flush()
          b.push(p)
        }
      } else if (c === '`') {
        flush()
        b.push(this.readBackquote(quoted))
      } else {
        if (c === '~' && text === '' && b.parts.length === 0) bail('tilde in ${...} word')
        if (c === '\n') this.line++
        text += c
        this.pos++
      }
    }
    flush()
    return makeWord(b.parts)
  }

  /** At a backquote: the old-style command substitution. */
  private readBackquote(quoted: boolean): Part {
    const src = this.src
    let inner = ''
    let i = this.pos + 1
    for (;;) {
      if (i >= src.length) bail('syntax: unterminated backquote')
      const c = src[i]!
      if (c === '`') break
      if (c === '\n') bail('multi-line backquote')
      if (c === '\\') {
        const n = src[i + 1]
        if (n === undefined) bail('syntax: unterminated backquote')
        if (n === '\n') bail('multi-line backquote')
        if (n === '$' || n === '`' || n === '\\' || (quoted && n === '"')) {
          inner += n
        } else {
          inner += '\\' + n
        }
        i += 2
        continue
      }
      inner += c
      i++
    }
    this.pos = i + 1
    // dash parses a backquoted body as a new input string: its lines count from 1 (errors in
    // `nosuch` on line 3 of a script say "1:"), unlike $(…), which keeps the script's count.
    const body = new Parser(inner, 1).parseScript()
    return { k: 'cmd', body, quoted }
  }
}

function isRedirOp(op: string): boolean {
  return op === '>' || op === '<' || op === '>>' || op === '>&' || op === '<&' || op === '<>' || op === '>|'
}

function countNewlines(s: string): number {
  let n = 0
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++
  return n
}

/** The unquoted literal text of a word (for reserved words and fds), or null. */
function rawOf(w: Word): string | null {
  if (w.parts.length !== 1) return null
  const p = w.parts[0]!
  return p.k === 'lit' && p.q === BARE ? p.s : null
}

/** `~` at the start of a word (only the plain `~` and `~/…` forms; `~user` is not supported). */
function applyTilde(parts: Part[]): Part[] {
  const first = parts[0]
  if (first === undefined || first.k !== 'lit' || first.q !== BARE || first.s[0] !== '~') return parts
  const slash = first.s.indexOf('/')
  if (slash < 0) {
    if (first.s !== '~' || parts.length > 1) bail('tilde prefix form')
    return [{ k: 'tilde' }]
  }
  if (slash !== 1) bail('~user')
  return [{ k: 'tilde' }, { k: 'lit', s: first.s.slice(1), q: BARE }, ...parts.slice(1)]
}

/** Splits `NAME=value` in command-prefix position; tilde expansion after `=` and unquoted `:`. */
function asAssignment(w: Word): Assign | null {
  const first = w.parts[0]
  if (first === undefined || first.k !== 'lit' || first.q !== BARE) return null
  const m = ASSIGNMENT.exec(first.s)
  if (m === null) return null
  const name = m[0].slice(0, -1)
  const rest = first.s.slice(m[0].length)
  const parts: Part[] = []
  if (rest !== '') parts.push({ k: 'lit', s: rest, q: BARE })
  parts.push(...w.parts.slice(1))
  // Undo the word-start tilde rule (it cannot apply: the word starts with NAME=) and apply
  // the assignment rule: `~` after `=` or after an unquoted `:`.
  const out: Part[] = []
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (p.k !== 'lit' || p.q !== BARE) {
      out.push(p)
      continue
    }
    const pieces = p.s.split(':')
    for (let j = 0; j < pieces.length; j++) {
      let piece = pieces[j]!
      if (j > 0) pushLit(out, ':')
      const atStart = (j > 0 || (i === 0 && out.length === 0))
      if (atStart && piece[0] === '~') {
        const next = parts[i + 1]
        const endsHere = j === pieces.length - 1
        if (piece === '~' && endsHere && next !== undefined) bail('tilde prefix form')
        if (piece !== '~' && piece[1] !== '/') bail('~user')
        out.push({ k: 'tilde' })
        piece = piece.slice(1)
      }
      pushLit(out, piece)
    }
  }
  return { name, value: makeWord(out) }
}

function pushLit(out: Part[], s: string): void {
  if (s === '') return
  const last = out[out.length - 1]
  if (last !== undefined && last.k === 'lit' && last.q === BARE) {
    out[out.length - 1] = { k: 'lit', s: last.s + s, q: BARE }
  } else {
    out.push({ k: 'lit', s, q: BARE })
  }
}

/** Parses a whole `sh -c` script (a byte string). Throws `Unsupported` outside the subset. */
export function parseScript(src: string): List {
  return new Parser(src).parseScript()
}
