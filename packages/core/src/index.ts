export { AppArmorError, ErrorCodes, isAppArmorError } from './errors'
export type { AppArmorErrorDetails, ErrorCode } from './errors'
export {
  changeHat,
  changeOnExec,
  changeProfile,
  createKernel,
  getCon,
  getExecCon,
  isEnabled,
  kernel,
  parseLabel,
  permProfile,
  revertHat,
  stackOnExec,
  stackProfile,
  threadLabels,
  validateHatName,
  validateProfileName,
} from './kernel'
export type {
  DisabledReason,
  EnabledStatus,
  HatHandle,
  Kernel,
  KernelOptions,
  Label,
  LabelMode,
  OnExecChange,
  ThreadChange,
  ThreadLabel,
  ThreadRef,
} from './kernel'
export { confine, confineSync, withExecProfile, createExecConfiner, threadpoolSize, ioUringEnabled } from './confine'
export type { ConfineOptions, ConfineReport, ConfinedThread, ThreadRole, ExecConfinerOptions } from './confine'
