import type { EmulatedCommand } from '../../types'

/** The informational commands (getconf, ldd, uname, id, …), in-process. */
export const infoCommands: readonly EmulatedCommand[] = []
