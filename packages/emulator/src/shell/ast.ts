/**
 * The syntax tree of the supported sh subset. Every string in it is a byte string: one JS
 * char per byte (latin1), so scripts and data round-trip byte-exactly.
 */

/**
 * How a literal piece of a word behaves after expansion: 0 unquoted source text (globbed, never
 * field-split); 1 quoted (neither); 2 unquoted text inside `${x:-text}`, which is part of an
 * expansion and so is split and globbed.
 */
export type Quoting = 0 | 1 | 2
export const BARE = 0
export const QUOTED = 1
export const EXPANDED = 2

export type Part =
  | { readonly k: 'lit'; readonly s: string; readonly q: Quoting }
  /** A quote boundary (`""`, `''`): keeps an otherwise empty word alive. */
  | { readonly k: 'mark' }
  | {
      readonly k: 'param'
      readonly name: string
      /** '' plain; '-', ':-', '+', ':+', '=', ':=' with `arg`; '#' length. */
      readonly op: string
      readonly arg: Word | null
      readonly quoted: boolean
    }
  | { readonly k: 'cmd'; readonly body: List; readonly quoted: boolean }
  | { readonly k: 'tilde' }
  /** Read mode only: `$((…))`, its text as a word (for the substitutions in it). */
  | { readonly k: 'arith'; readonly expr: Word }

export interface Word {
  readonly parts: readonly Part[]
  /** The word's only field when it is plain unquoted text without glob characters. */
  readonly plain: string | null
}

export interface Assign {
  readonly name: string
  readonly value: Word
}

/** `fd>target`, `fd<target` or `fd>&dup`. */
export type Redir = RunRedir | ReadRedir

/** A redirection the interpreter runs. */
export interface RunRedir {
  readonly fd: 0 | 1 | 2
  readonly op: '>' | '<' | '>&'
  readonly target: Word | null
  readonly dup: 1 | 2 | null
}

/**
 * Read mode only: any other redirection (any fd, `<&`, `<>`, `>|`…); for a here-document
 * (`<<`, `<<-`) the target is its body, a word whose substitutions run when the delimiter is
 * unquoted (a literal word otherwise).
 */
export interface ReadRedir {
  readonly fd: number
  readonly op: 'read'
  readonly target: Word | null
  readonly dup: null
}

export interface SimpleCommand {
  readonly kind: 'simple'
  readonly assigns: readonly Assign[]
  readonly words: readonly Word[]
  readonly redirs: readonly Redir[]
  /** The line dash reports in its messages for this command. */
  readonly line: number
}

export interface CompoundCommand {
  readonly kind: 'subshell' | 'group'
  readonly body: List
  readonly redirs: readonly Redir[]
}

/**
 * Read mode only: compound commands the interpreter does not run. `words` are the words the
 * construct itself expands (for's list, case's subject and patterns, a function's name);
 * `bodies` the lists it may run (a function's body is a one-command list).
 */
export interface ReadCompound {
  readonly kind: 'if' | 'while' | 'until' | 'for' | 'case' | 'function'
  readonly words: readonly Word[]
  readonly bodies: readonly List[]
  readonly redirs: readonly Redir[]
}

export type Command = SimpleCommand | CompoundCommand | ReadCompound

export interface Pipeline {
  readonly bang: boolean
  readonly cmds: readonly Command[]
}

export interface AndOr {
  readonly head: Pipeline
  readonly tail: readonly { readonly op: '&&' | '||'; readonly p: Pipeline }[]
}

export type List = readonly AndOr[]
