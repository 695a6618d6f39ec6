import * as path from 'node:path'
import { DASH_BUILTINS } from './builtins'

/**
 * The programs a shell line would run, for policy matching (allow/deny/confine rules). This is
 * a lexical reading of POSIX sh, not an interpreter:
 *
 * - A command word is the first word of a simple command: at the start of the line, after
 *   `;` `&` `&&` `||` `|` `(` `)` a newline, and after the reserved words `!` `{` `if` `then`
 *   `else` `elif` `do` `while` `until` `time`, skipping `NAME=value` assignments and
 *   redirections (`2>&1`, `> file`, `<<EOF` with its body).
 * - Quotes and backslashes are removed from words. `$(…)` and backquotes inside a line are
 *   read recursively (their programs count too).
 * - Wrappers are seen through: `exec`, `command`, `nohup`, `time`, `nice`, `env`, `timeout`,
 *   `xargs`, `stdbuf`, `setsid`, `sudo`, `doas` (the wrapper and the program it runs both
 *   count); `sh|dash|bash|ash … -c '<script>'` is read recursively.
 * - The line is `complete: false` when a command word is computed at run time (`$VAR`,
 *   `$(…)` in command position), or it uses `eval`, `.`/`source`, `for`, `case`, `select`,
 *   a function definition, or an unterminated quote. Such a line is never "all allowed".
 */
export interface ProgramWords {
  /** Command words (programs and builtins), quotes removed, in order of appearance. */
  readonly words: readonly string[]
  readonly complete: boolean
}

/** Builtins of dash: they run inside the shell, no exec happens (the interpreter's list). */
export const SHELL_BUILTINS: ReadonlySet<string> = DASH_BUILTINS

const SHELLS = new Set(['sh', 'dash', 'bash', 'ash'])
const RESERVED_THEN_COMMAND = new Set(['!', '{', 'if', 'then', 'else', 'elif', 'do', 'while', 'until', 'time'])
const RESERVED_END = new Set(['}', 'fi', 'done', 'esac'])
const KEYWORDS_UNMODELLED = new Set(['for', 'case', 'select', 'function'])

interface Wrapper {
  /** Options that take the next word as their value. */
  readonly valueOptions: readonly string[]
  /** Non-option words to skip before the program (timeout's duration). */
  readonly skipWords?: number
  /** `NAME=value` words are skipped (env). */
  readonly assignments?: boolean
  /** Options after which no program follows (`command -v`). */
  readonly lookupOptions?: readonly string[]
  /** Options that make the program unknowable (`env -S`). */
  readonly opaqueOptions?: readonly string[]
}

const WRAPPERS: Readonly<Record<string, Wrapper>> = {
  exec: { valueOptions: ['-a'] },
  command: { valueOptions: [], lookupOptions: ['-v', '-V'] },
  nohup: { valueOptions: [] },
  time: { valueOptions: [] },
  nice: { valueOptions: ['-n', '--adjustment'] },
  env: { valueOptions: ['-u', '--unset', '-C', '--chdir'], assignments: true, opaqueOptions: ['-S', '--split-string'] },
  timeout: { valueOptions: ['-s', '--signal', '-k', '--kill-after'], skipWords: 1 },
  xargs: {
    valueOptions: ['-a', '-d', '-E', '-e', '-I', '-i', '-L', '-l', '-n', '-P', '-s', '--arg-file', '--delimiter', '--eof',
      '--replace', '--max-lines', '--max-args', '--max-procs', '--max-chars', '--process-slot-var'],
  },
  stdbuf: { valueOptions: ['-i', '-o', '-e', '--input', '--output', '--error'] },
  setsid: { valueOptions: [] },
  sudo: { valueOptions: ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T', '--user', '--group', '--host', '--prompt', '--chdir'] },
  doas: { valueOptions: ['-u', '-C'] },
}

type Token =
  /** `prefix`: the unquoted literal start of the word (before any quote, escape or expansion). */
  | { readonly t: 'word'; readonly text: string; readonly prefix: string; readonly dynamic: boolean; readonly quoted: boolean }
  | { readonly t: 'op'; readonly op: string }

const REDIRECTIONS = new Set(['<', '>', '>>', '<<', '<<-', '<&', '>&', '<>', '>|', '&>', '&>>'])

interface Lexed {
  readonly tokens: Token[]
  readonly nested: string[]
  complete: boolean
}

/** Index of the `)` closing a `$(` or `(` whose content starts at `i`, or -1. */
function findClose(src: string, i: number): number {
  let depth = 1
  while (i < src.length) {
    const c = src[i]
    if (c === '\\') i += 2
    else if (c === "'") {
      const j = src.indexOf("'", i + 1)
      if (j < 0) return -1
      i = j + 1
    } else if (c === '"') {
      i++
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1
      i++
    } else if (c === '(') {
      depth++
      i++
    } else if (c === ')') {
      if (--depth === 0) return i
      i++
    } else i++
  }
  return -1
}

function lex(src: string): Lexed {
  const out: Lexed = { tokens: [], nested: [], complete: true }
  const { tokens, nested } = out
  let text = ''
  let prefix = ''
  let inWord = false
  let dynamic = false
  let quoted = false
  const heredocs: { delimiter: string; stripTabs: boolean }[] = []
  let heredocNext: boolean | null = null // stripTabs of a `<<` waiting for its delimiter word

  const flush = (): void => {
    if (!inWord) return
    if (heredocNext !== null) {
      heredocs.push({ delimiter: text, stripTabs: heredocNext })
      heredocNext = null
    }
    tokens.push({ t: 'word', text, prefix, dynamic, quoted })
    text = prefix = ''
    inWord = dynamic = quoted = false
  }
  const start = (): void => {
    inWord = true
  }

  // `$…` at src[i]; returns the index after it. Marks the word dynamic (or appends a lone `$`).
  const dollar = (i: number): number => {
    const next = src[i + 1] ?? ''
    if (next === '(') {
      if (src[i + 2] === '(') {
        const end = src.indexOf('))', i + 3)
        if (end < 0) out.complete = false
        dynamic = true
        return end < 0 ? src.length : end + 2
      }
      const end = findClose(src, i + 2)
      if (end < 0) {
        out.complete = false
        dynamic = true
        return src.length
      }
      nested.push(src.slice(i + 2, end))
      dynamic = true
      return end + 1
    }
    if (next === '{') {
      const end = src.indexOf('}', i + 2)
      dynamic = true
      if (end < 0) out.complete = false
      return end < 0 ? src.length : end + 1
    }
    if (/[A-Za-z_]/.test(next)) {
      let j = i + 2
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j] as string)) j++
      dynamic = true
      return j
    }
    if (/[0-9@*#?$!-]/.test(next)) {
      dynamic = true
      return i + 2
    }
    text += '$'
    return i + 1
  }

  // A backquoted substitution starting at src[i]; returns the index after it.
  const backquote = (i: number): number => {
    let j = i + 1
    let inner = ''
    while (j < src.length && src[j] !== '`') {
      if (src[j] === '\\' && (src[j + 1] === '`' || src[j + 1] === '\\' || src[j + 1] === '$')) {
        inner += src[j + 1]
        j += 2
      } else inner += src[j++]
    }
    if (j >= src.length) out.complete = false
    nested.push(inner)
    dynamic = true
    return j + 1
  }

  const skipHeredocBodies = (i: number): number => {
    while (heredocs.length > 0 && i < src.length) {
      const { delimiter, stripTabs } = heredocs[0] as { delimiter: string; stripTabs: boolean }
      let end = src.indexOf('\n', i)
      if (end < 0) end = src.length
      let line = src.slice(i, end)
      if (stripTabs) line = line.replace(/^\t+/, '')
      i = end + 1
      if (line === delimiter) heredocs.shift()
    }
    if (heredocs.length > 0) out.complete = false
    heredocs.length = 0
    return i
  }

  let i = 0
  while (i < src.length) {
    const c = src[i] as string
    if (c === ' ' || c === '\t') {
      flush()
      i++
    } else if (c === '\n') {
      flush()
      tokens.push({ t: 'op', op: '\n' })
      i = skipHeredocBodies(i + 1)
    } else if (c === '#' && !inWord) {
      const end = src.indexOf('\n', i)
      i = end < 0 ? src.length : end
    } else if (c === '\\') {
      if (src[i + 1] === '\n') i += 2
      else {
        start()
        text += src[i + 1] ?? ''
        quoted = true
        i += 2
      }
    } else if (c === "'") {
      start()
      quoted = true
      const end = src.indexOf("'", i + 1)
      if (end < 0) {
        out.complete = false
        text += src.slice(i + 1)
        i = src.length
      } else {
        text += src.slice(i + 1, end)
        i = end + 1
      }
    } else if (c === '"') {
      start()
      quoted = true
      i++
      while (i < src.length && src[i] !== '"') {
        const d = src[i] as string
        if (d === '\\' && i + 1 < src.length && '$`"\\\n'.includes(src[i + 1] as string)) {
          if (src[i + 1] !== '\n') text += src[i + 1]
          i += 2
        } else if (d === '$') i = dollar(i)
        else if (d === '`') i = backquote(i)
        else {
          text += d
          i++
        }
      }
      if (i >= src.length) out.complete = false
      i++
    } else if (c === '$') {
      start()
      i = dollar(i)
    } else if (c === '`') {
      start()
      i = backquote(i)
    } else if (c === '<' || c === '>' || (c === '&' && src[i + 1] === '>')) {
      if (inWord && !quoted && !dynamic && /^\d+$/.test(text)) {
        text = ''
        inWord = false // an io number, not a word
      } else flush()
      const three = src.slice(i, i + 3)
      const two = src.slice(i, i + 2)
      const op = three === '<<-' || three === '&>>' ? three : REDIRECTIONS.has(two) ? two : c
      tokens.push({ t: 'op', op })
      if (op === '<<' || op === '<<-') heredocNext = op === '<<-'
      i += op.length
    } else if (c === '|' || c === '&' || c === ';') {
      flush()
      const two = src.slice(i, i + 2)
      const op = two === '||' || two === '&&' || two === ';;' || two === '|&' ? two : c
      tokens.push({ t: 'op', op })
      i += op.length
    } else if (c === '(' || c === ')') {
      flush()
      tokens.push({ t: 'op', op: c })
      i++
    } else {
      start()
      if (!quoted && !dynamic && text === prefix) prefix += c
      text += c
      i++
    }
  }
  flush()
  if (heredocNext !== null || heredocs.length > 0) out.complete = false
  return out
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/

function optionName(word: string): string {
  const eq = word.indexOf('=')
  return word.startsWith('--') && eq > 0 ? word.slice(0, eq) : word
}

/** The command words of a POSIX sh script (see the module comment for the exact rules). */
export function commandWords(script: string, depth = 0): ProgramWords {
  const words: string[] = []
  let complete = true
  if (depth > 8) return { words, complete: false }
  const lexed = lex(script)
  complete = lexed.complete
  const { tokens } = lexed

  let commandPosition = true
  let redirectTarget = false
  let previousWasCommand = false
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k] as Token
    if (tok.t === 'op') {
      if (REDIRECTIONS.has(tok.op)) {
        redirectTarget = true
        continue
      }
      if (tok.op === '(' && previousWasCommand) complete = false // a function definition `f()`
      previousWasCommand = false
      // After `)` comes an operator, a redirection, a function body or a case branch's command.
      commandPosition = true
      continue
    }
    if (redirectTarget) {
      redirectTarget = false
      continue
    }
    previousWasCommand = false
    if (!commandPosition) continue
    if (ASSIGNMENT.test(tok.prefix)) continue
    if (!tok.quoted && !tok.dynamic) {
      if (RESERVED_THEN_COMMAND.has(tok.text)) continue
      if (RESERVED_END.has(tok.text)) {
        commandPosition = false
        continue
      }
      if (KEYWORDS_UNMODELLED.has(tok.text)) {
        complete = false
        commandPosition = false
        continue
      }
    }
    commandPosition = false
    previousWasCommand = true
    if (tok.dynamic) {
      complete = false
      continue
    }
    k = followProgram(tokens, k, words, depth, () => {
      complete = false
    })
  }
  for (const inner of lexed.nested) {
    const sub = commandWords(inner, depth + 1)
    words.push(...sub.words)
    if (!sub.complete) complete = false
  }
  return { words, complete }
}

/**
 * Records the program at tokens[k] and, through wrappers and `sh -c`, the programs it runs.
 * Returns the index of the last token consumed.
 */
function followProgram(tokens: readonly Token[], k: number, words: string[], depth: number, incomplete: () => void): number {
  const word = (tokens[k] as { text: string }).text
  words.push(word)
  const name = path.basename(word)
  if (name === 'eval' || name === '.' || name === 'source') incomplete()
  const wordAt = (j: number): Extract<Token, { t: 'word' }> | undefined => {
    const t = tokens[j]
    return t !== undefined && t.t === 'word' ? t : undefined
  }

  if (SHELLS.has(name)) {
    for (let j = k + 1; ; j++) {
      const w = wordAt(j)
      if (w === undefined || w.dynamic || !w.text.startsWith('-') || w.text === '--' || w.text.startsWith('--')) return k
      if (/^-[a-z]*c[a-z]*$/.test(w.text)) {
        const scriptWord = wordAt(j + 1)
        if (scriptWord === undefined) return k
        if (scriptWord.dynamic) incomplete()
        else {
          const sub = commandWords(scriptWord.text, depth + 1)
          words.push(...sub.words)
          if (!sub.complete) incomplete()
        }
        return j + 1
      }
    }
  }

  const wrapper = WRAPPERS[name]
  if (wrapper === undefined) return k
  let skip = wrapper.skipWords ?? 0
  for (let j = k + 1; ; j++) {
    const w = wordAt(j)
    if (w === undefined) return j - 1
    if (w.dynamic) {
      incomplete()
      return j
    }
    const text = w.text
    if (text === '--') {
      const next = wordAt(j + 1)
      if (next === undefined) return j
      if (next.dynamic) {
        incomplete()
        return j + 1
      }
      return followProgram(tokens, j + 1, words, depth, incomplete)
    }
    if (text.startsWith('-') && text.length > 1) {
      const option = optionName(text)
      if (wrapper.lookupOptions?.includes(option)) return j
      if (wrapper.opaqueOptions?.includes(option)) {
        incomplete()
        return j
      }
      if (wrapper.valueOptions.includes(option) && option === text) j++
      continue
    }
    if (wrapper.assignments && ASSIGNMENT.test(w.prefix)) continue
    if (skip > 0) {
      skip--
      continue
    }
    return followProgram(tokens, j, words, depth, incomplete)
  }
}
