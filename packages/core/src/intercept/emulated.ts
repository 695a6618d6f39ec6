import * as fs from 'node:fs'
import type * as Os from 'node:os'

/**
 * Pieces shared by the sync and async emulated runs.
 *
 * The pid of an emulated child is `EMULATED_PID_BASE + n` (n counts up from 0): a number
 * above the kernel's PID_MAX_LIMIT (2^22 on 64-bit Linux), so no process can ever have it.
 * `process.kill(pid)` on it fails with ESRCH, as it does for a child that has exited and been
 * reaped, which is what an emulated child is by the time its caller sees the pid.
 */
export const EMULATED_PID_BASE = 4_194_304

let nextPid = 0

export function emulatedPid(): number {
  const pid = EMULATED_PID_BASE + nextPid
  nextPid = (nextPid + 1) % 0x7000_0000
  return pid
}

/** True for a pid this package handed out for an emulated child. */
export function isEmulatedPid(pid: unknown): boolean {
  return typeof pid === 'number' && pid >= EMULATED_PID_BASE
}

/** Writes all of `data` to an inherited fd, as the child would have (blocking). */
export function writeToFd(fd: number, data: Buffer): void {
  let offset = 0
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EAGAIN') return // the child's write would have failed too (EPIPE, EBADF)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }
  }
}

/**
 * os.constants, loaded when a signal name or an errno is first needed: every builtin module a
 * process requires for the first time costs it ~0.5 ms (its ESM facade), and a first exec that
 * is answered needs neither.
 */
function osConstants(): typeof Os.constants {
  return (require('node:os') as typeof Os).constants
}

// First name wins for aliases (6 is SIGABRT, not SIGIOT), as in Node's signo_string().
let signalNames: Map<number, string> | undefined
function nameOfSignal(n: number): string | undefined {
  if (signalNames === undefined) {
    signalNames = new Map<number, string>()
    for (const [name, v] of Object.entries(osConstants().signals)) if (!signalNames.has(v)) signalNames.set(v, name)
  }
  return signalNames.get(n)
}

/** `SIGTERM` for 15, `SIGTERM` for 'SIGTERM'; the default for undefined. */
export function signalName(signal: number | string | undefined, fallback = 'SIGTERM'): string {
  if (typeof signal === 'string') return signal
  if (typeof signal === 'number') return nameOfSignal(signal) ?? fallback
  return fallback
}

/** Signals whose default action does not end a process (ignore, stop, continue). */
const NON_FATAL = new Set(['SIGCHLD', 'SIGCONT', 'SIGURG', 'SIGWINCH', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'])

export function endsProcess(signal: number): boolean {
  const name = nameOfSignal(signal)
  return name !== undefined && !NON_FATAL.has(name)
}

/** libuv's negative errno value of `name`, as Node reports spawn failures (UV_EACCES is -EACCES). */
export function uvErrno(name: 'EACCES' | 'ENOBUFS' | 'ESRCH'): number {
  return -osConstants().errno[name]
}
