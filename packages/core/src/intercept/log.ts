import * as fs from 'node:fs'
import * as path from 'node:path'
import { commandWords } from '@apparmor-monkeys/emulator'
import type * as Errors from '../errors'
import type { LogTarget } from '../options'
import type { ExecEvent } from './diagnostics'

/**
 * The decision log (`APPARMOR_MONKEYS_LOG`, option `log`): one JSON object per line,
 * `{"time","pid",…ExecEvent}`, written synchronously (so a line is on disk before the
 * process is spawned or the emulated answer returned) with one write(2) per line.
 *
 * Safety (docs/security.md, "The decision log"):
 * - A file is opened once, at install time, with O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW|
 *   O_NONBLOCK (and Node's O_CLOEXEC), mode 0600 when it is created. A symlink as the last
 *   component is refused (ELOOP), and so is anything but a regular file with one link (a
 *   FIFO, a device, a hard link to another file): a service that logs into a directory others
 *   can write cannot be made to append to another file. Directories above it are trusted:
 *   keep the log in a directory only the service's user can write. An existing file keeps its
 *   mode and owner.
 * - Argument vectors are not logged by default: a command line often carries a secret
 *   (`curl -u user:pass`, `mysql -p…`, a token in a URL). A line then holds the program
 *   (`command` is its name followed by ` …` when it had arguments; for shell lines `sh -c …`
 *   and the command words in `programs`), `argc`, and `argv: "omitted"`; `args` and
 *   `emulatorError` (which may quote the line) are left out. With `argv: true`
 *   (APPARMOR_MONKEYS_LOG_ARGV=1, option `logArgv`) the event is logged whole. The
 *   diagnostics_channel event itself is unchanged: it stays in the process.
 */
export interface LogSink {
  write(event: ExecEvent): void
  close(): void
}

export interface LogOptions {
  /** Log each request's full argv and command line (default false: program names and counts only). */
  readonly argv?: boolean
}

function writeAll(fd: number, data: Buffer): void {
  let offset = 0
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset)
    } catch (err) {
      // A non-blocking stderr pipe that is full: wait for it rather than drop a line.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }
  }
}

const VARIABLE = 'APPARMOR_MONKEYS_LOG'

function logError(target: string, why: string, cause?: unknown): Errors.AppArmorError {
  // errors.ts is loaded only when a log target is refused (the first exec of a process loads little).
  const { AppArmorError, ErrorCodes } = require('../errors') as typeof Errors
  return new AppArmorError(
    ErrorCodes.OPTIONS,
    `the decision log ${VARIABLE}=${JSON.stringify(target)} (or options.log) ${why}; nothing was written to it. ` +
      `Point ${VARIABLE} at a regular file in a directory only this service's user can write, or use ${VARIABLE}=stderr`,
    { operation: 'options', cause, errno: (cause as NodeJS.ErrnoException | undefined)?.code },
  )
}

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants

/** Opens the log file safely (see above). Exported for tests. */
export function openLogFile(target: string): number {
  let fd: number
  try {
    fd = fs.openSync(target, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw logError(target, 'is a symbolic link, which is refused (O_NOFOLLOW)', err)
    if (code === 'ENXIO') throw logError(target, 'is a FIFO or socket, which is refused', err)
    throw logError(target, `cannot be opened for appending: ${(err as Error).message}`, err)
  }
  let why: string | undefined
  try {
    const st = fs.fstatSync(fd)
    if (!st.isFile()) why = 'is not a regular file, which is refused'
    else if (st.nlink > 1) why = `has ${st.nlink} hard links, which is refused (it could be another file's name)`
  } catch (err) {
    why = `cannot be checked: ${(err as Error).message}`
  }
  if (why !== undefined) {
    fs.closeSync(fd)
    throw logError(target, why)
  }
  return fd
}

function isShellLine(event: ExecEvent): boolean {
  return event.args.length === 2 && event.args[0] === '-c' && /(^|\/)(sh|dash|bash|ash|zsh|ksh|busybox)$/.test(event.file)
}

/** The event as logged without argv (see above). */
export function withoutArgv(event: ExecEvent): Record<string, unknown> {
  const { args, command: _command, emulatorError, ...rest } = event
  const out: Record<string, unknown> = { ...rest }
  const name = path.basename(event.file)
  if (event.file === '' && args.length === 0) {
    out['command'] = ''
  } else if (isShellLine(event)) {
    out['command'] = `${name} -c …`
    const words = new Set<string>()
    for (const w of commandWords(args[1] as string).words) words.add(path.basename(w))
    out['programs'] = [...words]
  } else {
    out['command'] = args.length === 0 ? name : `${name} …`
  }
  out['argc'] = args.length
  out['argv'] = 'omitted'
  if (emulatorError !== undefined) out['emulatorError'] = 'omitted (it may quote the command line)'
  return out
}

export function openLog(target: LogTarget, options: LogOptions = {}): LogSink {
  const fd = target === 'stderr' ? 2 : openLogFile(target)
  // The resolved `logArgv` option (APPARMOR_MONKEYS_LOG_ARGV=1 for the register preload).
  const full = options.argv ?? false
  let open = true
  return {
    write(event) {
      if (!open) return
      const record = full ? event : withoutArgv(event)
      const line = JSON.stringify({ time: new Date().toISOString(), pid: process.pid, ...record }) + '\n'
      try {
        writeAll(fd, Buffer.from(line))
      } catch {
        // The log must never break the application (a closed stderr, a full disk).
      }
    },
    close() {
      if (!open) return
      open = false
      if (fd !== 2) fs.closeSync(fd)
    },
  }
}
