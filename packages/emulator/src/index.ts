/**
 * @apparmor-monkeys/emulator: an exact-or-decline, in-process emulator of the informational
 * shell-outs npm packages make. Given a `sh -c` line or a file + argv, and the child's env,
 * cwd, credentials and whether its stdout is a terminal, it returns exactly what the real run
 * would (`{ stdout, stderr, status }`) or declines with a reason.
 *
 * This entry loads almost nothing: the dispatcher is required on the first request, the shell
 * reader only for shell lines, each program only when a request names it.
 */
import type { EmulationRequest, EmulationResult } from './types'

export type { ChildContext, CommandIO, EmulatedCommand, EmulationRequest, EmulationResult } from './types'
export type { Credentials } from './resolve'
export { canExecute, enterableDir, execvpTarget } from './resolve'
export type { Declined } from './dispatch'
export { DASH_BUILTINS as SHELL_BUILTINS } from './shell/builtins'
export type { ProgramWords } from './shell/words'

type Dispatcher = typeof import('./dispatch')
let dispatcher: Dispatcher | undefined

/**
 * The exact result of the request, or a decline with its reason (`{ declined: true, reason }`).
 * Never throws for a well-formed request: a failure inside is a decline.
 */
export function answer(req: EmulationRequest): EmulationResult | import('./dispatch').Declined {
  dispatcher ??= require('./dispatch') as Dispatcher
  return dispatcher.answer(req)
}

/** The exact result of the request, or null when it is declined (then run the real command). */
export function emulate(req: EmulationRequest): EmulationResult | null {
  dispatcher ??= require('./dispatch') as Dispatcher
  return dispatcher.emulate(req)
}

/** Whether `name` (a program's base name) is one the emulator can answer for. Loads no program. */
export function answersFor(name: string): boolean {
  dispatcher ??= require('./dispatch') as Dispatcher
  return dispatcher.answersFor(name)
}

/**
 * The programs a shell line would exec, for policy rules: the command words (builtins included,
 * quotes removed, through wrappers, `$(…)` and `sh -c`) and whether the line is complete (no
 * command word computed at run time). See shell/words.ts for the exact rules.
 */
export function commandWords(script: string): import('./shell/words').ProgramWords {
  return (require('./shell/words') as typeof import('./shell/words')).commandWords(script)
}
