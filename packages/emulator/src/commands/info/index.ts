import type { EmulatedCommand } from '../../types'
import { INFO_COMMANDS } from '../table'
import { type SystemView, liveSystemView } from './view'

export { createSystemView, liveSystemView } from './view'
export type { ProcessFacts, SystemView, SystemViewOptions, UnameFields } from './view'

/** Every informational command answering from `view` (a fake tree in tests); loads them all. */
export function createInfoCommands(view: SystemView): readonly EmulatedCommand[] {
  return [...INFO_COMMANDS.values()].map((load) => load()(view))
}

/** The informational commands (getconf, ldd, uname, id, …), in-process, on the live system. */
export const infoCommands: readonly EmulatedCommand[] = createInfoCommands(liveSystemView())
