import { AppArmorError, ErrorCodes } from '../errors'
import { asCall, kernel as defaultKernel, type Kernel, validateProfileName } from '../kernel'
import { checkCallOptions } from '../options'

/**
 * Exec-time confinement: the child starts in `profile` from its first instruction (before
 * any of its threads exists), like aa-exec. The calling thread's onexec attribute is set,
 * the synchronous spawn runs, and the attribute is restored at once, so the parent's later
 * spawns are not affected.
 *
 * There is no "clear onexec" command: restoring means writing `exec <what it was>` — the
 * previous onexec, or the thread's own label. That needs the parent to be unconfined or its
 * profile to hold `change_profile -> <itself>,`. This is checked (a dry run) BEFORE the child
 * is spawned: if the restore could not be made, nothing is spawned (fail closed).
 */

export interface ExecConfinerOptions {
  readonly kernel?: Kernel
  /**
   * Put the onexec attribute back after the spawn (default true). Only a thread that will
   * never exec again (e.g. a launcher that exits with its child) may pass false.
   */
  readonly restore?: boolean
}

/** What the onexec attribute must be set back to after the spawn. */
function restoreTarget(k: Kernel): string {
  const pending = k.getExecCon()
  return pending ? pending.label : k.getCon().label
}

/**
 * Runs `spawn` (a synchronous call that execs) with the calling thread's onexec set to
 * `profile`, then restores it. Throws ERR_AA_RESTORE_FAILED before spawning when the
 * restore would be refused, and after spawning if the kernel refused it anyway (the child
 * then is confined, but later spawns of this thread would be too: the error says so).
 */
export function withExecProfile<T>(profile: string, spawn: () => T, options: ExecConfinerOptions = {}): T {
  const name = validateProfileName(profile, 'withExecProfile')
  checkCallOptions(options, { kernel: 'object', restore: 'boolean' }, 'withExecProfile', name)
  const k = options.kernel ?? defaultKernel()
  // Every kernel read and write below checks that /proc is procfs (ERR_AA_FAKE_PROCFS, named
  // withExecProfile(name)): onexec written to a file that is not procfs's would start the
  // child unconfined while this call reported success.
  if (options.restore === false) {
    asCall('withExecProfile', name, () => k.changeOnExec(name))
    return spawn()
  }
  const back = asCall('withExecProfile', name, () => restoreTarget(k))
  if (back !== 'unconfined') {
    try {
      k.permProfile(back)
    } catch (err) {
      if (err instanceof AppArmorError && err.code === ErrorCodes.FAKE_PROCFS) asCall('withExecProfile', name, () => { throw err })
      throw new AppArmorError(
        ErrorCodes.RESTORE_FAILED,
        `withExecProfile(${JSON.stringify(name)}): this thread's onexec could not be restored afterwards, because ` +
          `profile '${back}' may not change into itself; add "change_profile -> ${back}," to it. Nothing was spawned`,
        { profile: name, operation: 'changeOnExec', cause: err },
      )
    }
  }
  asCall('withExecProfile', name, () => k.changeOnExec(name))
  let result: T
  try {
    result = spawn()
  } finally {
    try {
      k.writeAttr('exec', `exec ${back}`, 'changeOnExec', back)
    } catch (err) {
      // The child (if any) is confined; this thread's later execs would be too: say so loudly.
      throw new AppArmorError(
        ErrorCodes.RESTORE_FAILED,
        `withExecProfile(${JSON.stringify(name)}): the kernel refused to restore this thread's onexec to '${back}'; ` +
          `every later exec from this thread would start in '${name}'. Stop the process`,
        { profile: name, operation: 'changeOnExec', cause: err },
      )
    }
  }
  return result
}

/** The confiner the interception layer uses for `confine` decisions. */
export function createExecConfiner(options: ExecConfinerOptions = {}): <T>(profile: string, spawn: () => T) => T {
  return (profile, spawn) => withExecProfile(profile, spawn, options)
}
