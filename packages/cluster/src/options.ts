/**
 * The one place where onWorkerFork()'s options are typed, defaulted and validated.
 * Pure: no I/O, no patching.
 */
import type { Cluster } from 'node:cluster'
import type { Kernel } from '@apparmor-monkeys/core'
import type * as Adapter from '@apparmor-monkeys/core/adapter'

/** What the primary does when a worker is not confirmed in its profile. */
export type FailureAction = 'kill' | 'exit'

export interface WorkerForkOptions {
  /**
   * How long a new worker has to confirm its label, in ms, counted from the fork. The
   * confirmation is sent before any application code runs, so this only has to cover Node's
   * own start-up. Default 10 000.
   */
  readonly confirmTimeoutMs?: number
  /**
   * What to do with a worker that is not confirmed (wrong label, unreadable label, no answer
   * in time, exit before answering):
   * - `'kill'` (default): SIGKILL it and close its IPC channel (a cluster worker exits when
   *   the channel closes, even if the signal was denied); the primary keeps running.
   * - `'exit'`: the same, then the primary exits with status 1 (its other workers exit
   *   with it when their channels close).
   * Either way the handle emits `'rejected'` and one line is logged.
   */
  readonly onFailure?: FailureAction
  /**
   * Accept a worker whose profile is in complain mode (it logs but does not deny). Default
   * false: only `enforce` (and `kill`) modes count as confined.
   */
  readonly allowComplain?: boolean
  /**
   * Add the confirming preload to every worker's execArgv (before the application's own
   * flags, which are kept). Default true. With false, the worker confirms when the
   * application calls onWorkerFork() in the worker; one that does not is stopped at the
   * timeout.
   */
  readonly preload?: boolean
  /**
   * Where the one-line reports of refused forks and rejected workers go. Default: stderr.
   * `null`: nowhere (the `'rejected'` event and thrown errors still report everything).
   */
  readonly log?: ((line: string) => void) | null
  /** The cluster module to hook. Default: `node:cluster`. */
  readonly cluster?: Cluster
  /** The kernel interface. Default: core's, over the real /proc. */
  readonly kernel?: Kernel
}

export interface ResolvedWorkerForkOptions {
  readonly confirmTimeoutMs: number
  readonly onFailure: FailureAction
  readonly allowComplain: boolean
  readonly preload: boolean
  readonly log: ((line: string) => void) | null
  readonly cluster: Cluster | undefined
  readonly kernel: Kernel | undefined
}

/** The accepted modes of a confined label (what follows the name in `web-worker (enforce)`). */
export function acceptedModes(o: Pick<ResolvedWorkerForkOptions, 'allowComplain'>): readonly string[] {
  return o.allowComplain ? ['enforce', 'kill', 'complain'] : ['enforce', 'kill']
}

const writeStderr = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

export const DEFAULT_OPTIONS: ResolvedWorkerForkOptions = Object.freeze({
  confirmTimeoutMs: 10_000,
  onFailure: 'kill',
  allowComplain: false,
  preload: true,
  log: writeStderr,
  cluster: undefined,
  kernel: undefined,
})

/** setTimeout's limit. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

const KEYS = ['confirmTimeoutMs', 'onFailure', 'allowComplain', 'preload', 'log', 'cluster', 'kernel'] as const

/**
 * Validates onWorkerFork()'s options and fills in the defaults. Throws AppArmorError
 * `ERR_AA_OPTIONS` naming the first wrong option.
 */
export function resolveOptions(options: WorkerForkOptions = {}): ResolvedWorkerForkOptions {
  // Loaded here, not at the top: a worker loads this file and must not pay for core.
  const { readOptions } = require('@apparmor-monkeys/core/adapter') as typeof Adapter
  const o = readOptions('onWorkerFork', options, { known: KEYS, operation: 'onWorkerFork' })
  const cluster = o.values['cluster']
  if (cluster !== undefined && (typeof cluster !== 'object' || cluster === null)) {
    throw o.error(`options.cluster must be the node:cluster module; got ${o.describe(cluster)}`)
  }
  const kernel = o.values['kernel']
  if (kernel !== undefined && (typeof kernel !== 'object' || kernel === null || typeof (kernel as Kernel).changeOnExec !== 'function')) {
    throw o.error(`options.kernel must be a Kernel (createKernel()); got ${o.describe(kernel)}`)
  }
  return Object.freeze({
    confirmTimeoutMs: o.integer('confirmTimeoutMs', 1, MAX_TIMEOUT_MS, DEFAULT_OPTIONS.confirmTimeoutMs, ' of ms'),
    onFailure: o.oneOf<FailureAction>('onFailure', ['kill', 'exit'], DEFAULT_OPTIONS.onFailure),
    allowComplain: o.boolean('allowComplain', DEFAULT_OPTIONS.allowComplain),
    preload: o.boolean('preload', DEFAULT_OPTIONS.preload),
    log: o.func<((line: string) => void) | null>('log', DEFAULT_OPTIONS.log, 'a function or null', true),
    cluster: cluster as Cluster | undefined,
    kernel: kernel as Kernel | undefined,
  })
}

/** Two registrations are the same when every option is. */
export function sameOptions(a: ResolvedWorkerForkOptions, b: ResolvedWorkerForkOptions): boolean {
  return KEYS.every((k) => a[k] === b[k])
}
