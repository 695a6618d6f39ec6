import * as fs from 'node:fs'
import * as path from 'node:path'
import { randomBytes } from 'node:crypto'
import { AppArmorError, ErrorCodes } from '../errors'
import { kernelError, type KernelOperation } from './kerror'
import { parseLabel, type Label } from './label'
import { type AttrContext, Procfs, type ProcfsOptions, type ThreadRef } from './procfs'
import { MAX_HATS, validateHatName, validateProfileName } from './validate'

/**
 * libapparmor's task API, in TypeScript over procfs. Every change applies to the CALLING
 * THREAD ONLY (AppArmor commits new credentials for `current`, not for the process): on Node's
 * main thread that is the main JS thread, in a worker_thread it is that worker's thread. Threads
 * created afterwards inherit the label of the thread that creates them. For the whole process,
 * see `confine()`.
 */

export interface ThreadChange {
  readonly operation: KernelOperation
  /** Label of the calling thread before the call. */
  readonly previous: Label
  /** Label of the calling thread after the call (read back from the kernel). */
  readonly current: Label
  /** False when the thread already was in the target and nothing was written. */
  readonly changed: boolean
  /** Always `thread`: the kernel changed only the calling thread. */
  readonly scope: 'thread'
  readonly thread: ThreadRef
}

export interface OnExecChange {
  readonly operation: KernelOperation
  /** What the calling thread's next exec will transition to (read back). */
  readonly onexec: Label
  /** False when it was already set to the target and nothing was written. */
  readonly changed: boolean
  /** Always `thread`: onexec belongs to the calling thread (and threads it creates later). */
  readonly scope: 'thread'
  readonly thread: ThreadRef
}

export interface ThreadLabel extends Label {
  readonly tid: number
  /** The thread group leader (Node's main JS thread). */
  readonly main: boolean
}

export type DisabledReason = 'module-absent' | 'disabled-at-boot' | 'no-securityfs' | 'permission-denied'

export interface EnabledStatus {
  readonly enabled: boolean
  /** Why not (libapparmor's errno: ENOSYS, ECANCELED, ENOENT, EPERM/EACCES). */
  readonly reason?: DisabledReason
  readonly errno?: string
  /** Where AppArmor's securityfs directory is, when enabled. */
  readonly securityfs?: string
  /** One sentence for humans. */
  readonly message: string
}

export interface HatHandle {
  /** The 64-bit token that must be presented to return from the hat. Never 0. */
  readonly token: bigint
  /** The hat (or hats, in order of preference) asked for. */
  readonly hats: readonly string[]
  readonly change: ThreadChange
  /** Returns to the parent profile with this handle's token. */
  revert(): ThreadChange
}

export interface Kernel {
  changeProfile(profile: string): ThreadChange
  stackProfile(profile: string): ThreadChange
  changeOnExec(profile: string): OnExecChange
  stackOnExec(profile: string): OnExecChange
  permProfile(profile: string): void
  changeHat(hat: string | readonly string[], token?: bigint): HatHandle
  revertHat(token: bigint): ThreadChange
  getCon(): Label
  getExecCon(): Label | undefined
  getTaskCon(tid: number): Label
  isEnabled(): EnabledStatus
  /** The calling thread. */
  thread(): ThreadRef
  /**
   * The labels of every thread; `ctx` names the call in errors (e.g. `confine('web')` when
   * /proc is not procfs).
   */
  threadLabels(ctx?: AttrContext): ThreadLabel[]
  /**
   * The path of thread `tid`'s attr file (for the confinement layer's pool relabel), checked
   * to be procfs's (ERR_AA_FAKE_PROCFS otherwise); `name` is the profile for the error.
   */
  taskAttrPath(tid: number, attr: 'current' | 'exec', name?: string): string
  /** Checks that the file open on `fd` (an attr file from taskAttrPath) is procfs's. Optional for test doubles. */
  assertAttrFd?(fd: number, name?: string): void
  /** Writes a raw command (libapparmor's strings) to the calling thread's attr; for the confinement layer. */
  writeAttr(attr: 'current' | 'exec', command: string, operation: KernelOperation, name: string): void
}

export type KernelOptions = ProcfsOptions

const TOKEN_MASK = (1n << 64n) - 1n

function newToken(): bigint {
  for (;;) {
    const t = randomBytes(8).readBigUInt64LE(0)
    if (t !== 0n) return t
  }
}

function hex16(token: bigint): string {
  return token.toString(16).padStart(16, '0')
}

/** Creates a kernel interface bound to a procfs root (the default one uses `/`). */
export function createKernel(options: KernelOptions = {}): Kernel {
  const procfs = new Procfs(options)

  function enabledFlag(): boolean | undefined {
    try {
      const p = procfs.enabledParameter()
      return p === undefined ? false : p === 'Y'
    } catch {
      return undefined
    }
  }

  // `operation` and `name` say which call a read belongs to (a read-back of changeProfile('x')
  // names changeProfile('x') when /proc turns out not to be procfs).
  function readSelf(attr: 'current' | 'exec', operation: KernelOperation, name?: string): string {
    const file = procfs.selfAttr(attr, operation, name)
    try {
      return procfs.read(file, { operation, name })
    } catch (err) {
      throw kernelError(err, { operation, name, enabled: enabledFlag() })
    }
  }

  function getCon(operation: KernelOperation = 'getCon', name?: string): Label {
    return parseLabel(readSelf('current', operation, name))
  }

  function getExecCon(operation: KernelOperation = 'getCon', name?: string): Label | undefined {
    const file = procfs.selfAttr('exec', operation, name)
    try {
      return parseLabel(procfs.read(file, { operation, name }))
    } catch (err) {
      // Nothing set: the kernel answers EINVAL.
      if ((err as NodeJS.ErrnoException).code === 'EINVAL' && enabledFlag() === true) return undefined
      throw kernelError(err, { operation, name, enabled: enabledFlag() })
    }
  }

  function writeAttr(attr: 'current' | 'exec', command: string, operation: KernelOperation, name: string, current?: string): void {
    const file = procfs.selfAttr(attr, operation, name)
    try {
      procfs.write(file, Buffer.from(command, 'utf8'), { operation, name })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPROTO') {
        throw new AppArmorError(ErrorCodes.INVALID, `${operation}(${JSON.stringify(name)}): ${(err as Error).message}`, {
          operation,
          profile: name,
          errno: 'EPROTO',
          cause: err,
        })
      }
      throw kernelError(err, { operation, name, current, enabled: enabledFlag() })
    }
  }

  function transition(operation: KernelOperation, verb: 'changeprofile' | 'stack', profile: string): ThreadChange {
    const name = validateProfileName(profile, operation)
    const previous = getCon(operation, name)
    const already = verb === 'changeprofile' ? previous.label === name : previous.stack.includes(name)
    if (!already) writeAttr('current', `${verb} ${name}`, operation, name, previous.label)
    const current = already ? previous : getCon(operation, name)
    return { operation, previous, current, changed: !already, scope: 'thread', thread: procfs.thread() }
  }

  function onexec(operation: KernelOperation, verb: 'exec' | 'stack', profile: string): OnExecChange {
    const name = validateProfileName(profile, operation)
    const before = getExecCon(operation, name)
    const already = verb === 'exec' && before !== undefined && before.label === name
    if (!already) writeAttr('exec', `${verb} ${name}`, operation, name, getCon(operation, name).label)
    const after = already ? before : getExecCon(operation, name)
    if (after === undefined) {
      throw new AppArmorError(ErrorCodes.UNAVAILABLE, `${operation}(${JSON.stringify(name)}): the kernel accepted the write but attr/exec reads empty`, {
        operation,
        profile: name,
      })
    }
    return { operation, onexec: after, changed: !already, scope: 'thread', thread: procfs.thread() }
  }

  function hatWrite(operation: KernelOperation, token: bigint, hats: readonly string[]): ThreadChange {
    const previous = getCon(operation, hats.join(',') || undefined)
    // changehat <16 hex>^h1\0h2\0…\0 (one name: no trailing NUL; revert: empty name)
    let payload = `changehat ${hex16(token)}^`
    if (hats.length === 1) payload += hats[0]
    else if (hats.length > 1) payload += hats.map((h) => `${h}\0`).join('')
    writeAttr('current', payload, operation, hats.join(','), previous.label)
    return { operation, previous, current: getCon(operation, hats.join(',') || undefined), changed: true, scope: 'thread', thread: procfs.thread() }
  }

  function checkToken(token: unknown, operation: KernelOperation): bigint {
    if (typeof token !== 'bigint' || token <= 0n || token > TOKEN_MASK) {
      throw new AppArmorError(ErrorCodes.INVALID, `${operation}: the token must be a non-zero 64-bit bigint`, { operation })
    }
    return token
  }

  function revertHat(token: bigint): ThreadChange {
    return hatWrite('revertHat', checkToken(token, 'revertHat'), [])
  }

  function changeHat(hat: string | readonly string[], token?: bigint): HatHandle {
    const list = typeof hat === 'string' ? [hat] : [...hat]
    if (list.length === 0 || list.length > MAX_HATS) {
      throw new AppArmorError(ErrorCodes.INVALID, `changeHat: give 1 to ${MAX_HATS} hat names, got ${list.length}`, { operation: 'changeHat' })
    }
    const hats = list.map((h) => validateHatName(h, 'changeHat'))
    const tok = token === undefined ? newToken() : checkToken(token, 'changeHat')
    const change = hatWrite('changeHat', tok, hats)
    return { token: tok, hats, change, revert: () => revertHat(tok) }
  }

  function permProfile(profile: string): void {
    const name = validateProfileName(profile, 'permProfile')
    writeAttr('current', `permprofile ${name}`, 'permProfile', name, getCon('permProfile', name).label)
  }

  function getTaskCon(tid: number, ctx: AttrContext = { operation: 'getCon' }): Label {
    const file = procfs.taskAttr(tid, 'current', 'getCon')
    try {
      return parseLabel(procfs.read(file, ctx))
    } catch (err) {
      throw kernelError(err, { operation: 'getCon', enabled: enabledFlag() })
    }
  }

  function threadLabels(ctx: AttrContext = { operation: 'threadLabels' }): ThreadLabel[] {
    const pid = process.pid
    const out: ThreadLabel[] = []
    for (const tid of procfs.tids(ctx)) {
      let label: Label
      try {
        label = getTaskCon(tid, ctx)
      } catch (err) {
        // A thread that exited between readdir and read is not an error.
        const errno = (err as AppArmorError).errno
        if (errno === 'ENOENT' || errno === 'ESRCH') continue
        throw err
      }
      out.push({ ...label, tid, main: tid === pid })
    }
    return out
  }

  function isEnabled(): EnabledStatus {
    let param: string | undefined
    try {
      param = procfs.enabledParameter()
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code ?? 'EACCES'
      return { enabled: false, reason: 'permission-denied', errno, message: `cannot read the apparmor module's "enabled" parameter (${errno})` }
    }
    if (param === undefined) {
      return { enabled: false, reason: 'module-absent', errno: 'ENOSYS', message: 'this kernel has no AppArmor module' }
    }
    if (param !== 'Y') {
      return { enabled: false, reason: 'disabled-at-boot', errno: 'ECANCELED', message: 'AppArmor is built in but disabled at boot (apparmor=0 or another major LSM)' }
    }
    let mounts = ''
    try {
      mounts = fs.readFileSync(path.join(procfs.proc, 'mounts'), 'utf8')
    } catch {
      mounts = ''
    }
    for (const line of mounts.split('\n')) {
      const f = line.split(' ')
      if (f[2] !== 'securityfs' || f[1] === undefined) continue
      const dir = path.join(f[1].replace(/\\040/g, ' '), 'apparmor')
      try {
        if (fs.statSync(path.join(procfs.sys, '..', dir)).isDirectory()) {
          return { enabled: true, securityfs: dir, message: `AppArmor is enabled (${dir})` }
        }
      } catch {
        // not this mount
      }
    }
    return { enabled: false, reason: 'no-securityfs', errno: 'ENOENT', message: 'AppArmor is enabled but securityfs is not mounted (mount -t securityfs securityfs /sys/kernel/security)' }
  }

  return {
    changeProfile: (p) => transition('changeProfile', 'changeprofile', p),
    stackProfile: (p) => transition('stackProfile', 'stack', p),
    changeOnExec: (p) => onexec('changeOnExec', 'exec', p),
    stackOnExec: (p) => onexec('stackOnExec', 'stack', p),
    permProfile,
    changeHat,
    revertHat,
    getCon: () => getCon(),
    getExecCon: () => getExecCon(),
    getTaskCon: (tid) => getTaskCon(tid),
    threadLabels,
    isEnabled,
    thread: () => procfs.thread(),
    taskAttrPath: (tid, attr, name) => {
      const file = procfs.taskAttr(tid, attr, 'confine')
      procfs.assertAttr(file, { operation: 'confine', name })
      return file
    },
    assertAttrFd: (fd, name) => procfs.assertOpenAttr(fd, { operation: 'confine', name }),
    writeAttr: (attr, command, operation, name) => writeAttr(attr, command, operation, name),
  }
}
