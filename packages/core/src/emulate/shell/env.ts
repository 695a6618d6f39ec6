/**
 * The environment dash passes to a program, built lazily: the inherited variables, overlaid
 * with the shell's exports and unsets, the command's own assignments, IFS reset to its
 * default (dash re-exports an inherited IFS with its own value) and PWD as dash sets it.
 * A read-only view, so no per-command copy of the whole environment is made.
 */
import * as fs from 'node:fs'

export interface ShellVar {
  readonly value: string | undefined
  readonly exported: boolean
}

export type Env = Readonly<Record<string, string | undefined>>

const DEFAULT_IFS = ' \t\n'

/** dash keeps an inherited PWD that names the working directory, else the physical path. */
function shellPwd(inherited: string | undefined, cwd: string): string {
  if (inherited !== undefined && inherited[0] === '/') {
    const a = fs.statSync(inherited, { throwIfNoEntry: false })
    const b = fs.statSync(cwd, { throwIfNoEntry: false })
    if (a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino) return inherited
  }
  return fs.realpathSync.native(cwd)
}

/**
 * `overlay` maps names to shell-side values (byte strings), `extra` holds the command's
 * assignments; `decode` turns a byte string into the JS string the program receives.
 */
export function childEnvironment(
  inherited: Env,
  overlay: ReadonlyMap<string, ShellVar>,
  extra: readonly (readonly [string, string])[],
  cwd: string,
  decode: (bytes: string) => string,
): Env {
  const own = new Map<string, string | undefined>()
  overlay.forEach((v, k) => own.set(k, v.exported && v.value !== undefined ? v.value : undefined))
  for (const [k, v] of extra) own.set(k, v)
  let pwd: string | undefined
  const read = (k: string): string | undefined => {
    if (own.has(k)) {
      const v = own.get(k)
      return v === undefined ? undefined : decode(v)
    }
    if (k === 'PWD') return (pwd ??= shellPwd(inherited.PWD, cwd))
    const v = inherited[k]
    return k === 'IFS' && v !== undefined ? DEFAULT_IFS : v
  }
  const keys = (): string[] => {
    const out: string[] = []
    for (const k of Object.keys(inherited)) {
      if (inherited[k] !== undefined && !own.has(k) && k !== 'PWD') out.push(k)
    }
    own.forEach((v, k) => {
      if (v !== undefined && k !== 'PWD') out.push(k)
    })
    if (!own.has('PWD') || own.get('PWD') !== undefined) out.push('PWD')
    return out
  }
  return new Proxy({} as Record<string, string | undefined>, {
    get: (_t, k) => (typeof k === 'string' ? read(k) : undefined),
    has: (_t, k) => typeof k === 'string' && read(k) !== undefined,
    ownKeys: () => keys(),
    getOwnPropertyDescriptor: (_t, k) => {
      if (typeof k !== 'string') return undefined
      const value = read(k)
      return value === undefined ? undefined : { value, enumerable: true, configurable: true, writable: false }
    },
    set: () => false,
    deleteProperty: () => false,
    defineProperty: () => false,
  })
}
