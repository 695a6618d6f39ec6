import { createKernel, type Kernel } from './api'

export { createKernel } from './api'
export type { EnabledStatus, DisabledReason, HatHandle, Kernel, KernelOptions, OnExecChange, ThreadChange, ThreadLabel } from './api'
export { parseLabel } from './label'
export type { Label, LabelMode } from './label'
export { validateHatName, validateProfileName, MAX_HATS, MAX_NAME_BYTES } from './validate'
export type { AttrContext, ThreadRef } from './procfs'
export { PROC_SUPER_MAGIC, asCall } from './procfs'

let defaultKernel: Kernel | undefined

/** The kernel interface over the real `/proc` and `/sys` (created on first use). */
export function kernel(): Kernel {
  defaultKernel ??= createKernel()
  return defaultKernel
}

/** Changes the calling thread's profile now (`changeprofile <p>`). Thread scope: see `confine()` for the process. */
export const changeProfile = (profile: string) => kernel().changeProfile(profile)
/** Stacks a profile onto the calling thread now (`stack <p>`). */
export const stackProfile = (profile: string) => kernel().stackProfile(profile)
/** Sets the profile the calling thread's next exec transitions to (`exec <p>`). Sticky until that thread execs. */
export const changeOnExec = (profile: string) => kernel().changeOnExec(profile)
/** Stacks a profile at the calling thread's next exec (`stack <p>` on attr/exec). */
export const stackOnExec = (profile: string) => kernel().stackOnExec(profile)
/** Asks the kernel whether changeProfile(p) would be allowed, without changing anything. */
export const permProfile = (profile: string) => kernel().permProfile(profile)
/** Enters a hat (or the first existing of several) with a random 64-bit token. */
export const changeHat = (hat: string | readonly string[], token?: bigint) => kernel().changeHat(hat, token)
/** Returns from a hat, presenting its token. */
export const revertHat = (token: bigint) => kernel().revertHat(token)
/** The calling thread's label and mode. */
export const getCon = () => kernel().getCon()
/** The calling thread's pending onexec label, or undefined when none is set. */
export const getExecCon = () => kernel().getExecCon()
/** The label of every thread of this process. */
export const threadLabels = () => kernel().threadLabels()
/** Whether AppArmor is enabled, and why not (libapparmor's aa_is_enabled). */
export const isEnabled = () => kernel().isEnabled()
