import type { Socket } from 'node:net'
import type { EmulationResult } from '@apparmor-monkeys/emulator'
import { type SpawnCall, idsOf, stdoutIsTTY } from './call'
import { emulatedPid, endsProcess, signalName, uvErrno, writeToFd } from './emulated'
import type { Engine } from './engine'
import type { Emulability } from './policy'
import { type AsyncRequest, describeCall, readAsyncCall } from './compat'
import { reportFailOpen } from './diagnostics'
import { openFd, usableCwd } from './sync'

/**
 * The asynchronous funnel: `Process.prototype.spawn` (process_wrap), the native call that
 * `ChildProcess.prototype.spawn` makes for spawn, exec, execFile and fork (and so for their
 * promisified forms and cluster.fork). The hook runs with `this` the Process handle and the
 * options Node normalized (stdio already turned into Pipe handles and fds), and returns the
 * libuv error code Node's ChildProcess code then acts on. So:
 *
 * - passthrough: the native call.
 * - confine: the native call, inside `execConfiner(profile, …)`.
 * - deny: the handle is retired (see `AsyncRequest.retire` in compat.ts), the pipes are replaced by sockets that read
 *   EOF, and UV_EACCES is returned; everything the caller then sees ('error' on nextTick,
 *   'close' with -13, no 'exit', pid undefined, the exec/execFile callback and promise
 *   shapes) is Node's own handling of a failed spawn.
 * - emulate: the handle is retired, the stdio pipes are replaced by in-process sockets, and
 *   0 is returned with a pid: Node emits 'spawn' and wires the streams as for a real child;
 *   the answer is delivered on the following turns of the event loop (see EmulatedRun).
 */

export interface AsyncStdio {
  type: string
  readonly handle?: { close(cb?: () => void): void; onread?: (buffer?: ArrayBuffer) => void }
  readonly ipc?: boolean
  readonly fd?: number
  socket?: Socket
}

export interface AsyncSpawnOptions {
  readonly file: string
  readonly args: readonly string[]
  readonly envPairs?: readonly string[]
  readonly cwd?: string | null
  readonly stdio: AsyncStdio[]
  readonly detached?: boolean
  readonly uid?: number
  readonly gid?: number
}

/** The native process handle, as far as this module touches it. */
export interface ProcessHandle {
  pid?: number
  onexit: (exitCode: number, signalCode: string | null) => void
  kill(signal: number): number
  ref(): void
  unref(): void
  close(cb?: () => void): void
  [key: symbol]: unknown
}

/** The native spawn; its arguments differ between Node lines (see compat.ts). */
export type NativeAsyncSpawn = (this: ProcessHandle, ...args: never[]) => number

/** The ChildProcess that owns a handle, as far as the close bookkeeping needs it. */
interface OwnerChild {
  _closesNeeded: number
  _closesGot: number
  exitCode: number | null
  signalCode: string | null
  emit(event: string, ...args: unknown[]): boolean
}

let ownerSymbol: symbol | null | undefined

/** Node's `owner_symbol`, found once on a handle (the ChildProcess constructor sets it). */
function ownerOf(handle: ProcessHandle): OwnerChild | undefined {
  if (ownerSymbol === undefined) {
    ownerSymbol = Object.getOwnPropertySymbols(handle).find((s) => s.description === 'owner_symbol') ?? null
  }
  return ownerSymbol === null ? undefined : (handle[ownerSymbol] as OwnerChild | undefined)
}

export function asyncCall(options: AsyncSpawnOptions): SpawnCall {
  return { api: 'spawn', file: options.file, argv: options.args, env: options.envPairs ?? process.env, cwd: options.cwd, stdoutIsTTY: stdoutIsTTY(options.stdio[1]), ...idsOf(options) }
}

function isPlainPipe(s: AsyncStdio): boolean {
  return (s.type === 'pipe' || s.type === 'overlapped') && s.ipc !== true && s.handle !== undefined
}

export function asyncEmulability(handle: ProcessHandle, options: AsyncSpawnOptions): Emulability {
  if (options.detached === true || options.uid != null || options.gid != null) return false
  if (options.args[0] !== options.file || ownerOf(handle) === undefined || !usableCwd(options.cwd)) return false
  // Pipes for 0-2 (stdin: writes are accepted and discarded; a write to an extra pipe would
  // fail otherwise than on a real one), /dev/null, and open inherited fds for 0-2.
  return options.stdio.every((s, i) => s.type === 'ignore' || (i < 3 && (isPlainPipe(s) || ((s.type === 'inherit' || s.type === 'fd') && openFd(s.fd)))))
}

let net: typeof import('node:net') | undefined

/** A socket with no peer that behaves like the parent's end of a pipe to a child. */
function pipeSocket(readable: boolean): Socket {
  net ??= require('node:net') as typeof import('node:net')
  const socket = new net.Socket({ readable }) as Socket & {
    _read(size: number): void
    _final(cb: (err?: Error | null) => void): void
    _write(chunk: unknown, encoding: string, cb: (err?: Error | null) => void): void
    _writev(chunks: unknown[], cb: (err?: Error | null) => void): void
  }
  // Connected from the start (a child's pipe is), so end() finishes instead of waiting for 'connect'.
  Object.defineProperty(socket, 'pending', { configurable: true, value: false })
  socket._read = () => {}
  socket._final = (cb) => cb()
  if (!readable) {
    // The child's stdin: what the caller writes is accepted and discarded (the emulated
    // command line does not read it; see Emulability).
    socket._write = (_chunk, _encoding, cb) => cb()
    socket._writev = (_chunks, cb) => cb()
  }
  return socket
}

function maybeClose(child: OwnerChild): void {
  child._closesGot++
  if (child._closesGot === child._closesNeeded) child.emit('close', child.exitCode, child.signalCode)
}

/**
 * One emulated child, after `spawn()` returned:
 * - turn 1 (setImmediate): the output is written to inherited fds and pushed into the
 *   stdout/stderr sockets, which then end;
 * - turn 2 (setImmediate): the exit, through Node's own `onexit` (exitCode, 'exit', stdin
 *   destroyed, then 'close' once every stdio socket has closed).
 * `kill()` before turn 1 makes the child end by that signal with no output (as a real child
 * killed before it ran); after turn 1 it succeeds without effect (a child that has exited but
 * is not yet reaped). Signals that do not end a process by default are accepted and ignored.
 * `ref()`/`unref()` act on the pending turns, so an unref'd emulated child does not keep the
 * event loop alive, as an unref'd real one does not.
 */
class EmulatedRun {
  private ran = false
  private fatalSignal: number | null = null
  private refed = true
  private timer: NodeJS.Immediate | null = null

  constructor(
    private readonly handle: ProcessHandle,
    private readonly result: EmulationResult,
    private readonly sockets: (Socket | null)[],
    private readonly fds: (number | null)[],
  ) {}

  start(): void {
    this.schedule(() => this.output())
  }

  kill(signal: number): number {
    if (signal !== 0 && !this.ran && this.fatalSignal === null && endsProcess(signal)) this.fatalSignal = signal
    return 0
  }

  ref(): void {
    this.refed = true
    this.timer?.ref()
  }

  unref(): void {
    this.refed = false
    this.timer?.unref()
  }

  private schedule(step: () => void): void {
    this.timer = setImmediate(() => {
      this.timer = null
      step()
    })
    if (!this.refed) this.timer.unref()
  }

  private output(): void {
    this.ran = true
    const killed = this.fatalSignal !== null
    for (let i = 1; i < this.sockets.length; i++) {
      const data = killed ? null : i === 1 ? this.result.stdout : i === 2 ? this.result.stderr : null
      const fd = this.fds[i]
      if (data !== null && data.length > 0 && fd !== null && fd !== undefined) writeToFd(fd, data)
      const socket = this.sockets[i]
      if (socket) {
        if (data !== null && data.length > 0) socket.push(Buffer.from(data))
        socket.push(null)
      }
    }
    this.schedule(() => this.exit())
  }

  private exit(): void {
    if (this.fatalSignal !== null) this.handle.onexit(0, signalName(this.fatalSignal))
    else this.handle.onexit(this.result.status, null)
  }
}

/**
 * Replaces the Pipe handles Node created for the child's plain pipes with peerless sockets
 * (pipeSocket), and does the close bookkeeping Node does for the sockets it creates after a
 * spawn. Node exposes them as child.stdin/stdout/stderr/stdio[i].
 */
function replacePipes(child: OwnerChild | undefined, options: AsyncSpawnOptions): (Socket | null)[] {
  const sockets: (Socket | null)[] = []
  for (let i = 0; i < options.stdio.length; i++) {
    const s = options.stdio[i] as AsyncStdio
    sockets.push(null)
    if (!isPlainPipe(s)) continue
    s.handle?.close()
    const socket = pipeSocket(i > 0)
    s.socket = socket
    sockets[i] = socket
    // Node skips 'ignore' entries when it wires the stdio after a spawn, and then exposes the
    // `socket` set here.
    s.type = 'ignore'
    if (i > 0 && child !== undefined) {
      child._closesNeeded++
      socket.on('close', () => maybeClose(child))
    }
  }
  return sockets
}

/**
 * A kernel EACCES without the exec. libuv opens the parent's ends of the stdio pipes even when
 * the exec failed, and they read EOF at once (the child's ends are closed): the replacement
 * sockets end on the next turn of the loop, and an IPC channel (fork) gets its EOF too, so
 * Node emits 'disconnect' and, once everything closed, 'close' with -13.
 */
function deny(native: NativeAsyncSpawn, handle: ProcessHandle, request: AsyncRequest): number {
  const { options } = request
  const child = ownerOf(handle)
  request.retire(native, handle)
  const sockets = replacePipes(child, options)
  const ipc = options.stdio.find((s) => s.ipc === true)?.handle
  setImmediate(() => {
    for (let i = 1; i < sockets.length; i++) sockets[i]?.push(null)
    if (ipc !== undefined && typeof ipc.onread === 'function') ipc.onread()
  })
  return uvErrno('EACCES')
}

function emulate(native: NativeAsyncSpawn, handle: ProcessHandle, request: AsyncRequest, result: EmulationResult): number {
  const { options } = request
  const child = ownerOf(handle) as OwnerChild
  request.retire(native, handle)
  const sockets = replacePipes(child, options)
  const fds = options.stdio.map((s) => ((s.type === 'inherit' || s.type === 'fd') && s.fd !== undefined ? s.fd : null))
  const run = new EmulatedRun(handle, result, sockets, fds)
  handle.pid = emulatedPid()
  handle.kill = (signal) => run.kill(signal)
  handle.ref = () => run.ref()
  handle.unref = () => run.unref()
  run.start()
  return 0
}

/**
 * Confined spawn. If the confiner throws, the error is rethrown from the call that started the
 * process (spawn/exec/execFile/fork throw synchronously, as Node does for spawn failures it
 * does not report through 'error'), after the stdio pipes and the handle are released; a
 * child already started (the confiner failed after the native call) is killed with SIGKILL.
 */
function confine(engine: Engine, native: NativeAsyncSpawn, handle: ProcessHandle, request: AsyncRequest, profile: string): number {
  const spawned: { err: number | null } = { err: null }
  try {
    return engine.options.execConfiner(profile, () => {
      spawned.err = request.call(native, handle)
      return spawned.err
    })
  } catch (err) {
    for (const s of request.options.stdio) if ((s.type === 'pipe' || s.type === 'overlapped') && s.handle) s.handle.close()
    if (spawned.err === 0) handle.kill(9) // libuv reaps it; Node's onexit then closes the handle
    else {
      if (spawned.err === null) request.retire(native, handle)
      handle.close()
    }
    throw err
  }
}

/**
 * One call of the native spawn through the interception. A call whose shape is not understood
 * (compat.ts), or whose decision fails unexpectedly, goes to the native function untouched:
 * the interception fails open, and the kernel decides. Only a confinement failure is thrown
 * (confinement fails closed).
 */
export function runAsync(engine: Engine, native: NativeAsyncSpawn, handle: ProcessHandle, args: readonly unknown[], detachedBit: number | null): number {
  const request = readAsyncCall(args, detachedBit)
  if (request === null) {
    reportFailOpen('spawn', `Process.prototype.spawn called with ${describeCall(args)}`)
    return Reflect.apply(native, handle, args) as number
  }
  const verdict = engine.tryDecide(asyncCall(request.options), asyncEmulability(handle, request.options))
  if (verdict === null) return request.call(native, handle)
  switch (verdict.decision) {
    case 'emulate':
      return emulate(native, handle, request, verdict.result as EmulationResult)
    case 'deny':
      return deny(native, handle, request)
    case 'confine':
      return confine(engine, native, handle, request, verdict.profile as string)
    default:
      return request.call(native, handle)
  }
}

/**
 * Frees the handle install() made to reach `Process.prototype` when process_wrap's binding is
 * unavailable, on the first spawn (whose shape shows how the native call is made on this
 * line). If that shape is not understood, the handle stays (a one-time ~0.5 KB).
 */
export function retireProbe(native: NativeAsyncSpawn, probe: ProcessHandle, args: readonly unknown[]): void {
  const request = readAsyncCall(args, null)
  if (request === null) return
  try {
    request.retire(native, probe)
    probe.close()
  } catch {
    // spawning is not allowed at all here (permission model without --allow-child-process)
  }
}
