#!/usr/bin/env node
/**
 * apparmor-monkeys — the command line.
 *
 *   apparmor-monkeys status [--pid PID] [--json]
 *   apparmor-monkeys exec -p PROFILE [--stack] -- COMMAND [ARGS…]
 *   apparmor-monkeys audit [--json] [--out FILE] -- COMMAND [ARGS…]
 *   apparmor-monkeys vm setup|run …   (delegates to @apparmor-monkeys/vm when it is installed)
 *   apparmor-monkeys profile --name NAME --out DIR [--vm] [--exercise CMD] [--timeout S] [--grace S]
 *                    [--ready tcp:PORT|http:URL|file:PATH] [--child NAME=MATCH]… [--service CMD]…
 *                    [--app-dir DIR] [--data-dir DIR]… -- COMMAND [ARGS…]
 *   apparmor-monkeys --help | --version
 *
 * Conventions: `--help` and `--version` print to stdout and exit 0; usage errors print the
 * usage to stderr and exit 1; machine output (`status --json`, `audit --json`) is on stdout
 * and nothing else is (under `audit --json` the audited command's stdout goes to stderr), so
 * `| jq` works.
 *
 * Exit codes: 0 success; 1 usage or unexpected error; 2 AppArmor is not enabled; 3 the
 * profile is not loaded; 4 the transition is not permitted; 5 `profile`: the learning or the
 * enforce run failed (the exercise failed, a timeout, DENIED records); for `exec` and `audit`,
 * the command's own status (128+N when it died of signal N); `vm …` exits as apparmor-monkeys-vm
 * does, and with 69 when @apparmor-monkeys/vm is not installed.
 */
import { spawn, type StdioOptions } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { AppArmorError, ErrorCodes, isAppArmorError } from './errors'
import { createKernel, parseLabel, type EnabledStatus, type Kernel } from './kernel'
import { withExecProfile } from './confine/exec'
import { adapterError } from './adapter'
import { Procfs } from './kernel/procfs'
import { requireVmPackage, VM_PACKAGE } from './vm-package'

export const EXIT = { OK: 0, USAGE: 1, DISABLED: 2, NOT_FOUND: 3, NOT_PERMITTED: 4, PROFILE_FAILED: 5, VM_NOT_INSTALLED: 69 } as const

const USAGE = `usage:
  apparmor-monkeys status [--pid PID] [--json]
  apparmor-monkeys exec -p PROFILE [--stack] -- COMMAND [ARGS...]
  apparmor-monkeys audit [--json] [--out FILE] -- COMMAND [ARGS...]
  apparmor-monkeys vm setup|run ...
  apparmor-monkeys profile --name NAME --out DIR [--vm] [--exercise CMD] [--timeout S] [--grace S]
                   [--ready tcp:PORT|http:URL|file:PATH] [--child NAME=MATCH]... [--service CMD]...
                   [--app-dir DIR] [--data-dir DIR]... -- COMMAND [ARGS...]
  apparmor-monkeys --help | --version
`

const HELP = `apparmor-monkeys: run Node services under AppArmor profiles

${USAGE}
commands:
  status    Whether AppArmor is enabled (and what to do when it is not), and the label of
            every thread of a process.
              --pid PID   the process to show (default: this one)
              --json      one JSON object on stdout
  exec      Start COMMAND confined in PROFILE from its first instruction (like aa-exec).
              -p, --profile PROFILE   the profile (loaded in the kernel)
              --stack                 stack PROFILE on the current one instead of changing
  audit     Run COMMAND (a Node program) with the register preload and report every exec it
            and its Node children attempted: what was emulated, passed through or denied,
            with the JS stack that asked. The report goes to stderr.
              --json      the report as a JSON array on stdout instead (the command's own
                          stdout then goes to stderr), so "| jq" works
              --out FILE  keep the decision log (one JSON line per decision, with argv) in
                          FILE; by default it is written to a private temporary directory
                          and removed
  vm        The real AppArmor kernel under qemu, for machines without AppArmor: the CLI of
            @apparmor-monkeys/vm (an optional package: npm install @apparmor-monkeys/vm).
            "apparmor-monkeys vm --help" shows its commands (setup, run).

  profile   Learn the AppArmor profiles of a Node app from a run of it, then verify them:
            NAME-boot (COMMAND starts in it) and NAME (what the app changes into: its
            adapter, confine(NAME) or APPARMOR_MONKEYS_PROFILE), both in complain mode;
            runs COMMAND with the register preload, waits until it is ready, runs the
            exercise, stops it (SIGTERM, SIGKILL after --grace), turns the kernel's records
            into rules in DIR/NAME, reloads them in enforce mode and runs app and exercise
            again. Needs root on an AppArmor host, or --vm. See docs/profile.md.
              --name NAME        the runtime profile (the boot profile is NAME-boot)
              --out DIR          where the profile file DIR/NAME is written
              --exercise CMD     a shell command run once the app is ready (unconfined,
                                 same environment); its failure fails the run
              --timeout S        seconds per run until the exercise ends (default 120)
              --grace S          seconds from SIGTERM to SIGKILL when the app is
                                 stopped (default 30; a graceful stop is learned too)
              --ready PROBE      tcp:PORT, http:URL or file:PATH (default: the app's
                                 label became NAME)
              --service CMD      a shell command started (unconfined) before the app in
                                 each run and stopped after it: a service the app needs
                                 to become ready, e.g. redis-server
              --child NAME=MATCH a child confined at exec time (a program name or an
                                 absolute path) gets its own learned profile NAME
              --app-dir DIR      the app's directory, @{APP_DIR} (default: the cwd)
              --data-dir DIR     a directory the app writes below (DIR/** rw)
              --vm               run it all inside the real-kernel VM (@apparmor-monkeys/vm)

options:
  -h, --help      this help (stdout)
  -v, --version   the version (stdout)

exit status: 0 success; 1 usage or unexpected error; 2 AppArmor is not enabled; 3 the profile
is not loaded; 4 the transition is not permitted; 5 profile: the learning or the enforce run
failed or logged DENIED records; for exec and audit, COMMAND's own status (128+N when it died
of signal N); vm: as apparmor-monkeys-vm, 69 when @apparmor-monkeys/vm is not installed.
`

/** The package's version (dist/cli.js sits one level below package.json). */
function version(): string {
  return (require('../package.json') as { version: string }).version
}

/**
 * What to do when AppArmor is not enabled, for the machine this runs on (printed by `status`).
 * Containers share the host's kernel; WSL 2's stock kernel has no AppArmor.
 */
export function disabledHint(enabled: EnabledStatus, env: { wsl: boolean; container: boolean } = detectEnvironment()): string[] {
  const lines: string[] = []
  if (enabled.reason === 'no-securityfs') {
    lines.push('mount securityfs: mount -t securityfs securityfs /sys/kernel/security (systemd does it at boot)')
  }
  if (env.container) {
    lines.push(
      "this looks like a container: it uses the host's kernel, so AppArmor must be enabled on the host, the profiles loaded " +
        'there (apparmor_parser on the host), and the container allowed to change profile (e.g. docker run --security-opt apparmor=<profile>)',
    )
  }
  if (env.wsl) {
    lines.push(
      "WSL 2: Microsoft's kernel is built without AppArmor; use a Linux VM, or a custom WSL kernel with CONFIG_SECURITY_APPARMOR=y " +
        'and kernelCommandLine = apparmor=1 security=apparmor in .wslconfig',
    )
  }
  if (enabled.reason === 'disabled-at-boot') {
    lines.push('AppArmor is built in but off: remove apparmor=0 from the kernel command line, or add apparmor=1 security=apparmor (or lsm=…,apparmor) and reboot')
  } else if (enabled.reason === 'module-absent' && !env.wsl && !env.container) {
    lines.push(
      'this kernel has no AppArmor: boot one that has it (Debian, Ubuntu and SUSE kernels do; add apparmor=1 security=apparmor to ' +
        'the kernel command line if another LSM is the default) and install the userspace tools (apt install apparmor apparmor-utils)',
    )
  } else if (enabled.reason === 'permission-denied') {
    lines.push('the apparmor module\'s parameters are not readable here; run status as a user that can read /sys/module/apparmor/parameters/enabled')
  }
  lines.push('until then, anything asked to confine fails closed with ERR_AA_DISABLED (the adapters refuse to start); see https://github.com/apparmor-monkeys/apparmor-monkeys/blob/main/docs/troubleshooting.md')
  return lines
}

function detectEnvironment(): { wsl: boolean; container: boolean } {
  const wsl = /microsoft|wsl/i.test(os.release())
  let container = fs.existsSync('/.dockerenv') || fs.existsSync('/run/.containerenv')
  if (!container) {
    try {
      container = /\b(docker|containerd|kubepods|libpod|lxc)\b/.test(fs.readFileSync('/proc/1/cgroup', 'utf8'))
    } catch {
      container = false
    }
  }
  return { wsl, container }
}

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
    case ErrorCodes.LEARN_FAILED:
    case ErrorCodes.VERIFY_DENIED:
    case ErrorCodes.PROFILE_LOAD:
      return EXIT.PROFILE_FAILED
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
    io.out(JSON.stringify(enabled.enabled ? { enabled, pid, threads } : { enabled, pid, threads, hint: disabledHint(enabled) }) + '\n')
  } else {
    io.out(`AppArmor: ${enabled.enabled ? 'enabled' : 'NOT enabled'} — ${enabled.message}\n`)
    if (!enabled.enabled) {
      io.out('what to do:\n')
      for (const line of disabledHint(enabled)) io.out(`  - ${line}\n`)
    }
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
  let child: ReturnType<typeof spawn>
  try {
    child = values.stack ? (k.stackOnExec(profile), start()) : withExecProfile(profile, start, { kernel: k, restore: false })
  } catch (err) {
    // Named after the command the user typed, not the library call behind it.
    throw adapterError(err, { prefix: `exec -p ${profile}${values.stack ? ' --stack' : ''}: nothing was started`, profile, operation: 'exec', replacesCall: true })
  }
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
  // --json: stdout carries the report only; the command's own stdout goes to stderr.
  const stdio: StdioOptions = values.json ? ['inherit', process.stderr, 'inherit'] : 'inherit'
  const code = await waitChild(spawn(file, rest, { stdio, env }))
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
    io.out(JSON.stringify(lines) + '\n')
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

/** `vm …`: the CLI of the optional @apparmor-monkeys/vm package, loaded only here. */
async function vm(args: string[], io: Io): Promise<number> {
  let mod: { main?: (argv: string[], io: Io) => Promise<number> }
  try {
    mod = requireVmPackage('vm') as typeof mod
  } catch (err) {
    if (!(err instanceof AppArmorError) || err.code !== ErrorCodes.VM_NOT_INSTALLED) throw err
    io.err(`apparmor-monkeys: ${err.message} [${err.code}]\n`)
    return EXIT.VM_NOT_INSTALLED
  }
  if (typeof mod.main !== 'function') throw new Error(`vm: ${VM_PACKAGE} has no main(); install a version that matches @apparmor-monkeys/core`)
  return mod.main(args, io)
}

/** `profile`: learn and verify (the learner is loaded only for this command). */
export async function profile(args: string[], io: Io): Promise<number> {
  const { parseProfileArgs } = require('./profile/options') as typeof import('./profile/options')
  let opts: ReturnType<typeof parseProfileArgs>
  try {
    opts = parseProfileArgs(args)
  } catch (err) {
    io.err(`apparmor-monkeys: ${(err as Error).message} [${(err as { code?: string }).code}]\n${USAGE}`)
    return EXIT.USAGE
  }
  if (opts.vm) {
    const { learnInVm } = require('./profile/vm') as typeof import('./profile/vm')
    return learnInVm(opts, args, io)
  }
  const { learnInPlace } = require('./profile/learn') as typeof import('./profile/learn')
  const result = await learnInPlace(opts, io)
  io.out(result.summary)
  if (!result.verify.ok) {
    io.err(`apparmor-monkeys: profile: the enforce re-run failed: ${result.verify.reason || `${result.verify.denied.length} DENIED record(s)`} [${result.verify.reason ? ErrorCodes.LEARN_FAILED : ErrorCodes.VERIFY_DENIED}]\n`)
    return EXIT.PROFILE_FAILED
  }
  return EXIT.OK
}

export async function main(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  const [cmd, ...args] = argv
  // Everything after `vm` is the vm package's, --help included.
  if (cmd === 'vm') {
    try {
      return await vm(args, io)
    } catch (err) {
      io.err(`apparmor-monkeys: ${(err as Error).message}\n`)
      return EXIT.USAGE
    }
  }
  const own = split(argv).own
  if (own.includes('-h') || own.includes('--help')) {
    io.out(HELP)
    return EXIT.OK
  }
  if (cmd === '-v' || cmd === '--version') {
    io.out(`${version()}\n`)
    return EXIT.OK
  }
  try {
    switch (cmd) {
      case 'status':
        return status(args, io)
      case 'exec':
        return await exec(args, io)
      case 'audit':
        return await audit(args, io)
      case 'profile':
        return await profile(args, io)
      case undefined:
        io.err(USAGE)
        return EXIT.USAGE
      default:
        io.err(`apparmor-monkeys: unknown command '${cmd}'\n${USAGE}`)
        return EXIT.USAGE
    }
  } catch (err) {
    // parseArgs' own errors (an unknown or incomplete option) are usage errors: say so with the usage.
    const usage = (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true
    io.err(`apparmor-monkeys: ${isAppArmorError(err) ? `${err.message} [${err.code}]` : (err as Error).message}\n${usage ? USAGE : ''}`)
    return exitFor(err)
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}
