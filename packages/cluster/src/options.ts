/**
 * The one place where onWorkerFork()'s options are typed, defaulted and validated.
 * Pure: no I/O, no patching.
 */
import type { Cluster } from 'node:cluster'
import type { AppArmorError, Kernel } from '@apparmor-monkeys/core'
import { core } from './core'

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

function optionsError(message: string): AppArmorError {
  const { AppArmorError, ErrorCodes } = core()
  return new AppArmorError(ErrorCodes.OPTIONS, `onWorkerFork: ${message}`, { operation: 'onWorkerFork' })
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw optionsError(`options.${name} must be a boolean; got ${describe(value)}`)
  return value
}

/**
 * Validates onWorkerFork()'s options and fills in the defaults. Throws AppArmorError
 * `ERR_AA_OPTIONS` naming the first wrong option.
 */
export function resolveOptions(options: WorkerForkOptions = {}): ResolvedWorkerForkOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionsError(`options must be an object; got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw optionsError(`unknown option ${JSON.stringify(key)}; known: ${KEYS.join(', ')}`)
    }
  }
  const o = options as Record<string, unknown>

  const timeout = o['confirmTimeoutMs'] ?? DEFAULT_OPTIONS.confirmTimeoutMs
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0 || timeout > MAX_TIMEOUT_MS) {
    throw optionsError(`options.confirmTimeoutMs must be a whole number of ms between 1 and ${MAX_TIMEOUT_MS}; got ${describe(timeout)}`)
  }
  const onFailure = o['onFailure'] ?? DEFAULT_OPTIONS.onFailure
  if (onFailure !== 'kill' && onFailure !== 'exit') {
    throw optionsError(`options.onFailure must be 'kill' or 'exit'; got ${describe(onFailure)}`)
  }
  const log = o['log'] === undefined ? DEFAULT_OPTIONS.log : o['log']
  if (log !== null && typeof log !== 'function') {
    throw optionsError(`options.log must be a function or null; got ${describe(log)}`)
  }
  const cluster = o['cluster']
  if (cluster !== undefined && (typeof cluster !== 'object' || cluster === null)) {
    throw optionsError(`options.cluster must be the node:cluster module; got ${describe(cluster)}`)
  }
  const kernel = o['kernel']
  if (kernel !== undefined && (typeof kernel !== 'object' || kernel === null || typeof (kernel as Kernel).changeOnExec !== 'function')) {
    throw optionsError(`options.kernel must be a Kernel (createKernel()); got ${describe(kernel)}`)
  }
  return Object.freeze({
    confirmTimeoutMs: timeout,
    onFailure,
    allowComplain: bool(o['allowComplain'], 'allowComplain', DEFAULT_OPTIONS.allowComplain),
    preload: bool(o['preload'], 'preload', DEFAULT_OPTIONS.preload),
    log: log as ((line: string) => void) | null,
    cluster: cluster as Cluster | undefined,
    kernel: kernel as Kernel | undefined,
  })
}

/** Two registrations are the same when every option is. */
export function sameOptions(a: ResolvedWorkerForkOptions, b: ResolvedWorkerForkOptions): boolean {
  return KEYS.every((k) => a[k] === b[k])
}
