/**
 * The package's main entry. Importing it patches nothing (only the register entry has side
 * effects) and loads little: the error classes and name validation load now; the kernel
 * interface, confinement, the exec interception and the options load when one of their
 * exports is first read. Adapters require this entry in cluster workers and sandboxed
 * processor children, where loading all of it cost ~16 ms of each start on the host and
 * ~200 ms under the TCG test VM (bench/cluster.mjs).
 *
 * The lazy names are declared here for TypeScript and defined at run time as getters on
 * `exports`. Each is also assigned once (`exports.name = void 0`, the form TypeScript emits)
 * so that Node's ESM loader, which scans CommonJS sources for export names, finds them:
 * `import { confine } from '@apparmor-monkeys/core'` works, and loads everything.
 */
import type * as Confine from './confine'
import type * as Intercept from './intercept'
import type * as Kernel from './kernel'
import type * as Options from './options'

export { AppArmorError, ErrorCodes, isAppArmorError } from './errors'
export type { AppArmorErrorDetails, ErrorCode } from './errors'
export { validateHatName, validateProfileName } from './kernel/validate'
export { parseLabel } from './kernel/label'
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
export type { ConfineOptions, ConfineReport, ConfinedThread, ThreadRole, ExecConfinerOptions } from './confine'
export type { InterceptHandle, InterceptStatus, LayerStatus, ExecEvent, DecisionReason, InterceptionLease, InterceptionState } from './intercept'
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

export declare const changeHat: typeof Kernel.changeHat
export declare const changeOnExec: typeof Kernel.changeOnExec
export declare const changeProfile: typeof Kernel.changeProfile
export declare const createKernel: typeof Kernel.createKernel
export declare const getCon: typeof Kernel.getCon
export declare const getExecCon: typeof Kernel.getExecCon
export declare const isEnabled: typeof Kernel.isEnabled
export declare const kernel: typeof Kernel.kernel
export declare const permProfile: typeof Kernel.permProfile
export declare const revertHat: typeof Kernel.revertHat
export declare const stackOnExec: typeof Kernel.stackOnExec
export declare const stackProfile: typeof Kernel.stackProfile
export declare const threadLabels: typeof Kernel.threadLabels

export declare const confine: typeof Confine.confine
export declare const confineSync: typeof Confine.confineSync
export declare const withExecProfile: typeof Confine.withExecProfile
export declare const createExecConfiner: typeof Confine.createExecConfiner
export declare const threadpoolSize: typeof Confine.threadpoolSize
export declare const ioUringEnabled: typeof Confine.ioUringEnabled

export declare const install: typeof Intercept.install
export declare const uninstall: typeof Intercept.uninstall
export declare const status: typeof Intercept.status
export declare const addConfineRule: typeof Intercept.addConfineRule
export declare const subscribe: typeof Intercept.subscribe
export declare const leaseInterception: typeof Intercept.leaseInterception
export declare const EXEC_CHANNEL: typeof Intercept.EXEC_CHANNEL
export declare const EMULATED_PID_BASE: typeof Intercept.EMULATED_PID_BASE
export declare const isEmulatedPid: typeof Intercept.isEmulatedPid

export declare const readEnvConfig: typeof Options.readEnvConfig
export declare const resolveInterceptOptions: typeof Options.resolveInterceptOptions
export declare const ENV: typeof Options.ENV

// For Node's scan of export names (see above); the getters below replace these.
exports.changeHat = exports.changeOnExec = exports.changeProfile = exports.createKernel = exports.getCon = void 0
exports.getExecCon = exports.isEnabled = exports.kernel = exports.permProfile = exports.revertHat = void 0
exports.stackOnExec = exports.stackProfile = exports.threadLabels = void 0
exports.confine = exports.confineSync = exports.withExecProfile = exports.createExecConfiner = void 0
exports.threadpoolSize = exports.ioUringEnabled = void 0
exports.install = exports.uninstall = exports.status = exports.addConfineRule = exports.subscribe = exports.leaseInterception = void 0
exports.EXEC_CHANNEL = exports.EMULATED_PID_BASE = exports.isEmulatedPid = void 0
exports.readEnvConfig = exports.resolveInterceptOptions = exports.ENV = void 0

/** Defines `names` as getters that load `file` (once, through require's cache) when first read. */
function lazy(file: string, names: readonly string[]): void {
  let loaded: Record<string, unknown> | undefined
  for (const name of names) {
    Object.defineProperty(exports, name, {
      enumerable: true,
      configurable: true,
      get: () => (loaded ??= require(file) as Record<string, unknown>)[name],
    })
  }
}

lazy('./kernel', ['changeHat', 'changeOnExec', 'changeProfile', 'createKernel', 'getCon', 'getExecCon', 'isEnabled', 'kernel', 'permProfile', 'revertHat', 'stackOnExec', 'stackProfile', 'threadLabels'])
lazy('./confine', ['confine', 'confineSync', 'withExecProfile', 'createExecConfiner', 'threadpoolSize', 'ioUringEnabled'])
lazy('./intercept', ['install', 'uninstall', 'status', 'addConfineRule', 'subscribe', 'leaseInterception', 'EXEC_CHANNEL', 'EMULATED_PID_BASE', 'isEmulatedPid'])
lazy('./options', ['readEnvConfig', 'resolveInterceptOptions', 'ENV'])
