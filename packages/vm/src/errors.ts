/**
 * The one error class of @apparmor-monkeys/vm. Every failure the package reports is a
 * `VmError` whose `code` is one of the stable strings below (the same style as
 * @apparmor-monkeys/core's `AppArmorError`, without depending on it). Codes never change
 * meaning; new ones may be added.
 */

export const VmErrorCodes = {
  /** An option has a wrong type or value (nothing was started). */
  OPTIONS: 'ERR_AA_VM_OPTIONS',
  /** The VM cannot boot here: a host package, the kernel cache or a usable path is missing. */
  NOT_READY: 'ERR_AA_VM_NOT_READY',
  /** The host is not a Debian-like x86_64 Linux (setup needs apt-get and dpkg-deb). */
  UNSUPPORTED_HOST: 'ERR_AA_VM_UNSUPPORTED_HOST',
  /** `setupVm()` failed (apt, the kernel download, the initramfs); the script's output is in the message. */
  SETUP_FAILED: 'ERR_AA_VM_SETUP_FAILED',
  /** A profile does not compile (apparmor_parser's message), or a profile file is missing. */
  PROFILE: 'ERR_AA_VM_PROFILE',
  /** The guest could not load the compiled profiles, or mount a share or overlay. */
  GUEST_SETUP: 'ERR_AA_VM_GUEST_SETUP',
  /** qemu could not be started, or the guest ended without finishing the run (console tail in the message). */
  BOOT_FAILED: 'ERR_AA_VM_BOOT_FAILED',
  /** The whole run exceeded `timeoutMs`; qemu was killed. */
  TIMEOUT: 'ERR_AA_VM_TIMEOUT',
} as const

export type VmErrorCode = (typeof VmErrorCodes)[keyof typeof VmErrorCodes]

export interface VmErrorDetails {
  /** The public operation, e.g. `runVm`. */
  operation?: string
  /** The profile file the error is about (ERR_AA_VM_PROFILE). */
  profile?: string
  /** The VM's serial console (ERR_AA_VM_BOOT_FAILED, ERR_AA_VM_TIMEOUT). */
  console?: string
  cause?: unknown
}

const kBrand = Symbol.for('apparmor-monkeys.VmError')

export class VmError extends Error {
  readonly code: VmErrorCode
  readonly operation: string | undefined
  readonly profile: string | undefined
  readonly console: string | undefined

  constructor(code: VmErrorCode, message: string, details: VmErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.operation = details.operation
    this.profile = details.profile
    this.console = details.console
    Object.defineProperty(this, kBrand, { value: true })
  }

  override get name(): string {
    return 'VmError'
  }
}

// Holds across duplicate installs of this package (and ESM/CJS copies).
Object.defineProperty(VmError, Symbol.hasInstance, {
  value: (value: unknown): boolean =>
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kBrand] === true,
})

/** True if `err` is a VmError (optionally: with this code). */
export function isVmError(err: unknown, code?: VmErrorCode): err is VmError {
  return err instanceof VmError && (code === undefined || err.code === code)
}
