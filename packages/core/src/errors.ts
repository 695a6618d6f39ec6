/**
 * The one error class of apparmor-monkeys. Every failure the library reports is an
 * `AppArmorError` whose `code` is one of the stable strings below; the errno the kernel
 * returned (if any) is kept as `cause`. Codes never change meaning; new ones may be added.
 */

export const ErrorCodes = {
  /** The profile (or namespace) is not loaded in the kernel, or not visible here (ENOENT). */
  NOT_FOUND: 'ERR_AA_NOT_FOUND',
  /** The current profile does not allow this transition (EACCES). */
  NOT_PERMITTED: 'ERR_AA_NOT_PERMITTED',
  /** no_new_privs is set on a confined task and the target is not a subset (EPERM). */
  NO_NEW_PRIVS: 'ERR_AA_NO_NEW_PRIVS',
  /** A profile or hat name was rejected before anything was written to the kernel. */
  INVALID_NAME: 'ERR_AA_INVALID_NAME',
  /** The kernel rejected the request as malformed (EINVAL), or an argument is out of range. */
  INVALID: 'ERR_AA_INVALID',
  /** AppArmor is not enabled in this kernel (module absent, disabled at boot, no securityfs). */
  DISABLED: 'ERR_AA_DISABLED',
  /** The procfs interface could not be reached (no /proc, permission model, unknown error). */
  UNAVAILABLE: 'ERR_AA_UNAVAILABLE',
  /** The write came from a thread other than the one it targets (EACCES from procfs itself). */
  WRONG_THREAD: 'ERR_AA_WRONG_THREAD',
  /** change_hat: the current profile has no hats (ECHILD). */
  NO_HATS: 'ERR_AA_NO_HATS',
  /** change_hat: not confined, not a hat, or ptrace/NNP forbids it (EPERM). */
  HAT_NOT_PERMITTED: 'ERR_AA_HAT_NOT_PERMITTED',
  /** The task's credentials are overridden (EBUSY). */
  BUSY: 'ERR_AA_BUSY',
  /** A runtime change left a thread that can run application I/O in the old profile. */
  INCOMPLETE: 'ERR_AA_INCOMPLETE',
  /** A runtime change cannot be made complete in this process (e.g. UV_USE_IO_URING=1). */
  UNSUPPORTED: 'ERR_AA_UNSUPPORTED',
  /** The spawning thread's onexec setting could not be restored after an exec-time confinement. */
  RESTORE_FAILED: 'ERR_AA_RESTORE_FAILED',
  /** A process or worker that should be confined reports another label. */
  NOT_CONFINED: 'ERR_AA_NOT_CONFINED',
  /** An option has a wrong type or value. */
  OPTIONS: 'ERR_AA_OPTIONS',
  /**
   * A /proc path the kernel interface was about to trust is not on procfs (something is
   * mounted over /proc, /proc/self/task or an attr directory: a volume, a tmpfs, a bind mount).
   * Nothing was written: an attr file that is not procfs's would not reach the kernel.
   */
  FAKE_PROCFS: 'ERR_AA_FAKE_PROCFS',
  /**
   * confine(): libuv's pool threads could not be paired with their park connections within
   * the timeout because other processes kept connecting to the park socket (each stranger is
   * refused and closed). No pool thread is left parked; nothing was changed.
   */
  PARK_FAILED: 'ERR_AA_PARK_FAILED',
  /**
   * An adapter's service did not become ready in time (BullMQ: the Worker's Redis connection),
   * so the process was not confined and nothing was processed; the last connection error is
   * the `cause`. AppArmor itself was checked first and is not the problem.
   */
  NOT_READY: 'ERR_AA_NOT_READY',
  /**
   * `apparmor-monkeys vm …` and `profile --vm` need the optional package @apparmor-monkeys/vm
   * (the real-kernel VM), which is not installed next to core.
   */
  VM_NOT_INSTALLED: 'ERR_AA_VM_NOT_INSTALLED',
  /**
   * `profile`: apparmor_parser could not compile or load a profile (its message is kept), or
   * the learner cannot load profiles here (not root: use sudo, or `--vm`).
   */
  PROFILE_LOAD: 'ERR_AA_PROFILE_LOAD',
  /**
   * `profile`: a learning or verification run failed: the app exited before it was ready or
   * never became ready, the exercise exited non-zero, or the run took longer than `--timeout`.
   */
  LEARN_FAILED: 'ERR_AA_LEARN_FAILED',
  /** `profile`: the enforce re-run under the generated profiles logged DENIED records (listed in `data`). */
  VERIFY_DENIED: 'ERR_AA_VERIFY_DENIED',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export interface AppArmorErrorDetails {
  /** The profile (or hat) the operation was about. */
  profile?: string
  /** The operation, e.g. `changeProfile`. */
  operation?: string
  /** The errno code name (`ENOENT`, …) when the kernel answered. */
  errno?: string
  /** The underlying error (a Node system error for kernel answers). */
  cause?: unknown
  /** Structured context, e.g. the confinement report of an incomplete change. */
  data?: unknown
}

// A registry-wide brand, so `instanceof` holds across duplicate installs of this package
// (and across the ESM/CJS copies a loader may create).
const kBrand = Symbol.for('apparmor-monkeys.AppArmorError')

export class AppArmorError extends Error {
  readonly code: ErrorCode
  readonly profile: string | undefined
  readonly operation: string | undefined
  readonly errno: string | undefined
  readonly data: unknown

  constructor(code: ErrorCode, message: string, details: AppArmorErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.profile = details.profile
    this.operation = details.operation
    this.errno = details.errno
    this.data = details.data
    Object.defineProperty(this, kBrand, { value: true })
  }

  override get name(): string {
    return 'AppArmorError'
  }
}

// Defined, not assigned: Function.prototype[Symbol.hasInstance] is read-only.
Object.defineProperty(AppArmorError, Symbol.hasInstance, {
  value: (value: unknown): boolean =>
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kBrand] === true,
})

/** True if `err` is an AppArmorError (optionally: with this code). */
export function isAppArmorError(err: unknown, code?: ErrorCode): err is AppArmorError {
  return err instanceof AppArmorError && (code === undefined || err.code === code)
}
