import * as fs from 'node:fs'
import { AppArmorError, ErrorCodes } from '../errors'
import type { LogTarget } from '../options'
import type { ExecEvent } from './diagnostics'

/**
 * The decision log (`APPARMOR_MONKEYS_LOG`, option `log`): one JSON object per line,
 * `{"time","pid",…ExecEvent}`, written synchronously (so a line is on disk before the
 * process is spawned or the emulated answer returned) with one write(2) per line. Files are
 * opened once, in append mode (O_APPEND|O_CLOEXEC), at install time.
 */
export interface LogSink {
  write(event: ExecEvent): void
  close(): void
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

export function openLog(target: LogTarget): LogSink {
  let fd: number
  if (target === 'stderr') fd = 2
  else {
    try {
      fd = fs.openSync(target, 'a')
    } catch (err) {
      throw new AppArmorError(ErrorCodes.OPTIONS, `the decision log ${JSON.stringify(target)} cannot be opened for appending: ${(err as Error).message}`, {
        operation: 'options',
        cause: err,
      })
    }
  }
  let open = true
  return {
    write(event) {
      if (!open) return
      const line = JSON.stringify({ time: new Date().toISOString(), pid: process.pid, ...event }) + '\n'
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
