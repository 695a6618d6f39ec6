import * as path from 'node:path'
import type { Command, List, Word } from './ast'
import { BARE } from './ast'
import { DASH_BUILTINS } from './builtins'
import { readScript } from './parse'

/**
 * The programs a shell line would run, for policy matching (allow/deny/confine rules). The line
 * is read by the emulator's own parser in its read mode (parse.ts `readScript`), so the policy
 * and the interpreter agree on what a word is; nothing is run:
 *
 * - A command word is the first word of a simple command, after its `NAME=value` assignments
 *   and redirections, anywhere in the line (pipelines, lists, `( )`, `{ }`, the bodies of
 *   if/while/until/for/case and of functions). Quotes and backslashes are removed from words.
 *   Command substitutions (`$(…)`, backquotes, also inside `$((…))`, `${x:-…}`, assignments,
 *   redirection targets and unquoted here-documents) are read too: their programs count, after
 *   the line's own.
 * - Wrappers are seen through: `exec`, `command`, `nohup`, `time` (a program in dash, not a
 *   keyword), `nice`, `env`, `timeout`, `xargs`, `stdbuf`, `setsid`, `sudo`, `doas` (the wrapper
 *   and the program it runs both count); `sh|dash|bash|ash … -c '<script>'` is read recursively.
 * - The line is `complete: false` when a command word is computed at run time (`$VAR`,
 *   `$(…)` in command position), or it uses `eval`, `.`/`source`, `for`, `case`, `select`,
 *   `function`, a function definition, or cannot be read (a syntax error such as an
 *   unterminated quote: the commands before it are listed). Such a line is never "all allowed".
 */
export interface ProgramWords {
  /** Command words (programs and builtins), quotes removed, in order of appearance. */
  readonly words: readonly string[]
  readonly complete: boolean
}

/** Builtins of dash: they run inside the shell, no exec happens (the interpreter's list). */
export const SHELL_BUILTINS: ReadonlySet<string> = DASH_BUILTINS

const SHELLS = new Set(['sh', 'dash', 'bash', 'ash'])
/** Command names after which the line is not followed: bash's keywords dash runs as programs. */
const NAMES_UNMODELLED = new Set(['select', 'function'])

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

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/

function optionName(word: string): string {
  const eq = word.indexOf('=')
  return word.startsWith('--') && eq > 0 ? word.slice(0, eq) : word
}

/** A word as the reader sees it: its text with quotes removed, or null when it is computed. */
function textOf(w: Word): string | null {
  let text = ''
  for (const p of w.parts) {
    if (p.k === 'lit') text += p.s
    else if (p.k !== 'mark') return null
  }
  return text
}

/** `NAME=value` by its unquoted literal start (env's operands). */
function isAssignment(w: Word): boolean {
  const first = w.parts[0]
  return first !== undefined && first.k === 'lit' && first.q === BARE && ASSIGNMENT.test(first.s)
}

/** The command words of a POSIX sh script (see the module comment for the exact rules). */
export function commandWords(script: string, depth = 0): ProgramWords {
  if (depth > 8) return { words: [], complete: false }
  const read = readScript(script)
  const reader = new Reader(depth)
  reader.list(read.list)
  // Substitutions are listed after the line's own words, each with its own nested ones.
  reader.drain()
  return { words: reader.words, complete: read.error === null && reader.complete }
}

class Reader {
  readonly words: string[] = []
  /** Bodies of command substitutions met, in order. */
  readonly nested: List[] = []
  complete = true

  constructor(private readonly depth: number) {}

  /** Appends the words of the nested substitutions (a sub-reader's own). */
  drain(): void {
    for (let i = 0; i < this.nested.length; i++) {
      const sub = new Reader(this.depth + 1)
      sub.list(this.nested[i] as List)
      sub.drain()
      this.words.push(...sub.words)
      if (!sub.complete) this.complete = false
    }
  }

  list(list: List): void {
    for (const item of list) {
      for (const c of item.head.cmds) this.command(c)
      for (const t of item.tail) for (const c of t.p.cmds) this.command(c)
    }
  }

  /** Records the command substitutions a word runs. */
  private substitutions(w: Word | null): void {
    if (w === null) return
    for (const p of w.parts) {
      if (p.k === 'cmd') this.nested.push(p.body)
      else if (p.k === 'param' && p.arg !== null) this.substitutions(p.arg)
      else if (p.k === 'arith') this.substitutions(p.expr)
    }
  }

  private command(c: Command): void {
    if (c.kind === 'simple') {
      const word = c.words[0]
      if (word !== undefined) {
        if (textOf(word) === null) this.complete = false
        else this.follow(c.words, 0)
      }
      for (const a of c.assigns) this.substitutions(a.value)
      for (const w of c.words) this.substitutions(w)
    } else if (!('bodies' in c)) {
      this.list(c.body)
    } else {
      if (c.kind === 'function') {
        // The name is listed as the lexical reader did (the line is incomplete anyway).
        this.words.push(textOf(c.words[0] as Word) ?? '')
        this.complete = false
      } else {
        if (c.kind === 'for' || c.kind === 'case') this.complete = false
        for (const w of c.words) this.substitutions(w)
      }
      for (const body of c.bodies) this.list(body)
    }
    for (const r of c.redirs) this.substitutions(r.target)
  }

  /**
   * Records the program at words[k] and, through wrappers and `sh -c`, the programs it runs.
   */
  private follow(words: readonly Word[], k: number): void {
    const word = textOf(words[k] as Word) as string
    this.words.push(word)
    const name = path.basename(word)
    if (name === 'eval' || name === '.' || name === 'source' || NAMES_UNMODELLED.has(word)) this.complete = false
    const at = (j: number): { text: string | null; word: Word } | undefined => {
      const w = words[j]
      return w === undefined ? undefined : { text: textOf(w), word: w }
    }

    if (SHELLS.has(name)) {
      for (let j = k + 1; ; j++) {
        const w = at(j)
        if (w === undefined || w.text === null || !w.text.startsWith('-') || w.text === '--' || w.text.startsWith('--')) return
        if (/^-[a-z]*c[a-z]*$/.test(w.text)) {
          const scriptWord = at(j + 1)
          if (scriptWord === undefined) return
          if (scriptWord.text === null) this.complete = false
          else {
            const sub = commandWords(scriptWord.text, this.depth + 1)
            this.words.push(...sub.words)
            if (!sub.complete) this.complete = false
          }
          return
        }
      }
    }

    const wrapper = WRAPPERS[name]
    if (wrapper === undefined) return
    let skip = wrapper.skipWords ?? 0
    for (let j = k + 1; ; j++) {
      const w = at(j)
      if (w === undefined) return
      if (w.text === null) {
        this.complete = false
        return
      }
      const text = w.text
      if (text === '--') {
        const next = at(j + 1)
        if (next === undefined) return
        if (next.text === null) this.complete = false
        else this.follow(words, j + 1)
        return
      }
      if (text.startsWith('-') && text.length > 1) {
        const option = optionName(text)
        if (wrapper.lookupOptions?.includes(option)) return
        if (wrapper.opaqueOptions?.includes(option)) {
          this.complete = false
          return
        }
        if (wrapper.valueOptions.includes(option) && option === text) j++
        continue
      }
      if (wrapper.assignments && isAssignment(w.word)) continue
      if (skip > 0) {
        skip--
        continue
      }
      this.follow(words, j)
      return
    }
  }
}
