import { AppArmorError, ErrorCodes, type Kernel } from '@apparmor-monkeys/core'
import { describeValue as describe, readOptions } from '@apparmor-monkeys/core/adapter'
import type { InterceptOptions } from './interception'

/**
 * The options of startConfinedWorker(): typed, defaulted and validated here, in one place.
 * Validation is pure (no kernel access, no Redis): a wrong option (a malformed profile name
 * too) throws AppArmorError `ERR_AA_OPTIONS` before any Worker is created.
 */
export interface ConfineWorkerOptions {
  /**
   * The AppArmor profile the worker process changes into once the Worker is ready (main thread,
   * every libuv pool thread, verified; see core's confine()). `null`: leave the process as it
   * is (e.g. it was started confined by systemd or aa-exec) and only confine processor children.
   */
  readonly profile: string | null
  /**
   * The profile every sandboxed processor child (processor given as a file path or URL) starts
   * in, from its first instruction: applied at exec time around BullMQ's own fork. Default:
   * none (children are then exec'd under the worker's profile rules).
   */
  readonly processorProfile?: string | null
  /**
   * Hold the Worker until it is confined (default true): BullMQ's autorun is turned off, the
   * confinement is made once Redis is ready, and only then `worker.run()` is called. With
   * false, the Worker runs as configured and is confined on its first 'ready' event: jobs may
   * start before that.
   */
  readonly holdJobs?: boolean
  /** Reject with ERR_AA_INCOMPLETE when a thread that can run application I/O stays out (default true). */
  readonly strict?: boolean
  /**
   * Options for core's exec interception, used when this adapter installs it (only when
   * `processorProfile` is set and nobody installed it before): shell-outs answered in-process,
   * the rest passed to the kernel. Ignored when the interception is already installed.
   */
  readonly intercept?: InterceptOptions
  /**
   * Called with the Worker right after it is created, before it connects to Redis and before
   * startConfinedWorker() settles: attach your `'error'` (and other) listeners here. While the
   * call is pending, connection errors reach your listeners and are never printed by BullMQ.
   */
  readonly onWorker?: ((worker: any) => void) | null
  /**
   * How long to wait for the Worker's first `'ready'` (its Redis connection) before giving up:
   * the Worker is closed and the call rejects with `ERR_AA_NOT_READY` (the last connection
   * error as `cause`). `0`: wait as long as BullMQ keeps retrying. AppArmor is checked before
   * the Worker is created, so a kernel or profile problem rejects at once, Redis or not.
   * @defaultValue `30000`
   */
  readonly readyTimeoutMs?: number
  /** The kernel interface (tests). */
  readonly kernel?: Kernel
}

export interface ResolvedOptions {
  readonly profile: string | null
  readonly processorProfile: string | null
  readonly holdJobs: boolean
  readonly strict: boolean
  readonly intercept: InterceptOptions
  readonly onWorker: ((worker: any) => void) | null
  readonly readyTimeoutMs: number
  readonly kernel: Kernel | undefined
}

export const DEFAULTS = Object.freeze({
  processorProfile: null,
  holdJobs: true,
  strict: true,
  intercept: Object.freeze({}) as InterceptOptions,
  onWorker: null,
  readyTimeoutMs: 30_000,
})

const KEYS = ['profile', 'processorProfile', 'holdJobs', 'strict', 'intercept', 'onWorker', 'readyTimeoutMs', 'kernel'] as const

export function optionsError(message: string, cause?: unknown): AppArmorError {
  return new AppArmorError(ErrorCodes.OPTIONS, `startConfinedWorker: ${message}`, { operation: 'startConfinedWorker', cause })
}

export { describe }

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}


/** Validates startConfinedWorker()'s own options and fills in the defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  const o = readOptions('startConfinedWorker', options, {
    known: KEYS,
    shape: "an object such as { profile: 'bullmq-worker' }",
    operation: 'startConfinedWorker',
  })
  if (o.values['profile'] === undefined) {
    throw o.error("options.profile is required: the worker's profile, or null to leave the worker process as it is")
  }
  const profile = o.profileOrNull('profile')
  const processorProfile = o.values['processorProfile'] === undefined ? DEFAULTS.processorProfile : o.profileOrNull('processorProfile')
  if (profile === null && processorProfile === null) {
    throw o.error('nothing to confine: set options.profile, options.processorProfile, or both')
  }
  const kernel = o.values['kernel']
  if (kernel !== undefined && (!isPlainObject(kernel) || typeof kernel['threadLabels'] !== 'function')) {
    throw o.error(`options.kernel must be a kernel interface (createKernel()); got ${describe(kernel)}`)
  }
  return Object.freeze({
    profile,
    processorProfile,
    holdJobs: o.boolean('holdJobs', DEFAULTS.holdJobs),
    strict: o.boolean('strict', DEFAULTS.strict),
    intercept: o.object<InterceptOptions>('intercept', DEFAULTS.intercept, 'install() options (an object)'),
    onWorker: o.func<((worker: any) => void) | null>('onWorker', DEFAULTS.onWorker, 'a function or null', true),
    readyTimeoutMs: o.integer('readyTimeoutMs', 0, 2 ** 31 - 1, DEFAULTS.readyTimeoutMs, ' of ms'),
    kernel: kernel as Kernel | undefined,
  })
}

/** What startConfinedWorker() reads from (and sets on) BullMQ's WorkerOptions. */
export interface BullWorkerOptionsView {
  readonly autorun?: unknown
  readonly useWorkerThreads?: unknown
  readonly workerForkOptions?: unknown
}

/** The processor is sandboxed (run in a child) when it is a file path or a file URL. */
export function isSandboxed(processor: unknown): processor is string | URL {
  return typeof processor === 'string' || processor instanceof URL
}

/**
 * Checks the combination of BullMQ's options and ours. Throws ERR_AA_OPTIONS for a
 * contradiction and ERR_AA_UNSUPPORTED for worker-threads sandboxing with a processor profile.
 */
export function checkCombination(o: ResolvedOptions, processor: unknown, workerOptions: unknown): BullWorkerOptionsView {
  if (!isPlainObject(workerOptions)) {
    throw optionsError(`BullMQ's worker options must be an object (with at least { connection }); got ${describe(workerOptions)}`)
  }
  const view = workerOptions as BullWorkerOptionsView
  if (typeof processor !== 'function' && !isSandboxed(processor)) {
    throw optionsError(`the processor must be a function, a file path or a file URL; got ${describe(processor)}`)
  }
  if (o.holdJobs && view.autorun === true) {
    throw optionsError(
      'autorun: true would start fetching jobs before the worker is confined; remove it (holdJobs, the default, ' +
        'calls run() once confined) or pass holdJobs: false',
    )
  }
  if (o.processorProfile !== null) {
    if (!isSandboxed(processor)) {
      throw optionsError('options.processorProfile applies to sandboxed processors only (a file path or URL); this processor is a function that runs in the worker process')
    }
    if (view.useWorkerThreads === true) {
      throw new AppArmorError(
        ErrorCodes.UNSUPPORTED,
        'startConfinedWorker: options.processorProfile cannot be applied with useWorkerThreads: a worker thread is not exec\'d, ' +
          "it can change only its own thread, and its async I/O runs on the process's shared libuv threadpool (in the worker's " +
          'profile). Use the default fork mode for a processor profile, or drop processorProfile: processor threads are created ' +
          "after the worker is confined and run in the worker's profile",
        { profile: o.processorProfile, operation: 'startConfinedWorker' },
      )
    }
    const fork = view.workerForkOptions
    if (fork !== undefined && !isPlainObject(fork)) {
      throw optionsError(`workerForkOptions must be an object; got ${describe(fork)}`)
    }
  }
  return view
}
