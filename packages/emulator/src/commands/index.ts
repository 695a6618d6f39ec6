/** The registry: every program the emulator can answer for, by the name it is found under. */
import type { CommandIO, EmulatedCommand, EmulationResult } from '../types'
import { loaderVarsSet } from './info/env-guard'
import { infoCommands } from './info'
import { textCommands } from './text'

function build(...lists: readonly (readonly EmulatedCommand[])[]): ReadonlyMap<string, EmulatedCommand> {
  const m = new Map<string, EmulatedCommand>()
  for (const list of lists) for (const c of list) m.set(c.name, c)
  return m
}

/** name → emulated program (text tools and informational commands). */
export const commandRegistry: ReadonlyMap<string, EmulatedCommand> = build(textCommands, infoCommands)

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
