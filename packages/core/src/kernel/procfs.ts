import * as fs from 'node:fs'
import * as path from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { AppArmorError, ErrorCodes } from '../errors'

/**
 * Low-level access to AppArmor's procfs attributes, with libapparmor's rules:
 * `/proc/thread-self/attr/apparmor/<attr>` (Linux ≥ 5.8) first; if that directory does not
 * exist and `/sys/module/apparmor/parameters/enabled` is `Y`, the legacy `attr/<attr>` files
 * (which belong to the first LSM that registered them, so never when AppArmor says `N`).
 * Every write is one synchronous write(2) from the calling thread.
 */

export type AttrName = 'current' | 'exec' | 'prev'

export interface ProcfsOptions {
  /** Root under which `proc/` is read (default `/`). Unit tests point it at a fake tree. */
  readonly procRoot?: string
  /** Root under which `sys/` is read (default `/`). */
  readonly sysRoot?: string
}

/** Which attr directory this kernel offers. */
export type AttrInterface = 'apparmor' | 'legacy'

export interface ThreadRef {
  /** The kernel thread id of the calling thread, if `/proc/thread-self` resolves. */
  readonly tid: number | undefined
  /** True on Node's main thread (the thread group leader). */
  readonly mainThread: boolean
}

export class Procfs {
  readonly proc: string
  readonly sys: string
  #iface: AttrInterface | undefined

  constructor(options: ProcfsOptions = {}) {
    this.proc = path.join(options.procRoot ?? '/', 'proc')
    this.sys = path.join(options.sysRoot ?? '/', 'sys')
  }

  /** `Y`, `N`, or `undefined` when the parameter file is absent (no AppArmor module). */
  enabledParameter(): string | undefined {
    try {
      return fs.readFileSync(path.join(this.sys, 'module/apparmor/parameters/enabled'), 'latin1').trim()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  /** Probes once which attr interface to use (libapparmor's `init_procattr`). */
  iface(operation: string): AttrInterface {
    if (this.#iface) return this.#iface
    try {
      fs.statSync(path.join(this.proc, 'thread-self/attr/apparmor'))
      this.#iface = 'apparmor'
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EACCES') {
        this.#iface = 'apparmor'
      } else if (code === 'ENOENT') {
        let enabled: string | undefined
        try {
          enabled = this.enabledParameter()
        } catch {
          enabled = undefined
        }
        if (enabled === 'Y') {
          this.#iface = 'legacy'
        } else {
          throw new AppArmorError(
            ErrorCodes.DISABLED,
            `${operation}: AppArmor is not enabled in this kernel (` +
              (enabled === undefined ? 'no apparmor module' : `apparmor.enabled=${enabled}`) +
              '); boot with AppArmor enabled (security=apparmor) to use it',
            { operation, cause: err },
          )
        }
      } else {
        throw new AppArmorError(ErrorCodes.UNAVAILABLE, `${operation}: cannot reach /proc/thread-self/attr (${code})`, {
          operation,
          errno: code,
          cause: err,
        })
      }
    }
    return this.#iface
  }

  /** The attr file of the calling thread. */
  selfAttr(attr: AttrName, operation: string): string {
    const sub = this.iface(operation) === 'apparmor' ? `attr/apparmor/${attr}` : `attr/${attr}`
    return path.join(this.proc, 'thread-self', sub)
  }

  /** The attr file of thread `tid` of this process. */
  taskAttr(tid: number, attr: AttrName, operation: string): string {
    const sub = this.iface(operation) === 'apparmor' ? `attr/apparmor/${attr}` : `attr/${attr}`
    return path.join(this.proc, 'self/task', String(tid), sub)
  }

  /** The calling thread's identity. */
  thread(): ThreadRef {
    let tid: number | undefined
    try {
      const link = fs.readlinkSync(path.join(this.proc, 'thread-self'))
      const m = /\/task\/(\d+)$/.exec(link)
      if (m) tid = Number(m[1])
    } catch {
      tid = undefined
    }
    return { tid, mainThread: isMainThread }
  }

  /** The tids of every thread of this process, ascending. */
  tids(): number[] {
    return fs
      .readdirSync(path.join(this.proc, 'self/task'))
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .sort((a, b) => a - b)
  }

  /** Reads an attr file. Errors are the raw Node system errors. */
  read(file: string): string {
    return fs.readFileSync(file, 'utf8')
  }

  /**
   * Writes `data` in exactly one write(2). The file is opened O_WRONLY without O_CREAT or
   * O_TRUNC: those make the kernel check create permission on the attr directory, which a
   * confined task logs as a spurious `capable dac_override` denial.
   */
  write(file: string, data: Buffer): void {
    const fd = fs.openSync(file, fs.constants.O_WRONLY)
    try {
      const n = fs.writeSync(fd, data, 0, data.length)
      if (n !== data.length) {
        const err: NodeJS.ErrnoException = new Error(`short write to ${file}: ${n} of ${data.length} bytes`)
        err.code = 'EPROTO'
        throw err
      }
    } finally {
      fs.closeSync(fd)
    }
  }
}
