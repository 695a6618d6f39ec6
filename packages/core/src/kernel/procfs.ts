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
  /**
   * Check that every /proc path is on procfs (`statfs` f_type PROC_SUPER_MAGIC) before it is
   * trusted, and refuse with ERR_AA_FAKE_PROCFS otherwise (docs/security.md). Default: on for
   * the real `/proc`; off only for an explicit `procRoot` other than `/` (a unit test's fake
   * tree, whose files are ordinary files by design). `false` with the real `/proc` is refused
   * (ERR_AA_OPTIONS): the check cannot be turned off where it protects anything, and nothing
   * read from the environment reaches these options.
   */
  readonly verifyProcfs?: boolean
}

/** `f_type` of procfs (linux/magic.h). */
export const PROC_SUPER_MAGIC = 0x9fa0

/** Names of the filesystems most often found mounted over /proc (for the error message). */
const FS_NAMES: Record<number, string> = {
  0x01021994: 'tmpfs',
  0xef53: 'ext4',
  0x794c7630: 'overlayfs',
  0x01021997: '9p',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x62656572: 'sysfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x858458f6: 'ramfs',
}

function fsName(type: number): string {
  return `${FS_NAMES[type] ?? 'an unknown filesystem'} (f_type 0x${type.toString(16)})`
}

/** Who is asking, for the messages of the errors the checks throw. */
export interface AttrContext {
  readonly operation: string
  /** The profile (or hat) the operation is about. */
  readonly name?: string | undefined
}

function describeCall(ctx: AttrContext): string {
  return ctx.name === undefined ? `${ctx.operation}()` : `${ctx.operation}(${JSON.stringify(ctx.name)})`
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
  /** True when every /proc path is checked to be procfs before it is trusted. */
  readonly verifying: boolean
  #iface: AttrInterface | undefined

  constructor(options: ProcfsOptions = {}) {
    const root = path.resolve(options.procRoot ?? '/')
    const realRoot = root === path.parse(root).root
    if (options.verifyProcfs === false && realRoot) {
      throw new AppArmorError(
        ErrorCodes.OPTIONS,
        'createKernel: verifyProcfs: false is only accepted with a procRoot other than / (a fake tree for unit tests); ' +
          'the real /proc is always checked to be procfs',
        { operation: 'options' },
      )
    }
    this.verifying = options.verifyProcfs ?? realRoot
    this.proc = path.join(root, 'proc')
    this.sys = path.join(options.sysRoot ?? '/', 'sys')
  }

  /**
   * Refuses (ERR_AA_FAKE_PROCFS) unless each path is on procfs. statfs(2) follows mounts and
   * symlinks, so a tmpfs, volume or bind mount over /proc, /proc/self, /proc/self/task, a
   * task's attr directory or one attr file is seen. A path that does not exist is left to
   * the open that follows (its errno is mapped as before).
   */
  assertProcfs(paths: readonly string[], ctx: AttrContext): void {
    if (!this.verifying) return
    for (const p of paths) {
      let type: number
      try {
        type = Number(fs.statfsSync(p).type)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR') continue
        throw new AppArmorError(ErrorCodes.UNAVAILABLE, `${describeCall(ctx)}: cannot check that ${p} is procfs (statfs: ${code}); nothing was changed`, {
          operation: ctx.operation,
          profile: ctx.name,
          errno: code,
          cause: err,
        })
      }
      if (type !== PROC_SUPER_MAGIC) {
        throw new AppArmorError(
          ErrorCodes.FAKE_PROCFS,
          `${describeCall(ctx)}: ${p} is on ${fsName(type)}, not procfs (0x9fa0): something is mounted over /proc ` +
            '(a volume, tmpfs or bind mount, the class of runc CVE-2019-16884). AppArmor attributes written or read there ' +
            'would not reach the kernel, so nothing was changed and the process is not confined. ' +
            'Mount procfs at /proc (mount -t proc proc /proc) and remove the mount over it',
          { operation: ctx.operation, profile: ctx.name, data: { path: p, fsType: type } },
        )
      }
    }
  }

  /** Checks an attr file and everything above it up to /proc. */
  assertAttr(file: string, ctx: AttrContext): void {
    this.assertProcfs([this.proc, path.dirname(file), file], ctx)
  }

  /**
   * Checks that the file open on `fd` is procfs's (an fstatfs through /proc/self/fd, which
   * closes the window between assertAttr and the open).
   */
  assertOpenAttr(fd: number, ctx: AttrContext): void {
    this.assertProcfs([path.join(this.proc, 'self/fd', String(fd))], ctx)
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
  iface(operation: string, name?: string): AttrInterface {
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
          // libapparmor's errnos for aa_is_enabled: ENOSYS (no module), ECANCELED (disabled).
          throw new AppArmorError(
            ErrorCodes.DISABLED,
            `${describeCall({ operation, name })}: AppArmor is not enabled in this kernel (` +
              (enabled === undefined ? 'no apparmor module' : `apparmor.enabled=${enabled}`) +
              '), so no profile can be applied; boot a kernel with AppArmor enabled (parameters apparmor=1 security=apparmor; ' +
              "a container uses its host's kernel, so enable it on the host) or run without a profile",
            { operation, profile: name, errno: enabled === undefined ? 'ENOSYS' : 'ECANCELED', cause: err },
          )
        }
      } else {
        throw new AppArmorError(ErrorCodes.UNAVAILABLE, `${describeCall({ operation, name })}: cannot reach /proc/thread-self/attr (${code})`, {
          operation,
          profile: name,
          errno: code,
          cause: err,
        })
      }
    }
    return this.#iface
  }

  /** The attr file of the calling thread. */
  selfAttr(attr: AttrName, operation: string, name?: string): string {
    const sub = this.iface(operation, name) === 'apparmor' ? `attr/apparmor/${attr}` : `attr/${attr}`
    return path.join(this.proc, 'thread-self', sub)
  }

  /** The attr file of thread `tid` of this process. */
  taskAttr(tid: number, attr: AttrName, operation: string, name?: string): string {
    const sub = this.iface(operation, name) === 'apparmor' ? `attr/apparmor/${attr}` : `attr/${attr}`
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
  tids(ctx: AttrContext = { operation: 'threadLabels' }): number[] {
    const dir = path.join(this.proc, 'self/task')
    this.assertProcfs([this.proc, dir], ctx)
    return fs
      .readdirSync(dir)
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .sort((a, b) => a - b)
  }

  /**
   * Reads an attr file after checking that it is procfs's (ERR_AA_FAKE_PROCFS otherwise).
   * Other errors are the raw Node system errors.
   */
  read(file: string, ctx: AttrContext): string {
    this.assertAttr(file, ctx)
    if (!this.verifying) return fs.readFileSync(file, 'utf8')
    const fd = fs.openSync(file, fs.constants.O_RDONLY)
    try {
      this.assertOpenAttr(fd, ctx)
      return fs.readFileSync(fd, 'utf8')
    } finally {
      fs.closeSync(fd)
    }
  }

  /**
   * Writes `data` in exactly one write(2). The file is opened O_WRONLY without O_CREAT or
   * O_TRUNC: those make the kernel check create permission on the attr directory, which a
   * confined task logs as a spurious `capable dac_override` denial.
   */
  write(file: string, data: Buffer, ctx: AttrContext): void {
    this.assertAttr(file, ctx)
    const fd = fs.openSync(file, fs.constants.O_WRONLY)
    try {
      this.assertOpenAttr(fd, ctx)
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

/**
 * Runs `fn` (kernel reads and writes made on behalf of a larger call) and re-labels an
 * AppArmorError with that call (`confine("web"): …` rather than `getCon(): …`): `operation`
 * and `profile` name the public call, the code, errno and data are kept, the original is the
 * `cause`. Other errors pass unchanged.
 */
export function asCall<T>(operation: string, profile: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (!(err instanceof AppArmorError)) throw err
    if (err.operation === operation && err.profile === profile) throw err
    const inner = describeCall({ operation: err.operation ?? '', name: err.profile })
    const rest = err.message.startsWith(`${inner}: `)
      ? err.message.slice(inner.length + 2)
      : err.message.startsWith(`${err.operation}: `)
        ? err.message.slice(`${err.operation}: `.length)
        : err.message.replace(/^[^:]*\): /, '')
    throw new AppArmorError(err.code, `${describeCall({ operation, name: profile })}: ${rest}`, {
      operation,
      profile,
      errno: err.errno,
      cause: err,
      data: err.data,
    })
  }
}
