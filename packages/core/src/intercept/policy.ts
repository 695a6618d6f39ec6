import * as path from 'node:path'
import { type ChildContext, type EmulationResult, SHELL_BUILTINS, commandWords, execvpTarget } from '@apparmor-monkeys/emulator'
import type { CommandRule, Decision, ResolvedInterceptOptions } from '../options'
import { type CallShape, type SpawnCall, commandLine, contextOf, emulationRequest, envValue, execCredentials } from './call'

/**
 * The decision for one request, in this order (the first that applies wins):
 *
 * 1. `deny`: a deny rule matches any command word of the line (programs, builtins and the
 *    shell itself), or a deny RegExp matches the command line.
 * 2. `confine`: the first confine rule that matches any command word (shell included) or,
 *    for a RegExp, the command line. A confine rule wins over emulation: the user asked for
 *    that child to run under a profile, and an emulated answer would read files with the
 *    parent's permissions instead.
 * 3. `emulate`: the emulator answers the request byte-exactly, the call's options allow the
 *    answer to be delivered exactly (see `Emulability`), and no allow rule names a word of
 *    the line (an allow rule means "run it for real").
 * 4. `passthrough` (reason `allow-rule`): every program of the line is allowed: each command
 *    word that is not a shell builtin matches an allow rule (the shell of a shell line is
 *    implied), and the line is complete (no run-time command words), or an allow RegExp
 *    matches the command line.
 * 5. `unknown`: the configured default (`passthrough` unless set to `deny`).
 */

/** `fail-open`: the interception did not understand the call and handed it to Node's original. */
export type DecisionReason = 'deny-rule' | 'emulated' | 'confine-rule' | 'allow-rule' | 'unknown' | 'fail-open'

export interface Verdict {
  readonly decision: Decision
  readonly reason: DecisionReason
  /** The profile of a `confine` decision. */
  readonly profile?: string
  /** The answer of an `emulate` decision. */
  readonly result?: EmulationResult
  /** Set when the emulator threw: the request was then decided as if it had returned null. */
  readonly emulatorError?: string
}

/**
 * Whether an answer could be delivered exactly, given the call's options: false for options
 * that make an exact in-process answer impossible (detached, uid/gid, argv0, a cwd the child
 * could not enter, stdio streams or IPC). The child's stdin does not matter: by contract
 * (EmulateFn), the emulator never answers a line that would read the caller's stdin.
 */
export type Emulability = boolean

/**
 * Requests the emulator declined, so that it is not asked again (a declined shell line costs
 * it tens of µs: parsing, PATH lookups). Safe by construction: a miss only ever leads to the
 * real command, which is exact. Keyed by the request, the child's cwd, uid, gid and PATH (what
 * the emulator's PATH lookups depend on); the oldest entries go first. A line that would
 * become answerable later under the same key (another variable changed) stays real.
 */
export class EmulatorMisses {
  private readonly keys = new Set<string>()

  constructor(private readonly capacity = 512) {}

  static key(shape: CallShape, ctx: ChildContext): string {
    const request = shape.kind === 'shell' ? `s\0${shape.shell}\0${shape.script}` : `e\0${shape.file}\0${shape.args.join('\0')}`
    return `${request}\0${ctx.cwd}\0${ctx.uid}\0${ctx.gid}\0${ctx.env['PATH'] ?? ''}`
  }

  has(key: string): boolean {
    return this.keys.has(key)
  }

  add(key: string): void {
    if (this.keys.size >= this.capacity) {
      const oldest = this.keys.keys().next().value
      if (oldest !== undefined) this.keys.delete(oldest)
    }
    this.keys.add(key)
  }
}

/** The command words of a request, computed once and only when a rule needs them. */
class Programs {
  private words: readonly string[] | undefined
  private required: readonly string[] | undefined
  private completeLine = true
  private line: string | undefined
  private readonly resolved = new Map<string, string | undefined>()

  constructor(
    private readonly call: SpawnCall,
    private readonly shape: CallShape,
  ) {}

  commandLine(): string {
    this.line ??= commandLine(this.shape)
    return this.line
  }

  /** Every command word, the shell of a shell line first. */
  all(): readonly string[] {
    this.compute()
    return this.words as readonly string[]
  }

  /** The programs that must be allowed (shell of a shell line and builtins excluded). */
  requiredForAllow(): readonly string[] {
    this.compute()
    return this.required as readonly string[]
  }

  complete(): boolean {
    this.compute()
    return this.completeLine
  }

  /**
   * The file a word would exec as (execvp's search on the child's PATH from the child's cwd,
   * with the child's credentials: the emulator's resolver), memoized per request.
   */
  pathOf(word: string): string | undefined {
    if (this.resolved.has(word)) return this.resolved.get(word)
    const cwd = this.call.cwd === undefined || this.call.cwd === null ? process.cwd() : path.resolve(this.call.cwd)
    const searchPath = envValue(this.call.env, 'PATH') ?? '/usr/bin:/bin'
    const found = execvpTarget(word, searchPath, cwd, execCredentials(this.call)) ?? undefined
    this.resolved.set(word, found)
    return found
  }

  private compute(): void {
    if (this.words !== undefined) return
    if (this.shape.kind === 'shell') {
      const inner = commandWords(this.shape.script)
      this.words = [this.shape.shell, ...inner.words]
      this.required = inner.words.filter((w) => !SHELL_BUILTINS.has(w))
      this.completeLine = inner.complete
    } else {
      // A direct exec; a shell exec'd with a -c script in another form (`bash -ec …`) is read too.
      const words = commandWords([this.shape.file, ...this.shape.args].map(quoteForLexer).join(' '))
      this.words = [this.shape.file, ...words.words.slice(1)]
      this.required = [this.shape.file, ...words.words.slice(1).filter((w) => !SHELL_BUILTINS.has(w))]
      this.completeLine = words.complete
    }
  }
}

/** Single-quotes a word so the lexer reads it back literally. */
function quoteForLexer(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

function wordMatches(rule: string, word: string, programs: Programs): boolean {
  if (rule === '*') return true
  if (rule.includes('/')) return word === rule || (!word.includes('/') && programs.pathOf(word) === rule)
  return path.basename(word) === rule
}

function anyWordMatches(rules: readonly CommandRule[], words: readonly string[], programs: Programs): boolean {
  for (const rule of rules) {
    if (typeof rule === 'string') {
      if (rule === '*') return true
      for (const word of words) if (wordMatches(rule, word, programs)) return true
    } else if (rule.test(programs.commandLine())) return true
  }
  return false
}

function allAllowed(rules: readonly CommandRule[], programs: Programs): boolean {
  for (const rule of rules) {
    if (rule === '*') return true
    if (typeof rule !== 'string' && rule.test(programs.commandLine())) return true
  }
  if (!programs.complete()) return false
  return programs.requiredForAllow().every((word) => rules.some((rule) => typeof rule === 'string' && wordMatches(rule, word, programs)))
}

function shellWordsOnly(programs: Programs, shape: CallShape): readonly string[] {
  return shape.kind === 'shell' ? programs.all().slice(1) : programs.all()
}

/**
 * Decides one request. Pure apart from the emulator call, the misses it records, and PATH
 * lookups for path rules.
 */
export function decide(call: SpawnCall, shape: CallShape, emulability: Emulability, options: ResolvedInterceptOptions, misses?: EmulatorMisses): Verdict {
  const programs = new Programs(call, shape)

  if (options.deny.length > 0 && anyWordMatches(options.deny, programs.all(), programs)) {
    return { decision: 'deny', reason: 'deny-rule' }
  }

  for (const rule of options.confine) {
    if (anyWordMatches([rule.match], programs.all(), programs)) {
      return { decision: 'confine', reason: 'confine-rule', profile: rule.profile }
    }
  }

  let emulatorError: string | undefined
  const forcedReal = options.allow.length > 0 && anyWordMatches(options.allow, shellWordsOnly(programs, shape), programs)
  if (!forcedReal && options.emulate !== null && emulability) {
    const ctx = contextOf(call)
    const missKey = misses === undefined ? undefined : EmulatorMisses.key(shape, ctx)
    if (missKey === undefined || !misses?.has(missKey)) {
      let result: EmulationResult | null = null
      try {
        result = options.emulate(emulationRequest(shape, ctx, call))
      } catch (err) {
        emulatorError = err instanceof Error ? err.message : String(err)
      }
      if (result !== null) return { decision: 'emulate', reason: 'emulated', result }
      if (missKey !== undefined && emulatorError === undefined) misses?.add(missKey)
    }
  }
  const extra = emulatorError === undefined ? {} : { emulatorError }

  if (options.allow.length > 0 && allAllowed(options.allow, programs)) {
    return { decision: 'passthrough', reason: 'allow-rule', ...extra }
  }
  return { decision: options.unknown, reason: 'unknown', ...extra }
}
