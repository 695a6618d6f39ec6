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
export { install, uninstall, status, subscribe, leaseInterception, EXEC_CHANNEL, EMULATED_PID_BASE, isEmulatedPid } from './intercept'
export type { InterceptHandle, InterceptStatus, LayerStatus, ExecEvent, DecisionReason, InterceptionLease, InterceptionState } from './intercept'
export { readEnvConfig, resolveInterceptOptions, ENV, describeValue, didYouMean } from './options'
export type {
  InterceptOptions,
  ResolvedInterceptOptions,
  CommandRule,
  ConfineRule,
  Decision,
  UnknownPolicy,
  EmulateFn,
  ExecConfiner,
  LogTarget,
  EnvConfig,
} from './options'
