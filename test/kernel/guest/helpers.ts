/**
 * Helpers for guest tests: they run INSIDE the AppArmor VM as root (node:test, TAP output),
 * each scenario in a fresh process, and read the kernel's audit records from the kernel log.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

export interface Outcome {
  op: string
  ok: boolean
  value?: any
  code?: string
  errno?: string
  message?: string
}

export const TEST_PKG = path.resolve(__dirname, '..', '..', '..')
export const PROBE = path.join(__dirname, 'fixtures', 'probe.js')

/** Runs `argv` (optionally under `aa-exec -p profile`) and returns stdout, failing loudly otherwise. */
export function run(argv: string[], opts: { profile?: string; env?: NodeJS.ProcessEnv } = {}) {
  const full = opts.profile ? ['aa-exec', '-p', opts.profile, '--', ...argv] : argv
  const [cmd, ...args] = full as [string, ...string[]]
  // cwd: the test package, so `node -e "require('@apparmor-monkeys/core')"` resolves
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: opts.env ?? process.env, timeout: 120_000, cwd: TEST_PKG })
  return r
}

/** Runs the probe fixture with these operations; returns one outcome per operation. */
export function probe(ops: unknown[][], opts: { profile?: string; prefix?: string[]; env?: NodeJS.ProcessEnv } = {}): Outcome[] {
  const r = run([...(opts.prefix ?? []), process.execPath, PROBE, JSON.stringify(ops)], opts)
  if (r.status !== 0) {
    throw new Error(`probe exited ${r.status} (${r.signal}): ${r.stderr}\n${r.stdout}`)
  }
  return JSON.parse(r.stdout) as Outcome[]
}

/** The AppArmor audit records logged since the last call (clears the kernel log). */
export function audit(): string[] {
  const r = spawnSync('dmesg', ['-c'], { encoding: 'utf8' })
  return r.stdout.split('\n').filter((l) => l.includes('apparmor='))
}

export function writeSecret(): void {
  fs.writeFileSync('/tmp/secret', 'top secret\n')
  fs.writeFileSync('/tmp/open', 'public\n')
}
