/**
 * `profile --vm`: the whole learner, run in place inside the real-kernel VM of
 * `@apparmor-monkeys/vm` (an optional peer dependency, loaded only here). One VM step runs
 * this same CLI in the guest (root, AppArmor on) with the app's directory and the data
 * directories writable (overlays: the guest's writes are discarded), writes the profile file
 * to the step's `AAM_VM_OUT`, and the file is copied to `--out` on the host.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { requireVmPackage } from '../vm-package'
import type { ProfileOptions, ReadyProbe } from './options'

/** The part of `@apparmor-monkeys/vm`'s API this file uses. */
export interface VmApi {
  runVm(opts: {
    steps: Array<{ name: string; argv: string[]; env?: Record<string, string>; cwd?: string; timeoutSec?: number }>
    overlays?: string[]
    shares?: string[]
    outDir?: string
    timeoutMs?: number
  }): Promise<{ steps: Array<{ status: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }>; outDir?: string }>
}

interface Io {
  out: (s: string) => void
  err: (s: string) => void
}

/** Variables of the caller's environment that describe the host, not the app: not passed into the guest. */
const HOST_ONLY = new Set(['PATH', 'HOME', 'TMPDIR', 'PWD', 'OLDPWD', 'SHLVL', '_', 'TERM', 'DISPLAY', 'SSH_AUTH_SOCK', 'XDG_RUNTIME_DIR'])

function readyArg(r: ReadyProbe): string[] {
  return r.kind === 'label' ? [] : ['--ready', r.kind === 'tcp' ? `tcp:${r.port}` : r.kind === 'http' ? `http:${r.url}` : `file:${r.path}`]
}

/** The guest step's argv: `sh -c` only to put `$AAM_VM_OUT` into `--out`. */
export function guestArgv(opts: ProfileOptions, node: string, cli: string): string[] {
  const own = [
    '--name',
    opts.name,
    ...(opts.exercise !== null ? ['--exercise', opts.exercise] : []),
    '--timeout',
    String(opts.timeoutSec),
    '--grace',
    String(opts.graceSec),
    ...readyArg(opts.ready),
    ...opts.children.flatMap((c) => ['--child', `${c.name}=${c.match}`]),
    ...opts.services.flatMap((c) => ['--service', c]),
    '--app-dir',
    opts.appDir,
    ...opts.dataDirs.flatMap((d) => ['--data-dir', d]),
  ]
  const script = 'cli=$1; shift; exec "$0" "$cli" profile --out "$AAM_VM_OUT/profile" "$@"'
  return ['/bin/sh', '-c', script, node, cli, ...own, '--', ...opts.command]
}

export function loadVm(): VmApi {
  return requireVmPackage('profile --vm') as VmApi
}

export async function learnInVm(opts: ProfileOptions, _args: readonly string[], io: Io, vm: VmApi = loadVm()): Promise<number> {
  const cli = path.resolve(__dirname, '..', 'cli.js')
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !HOST_ONLY.has(k)) env[k] = v
  // The guest's $AAM_VM_OUT: a private directory of ours, removed once the profile is copied.
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-profile-vm-'))
  try {
    const result = await vm.runVm({
      steps: [{ name: `profile ${opts.name}`, argv: guestArgv(opts, process.execPath, cli), env, cwd: process.cwd(), timeoutSec: (opts.timeoutSec + opts.graceSec) * 2 + 60 }],
      overlays: [...new Set([opts.appDir, ...opts.dataDirs])],
      outDir,
    })
    const step = result.steps[0]!
    io.err(step.stderr)
    io.out(step.stdout)
    const produced = path.join(outDir, 'profile', opts.name)
    if (fs.existsSync(produced)) {
      fs.mkdirSync(opts.out, { recursive: true })
      fs.copyFileSync(produced, path.join(opts.out, opts.name))
      io.err(`apparmor-monkeys profile --vm: copied the profile to ${path.join(opts.out, opts.name)}\n`)
    }
    if (step.timedOut) io.err('apparmor-monkeys profile --vm: the VM step timed out\n')
    return step.status ?? 5
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true })
  }
}
