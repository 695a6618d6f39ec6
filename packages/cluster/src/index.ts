/**
 * @apparmor-monkeys/cluster — `onWorkerFork(changeProfile('web-worker'))`.
 *
 * The Node counterpart of gunicorn's `post_fork` recipe. Registered in the primary, it runs
 * every `cluster.fork()` (respawns included) with the calling thread's onexec set to the
 * profile, so each worker is in the profile from its first instruction — all of its threads,
 * the libuv pool included. Each worker confirms its label over IPC before any application
 * code runs; a worker that does not is stopped and reported. Importing this module does
 * nothing by itself.
 */
import type { Cluster } from 'node:cluster'
import { checkHook, type WorkerForkHook } from './hook'
import { resolveOptions, type WorkerForkOptions } from './options'
import { workerHandle, type WorkerForkHandle } from './handle'
import type * as Primary from './primary'
import { checkWorker } from './worker'

/**
 * In the primary: hooks `cluster.fork()` so that every worker starts in the hook's profile,
 * and returns a handle that emits `'confirmed'` and `'rejected'` per worker. Checks first
 * that AppArmor is enabled, that the profile is loaded and permitted, and that a confined
 * primary can restore its onexec afterwards; throws an AppArmorError otherwise
 * (`ERR_AA_DISABLED`, `ERR_AA_NOT_FOUND`, `ERR_AA_NOT_PERMITTED`, `ERR_AA_RESTORE_FAILED`),
 * so startup stops before any worker exists. Calling it again with the same profile and
 * options returns the same handle.
 *
 * In a worker (apps often run one script for both roles): hooks nothing. A worker forked
 * under onWorkerFork() has already checked itself in the preload; with `preload: false`
 * this call is where it checks and confirms. The handle's `self` holds the result.
 */
export function onWorkerFork(hook: WorkerForkHook, options?: WorkerForkOptions): WorkerForkHandle {
  const h = checkHook(hook)
  const o = resolveOptions(options)
  const c = o.cluster ?? (require('node:cluster') as Cluster)
  if (c.isWorker) return workerHandle(h.profile, o, checkWorker('call'))
  // The primary's code is loaded only in the primary.
  return (require('./primary') as typeof Primary).registerPrimary(c, h, o)
}

export { changeProfile } from './hook'
export type { ChangeProfileHook, WorkerForkHook } from './hook'
export { DEFAULT_OPTIONS, resolveOptions } from './options'
export type { FailureAction, ResolvedWorkerForkOptions, WorkerForkOptions } from './options'
export type { RejectionData, WorkerConfirmation, WorkerForkHandle, WorkerThread } from './handle'
export type { WorkerSelfCheck } from './worker'
export { EXIT_NOT_CONFINED, WORKER_ENV } from './worker'
