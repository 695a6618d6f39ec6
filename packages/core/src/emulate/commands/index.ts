/** The registry: every program the emulator can answer for, by the name it is found under. */
import type { EmulatedCommand } from '../types'
import { infoCommands } from './info'
import { textCommands } from './text'

function build(...lists: readonly (readonly EmulatedCommand[])[]): ReadonlyMap<string, EmulatedCommand> {
  const m = new Map<string, EmulatedCommand>()
  for (const list of lists) for (const c of list) m.set(c.name, c)
  return m
}

/** name → emulated program (text tools and informational commands). */
export const commandRegistry: ReadonlyMap<string, EmulatedCommand> = build(textCommands, infoCommands)
