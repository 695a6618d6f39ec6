/**
 * Reads the kernel's AppArmor records of one run, from where they are at the start of it:
 * `/var/log/audit/audit.log` when auditd runs (from the file's size at the start), else
 * `/dev/kmsg` (records already there are skipped). kauditd prints asynchronously, so the end
 * of a run is marked by a barrier: this process asks to change into a profile that does not
 * exist (`changeprofile aam-profile-barrier-…` on its own attr: ENOENT, audited) and reads
 * until the barrier's record; every record of the run comes before it.
 */
import * as fs from 'node:fs'

const AUDIT_LOG = '/var/log/audit/audit.log'
const AUDITD_PIDS = ['/run/auditd.pid', '/var/run/auditd.pid']
const BARRIER_WAIT_MS = 5000

export interface AuditSource {
  /** `kmsg` or `audit.log`. */
  readonly kind: string
  /** Every AppArmor line printed since the source was opened (or last collected), up to a barrier. */
  collect(): string[]
  close(): void
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

let barriers = 0

/** Provokes the barrier record; returns the tag its record names. */
function barrier(): string {
  const tag = `aam-profile-barrier-${process.pid}-${++barriers}`
  const fd = fs.openSync('/proc/self/attr/current', fs.constants.O_WRONLY)
  try {
    fs.writeSync(fd, `changeprofile ${tag}`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  } finally {
    fs.closeSync(fd)
  }
  return tag
}

function kmsgSource(): AuditSource {
  const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  const buf = Buffer.alloc(64 * 1024)
  const drain = (): string[] => {
    const lines: string[] = []
    for (;;) {
      let n: number
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EAGAIN') break
        if (code === 'EPIPE') continue // overwritten before it was read: the next one follows
        throw err
      }
      const rec = buf.toString('utf8', 0, n)
      const semi = rec.indexOf(';')
      const nl = rec.indexOf('\n', semi + 1)
      lines.push(rec.slice(semi + 1, nl === -1 ? undefined : nl))
    }
    return lines
  }
  drain() // what was there before the run
  return {
    kind: 'kmsg',
    collect: () => untilBarrier(drain),
    close: () => fs.closeSync(fd),
  }
}

function auditLogSource(): AuditSource {
  let offset = fs.statSync(AUDIT_LOG).size
  let partial = ''
  const drain = (): string[] => {
    const size = fs.statSync(AUDIT_LOG).size
    if (size < offset) offset = 0 // rotated
    if (size === offset) return []
    const fd = fs.openSync(AUDIT_LOG, 'r')
    try {
      const buf = Buffer.alloc(size - offset)
      const n = fs.readSync(fd, buf, 0, buf.length, offset)
      offset += n
      const text = partial + buf.toString('utf8', 0, n)
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      return lines
    } finally {
      fs.closeSync(fd)
    }
  }
  return { kind: 'audit.log', collect: () => untilBarrier(drain), close: () => undefined }
}

function untilBarrier(drain: () => string[]): string[] {
  const tag = barrier()
  const marker = `name="${tag}"`
  const out: string[] = []
  const deadline = Date.now() + BARRIER_WAIT_MS
  for (;;) {
    for (const l of drain()) {
      if (l.includes(marker)) return out
      if (l.includes('apparmor=')) out.push(l)
    }
    if (Date.now() > deadline) {
      process.stderr.write(`apparmor-monkeys profile: the audit barrier ${tag} was not seen within ${BARRIER_WAIT_MS} ms; records may be incomplete\n`)
      return out
    }
    sleepMs(10)
  }
}

function auditdRuns(): boolean {
  for (const f of AUDITD_PIDS) {
    try {
      const pid = Number(fs.readFileSync(f, 'utf8').trim())
      if (pid > 0 && fs.existsSync(`/proc/${pid}`)) return fs.existsSync(AUDIT_LOG)
    } catch {
      // not this one
    }
  }
  return false
}

/** Opens the record source for a run that starts now. */
export function openAuditSource(): AuditSource {
  return auditdRuns() ? auditLogSource() : kmsgSource()
}
