/** The registry: every program the emulator can answer for, by the name it is found under. */
import type { CommandIO, EmulatedCommand, EmulationResult } from '../types'
import { loaderVarsSet } from './info/env-guard'
import { type CommandRegistry, createRegistry } from './table'

export type { CommandRegistry } from './table'

/** name → emulated program (text tools and informational commands), each loaded on first use. */
export const commandRegistry: CommandRegistry = createRegistry(() => (require('./info/view') as typeof import('./info/view')).liveSystemView())

/**
 * Runs one emulated program: the single dispatch point of every path (shell lines, text tools,
 * direct execs). A child whose environment carries the dynamic loader's or glibc's variables
 * (LD_PRELOAD, LD_LIBRARY_PATH, LD_DEBUG, LD_AUDIT, GLIBC_TUNABLES, …) could print or do
 * something else (ld.so's messages, another library): it is never answered in process. The
 * system-wide /etc/ld.so.preload is checked once per request by the caller (emulate()).
 */
export function dispatch(program: EmulatedCommand, args: readonly string[], io: CommandIO): EmulationResult | null {
  if (loaderVarsSet(io.ctx.env)) return null
  return program.run(args, io)
}
