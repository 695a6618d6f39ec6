import { constants } from 'node:os'
import { AppArmorError, ErrorCodes, type ErrorCode } from '../errors'

/** The libapparmor call a write stands for; it decides how an errno reads. */
export type KernelOperation =
  | 'changeProfile'
  | 'changeOnExec'
  | 'stackProfile'
  | 'stackOnExec'
  | 'permProfile'
  | 'changeHat'
  | 'revertHat'
  | 'getCon'

export interface KernelErrorContext {
  readonly operation: KernelOperation
  /** Target profile or hat. */
  readonly name?: string | undefined
  /** The calling thread's label before the attempt, when known. */
  readonly current?: string | undefined
  /** Whether AppArmor reported itself enabled (used to tell EINVAL apart). */
  readonly enabled?: boolean
}

/**
 * The errno's name. libuv has no name for some errnos the kernel returns here (ECHILD from
 * change_hat): Node then says `UNKNOWN`, and the number tells.
 */
function errnoName(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined
  const code = e?.code
  if (code && code !== 'UNKNOWN') return code
  if (typeof e?.errno === 'number') {
    for (const [name, n] of Object.entries(constants.errno)) if (n === -e.errno) return name
  }
  return 'UNKNOWN'
}

function describeCall(ctx: KernelErrorContext): string {
  return ctx.name === undefined ? `${ctx.operation}()` : `${ctx.operation}(${JSON.stringify(ctx.name)})`
}

/**
 * Maps an errno from a procfs attr write/read to an AppArmorError with a stable code and a
 * message that names the profile and the fix. The original error is kept as `cause`.
 */
export function kernelError(err: unknown, ctx: KernelErrorContext): AppArmorError {
  if (err instanceof AppArmorError) return err
  const errno = errnoName(err)
  const call = describeCall(ctx)
  const from = ctx.current === undefined ? 'the current profile' : `the current profile '${ctx.current}'`
  const isHat = ctx.operation === 'changeHat' || ctx.operation === 'revertHat'
  const isStack = ctx.operation === 'stackProfile' || ctx.operation === 'stackOnExec'
  let code: ErrorCode
  let text: string
  switch (errno) {
    case 'ENOENT':
      code = ErrorCodes.NOT_FOUND
      text = isHat
        ? `hat '${ctx.name}' does not exist in ${from}; define it as "^${ctx.name} { … }" in that profile`
        : `profile '${ctx.name}' is not loaded in the kernel (or not visible in this namespace); ` +
          `load it with "apparmor_parser -r /etc/apparmor.d/<file>"`
      break
    case 'EACCES':
      code = ErrorCodes.NOT_PERMITTED
      text = isHat
        ? `the kernel refused the change_hat token (a wrong token normally kills the task)`
        : `${from} does not allow this transition; add "change_profile -> ${isStack ? '&' : ''}${ctx.name}," to it ` +
          `(and reload it with apparmor_parser -r)`
      break
    case 'EPERM':
      if (isHat) {
        code = ErrorCodes.HAT_NOT_PERMITTED
        text = `change_hat is not permitted here (the task is unconfined, '${ctx.name}' is not a hat, or ptrace/no_new_privs forbids it)`
      } else {
        code = ErrorCodes.NO_NEW_PRIVS
        text =
          `no_new_privs is set and '${ctx.name}' is not a subset of ${from}; ` +
          `stack it instead (stackProfile) or change profile before no_new_privs is set`
      }
      break
    case 'ECHILD':
      code = ErrorCodes.NO_HATS
      text = `${from} has no hats`
      break
    case 'EBUSY':
      code = ErrorCodes.BUSY
      text = `the task's credentials are overridden (EBUSY); retry outside the override`
      break
    case 'EINVAL':
      if (ctx.enabled === false) {
        code = ErrorCodes.DISABLED
        text = 'AppArmor is not enabled in this kernel'
      } else {
        code = ErrorCodes.INVALID
        text = 'the kernel rejected the request as malformed (EINVAL)'
      }
      break
    default:
      code = ErrorCodes.UNAVAILABLE
      text = `the AppArmor procfs interface failed with ${errno}`
  }
  return new AppArmorError(code, `${call}: ${text}`, {
    operation: ctx.operation,
    profile: ctx.name,
    errno,
    cause: err,
  })
}
