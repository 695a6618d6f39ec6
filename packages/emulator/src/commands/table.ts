/**
 * The command table: every program the emulator answers for, by the name it is found under,
 * mapped to a loader that requires that program's module (and what it imports) on first use.
 * Nothing here is loaded at import time: a line that names `uname` loads `info/uname.ts` and
 * the system view, never a text tool; a line that names `cat` loads `text/cat.ts` only.
 *
 * To add a command: write `text/NAME.ts` (or `info/NAME.ts`) exporting the EmulatedCommand
 * (or its `create…(view)` factory) and add one line below; `test/commands/table.test.ts`
 * checks that every entry loads a command of that name.
 */
import type { EmulatedCommand } from '../types'
import type { SystemView } from './info/view'

/** Builds an informational command over a system view (the live system, or a fake tree in tests). */
export type InfoFactory = (view: SystemView) => EmulatedCommand

/** The text tools: name → loader. */
export const TEXT_COMMANDS: ReadonlyMap<string, () => EmulatedCommand> = new Map<string, () => EmulatedCommand>([
  ['cat', () => (require('./text/cat') as typeof import('./text/cat')).cat],
  ['cut', () => (require('./text/cut') as typeof import('./text/cut')).cut],
  ['egrep', () => (require('./text/grep') as typeof import('./text/grep')).egrep],
  ['false', () => (require('./text/truefalse') as typeof import('./text/truefalse')).falseCommand],
  ['grep', () => (require('./text/grep') as typeof import('./text/grep')).grep],
  ['head', () => (require('./text/headtail') as typeof import('./text/headtail')).head],
  ['sed', () => (require('./text/sed') as typeof import('./text/sed')).sed],
  ['sort', () => (require('./text/sort') as typeof import('./text/sort')).sort],
  ['tail', () => (require('./text/headtail') as typeof import('./text/headtail')).tail],
  ['tr', () => (require('./text/tr') as typeof import('./text/tr')).tr],
  ['true', () => (require('./text/truefalse') as typeof import('./text/truefalse')).trueCommand],
  ['uniq', () => (require('./text/uniq') as typeof import('./text/uniq')).uniq],
  ['wc', () => (require('./text/wc') as typeof import('./text/wc')).wc],
])

/** The informational commands: name → loader of the factory. */
export const INFO_COMMANDS: ReadonlyMap<string, () => InfoFactory> = new Map<string, () => InfoFactory>([
  ['getconf', () => (require('./info/getconf') as typeof import('./info/getconf')).createGetconf],
  ['getent', () => (require('./info/getent') as typeof import('./info/getent')).createGetent],
  ['git', () => () => (require('./info/git') as typeof import('./info/git')).createGit()],
  ['hostname', () => (require('./info/hostname') as typeof import('./info/hostname')).createHostname],
  ['id', () => (require('./info/id') as typeof import('./info/id')).createId],
  ['ldconfig', () => (require('./info/ldconfig') as typeof import('./info/ldconfig')).createLdconfig],
  ['ldd', () => (require('./info/ldd') as typeof import('./info/ldd')).createLdd],
  ['locale', () => (require('./info/locale') as typeof import('./info/locale')).createLocale],
  ['lsb_release', () => (require('./info/lsb-release') as typeof import('./info/lsb-release')).createLsbRelease],
  ['lscpu', () => (require('./info/lscpu') as typeof import('./info/lscpu')).createLscpu],
  ['nproc', () => (require('./info/nproc') as typeof import('./info/nproc')).createNproc],
  ['uname', () => (require('./info/uname') as typeof import('./info/uname')).createUname],
  ['which', () => (require('./info/which') as typeof import('./info/which')).createWhich],
  ['whoami', () => (require('./info/whoami') as typeof import('./info/whoami')).createWhoami],
])

/** What the shell and the dispatcher look programs up in. */
export interface CommandRegistry {
  has(name: string): boolean
  /** The program, loaded on the first ask; undefined for a name the emulator does not answer. */
  get(name: string): EmulatedCommand | undefined
  /** Every name the registry answers for (loads nothing). */
  names(): readonly string[]
}

/** A registry over the table; informational commands answer from `view()` (called on first use). */
export function createRegistry(view: () => SystemView): CommandRegistry {
  const loaded = new Map<string, EmulatedCommand>()
  return {
    has: (name) => TEXT_COMMANDS.has(name) || INFO_COMMANDS.has(name),
    get(name) {
      const hit = loaded.get(name)
      if (hit !== undefined) return hit
      const text = TEXT_COMMANDS.get(name)
      const info = text === undefined ? INFO_COMMANDS.get(name) : undefined
      const command = text !== undefined ? text() : info !== undefined ? info()(view()) : undefined
      if (command !== undefined) loaded.set(name, command)
      return command
    },
    names: () => [...TEXT_COMMANDS.keys(), ...INFO_COMMANDS.keys()].sort(),
  }
}
