import { isMainThread } from 'node:worker_threads'
import { AppArmorError, ErrorCodes } from '../errors'
import { asCall, kernel as defaultKernel, type Kernel, type Label, type ThreadChange, validateProfileName } from '../kernel'
import { relabelPool } from './pool'
import { ioUringEnabled, runtimeThreadCount, threadpoolSize } from './threads'
import { checkCallOptions } from '../options'

/**
 * Runtime confinement of the whole process (the seed's change_profile() after init, made
 * complete): the main thread, then every libuv pool thread, then a check of every thread.
 */

export type ThreadRole = 'main' | 'pool' | 'runtime' | 'unknown'

export interface ConfinedThread {
  readonly tid: number
  readonly role: ThreadRole
  /** The label read back after the change. */
  readonly label: string
  /** True when the thread is in the target profile. */
  readonly confined: boolean
  /** Why a thread is not confined. */
  readonly reason?: string
}

export interface ConfineReport {
  readonly profile: string
  /** `process`: main + pool (+ verified); `thread`: called from a worker_thread, only that thread changed. */
  readonly scope: 'process' | 'thread'
  /** The main thread's (or calling thread's) label before. */
  readonly previous: Label
  /** True when something was written (false: every thread already was in the profile). */
  readonly changed: boolean
  /** Every thread of the process after the change. */
  readonly threads: readonly ConfinedThread[]
  /** Threads left in another profile. `runtime` ones are Node's own (V8 platform, scheduler, watchdog). */
  readonly unconfined: readonly ConfinedThread[]
  /** True when every thread that can run application I/O (main, pool, unknown) is confined. */
  readonly complete: boolean
  /** How the pool was handled: absent (inherits later), relabelled, or already confined. */
  readonly pool: 'absent' | 'relabelled' | 'already'
  readonly durationMs: number
}

export interface ConfineOptions {
  /** Throw ERR_AA_INCOMPLETE when a thread that can run application I/O is left out (default true). */
  readonly strict?: boolean
  /** How long to wait for every pool thread to be parked (default 30 s: a pool thread busy with a long job delays it). */
  readonly parkTimeoutMs?: number
  /** The kernel interface (tests). */
  readonly kernel?: Kernel
}

const DEFAULTS = { strict: true, parkTimeoutMs: 30_000 }

function refuseIoUring(profile: string): void {
  if (ioUringEnabled()) {
    throw new AppArmorError(
      ErrorCodes.UNSUPPORTED,
      `confine(${JSON.stringify(profile)}): UV_USE_IO_URING is on; async fs then runs with credentials captured at start-up ` +
        'and no runtime change can confine it. Start the process confined instead (apparmor-monkeys exec -p PROFILE, ' +
        'systemd AppArmorProfile=, aa-exec) or unset UV_USE_IO_URING',
      { profile, operation: 'confine' },
    )
  }
}

function classify(k: Kernel, profile: string, pool: ReadonlySet<number>): ConfinedThread[] {
  const labels = asCall('confine', profile, () => k.threadLabels({ operation: 'confine', name: profile }))
  const expectedRuntime = asCall('confine', profile, runtimeThreadCount)
  const others = labels.filter((l) => !l.main && !pool.has(l.tid))
  const minPool = pool.size ? Math.min(...pool) : Number.POSITIVE_INFINITY
  // Node's own start-up threads are the lowest tids after main and exist before any pool thread.
  const runtime = new Set(others.filter((l) => l.tid < minPool).slice(0, expectedRuntime).map((l) => l.tid))
  return labels.map((l) => {
    const role: ThreadRole = l.main ? 'main' : pool.has(l.tid) ? 'pool' : runtime.has(l.tid) ? 'runtime' : 'unknown'
    const confined = l.label === profile
    const reason = confined
      ? undefined
      : role === 'runtime'
        ? "Node's own thread (V8 platform, delayed-task scheduler or signal watchdog); cannot be changed from JS and runs no application I/O"
        : role === 'unknown'
          ? 'a thread started after Node (a worker_thread, the inspector, …): it keeps its label and can run application code'
          : 'the change did not take effect on this thread'
    return reason === undefined ? { tid: l.tid, role, label: l.raw, confined } : { tid: l.tid, role, label: l.raw, confined, reason }
  })
}

function finish(
  profile: string,
  previous: Label,
  changed: boolean,
  threads: ConfinedThread[],
  pool: ConfineReport['pool'],
  started: bigint,
  strict: boolean,
): ConfineReport {
  const unconfined = threads.filter((t) => !t.confined)
  const complete = unconfined.every((t) => t.role === 'runtime')
  const report: ConfineReport = {
    profile,
    scope: 'process',
    previous,
    changed,
    threads,
    unconfined,
    complete,
    pool,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
  }
  if (strict && !complete) {
    const bad = unconfined.filter((t) => t.role !== 'runtime')
    throw new AppArmorError(
      ErrorCodes.INCOMPLETE,
      `confine(${JSON.stringify(profile)}): ${bad.length} thread(s) that can run application I/O stayed outside the profile: ` +
        bad.map((t) => `tid ${t.tid} (${t.role}) in '${t.label}'`).join(', ') +
        '. The process is partially confined; stop it. Confine before starting worker_threads, or at exec time',
      { profile, operation: 'confine', data: report },
    )
  }
  return report
}

function threadScope(k: Kernel, profile: string, started: bigint): ConfineReport {
  const change: ThreadChange = asCall('confine', profile, () => k.changeProfile(profile))
  const me = change.thread.tid ?? -1
  const threads: ConfinedThread[] = [{ tid: me, role: 'unknown', label: change.current.raw, confined: change.current.label === profile }]
  return {
    profile,
    scope: 'thread',
    previous: change.previous,
    changed: change.changed,
    threads,
    unconfined: [],
    complete: false,
    pool: 'absent',
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
  }
}

/**
 * Confines the whole process in `profile` now: the main thread, then every libuv pool thread
 * (async fs, dns.lookup, crypto, zlib), then verifies every thread. Resolves with a report;
 * in strict mode (default) rejects with ERR_AA_INCOMPLETE if any thread that can run
 * application I/O stayed in the old profile. Called from a worker_thread, it changes that
 * thread only and says so (`scope: 'thread'`, `complete: false`).
 */
export async function confine(profile: string, options: ConfineOptions = {}): Promise<ConfineReport> {
  const started = process.hrtime.bigint()
  const name = validateProfileName(profile, 'confine')
  checkCallOptions(options, { strict: 'boolean', parkTimeoutMs: 'positive integer', kernel: 'object' }, 'confine', name)
  const k = options.kernel ?? defaultKernel()
  const strict = options.strict ?? DEFAULTS.strict
  if (!isMainThread) return threadScope(k, name, started)
  asCall('confine', name, () => refuseIoUring(name))

  const before = asCall('confine', name, () => k.threadLabels({ operation: 'confine', name }))
  const previous = asCall('confine', name, () => k.getCon())
  const noPool = before.length - 1 <= asCall('confine', name, runtimeThreadCount)
  if (noPool) {
    // Early (e.g. a --require preload): the pool does not exist yet and will inherit main's label.
    const change = asCall('confine', name, () => k.changeProfile(name))
    return finish(name, previous, change.changed, classify(k, name, new Set()), 'absent', started, strict)
  }
  // The pool exists: park it BEFORE main changes (everything still in the old profile), then
  // change main, then relabel each pool thread that is not in the profile yet.
  const inProfile = new Set(before.filter((l) => l.label === name).map((l) => l.tid))
  const { pool, results } = await relabelPool({
    command: `changeprofile ${name}`,
    size: asCall('confine', name, () => threadpoolSize()),
    attr: (tid) => k.taskAttrPath(tid, 'current', name),
    ...(k.assertAttrFd === undefined ? {} : { opened: (fd: number) => k.assertAttrFd?.(fd, name) }),
    needs: (tid) => !inProfile.has(tid),
    // Throws (and the parked threads are released) if the kernel refuses the main thread.
    parked: () => void asCall('confine', name, () => k.changeProfile(name)),
    profile: name,
    timeoutMs: options.parkTimeoutMs ?? DEFAULTS.parkTimeoutMs,
  })
  const changed = previous.label !== name || results.some((r) => r.result === 'written')
  const state = results.every((r) => r.result === 'skipped') ? 'already' : 'relabelled'
  return finish(name, previous, changed, classify(k, name, new Set(pool)), state, started, strict)
}

/**
 * The synchronous variant for the earliest moment (a `--require` preload): changes the main
 * thread while no pool exists, so every thread created later inherits the profile. Throws
 * ERR_AA_UNSUPPORTED when the pool (or any other thread) already exists: use `confine()`.
 */
export function confineSync(profile: string, options: Omit<ConfineOptions, 'parkTimeoutMs'> = {}): ConfineReport {
  const started = process.hrtime.bigint()
  const name = validateProfileName(profile, 'confineSync')
  checkCallOptions(options, { strict: 'boolean', kernel: 'object' }, 'confineSync', name)
  const k = options.kernel ?? defaultKernel()
  if (!isMainThread) return threadScope(k, name, started)
  asCall('confineSync', name, () => refuseIoUring(name))
  const before = asCall('confineSync', name, () => k.threadLabels({ operation: 'confineSync', name }))
  if (before.length - 1 > asCall('confineSync', name, runtimeThreadCount) && before.some((l) => !l.main && l.label !== name)) {
    throw new AppArmorError(
      ErrorCodes.UNSUPPORTED,
      `confineSync(${JSON.stringify(name)}): libuv's threadpool (or another thread) already exists, so a synchronous change ` +
        'would leave async I/O in the old profile; use `await confine()` (or load the register preload with --require)',
      { profile: name, operation: 'confine' },
    )
  }
  const previous = asCall('confineSync', name, () => k.getCon())
  const change = asCall('confineSync', name, () => k.changeProfile(name))
  return finish(name, previous, change.changed, asCall('confineSync', name, () => classify(k, name, new Set())), 'absent', started, options.strict ?? DEFAULTS.strict)
}
