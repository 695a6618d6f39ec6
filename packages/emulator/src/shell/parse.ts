/**
 * Parser for the sh subset, following dash's lexer: the same token boundaries, quoting rules,
 * line counting (dash reports the line on which a simple command's first token ends) and
 * reserved words. Anything outside the subset (loops, functions, here-documents, `&`, `case`,
 * arithmetic, syntax errors) raises `Unsupported`: the real dash then runs the line.
 *
 * The same parser has a read mode (`readScript`), for listing the commands a line runs without
 * running it: it accepts dash's whole grammar (if/while/until/for/case, function definitions,
 * here-documents, `&`, `$((…))`, every redirection and `${…}` operator) and builds the extra
 * nodes of ast.ts marked "read mode only", which the interpreter never receives. It still gives
 * up on what it cannot read exactly (syntax errors, quotes inside a double-quoted `${…}`).
 */
import { Unsupported, bail } from './bail'
import type { AndOr, Assign, Command, List, Part, Pipeline, ReadCompound, ReadRedir, Redir, RunRedir, SimpleCommand, Word, Quoting } from './ast'
import { BARE, EXPANDED, QUOTED } from './ast'
import { DASH_KEYWORDS } from './builtins'

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

/** Where a list ends: EOF (null), a `)` operator, or (read mode) one of these reserved words or `;;`. */
type Closer = null | ')' | ReadonlySet<string>
const BRACE: Closer = new Set(['}'])
const THEN: Closer = new Set(['then'])
const IF_BODY_END: Closer = new Set(['elif', 'else', 'fi'])
const FI: Closer = new Set(['fi'])
const DO: Closer = new Set(['do'])
const DONE: Closer = new Set(['done'])
const CASE_ITEM_END: Closer = new Set([';;', 'esac'])

/** A here-document waiting for its body (read after the next newline token). */
interface PendingHeredoc {
  readonly redir: { target: Word | null }
  readonly delimiter: string
  readonly stripTabs: boolean
  readonly expand: boolean
}

const NAME_START = /[A-Za-z_]/
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
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
  private heredocs: PendingHeredoc[] = []
  /** Line of the input position (dash's plinno). */
  line: number

  /** `read`: the read mode (see the module comment). */
  constructor(private readonly src: string, firstLine = 1, private readonly read = false) {
    this.line = firstLine
  }

  /** Parses the whole input as a list of commands; `items` receives them as they are parsed. */
  parseScript(items: AndOr[] = []): List {
    const list = this.parseList(null, items)
    const t = this.next()
    if (t.t !== 'eof') bail('syntax: trailing tokens')
    return list
  }

  /** Read mode: a here-document body, read like a double-quoted string without the quotes. */
  readHeredocBody(): Word {
    const b = new WordBuilder()
    this.readDoubleQuoted(b, true)
    return makeWord(b.parts)
  }

  // ---------------------------------------------------------------- grammar

  /** `and-or ((; | NL) and-or)*`, ending at EOF or the given closer. */
  private parseList(closer: Closer, items: AndOr[] = []): List {
    for (;;) {
      this.skipNewlines()
      const t = this.peek()
      if (t.t === 'eof') break
      if (closer === ')') {
        if (t.t === 'op' && t.op === ')') break
      } else if (closer !== null) {
        if (t.t === 'word' && t.raw !== null && closer.has(t.raw)) break
        if (t.t === 'op' && closer.has(t.op)) break
      }
      items.push(this.parseAndOr())
      const sep = this.peek()
      if (sep.t === 'op' && (sep.op === ';' || (this.read && sep.op === '&'))) {
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
      const body = this.parseList(BRACE)
      const close = this.next()
      if (close.t !== 'word' || close.raw !== '}' || body.length === 0) bail('syntax: group')
      const redirs = this.parseTrailingRedirs()
      // dash keeps no node for a group: when its body is one subshell, the group's redirections
      // replace the subshell's own (`{ ( echo a ) >/dev/null; } 2>&1` prints a). Read mode keeps
      // both, so that every word either could expand is seen.
      const only = body.length === 1 && body[0]!.tail.length === 0 ? body[0]!.head : null
      const sub = only !== null && !only.bang && only.cmds.length === 1 ? only.cmds[0]! : null
      if (!this.read && redirs.length > 0 && sub !== null && sub.kind === 'subshell') return { kind: 'subshell', body: sub.body, redirs }
      return { kind: 'group', body, redirs }
    }
    if (t.t === 'word' && t.raw !== null) {
      if (this.read) {
        switch (t.raw) {
          case 'if': return this.parseIf()
          case 'while': case 'until': return this.parseLoop(t.raw)
          case 'for': return this.parseFor()
          case 'case': return this.parseCase()
        }
        if (DASH_KEYWORDS.has(t.raw)) bail(`syntax: "${t.raw}" unexpected`)
      } else if (UNSUPPORTED_RESERVED.has(t.raw) || t.raw === '}' || t.raw === '!') {
        bail(`reserved word ${t.raw}`)
      }
    }
    return this.parseSimple()
  }

  /** Read mode: a list that must not be empty (dash: syntax error). */
  private body(closer: Closer): List {
    const list = this.parseList(closer)
    if (list.length === 0) bail('syntax: empty body')
    return list
  }

  /** Read mode: consumes the reserved word `word` or gives up (a syntax error). */
  private expectWord(word: string): void {
    const t = this.next()
    if (t.t !== 'word' || t.raw !== word) bail(`syntax: expected ${word}`)
  }

  private parseIf(): ReadCompound {
    this.next()
    const bodies: List[] = []
    for (;;) {
      bodies.push(this.body(THEN))
      this.expectWord('then')
      bodies.push(this.body(IF_BODY_END))
      const t = this.next()
      const raw = t.t === 'word' ? t.raw : null
      if (raw === 'elif') continue
      if (raw === 'else') {
        bodies.push(this.body(FI))
        this.expectWord('fi')
      } else if (raw !== 'fi') {
        bail('syntax: expected fi')
      }
      break
    }
    return { kind: 'if', words: [], bodies, redirs: this.parseTrailingRedirs() }
  }

  private parseLoop(kind: 'while' | 'until'): ReadCompound {
    this.next()
    const condition = this.body(DO)
    this.expectWord('do')
    const body = this.body(DONE)
    this.expectWord('done')
    return { kind, words: [], bodies: [condition, body], redirs: this.parseTrailingRedirs() }
  }

  /** `for name [in word…] (; | NL)` or `for name [;]`, then `do list done`. */
  private parseFor(): ReadCompound {
    this.next()
    const name = this.next()
    if (name.t !== 'word' || name.raw === null || !NAME.test(name.raw)) bail('syntax: bad for loop variable')
    const words: Word[] = []
    this.skipNewlines()
    const t = this.peek()
    if (t.t === 'word' && t.raw === 'in') {
      this.next()
      for (let w = this.peek(); w.t === 'word'; w = this.peek()) {
        this.next()
        words.push(w.word)
      }
      const sep = this.next()
      if (sep.t !== 'nl' && !(sep.t === 'op' && sep.op === ';')) bail('syntax: for list')
    } else if (t.t === 'op' && t.op === ';') {
      this.next()
    }
    this.skipNewlines()
    this.expectWord('do')
    const body = this.body(DONE)
    this.expectWord('done')
    return { kind: 'for', words, bodies: [body], redirs: this.parseTrailingRedirs() }
  }

  /** `case word in [(]pattern[|pattern]…) list ;; … esac`. */
  private parseCase(): ReadCompound {
    this.next()
    const subject = this.next()
    if (subject.t !== 'word') bail('syntax: case subject')
    const words: Word[] = [subject.word]
    const bodies: List[] = []
    this.skipNewlines()
    this.expectWord('in')
    for (;;) {
      this.skipNewlines()
      let t = this.next()
      if (t.t === 'word' && t.raw === 'esac') break
      if (t.t === 'op' && t.op === '(') t = this.next()
      for (;;) {
        if (t.t !== 'word') bail('syntax: case pattern')
        words.push(t.word)
        const sep = this.next()
        if (sep.t === 'op' && sep.op === ')') break
        if (sep.t !== 'op' || sep.op !== '|') bail('syntax: case pattern')
        t = this.next()
      }
      bodies.push(this.parseList(CASE_ITEM_END))
      const end = this.next()
      if (end.t === 'word' && end.raw === 'esac') break
      if (end.t !== 'op' || end.op !== ';;') bail('syntax: case item')
    }
    return { kind: 'case', words, bodies, redirs: this.parseTrailingRedirs() }
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

  private parseSimple(): SimpleCommand | ReadCompound {
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
          const a = asAssignment(t.word, this.read)
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
        const name = words[0]
        if (!this.read || words.length !== 1 || assigns.length > 0 || redirs.length > 0) bail('function definition or syntax error')
        return this.parseFunction(name!)
      } else {
        break
      }
    }
    if (line < 0) bail('syntax: empty command')
    return { kind: 'simple', assigns, words, redirs, line }
  }

  /** Read mode: `name() command` (the `(` is next). */
  private parseFunction(name: Word): ReadCompound {
    this.next()
    const close = this.next()
    if (close.t !== 'op' || close.op !== ')') bail('syntax: function definition')
    if (rawOf(name) === null || !NAME.test(rawOf(name)!)) bail('syntax: bad function name')
    this.skipNewlines()
    const body: AndOr = { head: { bang: false, cmds: [this.parseCommand()] }, tail: [] }
    return { kind: 'function', words: [name], bodies: [[body]], redirs: [] }
  }

  private parseRedir(op: string, fd: number): Redir {
    const t = this.next()
    if (t.t !== 'word') bail('syntax: redirection without target')
    const defaultFd = op[0] === '<' ? 0 : 1
    const n = fd < 0 ? defaultFd : fd
    if (op === '<<' || op === '<<-') return this.heredoc(t.word, n, op === '<<-')
    const redir = runRedir(op, n, t)
    if (typeof redir !== 'string') return redir
    if (!this.read) bail(redir)
    return { fd: n, op: 'read', target: t.word, dup: null }
  }

  /** Read mode: `<<delimiter`; the body is read after the next newline token. */
  private heredoc(delimiter: Word, fd: number, stripTabs: boolean): ReadRedir {
    let text = ''
    let expand = true
    for (const p of delimiter.parts) {
      if (p.k === 'lit') text += p.s
      else if (p.k !== 'mark') bail('here-document delimiter with an expansion')
      if (p.k === 'mark' || (p.k === 'lit' && p.q !== BARE)) expand = false
    }
    const redir: { fd: number; op: 'read'; target: Word | null; dup: null } = { fd, op: 'read', target: null, dup: null }
    this.heredocs.push({ redir, delimiter: text, stripTabs, expand })
    return redir
  }

  /** Read mode: the bodies of the pending here-documents, at the start of a line. */
  private readHeredocs(): void {
    const src = this.src
    for (const h of this.heredocs) {
      let body = ''
      while (this.pos < src.length) {
        let end = src.indexOf('\n', this.pos)
        if (end < 0) end = src.length
        let line = src.slice(this.pos, end)
        this.pos = Math.min(end + 1, src.length)
        this.line++
        if (h.stripTabs) line = line.replace(/^\t+/, '')
        if (line === h.delimiter) break
        body += line + '\n'
      }
      // A body that reaches the end of the script is delimited by it (dash warns and runs it).
      h.redir.target = h.expand ? new Parser(body, 1, true).readHeredocBody() : makeWord([{ k: 'lit', s: body, q: QUOTED }])
    }
    this.heredocs = []
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
      if (this.heredocs.length > 0) this.readHeredocs()
      return { t: 'nl' }
    }
    if (isDelimiter(c)) return this.lexOperator(-1)
    const start = this.pos
    const word = this.readWord()
    // An IO number: digits immediately followed by < or >.
    const nc = src[this.pos]
    if ((nc === '<' || nc === '>') && /^[0-9]+$/.test(src.slice(start, this.pos)) && word.plain !== null) {
      if (this.pos - start > 1 && !this.read) bail('multi-digit fd')
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
        if (op === '<<' && !this.read) bail('here-document')
        if (op === ';;' && !this.read) bail('case')
        if (op === '<<' && src[this.pos] === '-') {
          this.pos++
          return { t: 'op', op: '<<-', fd }
        }
        return { t: 'op', op, fd }
      }
    }
    const c = src[this.pos]!
    this.pos++
    if (c === '&' && !this.read) bail('background job')
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
        if (n === undefined) {
          if (!this.read) bail('trailing backslash')
          bare += c // dash keeps a script's last backslash
          this.pos++
          break
        }
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
    // Read mode keeps `~` literal: it never makes a command word computed.
    return makeWord(this.read ? b.parts : applyTilde(b.parts))
  }

  /** After the opening `"`; consumes the closing one (a here-document body: up to the end). */
  private readDoubleQuoted(b: WordBuilder, heredoc = false): void {
    const src = this.src
    let text = ''
    for (;;) {
      if (this.pos >= src.length) {
        if (heredoc) break
        bail('syntax: unterminated double quote')
      }
      const c = src[this.pos]!
      if (c === '"' && !heredoc) {
        this.pos++
        break
      }
      if (c === '\\') {
        const n = src[this.pos + 1]
        if (n === undefined) bail('syntax: unterminated double quote')
        this.pos += 2
        if (n === '\n') {
          this.line++
        } else if (n === '$' || n === '`' || (n === '"' && !heredoc) || n === '\\') {
          text += n
        } else {
          text += '\\' + n
        }
      } else if (c === '$' || c === '`') {
        text = this.quotedExpansion(b, text)
      } else {
        if (c === '\n') this.line++
        text += c
        this.pos++
      }
    }
    b.lit(text, QUOTED)
  }

  /**
   * At a `$` or a backquote inside quoted text: the expansion goes to `b` after the text read
   * so far, or a literal `$` to the text. Returns the text to go on with.
   */
  private quotedExpansion(b: WordBuilder, text: string): string {
    const p = this.src[this.pos] === '$' ? this.readDollar(true) : this.readBackquote(true)
    if (p === null) return text + '$'
    b.lit(text, QUOTED)
    b.push(p)
    return ''
  }

  /** At a `$`. Returns null when the `$` is literal. */
  private readDollar(quoted: boolean): Part | null {
    const src = this.src
    const n = src[this.pos + 1]
    if (n === '(') {
      if (src[this.pos + 2] === '(') {
        if (!this.read) bail('arithmetic expansion')
        return this.readArith()
      }
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
      if (/[0-9]/.test(c) && /[0-9]/.test(src[this.pos] ?? '')) {
        if (!this.read) bail('multi-digit positional parameter')
        while (/[0-9]/.test(src[this.pos] ?? '')) this.pos++
      }
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
    const ops = this.read ? /[-+=?]/ : /[-+=]/
    if (src[this.pos] === ':' && ops.test(src[this.pos + 1] ?? '')) {
      op = src.slice(this.pos, this.pos + 2)
      this.pos += 2
    } else if (ops.test(src[this.pos] ?? '')) {
      op = src[this.pos]!
      this.pos++
    } else if (this.read && (src[this.pos] === '#' || src[this.pos] === '%')) {
      // ${x#pattern} ${x##pattern} ${x%pattern} ${x%%pattern}
      op = src[this.pos]!
      this.pos++
      if (src[this.pos] === op) {
        op += op
        this.pos++
      }
    } else {
      bail('unsupported parameter expansion operator')
    }
    const arg = this.readBraceArg(quoted, op)
    return { k: 'param', name, op, arg, quoted }
  }

  /** The word of `${x:-word}` up to the matching `}`. */
  private readBraceArg(quoted: boolean, op: string): Word {
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
      } else if (quoted && c === "'" && this.read && op[0] !== '#' && op[0] !== '%') {
        // Read mode: in a double-quoted ${x:-…} dash takes a single quote literally.
        text += c
        this.pos++
      } else if (c === "'" || c === '"') {
        if (quoted && !this.read) bail('quotes inside a double-quoted ${...}')
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
        if (c === '~' && text === '' && b.parts.length === 0 && !this.read) bail('tilde in ${...} word')
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
      if (c === '\n' && !this.read) bail('multi-line backquote')
      if (c === '\\') {
        const n = src[i + 1]
        if (n === undefined) bail('syntax: unterminated backquote')
        if (n === '\n' && !this.read) bail('multi-line backquote')
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
    const body = new Parser(inner, 1, this.read).parseScript()
    return { k: 'cmd', body, quoted }
  }

  /** Read mode: after `$((`…`))`; the expression is kept as a word for its substitutions. */
  private readArith(): Part {
    const src = this.src
    this.pos += 3
    const b = new WordBuilder()
    let text = ''
    let depth = 0
    for (;;) {
      if (this.pos >= src.length) bail('syntax: missing ))')
      const c = src[this.pos]!
      if (c === ')' && depth === 0) {
        if (src[this.pos + 1] !== ')') bail('syntax: arithmetic expansion')
        this.pos += 2
        break
      }
      if (c === '$' || c === '`') {
        text = this.quotedExpansion(b, text)
        continue
      }
      if (c === '(') depth++
      else if (c === ')') depth--
      else if (c === '\n') this.line++
      text += c
      this.pos++
    }
    b.lit(text, QUOTED)
    return { k: 'arith', expr: makeWord(b.parts) }
  }
}

/** A redirection the interpreter runs, or why it does not. */
function runRedir(op: string, n: number, t: Extract<Token, { t: 'word' }>): RunRedir | string {
  if (n !== 0 && n !== 1 && n !== 2) return 'redirection of a high fd'
  if (op === '>&') {
    if (n === 0 || (t.raw !== '1' && t.raw !== '2')) return 'unsupported dup'
    return { fd: n, op: '>&', target: null, dup: t.raw === '1' ? 1 : 2 }
  }
  if (op === '>' || op === '>>' || op === '>|') {
    if (n === 0) return 'output redirection of stdin'
    return { fd: n, op: '>', target: t.word, dup: null }
  }
  if (op === '<') {
    if (n !== 0) return 'input redirection of an output fd'
    return { fd: 0, op: '<', target: t.word, dup: null }
  }
  return `redirection ${op}`
}

function isRedirOp(op: string): boolean {
  return op === '>' || op === '<' || op === '>>' || op === '>&' || op === '<&' || op === '<>' || op === '>|' ||
    op === '<<' || op === '<<-'
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
function asAssignment(w: Word, read = false): Assign | null {
  const first = w.parts[0]
  if (first === undefined || first.k !== 'lit' || first.q !== BARE) return null
  const m = ASSIGNMENT.exec(first.s)
  if (m === null) return null
  const name = m[0].slice(0, -1)
  const rest = first.s.slice(m[0].length)
  const parts: Part[] = []
  if (rest !== '') parts.push({ k: 'lit', s: rest, q: BARE })
  parts.push(...w.parts.slice(1))
  if (read) return { name, value: makeWord(parts) }
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

export interface ReadResult {
  /** The commands read; on an error, those read before it. */
  readonly list: List
  /** Why the rest could not be read (a syntax error, or a form read mode does not follow), or null. */
  readonly error: string | null
}

/**
 * Reads a whole script in read mode (see the module comment): never throws for any input. On
 * an error the commands parsed before it are kept (dash runs the lines before a syntax error).
 */
export function readScript(src: string): ReadResult {
  const items: AndOr[] = []
  try {
    new Parser(src, 1, true).parseScript(items)
    return { list: items, error: null }
  } catch (e) {
    if (e instanceof Unsupported) return { list: items, error: e.reason }
    if (e instanceof RangeError) return { list: items, error: 'nested too deeply' }
    throw e
  }
}
