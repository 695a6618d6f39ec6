import type { EmulatedCommand } from '../../types'
import { createGetconf } from './getconf'
import { createGetent } from './getent'
import { createGit } from './git'
import { createHostname } from './hostname'
import { createId } from './id'
import { createLdconfig } from './ldconfig'
import { createLdd } from './ldd'
import { createLocale } from './locale'
import { createLsbRelease } from './lsb-release'
import { createLscpu } from './lscpu'
import { createNproc } from './nproc'
import { createUname } from './uname'
import { createWhich } from './which'
import { createWhoami } from './whoami'
import { liveSystemView, type SystemView } from './view'

export { createSystemView, liveSystemView } from './view'
export type { ProcessFacts, SystemView, SystemViewOptions, UnameFields } from './view'

/** The informational commands answering from `view` (a fake tree in tests). */
export function createInfoCommands(view: SystemView): readonly EmulatedCommand[] {
  return [
    createGetconf(view),
    createLdd(view),
    createWhich(view),
    createUname(view),
    createHostname(view),
    createWhoami(view),
    createId(view),
    createLocale(view),
    createGetent(view),
    createLsbRelease(view),
    createLscpu(view),
    createNproc(view),
    createLdconfig(view),
    createGit(),
  ]
}

/** The informational commands (getconf, ldd, uname, id, …), in-process, on the live system. */
export const infoCommands: readonly EmulatedCommand[] = createInfoCommands(liveSystemView())
