/**
 * The worker's side, and the protocol it shares with the primary. The worker reads the label
 * of each of its threads and sends the list to the primary before any application code runs.
 * If it finds itself outside its profile, it exits (status 78) so no application code runs
 * unconfined. The primary checks the list again and stops workers that do not confirm.
 *
 * This file is also the preload: onWorkerFork() puts it first in the execArgv of every worker
 * it forks (`--require <this file>`), and loading it runs the check (the last statement
 * below), in a worker whose primary asked for it through the environment and in no other
 * process. The application loads this file anyway (the package's entry imports it), so the
 * preload costs a worker no file of its own: each file a worker loads delays its start (about
 * 10 ms per file under the TCG test VM, against a 5 % budget of ~30 ms there;
 * bench/cluster.mjs). For the same reason it is one module with no imports but node:fs: it
 * reads procfs directly instead of loading @apparmor-monkeys/core, and only a directory
 * listing and one small read per thread are needed here. Label parsing and every decision
 * stay in the primary, which uses core's parseLabel.
 */
// `import =`: a plain require (`import * as` would copy every export of fs through a helper).
import fs = require('node:fs')

/**
 * Set by the primary in the environment of every worker it forks under onWorkerFork():
 * `{"v":1,"profile":"web-worker","modes":["enforce","kill"],"preload":true}`. The worker
 * deletes it from `process.env` when it reads it, so the worker's own children do not inherit
 * it. Not an `APPARMOR_MONKEYS_*` name: core's register preload refuses variables it does not
 * know.
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
  /**
   * True when the primary put this file in the worker's execArgv as its preload (or when its
   * instructions cannot be read): loading it checks the worker. Otherwise (`preload: false`)
   * the worker checks itself when it calls onWorkerFork().
   */
  readonly preload: boolean
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

/** What a worker found when it checked its own threads. */
export interface WorkerSelfCheck {
  /** The profile the primary forked this worker into. */
  readonly profile: string
  /** Where the check ran: the preload, or an onWorkerFork() call in the worker. */
  readonly source: 'preload' | 'call'
  /** True when every thread is in the profile, in an accepted mode. */
  readonly confined: boolean
  /** Every thread's label as read (`web-worker (enforce)`); empty if they could not be read. */
  readonly threads: readonly ThreadReport[]
  /** Why the labels could not be read. */
  readonly error?: ConfirmMessage['error']
}

interface WorkerState {
  /** The primary's instructions (null: this process was not forked under onWorkerFork()). */
  env: WorkerEnv | null
  check: WorkerSelfCheck | undefined
}

// Shared through the process object, so two copies of this package agree on what was done.
const STATE = Symbol.for('apparmor-monkeys.cluster.worker')

/** The profile a worker stands in for the primary's instructions when it cannot read them. */
const UNREADABLE = `(unreadable ${WORKER_ENV})`

function parseEnv(raw: string | undefined): WorkerEnv | null {
  if (raw === undefined || raw === '') return null
  try {
    const v = JSON.parse(raw) as Partial<WorkerEnv>
    if (
      v.v === PROTOCOL_VERSION &&
      typeof v.profile === 'string' &&
      v.profile.length > 0 &&
      Array.isArray(v.modes) &&
      v.modes.every((m) => typeof m === 'string') &&
      (v.preload === undefined || typeof v.preload === 'boolean')
    ) {
      return { v: v.v, profile: v.profile, modes: v.modes, preload: v.preload === true }
    }
  } catch {
    // malformed: handled below
  }
  // The primary asked for a check we cannot read: treat it as a profile nothing matches, and
  // check at load as a preload would (fail closed: the worker exits with status 78).
  return { v: PROTOCOL_VERSION, profile: UNREADABLE, modes: [], preload: true }
}

function state(): WorkerState {
  const holder = process as unknown as Record<symbol, WorkerState | undefined>
  let s = holder[STATE]
  if (s === undefined) {
    const raw = process.env[WORKER_ENV]
    delete process.env[WORKER_ENV]
    s = { env: parseEnv(raw), check: undefined }
    holder[STATE] = s
  }
  return s
}

/** True when this process is a worker that a primary forked under onWorkerFork(). */
export function isManagedWorker(): boolean {
  return state().env !== null
}

/**
 * True in a cluster worker that its primary forked under onWorkerFork() for exactly this
 * profile name. The primary validated the name (core's validateProfileName) before it wrote
 * it here, and in a worker the name only labels the handle: nothing in the worker role
 * writes it to the kernel. (In any other process, the primary included, this is false, so a
 * name that reaches the kernel is always validated there.)
 */
export function validatedByPrimary(profile: unknown): boolean {
  if (!('NODE_UNIQUE_ID' in process.env)) return false // not a cluster worker (Node's own test)
  const env = state().env
  return env !== null && env.profile !== UNREADABLE && env.profile === profile
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'UNKNOWN'
}

/** Which attr file holds a thread's AppArmor label (libapparmor's probe, as core does it). */
function attrSubPath(): string | ConfirmMessage['error'] {
  try {
    fs.statSync('/proc/thread-self/attr/apparmor')
    return 'attr/apparmor/current'
  } catch (err) {
    const errno = errnoOf(err)
    if (errno === 'EACCES') return 'attr/apparmor/current'
    if (errno !== 'ENOENT') {
      return { code: 'ERR_AA_UNAVAILABLE', errno, message: `cannot reach /proc/thread-self/attr (${errno})` }
    }
  }
  let enabled: string | undefined
  try {
    enabled = fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'latin1').trim()
  } catch {
    enabled = undefined
  }
  if (enabled === 'Y') return 'attr/current'
  return {
    code: 'ERR_AA_DISABLED',
    errno: 'ENOSYS',
    message: `AppArmor is not enabled in this kernel (${enabled === undefined ? 'no apparmor module' : `apparmor.enabled=${enabled}`})`,
  }
}

/** The attr file of a thread's AppArmor label on Linux 5.8 and later. */
const LSM_ATTR = 'attr/apparmor/current'

/**
 * The label of every thread of this process, or why they cannot be read. The first read tries
 * the LSM-specific file; only if it is missing does libapparmor's probe (attrSubPath) run and
 * decide, so the usual case costs no probe (each call a worker makes delays its start).
 */
/** procfs's f_type (PROC_SUPER_MAGIC): a label read from any other filesystem proves nothing. */
const PROC_SUPER_MAGIC = 0x9fa0

/** Why `p` cannot be trusted as procfs, or undefined when it is procfs (or gone: the read decides). */
function notProcfs(p: string): NonNullable<ConfirmMessage['error']> | undefined {
  let type: number
  try {
    type = Number(fs.statfsSync(p).type)
  } catch (err) {
    const errno = errnoOf(err)
    if (errno === 'ENOENT' || errno === 'ESRCH') return undefined
    return { code: 'ERR_AA_UNAVAILABLE', errno, message: `cannot check that ${p} is procfs (${errno})` }
  }
  if (type === PROC_SUPER_MAGIC) return undefined
  return {
    code: 'ERR_AA_FAKE_PROCFS',
    message: `${p} is not procfs (f_type 0x${type.toString(16)}): something is mounted over /proc, so the labels read there prove nothing`,
  }
}

function readThreads(): { threads: ThreadReport[] } | { error: NonNullable<ConfirmMessage['error']> } {
  const fake = notProcfs('/proc') ?? notProcfs('/proc/self/task')
  if (fake !== undefined) return { error: fake }
  let tids: string[]
  try {
    tids = fs.readdirSync('/proc/self/task')
  } catch (err) {
    const errno = errnoOf(err)
    return { error: { code: 'ERR_AA_UNAVAILABLE', errno, message: `cannot list /proc/self/task (${errno})` } }
  }
  let sub = LSM_ATTR
  let probed = false
  const threads: ThreadReport[] = []
  for (let i = 0; i < tids.length; i++) {
    const tid = tids[i] as string
    if (!/^\d+$/.test(tid)) continue
    const file = `/proc/self/task/${tid}/${sub}`
    let text: string
    try {
      const wrong = notProcfs(file)
      if (wrong !== undefined) return { error: wrong }
      text = fs.readFileSync(file, 'utf8')
    } catch (err) {
      const errno = errnoOf(err)
      if (errno === 'ENOENT' && !probed) {
        // No attr/apparmor (an older kernel, or AppArmor not built in), or the thread exited.
        probed = true
        const probe = attrSubPath()
        if (typeof probe !== 'string') return { error: probe as NonNullable<ConfirmMessage['error']> }
        if (probe !== sub) {
          sub = probe
          i-- // this thread again, from the file the probe chose
          continue
        }
      }
      if (errno === 'ENOENT' || errno === 'ESRCH') continue // the thread exited meanwhile
      return {
        error: {
          code: 'ERR_AA_UNAVAILABLE',
          errno,
          message:
            `cannot read ${file} (${errno})` +
            (errno === 'EACCES' ? '; the worker profile needs "owner @{PROC}/@{pid}/task/@{tid}/attr/{apparmor/,}current r,"' : ''),
        },
      }
    }
    threads.push({ tid: Number(tid), raw: text.endsWith('\n') ? text.slice(0, -1) : text })
  }
  threads.sort((a, b) => a.tid - b.tid)
  return { threads }
}

function summary(threads: readonly ThreadReport[]): string {
  const counts = new Map<string, number>()
  for (const t of threads) counts.set(t.raw, (counts.get(t.raw) ?? 0) + 1)
  return Array.from(counts).map(([raw, n]) => `${n} in '${raw}'`).join(', ')
}

/**
 * Checks this worker's threads and reports them to the primary, once per process. Returns
 * undefined when the process was not forked under onWorkerFork() (nothing to do). A worker
 * that is not confined writes one line to stderr and exits with status 78 at once.
 */
export function checkWorker(source: 'preload' | 'call'): WorkerSelfCheck | undefined {
  const s = state()
  if (s.env === null) return undefined
  if (s.check !== undefined) return s.check
  const { profile, modes } = s.env
  const accepted = new Set(modes.map((m) => `${profile} (${m})`))
  const read = readThreads()
  const threads = 'threads' in read ? read.threads : []
  const error = 'error' in read ? read.error : undefined
  const confined = error === undefined && threads.length > 0 && threads.every((t) => accepted.has(t.raw))
  s.check = error === undefined ? { profile, source, confined, threads } : { profile, source, confined, threads, error }

  const message: ConfirmMessage = {
    cmd: CONFIRM_CMD,
    v: PROTOCOL_VERSION,
    pid: process.pid,
    source,
    ...(error === undefined ? { threads } : { error }),
  }
  if (!confined) {
    // Written first: once the primary has the message below it may kill this process at once.
    const why = error !== undefined ? `${error.message} [${error.code}]` : `threads: ${summary(threads)}`
    process.stderr.write(
      `apparmor-monkeys/cluster: worker pid ${process.pid} is NOT confined in '${profile}' (${why}); ` +
        `exiting with status ${EXIT_NOT_CONFINED} before any application code runs\n`,
    )
  }
  // A pipe write of this size completes synchronously (libuv writes at once when its queue is
  // empty), so the message leaves even though process.exit() follows.
  if (typeof process.send === 'function') process.send(message)
  if (!confined) process.exit(EXIT_NOT_CONFINED)
  return s.check
}

// The preload. Only where the primary's instructions are in the environment (they are removed
// when read, so a second copy of this file, or the worker's own children, do not see them)
// and say so (instructions that cannot be read do, see parseEnv).
if (process.env[WORKER_ENV] !== undefined && state().env?.preload === true) checkWorker('preload')
