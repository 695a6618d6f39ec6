import * as fs from 'node:fs'
import { type EmulationResult, enterableDir } from '@apparmor-monkeys/emulator'
import { type SpawnCall, idsOf, stdoutIsTTY } from './call'
import { emulatedPid, uvErrno, writeToFd } from './emulated'
import type { Engine } from './engine'
import type { Emulability, Verdict } from './policy'
import { callSync, describeCall, readSyncCall } from './compat'
import { reportFailOpen } from './diagnostics'

/**
 * The synchronous funnel: `process.binding('spawn_sync').spawn(options)`, which spawnSync,
 * execSync and execFileSync all reach (references captured before install and ESM named
 * imports included). The hook gets the options Node normalized and returns the raw result
 * object the binding returns; Node then builds everything the caller sees (errors, encoding,
 * `Command failed` messages), exactly as for a real run.
 */

/** One stdio entry as Node hands it to the binding. */
export interface SyncStdio {
  readonly type: string
  readonly readable?: boolean
  readonly writable?: boolean
  readonly input?: ArrayBufferView
  readonly fd?: number
}

export interface SyncSpawnOptions {
  readonly file: string
  readonly args: readonly string[]
  readonly envPairs?: readonly string[]
  readonly cwd?: string | null
  readonly stdio: readonly SyncStdio[]
  readonly detached?: boolean
  readonly uid?: number
  readonly gid?: number
  readonly maxBuffer?: number
}

/** What `spawn_sync.spawn` returns. */
export interface RawSyncResult {
  error?: number
  status: number | null
  signal: string | null
  output: (Buffer | null)[] | null
  pid: number
}

export type NativeSyncSpawn = (options: SyncSpawnOptions) => RawSyncResult

export function syncCall(options: SyncSpawnOptions): SpawnCall {
  return { api: 'spawnSync', file: options.file, argv: options.args, env: options.envPairs ?? process.env, cwd: options.cwd, stdoutIsTTY: stdoutIsTTY(options.stdio[1]), ...idsOf(options) }
}

/**
 * No cwd (the child stays in ours), or a directory the child could chdir into, as its chdir
 * sees it (real spawns fail with ENOENT/EACCES otherwise), named without `..` (`link/..` is the
 * parent of the link's target, where the emulator's view of the cwd, path.resolve, would erase
 * it as text): the emulator's enterableDir.
 */
export function usableCwd(cwd: string | null | undefined): boolean {
  return cwd === undefined || cwd === null || enterableDir(cwd)
}

function isPipe(s: SyncStdio): boolean {
  return s.type === 'pipe'
}

/**
 * An fd the child can be given: open in this process. A closed or negative one makes the real
 * spawn fail (EBADF) or Node treat the entry otherwise; such calls reach Node's original.
 */
export function openFd(fd: number | undefined): boolean {
  if (fd === undefined || !Number.isInteger(fd) || fd < 0) return false
  try {
    fs.fstatSync(fd)
    return true
  } catch {
    return false
  }
}

/**
 * Calls the emulator may answer: no option that changes what the child is (detached, uid,
 * gid, argv0), a usable cwd, and stdio made of pipes, `ignore` and inherited fds. What goes
 * to the child's stdin (`input`, an inherited fd) does not matter: the emulator never answers
 * a line that reads it.
 */
export function syncEmulability(options: SyncSpawnOptions): Emulability {
  if (options.detached === true || options.uid != null || options.gid != null) return false
  if (options.args[0] !== options.file || !usableCwd(options.cwd)) return false
  // Not 'overlapped': Node 20's spawnSync aborts on it (an emulated answer would not).
  return options.stdio.every((s) => isPipe(s) || s.type === 'ignore' || ((s.type === 'inherit' || s.type === 'fd') && openFd(s.fd)))
}

const EMPTY = Buffer.alloc(0)

/**
 * The raw result of a real run that printed `result`: pipes get the bytes, inherited fds are
 * written now, `ignore` drops them. maxBuffer counts stdout then stderr, as the binding
 * counts bytes in the order it reads them (a maxBuffer of 0 means no limit): the read that
 * overflows is kept, what comes after it is not, and the error is ENOBUFS. The binding then
 * kills the child; an emulated command has already exited, as a fast real one often has by
 * then, so status and signal are those of the exit (a slower real child reports the kill
 * signal instead).
 */
export function emulatedSyncResult(options: SyncSpawnOptions, result: EmulationResult): RawSyncResult {
  const max = options.maxBuffer ?? 1024 * 1024
  let total = 0
  let overflow = false
  const output = options.stdio.map((s, i): Buffer | null => {
    if (i === 0) return null
    const data = i === 1 ? result.stdout : i === 2 ? result.stderr : EMPTY
    if (isPipe(s)) {
      if (overflow) return Buffer.alloc(0)
      total += data.length
      if (max > 0 && total > max) overflow = true
      return Buffer.from(data)
    }
    if ((s.type === 'inherit' || s.type === 'fd') && s.fd !== undefined && !overflow) writeToFd(s.fd, data)
    return null
  })
  const pid = emulatedPid()
  if (overflow) return { error: uvErrno('ENOBUFS'), status: result.status, signal: null, output, pid }
  return { status: result.status, signal: null, output, pid }
}

/** The raw result of a kernel EACCES on exec (what the binding returns for a mode-0644 file). */
export function deniedSyncResult(): RawSyncResult {
  return { error: uvErrno('EACCES'), status: null, signal: null, output: null, pid: 0 }
}

/** Carries out a verdict for one normalized sync request. */
export function applySyncVerdict(engine: Engine, verdict: Verdict, options: SyncSpawnOptions, native: NativeSyncSpawn): RawSyncResult {
  switch (verdict.decision) {
    case 'emulate':
      return emulatedSyncResult(options, verdict.result as EmulationResult)
    case 'deny':
      return deniedSyncResult()
    case 'confine':
      return engine.options.execConfiner(verdict.profile as string, () => native(options))
    default:
      return native(options)
  }
}

/**
 * Applies a verdict the API layer made (passthrough, confine or deny) to the native call it
 * led to, made with Node's own arguments (`run`): Node's own code then builds what the caller
 * sees, exactly as this line of Node builds it. (Emulated answers are built by the API layer.)
 */
export function applyHandedDown(engine: Engine, verdict: Verdict, run: () => RawSyncResult): RawSyncResult {
  switch (verdict.decision) {
    case 'confine':
      return engine.options.execConfiner(verdict.profile as string, run)
    case 'deny':
      return deniedSyncResult()
    default:
      return run()
  }
}

/**
 * Runs one call of the sync binding through the engine's decision. A call whose shape is not
 * understood (compat.ts), or whose decision fails unexpectedly, goes to the native function
 * untouched (fail open); only a confinement failure is thrown.
 */
export function runSync(engine: Engine, self: unknown, args: readonly unknown[], native: NativeSyncSpawn): RawSyncResult {
  const options = readSyncCall(args)
  if (options === null) {
    reportFailOpen('spawnSync', `spawn_sync.spawn called with ${describeCall(args)}`)
    return callSync(native, self, args)
  }
  const verdict = engine.tryDecide(syncCall(options), syncEmulability(options))
  if (verdict === null) return callSync(native, self, args)
  return applySyncVerdict(engine, verdict, options, (o) => native.call(self, o))
}
