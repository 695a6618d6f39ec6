import type { EventEmitter } from 'node:events'
import type { ForkOptions } from 'node:child_process'
import { isMainThread } from 'node:worker_threads'
import { AppArmorError, ErrorCodes, confine, kernel as defaultKernel, type ConfineReport, type Kernel } from '@apparmor-monkeys/core'
import type { Processor, WorkerOptions } from 'bullmq'
import { adapterError } from '@apparmor-monkeys/core/adapter'
import { acquireProcessorRule, type InterceptionState, type RuleLease } from './interception'
import { type ConfineWorkerOptions, type ResolvedOptions, checkCombination, isSandboxed, resolveOptions } from './options'
import { mergeForkOptions, processorConfineRule, sandboxMainFile } from './sandbox'

/**
 * startConfinedWorker(): a BullMQ Worker that processes no job before it is confined.
 *
 * 0. AppArmor is checked first, before the Worker exists (dry runs: the profiles are loaded and
 *    this process may enter them): without AppArmor, or with a profile missing, the call
 *    rejects at once and nothing connects to Redis.
 * 1. The Worker is created with autorun off (holdJobs, the default) and handed to `onWorker`
 *    (attach 'error' listeners there); if its processor is a file
 *    and `processorProfile` is set, the processor rule is added to core's exec interception
 *    (every child BullMQ forks starts in that profile from its first instruction) and each
 *    child verifies its own threads before BullMQ's child code runs.
 * 2. Once Redis is ready (`waitUntilReady()`, bounded by `readyTimeoutMs`: ERR_AA_NOT_READY
 *    after it; connection errors meanwhile go to the Worker's 'error' listeners, never to
 *    stderr), the whole worker process is confined (core's
 *    confine(): main thread, every libuv pool thread, verified) and the processor profile is
 *    checked with a dry run (it exists, and this process may start children in it).
 * 3. Only then `run()` is called. Any failure closes the Worker and rejects: fail closed.
 * 4. BullMQ 5 emits 'ready' again after every Redis reconnect (BullMQ 6: once). Each later
 *    'ready' re-reads every thread's label: nothing is written while all threads are still where
 *    the first confinement put them (labels cannot drift by themselves; this is a check). A
 *    thread found outside triggers confine() again; if that fails, the Worker is closed and an
 *    'error' is emitted (or thrown, with no listener).
 */

/** The parts of a BullMQ Worker (5 or 6) this adapter uses. */
export interface WorkerLike {
  waitUntilReady(): Promise<unknown>
  run(): Promise<unknown>
  close(force?: boolean): Promise<void>
}

/** BullMQ's Worker class (5 or 6), or a subclass. */
export type WorkerClass<W extends WorkerLike> = new (name: string, processor: any, opts: any) => W

export interface WorkerConfinement {
  /** The worker process's profile (null: the process was left as it is). */
  readonly profile: string | null
  /** The profile sandboxed processor children start in (null: none). */
  readonly processorProfile: string | null
  /** The file BullMQ forks for processor children (null: the processor runs in-process). */
  readonly processorEntry: string | null
  /** How the processor rule reached core's exec interception (null: no processor profile). */
  readonly interception: InterceptionState | null
  /** The report of the confinement made before the first job (null when `profile` is null). */
  readonly report: ConfineReport | null
  /** How many later 'ready' events (Redis reconnects, BullMQ 5) were checked. */
  readonly rechecks: number
  /** How many of those found a thread outside the profile and confined the process again. */
  readonly reconfinements: number
  /** The error that stopped the Worker after start, if any. */
  readonly failure: AppArmorError | null
}

export interface ConfinedWorker<W extends WorkerLike> {
  readonly worker: W
  readonly confinement: WorkerConfinement
}

class Guard implements WorkerConfinement {
  readonly profile: string | null
  readonly processorProfile: string | null
  processorEntry: string | null = null
  interception: InterceptionState | null = null
  report: ConfineReport | null = null
  rechecks = 0
  reconfinements = 0
  failure: AppArmorError | null = null
  lease: RuleLease | null = null
  /** Threads the first confinement named as Node's own runtime threads (left in the old profile by design). */
  private runtimeTids = new Set<number>()
  private chain: Promise<void> = Promise.resolve()
  private confined = false

  constructor(
    private readonly o: ResolvedOptions,
    private readonly k: Kernel,
  ) {
    this.profile = o.profile
    this.processorProfile = o.processorProfile
  }

  /** The confinement before the first job (serialized with the rechecks). Throws on any failure. */
  confineNow(): Promise<void> {
    const done = this.chain.then(() => this.confineFirst())
    this.chain = done.catch(() => undefined)
    return done
  }

  private async confineFirst(): Promise<void> {
    if (this.o.profile !== null) {
      const report = await confine(this.o.profile, { strict: this.o.strict, kernel: this.k })
      if (report.scope === 'thread' && this.o.strict) {
        throw new AppArmorError(
          ErrorCodes.INCOMPLETE,
          `startConfinedWorker(${JSON.stringify(this.o.profile)}): called from a worker_thread, so only that thread changed; ` +
            "the process's main thread and libuv threadpool (where this Worker's async I/O runs) are not confined. " +
            'Start the Worker on the main thread',
          { profile: this.o.profile, operation: 'startConfinedWorker', data: report },
        )
      }
      this.report = report
      this.runtimeTids = new Set(report.unconfined.filter((t) => t.role === 'runtime').map((t) => t.tid))
    }
    if (this.o.processorProfile !== null) this.checkProcessorProfile(this.o.processorProfile)
    this.confined = true
  }

  /**
   * Dry runs (nothing changes): the processor profile exists and this process may change into
   * it, and, when this process is confined, it may put its onexec back to its own profile after
   * each fork (core's exec confiner needs `change_profile -> <itself>`).
   */
  private checkProcessorProfile(processorProfile: string): void {
    this.k.permProfile(processorProfile)
    const own = this.k.getCon().label
    if (own !== 'unconfined' && own !== processorProfile) {
      try {
        this.k.permProfile(own)
      } catch (err) {
        throw new AppArmorError(
          ErrorCodes.RESTORE_FAILED,
          `startConfinedWorker: this worker (profile '${own}') could not restore its onexec after forking a processor child; ` +
            `add "change_profile -> ${own}," to profile '${own}'`,
          { profile: processorProfile, operation: 'startConfinedWorker', cause: err },
        )
      }
    }
  }

  /** A later 'ready': checks again, one at a time. */
  recheck(onFailure: (err: AppArmorError) => void): void {
    if (this.o.profile === null) return
    const profile = this.o.profile
    this.chain = this.chain.then(async () => {
      // Not confined yet (the first confinement failed or is still to come) or already stopped.
      if (!this.confined || this.failure !== null) return
      try {
        this.rechecks++
        const outside = this.k.threadLabels().filter((l) => l.label !== profile && !this.runtimeTids.has(l.tid))
        if (outside.length === 0) return
        this.reconfinements++
        this.report = await confine(profile, { strict: this.o.strict, kernel: this.k })
      } catch (err) {
        this.failure = asAppArmorError(err, profile)
        onFailure(this.failure)
      }
    })
  }
}

function asAppArmorError(err: unknown, profile: string): AppArmorError {
  // Core's errors already name the call (confine("…")) and the profile: kept as they are.
  if (err instanceof AppArmorError) return err
  return adapterError(err, { prefix: `startConfinedWorker(${JSON.stringify(profile)})`, profile, operation: 'startConfinedWorker' })
}

/**
 * Step 0: what can be known before the Worker exists, with dry runs only (nothing changes):
 * AppArmor is enabled, the worker profile is loaded and this process may change into it (or is
 * already in it), the processor profile is loaded and may be entered.
 */
function precheck(o: ResolvedOptions, k: Kernel): void {
  const profile = (o.profile ?? o.processorProfile) as string
  try {
    if (o.profile !== null && k.getCon().label !== o.profile) k.permProfile(o.profile)
    if (o.processorProfile !== null) k.permProfile(o.processorProfile)
  } catch (err) {
    throw adapterError(err, {
      prefix: `startConfinedWorker(${JSON.stringify(profile)}): nothing was started`,
      profile,
      operation: 'startConfinedWorker',
      replacesCall: true,
    })
  }
}

/** Resolves with `ready`, or rejects with ERR_AA_NOT_READY after `ms` (0: never). */
function within<T>(ready: Promise<T>, ms: number, profile: string, lastError: () => unknown): Promise<T> {
  if (ms === 0) return ready
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const last = lastError()
      const why = last === undefined ? 'no answer' : `last error: ${(last as Error)?.message ?? String(last)}`
      reject(
        new AppArmorError(
          ErrorCodes.NOT_READY,
          `startConfinedWorker(${JSON.stringify(profile)}): the Worker's Redis connection was not ready within ${ms} ms (${why}); ` +
            'the Worker was closed, the process was not confined and no job was processed. Check the connection options and ' +
            'that Redis is running (BullMQ 6 also needs the ioredis package installed), or raise readyTimeoutMs',
          { profile, operation: 'startConfinedWorker', cause: last },
        ),
      )
    }, ms)
  })
  return Promise.race([ready, timeout]).finally(() => clearTimeout(timer))
}

function raise(emitter: EventEmitter, err: Error): void {
  if (emitter.listenerCount('error') > 0) emitter.emit('error', err)
  else {
    process.nextTick(() => {
      throw err
    })
  }
}

/**
 * Creates a BullMQ Worker (`new Worker(name, processor, workerOptions)`) and resolves once it is
 * confined and running (or, with `autorun: false` in `workerOptions`, confined and ready for
 * your own `run()`). Rejects, with the Worker closed and no job processed, when confinement
 * fails: AppArmorError ERR_AA_DISABLED (no AppArmor), ERR_AA_NOT_FOUND (profile not loaded),
 * ERR_AA_NOT_PERMITTED, ERR_AA_INCOMPLETE, ERR_AA_OPTIONS, ERR_AA_UNSUPPORTED, ….
 */
export async function startConfinedWorker<W extends WorkerLike>(
  Worker: WorkerClass<W>,
  name: string,
  processor: string | URL | Processor,
  workerOptions: WorkerOptions,
  options: ConfineWorkerOptions,
): Promise<ConfinedWorker<W>> {
  const o = resolveOptions(options)
  const view = checkCombination(o, processor, workerOptions)
  const k = o.kernel ?? defaultKernel()
  if (o.profile !== null && !isMainThread && o.strict) {
    // Fail before any connection is made (confine() would say the same after).
    throw new AppArmorError(
      ErrorCodes.INCOMPLETE,
      `startConfinedWorker(${JSON.stringify(o.profile)}): called from a worker_thread, which can change only its own thread ` +
        "(the main thread and libuv's threadpool would stay out). Start the Worker on the main thread",
      { profile: o.profile, operation: 'startConfinedWorker' },
    )
  }
  precheck(o, k)
  const sandboxProfile = o.processorProfile
  const userRuns = view.autorun !== false
  const opts: Record<string, unknown> = { ...workerOptions }
  if (o.holdJobs) opts['autorun'] = false
  if (sandboxProfile !== null) opts['workerForkOptions'] = mergeForkOptions(view.workerForkOptions as ForkOptions | undefined, sandboxProfile)

  const worker = new Worker(name, processor, opts)
  const emitter = worker as unknown as EventEmitter
  const guard = new Guard(o, k)
  // Until this call settles, connection errors are heard here (so BullMQ never prints them)
  // and by the listeners the user attached in onWorker.
  let lastError: unknown
  const onStartupError = (err: unknown): void => {
    lastError = err
  }
  emitter.on('error', onStartupError)
  const fail = async (err: unknown): Promise<never> => {
    await worker.close(true).catch(() => undefined)
    emitter.off('error', onStartupError)
    guard.lease?.release()
    throw err
  }
  try {
    o.onWorker?.(worker)
  } catch (err) {
    return fail(err)
  }
  const label = (o.profile ?? o.processorProfile) as string

  if (sandboxProfile !== null && isSandboxed(processor)) {
    try {
      const entry = sandboxMainFile(worker)
      guard.processorEntry = entry
      guard.lease = acquireProcessorRule(entry, processorConfineRule(entry, sandboxProfile), o.intercept)
      guard.interception = guard.lease.state
    } catch (err) {
      return fail(err)
    }
  }
  emitter.once('closed', () => guard.lease?.release())

  // The first 'ready' is the initial connection (covered by the confinement before the first
  // job); every later one is a reconnect (BullMQ 5) and is checked again.
  let readies = 0
  let confineOnFirstReady: (() => void) | null = null
  emitter.on('ready', () => {
    readies++
    if (readies === 1) confineOnFirstReady?.()
    else guard.recheck(onLateFailure)
  })
  try {
    if (o.holdJobs) {
      await within(worker.waitUntilReady(), o.readyTimeoutMs, label, () => lastError)
      await guard.confineNow()
    } else {
      // Not held: BullMQ runs as configured; the process is confined on the first 'ready'.
      let confined: Promise<void> | null = null
      await within(
        new Promise<void>((resolve) => {
          confineOnFirstReady = () => {
            confined = guard.confineNow()
            resolve()
          }
        }),
        o.readyTimeoutMs,
        label,
        () => lastError,
      )
      await (confined as Promise<void> | null)
    }
  } catch (err) {
    return fail(err)
  }
  emitter.off('error', onStartupError)
  if (o.holdJobs && userRuns) worker.run().catch((err: unknown) => raise(emitter, err as Error))
  return { worker, confinement: guard }

  function onLateFailure(err: AppArmorError): void {
    void worker
      .close(true)
      .catch(() => undefined)
      .then(() => raise(emitter, err))
  }
}
