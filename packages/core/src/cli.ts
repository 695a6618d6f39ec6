#!/usr/bin/env node
/**
 * apparmor-monkeys — the command line.
 *
 *   apparmor-monkeys status [--pid PID] [--json]
 *   apparmor-monkeys exec -p PROFILE [--stack] -- COMMAND [ARGS…]
 *   apparmor-monkeys audit [--json] [--out FILE] -- COMMAND [ARGS…]
 *
 * Exit codes: 0 success; 1 usage or unexpected error; 2 AppArmor is not enabled; 3 the
 * profile is not loaded; 4 the transition is not permitted; for `exec` and `audit`, the
 * command's own status (128+N when it died of signal N).
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { AppArmorError, ErrorCodes, isAppArmorError } from './errors'
import { createKernel, parseLabel, type EnabledStatus, type Kernel } from './kernel'
import { withExecProfile } from './confine/exec'
import { Procfs } from './kernel/procfs'

export const EXIT = { OK: 0, USAGE: 1, DISABLED: 2, NOT_FOUND: 3, NOT_PERMITTED: 4 } as const

const USAGE = `usage:
  apparmor-monkeys status [--pid PID] [--json]
  apparmor-monkeys exec -p PROFILE [--stack] -- COMMAND [ARGS...]
  apparmor-monkeys audit [--json] [--out FILE] -- COMMAND [ARGS...]
`

interface Io {
  out: (s: string) => void
  err: (s: string) => void
}

function exitFor(err: unknown): number {
  if (!isAppArmorError(err)) return EXIT.USAGE
  switch (err.code) {
    case ErrorCodes.DISABLED:
      return EXIT.DISABLED
    case ErrorCodes.NOT_FOUND:
      return EXIT.NOT_FOUND
    case ErrorCodes.NOT_PERMITTED:
    case ErrorCodes.NO_NEW_PRIVS:
    case ErrorCodes.RESTORE_FAILED:
      return EXIT.NOT_PERMITTED
    default:
      return EXIT.USAGE
  }
}

function split(argv: string[]): { own: string[]; command: string[] } {
  const dd = argv.indexOf('--')
  return dd < 0 ? { own: argv, command: [] } : { own: argv.slice(0, dd), command: argv.slice(dd + 1) }
}

interface ThreadRow {
  tid: number
  comm: string
  label: string
}

function threadsOf(pid: number): ThreadRow[] {
  const base = `/proc/${pid}/task`
  const rows: ThreadRow[] = []
  // Labels read from anything but procfs prove nothing (ERR_AA_FAKE_PROCFS; docs/security.md).
  const procfs = new Procfs()
  const ctx = { operation: 'status' }
  procfs.assertProcfs(['/proc', base], ctx)
  const dir = fs.existsSync(`/proc/${pid}/attr/apparmor`) ? 'attr/apparmor/current' : 'attr/current'
  for (const tid of fs.readdirSync(base).map(Number).sort((a, b) => a - b)) {
    try {
      procfs.assertProcfs([`${base}/${tid}/${dir}`], ctx)
      const label = fs.readFileSync(`${base}/${tid}/${dir}`, 'utf8')
      const comm = fs.readFileSync(`${base}/${tid}/comm`, 'utf8').trim()
      rows.push({ tid, comm, label: parseLabel(label).raw })
    } catch (err) {
      if (isAppArmorError(err)) throw err
      // thread exited
    }
  }
  return rows
}

export function status(args: string[], io: Io, k: Kernel = createKernel()): number {
  const { values } = parseArgs({ args, options: { pid: { type: 'string' }, json: { type: 'boolean' } }, strict: true })
  const enabled: EnabledStatus = k.isEnabled()
  const pid = values.pid === undefined ? process.pid : Number(values.pid)
  if (!Number.isInteger(pid) || pid <= 0) throw new AppArmorError(ErrorCodes.OPTIONS, `--pid must be a process id, got ${values.pid}`)
  const threads = enabled.enabled ? threadsOf(pid) : []
  if (values.json) {
    io.out(JSON.stringify({ enabled, pid, threads }) + '\n')
  } else {
    io.out(`AppArmor: ${enabled.enabled ? 'enabled' : 'NOT enabled'} — ${enabled.message}\n`)
    if (enabled.enabled) {
      io.out(`process ${pid}: ${threads.length} thread(s)\n`)
      io.out(`${'TID'.padStart(8)}  ${'COMM'.padEnd(16)}  LABEL\n`)
      for (const t of threads) io.out(`${String(t.tid).padStart(8)}  ${t.comm.padEnd(16)}  ${t.label}\n`)
    }
  }
  return enabled.enabled ? EXIT.OK : EXIT.DISABLED
}

function waitChild(child: ReturnType<typeof spawn>): Promise<number> {
  const forward = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const
  const handlers = forward.map((sig) => {
    const h = () => child.kill(sig)
    process.on(sig, h)
    return () => process.off(sig, h)
  })
  return new Promise((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      handlers.forEach((off) => off())
      process.stderr.write(`apparmor-monkeys: cannot run ${child.spawnfile}: ${err.message}\n`)
      resolve(err.code === 'ENOENT' ? 127 : 126)
    })
    child.once('exit', (code, signal) => {
      handlers.forEach((off) => off())
      resolve(signal ? 128 + (os.constants.signals[signal] ?? 0) : (code ?? 1))
    })
  })
}

export async function exec(args: string[], io: Io, k: Kernel = createKernel()): Promise<number> {
  const { own, command } = split(args)
  const { values } = parseArgs({ args: own, options: { profile: { type: 'string', short: 'p' }, stack: { type: 'boolean' } }, strict: true })
  if (!values.profile || command.length === 0) {
    io.err(USAGE)
    return EXIT.USAGE
  }
  const profile = values.profile
  const [file, ...rest] = command as [string, ...string[]]
  const start = () => spawn(file, rest, { stdio: 'inherit' })
  // This process execs nothing else afterwards, so the onexec attribute need not be restored.
  const child = values.stack
    ? (k.stackOnExec(profile), start())
    : withExecProfile(profile, start, { kernel: k, restore: false })
  return waitChild(child)
}

interface AuditLine {
  pid?: number
  command?: string
  decision?: string
  profile?: string
  stack?: string
  durationNs?: number
}

export async function audit(args: string[], io: Io): Promise<number> {
  const { own, command } = split(args)
  const { values } = parseArgs({ args: own, options: { json: { type: 'boolean' }, out: { type: 'string' } }, strict: true })
  if (command.length === 0) {
    io.err(USAGE)
    return EXIT.USAGE
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apparmor-monkeys-audit-'))
  const log = values.out ?? path.join(dir, 'decisions.jsonl')
  const register = require.resolve('./register')
  const env = {
    ...process.env,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require=${register}`.trim(),
    APPARMOR_MONKEYS_LOG: log,
    // audit shows the command lines to the developer who runs it: the log is in a private
    // directory (or --out), not a service's shared one (docs/security.md).
    APPARMOR_MONKEYS_LOG_ARGV: '1',
  }
  const [file, ...rest] = command as [string, ...string[]]
  const code = await waitChild(spawn(file, rest, { stdio: 'inherit', env }))
  let lines: AuditLine[] = []
  try {
    lines = fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine)
  } catch {
    lines = []
  }
  if (values.out === undefined) fs.rmSync(dir, { recursive: true, force: true })
  if (values.json) {
    io.err(JSON.stringify(lines) + '\n')
  } else {
    const counts = new Map<string, number>()
    for (const l of lines) counts.set(l.decision ?? '?', (counts.get(l.decision ?? '?') ?? 0) + 1)
    io.err(`\napparmor-monkeys audit: ${lines.length} exec attempt(s)` + (lines.length ? ` (${[...counts].map(([d, n]) => `${n} ${d}`).join(', ')})` : '') + '\n')
    for (const l of lines) {
      const frame = (l.stack ?? '').split('\n').find((s) => s.trim().length > 0)?.trim() ?? ''
      io.err(`  ${String(l.pid ?? '').padStart(7)}  ${(l.decision ?? '?').padEnd(11)}  ${l.command ?? ''}\n`)
      if (frame) io.err(`           ${''.padEnd(11)}  ${frame}\n`)
    }
  }
  return code
}

export async function main(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  const [cmd, ...args] = argv
  try {
    switch (cmd) {
      case 'status':
        return status(args, io)
      case 'exec':
        return await exec(args, io)
      case 'audit':
        return await audit(args, io)
      case undefined:
      case '-h':
      case '--help':
        io.err(USAGE)
        return cmd === undefined ? EXIT.USAGE : EXIT.OK
      default:
        io.err(`apparmor-monkeys: unknown command '${cmd}'\n${USAGE}`)
        return EXIT.USAGE
    }
  } catch (err) {
    io.err(`apparmor-monkeys: ${isAppArmorError(err) ? `${err.message} [${err.code}]` : (err as Error).message}\n`)
    return exitFor(err)
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}
