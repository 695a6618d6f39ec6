/**
 * The primary's side: cluster.fork() runs with the calling thread's onexec set to the worker
 * profile (core's withExecProfile), so every worker — respawned ones included — is in the
 * profile from its first instruction; the onexec attribute is restored right after, so the
 * primary's own later spawns are not affected. Each new worker must then confirm its label
 * over IPC; one that does not is stopped and reported.
 */
import * as path from 'node:path'
import { syncBuiltinESMExports } from 'node:module'
import { adapterError } from '@apparmor-monkeys/core/adapter'
import type { Cluster, Worker } from 'node:cluster'
import {
  AppArmorError,
  ErrorCodes,
  isAppArmorError,
  kernel as defaultKernel,
  parseLabel,
  withExecProfile,
  type Kernel,
} from '@apparmor-monkeys/core'
import type { WorkerForkHook } from './hook'
import { Handle, REGISTRATION, type ClusterWithRegistration, type Registration, type WorkerForkHandle, type WorkerThread, type WorkerConfirmation, type RejectionData } from './handle'
import { acceptedModes, sameOptions, type ResolvedWorkerForkOptions } from './options'
import {
  EXIT_NOT_CONFINED,
  PROTOCOL_VERSION,
  WORKER_ENV,
  isConfirmMessage,
  type ConfirmMessage,
  type WorkerEnv,
  type WorkerSelfCheck,
} from './worker'

const LOG_PREFIX = 'apparmor-monkeys/cluster:'

function log(o: ResolvedWorkerForkOptions, line: string): void {
  if (o.log === null) return
  try {
    o.log(`${LOG_PREFIX} ${line}`)
  } catch {
    // a failing logger must not change what happens to the worker
  }
}

/**
 * The path of the preload, as given to `--require`: the worker's own module (dist/worker.js,
 * next to this file), which checks the worker when it is loaded there (see worker.ts).
 */
function preloadPath(): string {
  return path.join(__dirname, 'worker.js')
}

/**
 * Puts the preload in front of the execArgv that cluster.fork() is about to use (the user's
 * `setupPrimary({ execArgv })`, or the primary's own execArgv by default) and returns the
 * function that takes it out again. cluster.fork() copies `cluster.settings.execArgv`
 * synchronously; setupPrimary() may replace the settings object meanwhile, so the undo
 * works on whatever object is current.
 */
function addPreload(c: Cluster): () => void {
  const preload = preloadPath()
  const settings = c.settings as { execArgv?: string[] }
  const before = Array.isArray(settings.execArgv) ? settings.execArgv : process.execArgv
  settings.execArgv = ['--require', preload, ...before]
  return () => {
    const now = c.settings as { execArgv?: string[] }
    const argv = now.execArgv
    if (Array.isArray(argv) && argv[0] === '--require' && argv[1] === preload) now.execArgv = argv.slice(2)
  }
}

function workerEnv(profile: string, o: ResolvedWorkerForkOptions): string {
  const env: WorkerEnv = { v: PROTOCOL_VERSION, profile, modes: acceptedModes(o), preload: o.preload }
  return JSON.stringify(env)
}

function summarize(threads: readonly WorkerThread[]): string {
  const counts = new Map<string, number>()
  for (const t of threads) {
    const key = t.mode === undefined ? t.label : `${t.label} (${t.mode})`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return Array.from(counts).map(([label, n]) => `${n} in '${label}'`).join(', ')
}

function readThreads(msg: ConfirmMessage): WorkerThread[] | undefined {
  if (!Array.isArray(msg.threads)) return undefined
  const out: WorkerThread[] = []
  for (const t of msg.threads as unknown[]) {
    const { tid, raw } = (t ?? {}) as { tid?: unknown; raw?: unknown }
    if (typeof tid !== 'number' || typeof raw !== 'string') return undefined
    const label = parseLabel(raw)
    out.push({ tid, label: label.label, mode: label.mode })
  }
  return out
}

/** SIGKILL, then close the IPC channel (a cluster worker exits when it closes). */
function stopWorker(worker: Worker): string {
  const proc = worker.process
  let stopped: string
  try {
    stopped = proc.kill('SIGKILL') ? 'killed' : 'not killed (it had exited)'
  } catch (err) {
    // ChildProcess.kill emits 'error' (e.g. EACCES when AppArmor denies the signal), which
    // the cluster Worker re-emits and throws when nobody listens.
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    stopped = `SIGKILL failed (${code})`
  }
  try {
    if (proc.connected) proc.disconnect()
  } catch {
    // already closing
  }
  return stopped
}

function track(handle: Handle, worker: Worker, startedAt: number): void {
  const o = handle.options
  const profile = handle.profile
  const proc = worker.process
  const modes = acceptedModes(o)
  let done = false

  const finish = (): void => {
    done = true
    clearTimeout(timer)
    proc.off('internalMessage', onMessage)
    proc.off('exit', onExit)
  }

  const reject = (reason: string, threads: readonly WorkerThread[] = []): void => {
    if (done) return
    finish()
    const stopped = stopWorker(worker)
    const data: RejectionData = { workerId: worker.id, pid: proc.pid, profile, threads, stopped }
    const error = new AppArmorError(
      ErrorCodes.NOT_CONFINED,
      `worker ${worker.id} (pid ${proc.pid ?? '?'}) is not confined in '${profile}': ${reason}`,
      { profile, operation: 'onWorkerFork', data },
    )
    const action = stopped === 'killed' ? 'stopped it (SIGKILL)' : `stopped it: ${stopped}, IPC channel closed`
    log(o, `${error.message}; ${action}${o.onFailure === 'exit' ? '; exiting the primary (onFailure: exit)' : ''} [${error.code}]`)
    handle.emit('rejected', worker, error)
    if (o.onFailure === 'exit') process.exit(1)
  }

  const judge = (msg: ConfirmMessage): void => {
    if (msg.pid !== proc.pid) {
      reject(`its confirmation names pid ${String(msg.pid)}`)
      return
    }
    if (msg.error !== undefined) {
      reject(`it could not read its own label: ${msg.error.message} [${msg.error.code}]`)
      return
    }
    const threads = readThreads(msg)
    if (threads === undefined || threads.length === 0) {
      reject('its confirmation lists no threads')
      return
    }
    const outside = threads.filter((t) => t.label !== profile || !modes.includes(t.mode ?? ''))
    if (outside.length > 0) {
      reject(`${outside.length} of ${threads.length} threads are elsewhere (${summarize(threads)})`, threads)
      return
    }
    finish()
    const confirmation: WorkerConfirmation = {
      workerId: worker.id,
      pid: msg.pid,
      profile,
      source: msg.source === 'call' ? 'call' : 'preload',
      threads,
      elapsedMs: performance.now() - startedAt,
    }
    handle.emit('confirmed', worker, confirmation)
  }

  const onMessage = (msg: unknown): void => {
    if (!done && isConfirmMessage(msg)) judge(msg)
  }

  const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    // Messages still in the channel are delivered before 'disconnect': decide after it.
    const decide = (): void => {
      setImmediate(() => {
        const how = signal !== null ? `signal ${signal}` : `status ${String(code)}`
        reject(
          `it exited (${how}) before confirming its label` +
            (code === EXIT_NOT_CONFINED ? ` (status ${EXIT_NOT_CONFINED}: it found itself outside the profile)` : ''),
        )
      })
    }
    if (proc.connected) proc.once('disconnect', decide)
    else decide()
  }

  const timer = setTimeout(() => reject(`it did not confirm its label within ${o.confirmTimeoutMs} ms`), o.confirmTimeoutMs)
  timer.unref()
  proc.on('internalMessage', onMessage)
  proc.once('exit', onExit)
}

/** cluster.fork(), confined at exec time; installed in place of the original. */
function confinedFork(reg: Registration, env: unknown): Worker {
  const { handle, cluster } = reg
  const o = handle.options
  const startedAt = performance.now()
  const base = typeof env === 'object' && env !== null ? (env as NodeJS.ProcessEnv) : {}
  const forkEnv = { ...base, [WORKER_ENV]: workerEnv(handle.profile, o) }
  const undo = o.preload ? addPreload(cluster) : undefined
  let worker: Worker | undefined
  try {
    withExecProfile(
      handle.profile,
      () => {
        worker = reg.original.call(cluster, forkEnv)
      },
      o.kernel ? { kernel: o.kernel } : {},
    )
  } catch (err) {
    const e = isAppArmorError(err)
      ? err
      : new AppArmorError(ErrorCodes.UNAVAILABLE, `cluster.fork() failed: ${(err as Error).message}`, { profile: handle.profile, operation: 'onWorkerFork', cause: err })
    log(o, `cluster.fork() refused: ${e.message} [${e.code}]`)
    // The restore failed after the spawn: that worker is confined; keep checking it.
    if (worker !== undefined) track(handle, worker, startedAt)
    throw e
  } finally {
    undo?.()
  }
  const forked = worker as Worker
  track(handle, forked, startedAt)
  return forked
}

function wrapError(err: unknown, profile: string): AppArmorError {
  return adapterError(err, { prefix: `onWorkerFork(changeProfile('${profile}'))`, profile, operation: 'onWorkerFork' })
}

/**
 * What can be known before the first fork: the worker profile is loaded and this process may
 * change into it (`permprofile`, a dry run; from a kernel without AppArmor this fails with
 * ERR_AA_DISABLED), and a confined primary can put its onexec back after each fork
 * (`change_profile -> <itself>,`). Only procfs attr files are touched, which the profile
 * needs anyway for the forks themselves.
 */
function precheck(profile: string, k: Kernel): void {
  try {
    k.permProfile(profile)
  } catch (err) {
    throw wrapError(err, profile)
  }
  const self = k.getCon()
  if (self.unconfined) return
  try {
    k.permProfile(self.label)
  } catch (err) {
    throw new AppArmorError(
      ErrorCodes.RESTORE_FAILED,
      `onWorkerFork(changeProfile('${profile}')): after each fork this process must put its onexec back to '${self.label}', ` +
        `but '${self.label}' may not change into itself; add "change_profile -> ${self.label}," to it`,
      { profile, operation: 'onWorkerFork', cause: err },
    )
  }
}

/** The primary's registration: checks, then hooks cluster.fork(). Idempotent. */
export function registerPrimary(c: Cluster, hook: WorkerForkHook, o: ResolvedWorkerForkOptions): WorkerForkHandle {
  const holder = c as ClusterWithRegistration
  const existing = holder[REGISTRATION]
  if (existing?.active) {
    if (existing.handle.profile === hook.profile && sameOptions(existing.handle.options, o)) return existing.handle
    throw new AppArmorError(
      ErrorCodes.OPTIONS,
      `onWorkerFork(changeProfile('${hook.profile}')): cluster.fork() is already hooked for '${existing.handle.profile}'` +
        (existing.handle.profile === hook.profile ? ' with other options' : '') +
        '; call dispose() on that handle first',
      { profile: hook.profile, operation: 'onWorkerFork' },
    )
  }
  precheck(hook.profile, o.kernel ?? defaultKernel())

  const handle = new Handle('primary', hook.profile, o)
  const original = c.fork
  const reg: Registration = {
    handle,
    cluster: c,
    original,
    // Named like the original, so stack traces still read "cluster.fork".
    wrapper: function fork(env?: unknown): Worker {
      return reg.active ? confinedFork(reg, env) : reg.original.call(c, env)
    } as Cluster['fork'],
    active: true,
  }
  handle.attach(reg)
  holder[REGISTRATION] = reg
  c.fork = reg.wrapper
  syncBuiltinESMExports()
  return handle
}

