/**
 * @apparmor-monkeys/vm: a real AppArmor kernel under qemu (TCG, no KVM) for CI runners and
 * laptops without AppArmor. Nothing happens on import.
 */
export { runVm, vmPrerequisites } from './vm'
export type { ProfileMode, VmProfile, VmRunOptions, VmRunResult, VmStep, VmStepResult } from './vm'
export { setupVm } from './setup'
export type { SetupOptions, SetupResult } from './setup'
export { vmCacheDir } from './paths'
export { VmError, VmErrorCodes, isVmError } from './errors'
export type { VmErrorCode, VmErrorDetails } from './errors'
export { main } from './cli'
