/**
 * The environment dash passes to a program: the inherited variables, overlaid
 * with the shell's exports and unsets, the command's own assignments, IFS reset to its
 * default (dash re-exports an inherited IFS with its own value) and PWD as dash sets it.
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
 * PWD is computed on first read (dash's check costs two stats unless PWD is the cwd itself).
 */
export function childEnvironment(
  inherited: Env,
  overlay: ReadonlyMap<string, ShellVar>,
  extra: readonly (readonly [string, string])[],
  cwd: string,
  decode: (bytes: string) => string,
): Env {
  // Nothing changed and nothing to add: the inherited environment is the child's as it is.
  if (overlay.size === 0 && extra.length === 0 && inherited.IFS === undefined && inherited.PWD === cwd && cwd[0] === '/') {
    return inherited
  }
  const env: Record<string, string | undefined> = {}
  for (const k of Object.keys(inherited)) {
    const v = inherited[k]
    if (v !== undefined && k !== 'PWD') env[k] = k === 'IFS' ? DEFAULT_IFS : v
  }
  overlay.forEach((v, k) => {
    if (v.exported && v.value !== undefined) env[k] = decode(v.value)
    else delete env[k]
  })
  for (const [k, v] of extra) env[k] = decode(v)
  if (!overlay.has('PWD') && !extra.some(([k]) => k === 'PWD')) {
    const given = inherited.PWD
    if (given === cwd && cwd[0] === '/') {
      env.PWD = cwd
    } else {
      let pwd: string | undefined
      Object.defineProperty(env, 'PWD', {
        enumerable: true,
        configurable: true,
        get: () => (pwd ??= shellPwd(given, cwd)),
      })
    }
  }
  return env
}
