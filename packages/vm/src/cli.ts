#!/usr/bin/env node
/**
 * apparmor-monkeys-vm — the command line of @apparmor-monkeys/vm (also `apparmor-monkeys vm …`).
 *
 *   apparmor-monkeys-vm setup [--check] [--refresh]
 *   apparmor-monkeys-vm run [options] -- COMMAND [ARGS…]
 *
 * Exit status: see HELP (EXIT below).
 */
import { parseArgs } from 'node:util'
import { isVmError, VmErrorCodes, type VmErrorCode } from './errors'
import type { VmProfile } from './options'
import { setupVm } from './setup'
import { runVm } from './vm'

export const EXIT = {
  OK: 0,
  /** setup --check: the VM is not ready (what is missing is on stderr). */
  NOT_SET_UP: 3,
  USAGE: 64,
  /** A profile does not compile, or a profile file is missing. */
  PROFILE: 65,
  /** The VM cannot run here (missing packages or cache, not a Debian-like x86_64 host). */
  UNAVAILABLE: 69,
  /** The VM failed: qemu, the guest's mounts or profile load, the run's time limit. */
  VM_FAILED: 70,
  /** The command hit --timeout (SIGKILL). */
  TIMED_OUT: 124,
} as const

const USAGE = `usage:
  apparmor-monkeys-vm setup [--check] [--refresh]
  apparmor-monkeys-vm run [--profile FILE]... [--complain FILE]... [--share DIR]... [--overlay DIR]...
                          [--env K=V]... [--cwd DIR] [--uid N] [--gid N] [--timeout S] [--out DIR]
                          [--json] -- COMMAND [ARGS...]
  apparmor-monkeys-vm --help | --version
`

const HELP = `apparmor-monkeys-vm: run a command on a real AppArmor kernel (Debian's, under qemu; no KVM needed)

${USAGE}
commands:
  setup     Install what is missing (apt-get, as root or through sudo: qemu-system-x86, apparmor,
            busybox-static, cpio, util-linux), download Debian's stock kernel (never installed)
            and build the initramfs, into $AAM_VM_DIR (default ~/.cache/apparmor-monkeys/vm).
              --check     only report: exit 0 when ready, 3 with what is missing when not
              --refresh   resolve the kernel package again
  run       Boot the VM, load the profiles, run COMMAND as root in the guest (the host's files,
            read-only; /tmp is an empty tmpfs), then print its stdout and stderr, and the
            kernel's AppArmor records (apparmor="DENIED", "ALLOWED", ...) printed while it ran on
            stderr, each line prefixed "[vm] ".
              --profile FILE   load FILE in enforce mode (repeatable)
              --complain FILE  load FILE in complain mode (repeatable)
              --share DIR      mount host DIR read-only at its own path (repeatable; the
                               current directory is always shared)
              --overlay DIR    make DIR writable at its own path (writes stay in the guest)
              --env K=V        set a variable for COMMAND (repeatable)
              --cwd DIR        COMMAND's directory (default: the current one)
              --uid N, --gid N run COMMAND as this user/group
              --timeout S      kill COMMAND after S seconds (default 120)
              --out DIR        host directory the guest's $AAM_VM_OUT writes to (kept)
              --json           one JSON object on stdout instead (status, signal, timedOut,
                               stdout, stderr, audit, bootMs, totalMs, profilesLoaded)

exit status: run: COMMAND's own status (128+N when it died of signal N), 124 when it hit
--timeout; setup: 0 ready, 3 not ready (--check). Both: 64 usage error; 65 a profile does
not compile; 69 the VM cannot run here (run setup; not a Debian-like x86_64 host); 70 the VM
failed (boot, guest mounts or profile load, the run's time limit); 1 unexpected error.
`

export interface Io {
  out(s: string): void
  err(s: string): void
}

const defaultIo: Io = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) }

function version(): string {
  return (require('../package.json') as { version: string }).version
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 }

function exitFor(err: unknown): number {
  if (!isVmError(err)) return 1
  const map: Partial<Record<VmErrorCode, number>> = {
    [VmErrorCodes.OPTIONS]: EXIT.USAGE,
    [VmErrorCodes.PROFILE]: EXIT.PROFILE,
    [VmErrorCodes.NOT_READY]: EXIT.UNAVAILABLE,
    [VmErrorCodes.UNSUPPORTED_HOST]: EXIT.UNAVAILABLE,
    [VmErrorCodes.SETUP_FAILED]: EXIT.VM_FAILED,
    [VmErrorCodes.GUEST_SETUP]: EXIT.VM_FAILED,
    [VmErrorCodes.BOOT_FAILED]: EXIT.VM_FAILED,
    [VmErrorCodes.TIMEOUT]: EXIT.VM_FAILED,
  }
  return map[err.code] ?? 1
}

class UsageError extends Error {}

async function setup(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { check: { type: 'boolean' }, refresh: { type: 'boolean' } }, strict: true })
  const r = await setupVm({ check: values.check === true, refresh: values.refresh === true, stdio: 'inherit' })
  if (r.output !== '') io.err(`${r.output.trimEnd()}\n`)
  return r.ready ? EXIT.OK : EXIT.NOT_SET_UP
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`)
  return Number(v)
}

async function run(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      profile: { type: 'string', multiple: true },
      complain: { type: 'string', multiple: true },
      share: { type: 'string', multiple: true },
      overlay: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      cwd: { type: 'string' },
      uid: { type: 'string' },
      gid: { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  })
  if (positionals.length === 0) throw new UsageError('run: no COMMAND given (after --)')
  const env: Record<string, string> = {}
  for (const kv of values.env ?? []) {
    const eq = kv.indexOf('=')
    if (eq <= 0) throw new UsageError(`--env must be K=V, got ${JSON.stringify(kv)}`)
    env[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  let timeoutSec: number | undefined
  if (values.timeout !== undefined) {
    timeoutSec = Number(values.timeout)
    if (!(timeoutSec > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}`)
  }
  const profiles: VmProfile[] = [
    ...(values.profile ?? []).map((p) => ({ path: p, mode: 'enforce' as const })),
    ...(values.complain ?? []).map((p) => ({ path: p, mode: 'complain' as const })),
  ]
  const uid = int('uid', values.uid)
  const gid = int('gid', values.gid)
  const r = await runVm({
    profiles,
    shares: values.share ?? [],
    overlays: values.overlay ?? [],
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    steps: [
      {
        name: positionals.join(' '),
        argv: positionals,
        env,
        ...(values.cwd !== undefined ? { cwd: values.cwd } : {}),
        ...(uid !== undefined ? { uid } : {}),
        ...(gid !== undefined ? { gid } : {}),
        ...(timeoutSec !== undefined ? { timeoutSec } : {}),
      },
    ],
  })
  const step = r.steps[0]
  if (step === undefined) throw new Error('run: the VM returned no step result')
  const code = step.timedOut ? EXIT.TIMED_OUT : step.status ?? 128 + (SIGNALS[step.signal ?? ''] ?? 0)
  if (values.json) {
    const { status, signal, timedOut, stdout, stderr, durationMs } = step
    io.out(JSON.stringify({ status, signal, timedOut, stdout, stderr, durationMs, audit: step.audit, bootMs: r.bootMs, totalMs: r.totalMs, profilesLoaded: r.profilesLoaded, ...(r.outDir ? { outDir: r.outDir } : {}) }) + '\n')
    return code
  }
  io.out(step.stdout)
  io.err(step.stderr)
  for (const line of step.audit) io.err(`[vm] ${line}\n`)
  if (step.timedOut) io.err(`apparmor-monkeys-vm: ${positionals[0]} timed out after ${timeoutSec ?? 120} s (killed)\n`)
  return code
}

/** Runs the CLI with `argv` (without node and the script); resolves with the exit status. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [cmd, ...args] = argv
  const dashdash = argv.indexOf('--')
  const own = dashdash === -1 ? argv : argv.slice(0, dashdash)
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
      case 'setup':
        return await setup(args, io)
      case 'run':
        return await run(args, io)
      case undefined:
        io.err(USAGE)
        return EXIT.USAGE
      default:
        io.err(`apparmor-monkeys-vm: unknown command '${cmd}'\n${USAGE}`)
        return EXIT.USAGE
    }
  } catch (err) {
    const usage = err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true
    io.err(`apparmor-monkeys-vm: ${isVmError(err) ? `${err.message} [${err.code}]` : (err as Error).message}\n${usage ? USAGE : ''}`)
    return usage ? EXIT.USAGE : exitFor(err)
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}
