/**
 * What the primary and its workers agree on: the environment variable that tells a worker it
 * was forked under onWorkerFork() (and which profile it must be in), the IPC message a worker
 * sends to confirm its label, and the exit status of a worker that found itself unconfined.
 * This module has no imports: the worker preload loads it before any application code.
 */

/**
 * Set by the primary in the environment of every worker it forks under onWorkerFork():
 * `{"v":1,"profile":"web-worker","modes":["enforce","kill"]}`. The worker deletes it from
 * `process.env` when it reads it, so the worker's own children do not inherit it. Not an
 * `APPARMOR_MONKEYS_*` name: core's register preload refuses variables it does not know.
 */
export const WORKER_ENV = 'AAM_CLUSTER_WORKER'

/**
 * The `cmd` of the confirmation message. Node routes IPC messages whose `cmd` starts with
 * `NODE_` to the `'internalMessage'` event instead of `'message'`, so the application's own
 * `worker.on('message')` handlers never see it. If a future Node stopped doing that, the
 * primary would not see the confirmation either and would stop the worker (fail closed).
 */
export const CONFIRM_CMD = 'NODE_APPARMOR_MONKEYS_CLUSTER_CONFIRM'

export const PROTOCOL_VERSION = 1

/** Exit status of a worker that is not in its profile (sysexits' EX_CONFIG). */
export const EXIT_NOT_CONFINED = 78

/** What the primary puts in WORKER_ENV. */
export interface WorkerEnv {
  readonly v: number
  readonly profile: string
  /** The modes accepted after the profile name, e.g. `web-worker (enforce)`. */
  readonly modes: readonly string[]
}

/** One thread of the worker, as its attr file reads (`web-worker (enforce)`). */
export interface ThreadReport {
  readonly tid: number
  readonly raw: string
}

/** The confirmation a worker sends to the primary before any application code runs. */
export interface ConfirmMessage {
  readonly cmd: typeof CONFIRM_CMD
  readonly v: number
  readonly pid: number
  /** Where the check ran: the preload the primary added, or onWorkerFork() called in the worker. */
  readonly source: 'preload' | 'call'
  /** Every thread's label; absent when they could not be read. */
  readonly threads?: readonly ThreadReport[]
  /** Why the labels could not be read. */
  readonly error?: { readonly code: string; readonly errno?: string; readonly message: string }
}

export function isConfirmMessage(message: unknown): message is ConfirmMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { cmd?: unknown }).cmd === CONFIRM_CMD &&
    (message as { v?: unknown }).v === PROTOCOL_VERSION
  )
}
