/**
 * The everyday shell-outs (issue 14) under a profile that lets only node exec, inside the VM:
 * username as a uid without a passwd entry, fullname with and without a git config,
 * default-gateway with the shipped ip profile and an exec-time confine rule, getos. Each is
 * run unconfined without the preload (the baseline) and confined with it: identical answers,
 * and no exec denied.
 */
import { test } from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'

const TEST_PKG = path.resolve(__dirname, '..', '..', '..')
const FIXTURE = path.join(TEST_PKG, 'packages', 'fixtures', 'everyday.mjs')
const REGISTER = require.resolve('@apparmor-monkeys/core/register', { paths: [TEST_PKG] })

function audit(): string[] {
  return spawnSync('dmesg', ['-c'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('apparmor='))
}

interface Run {
  readonly profile?: string
  readonly uid?: number
  readonly env?: Record<string, string>
}

function fixture(scenario: string, o: Run, confined: boolean) {
  const prefix = confined ? ['aa-exec', '-p', o.profile ?? 'aam-node-only', '--'] : []
  const nodeArgs = confined ? ['--require', REGISTER] : []
  const [cmd, ...args] = [...prefix, process.execPath, ...nodeArgs, FIXTURE, scenario] as unknown as [string, ...string[]]
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/root', ...o.env }
  return spawnSync(cmd, args, { encoding: 'utf8', cwd: '/tmp', env, timeout: 120_000, ...(o.uid === undefined ? {} : { uid: o.uid, gid: o.uid }) })
}

/** Baseline and confined runs: the same JSON, and the confined run denied no exec (nor anything, when `noDenied`). */
function same(scenario: string, o: Run, noDenied = false): Record<string, unknown> {
  audit()
  const base = fixture(scenario, o, false)
  assert.equal(base.status, 0, base.stderr)
  audit()
  const confined = fixture(scenario, o, true)
  const lines = audit()
  assert.equal(confined.status, 0, confined.stderr)
  assert.deepEqual(lines.filter((l) => l.includes('operation="exec"')), [], lines.join('\n'))
  if (noDenied) assert.deepEqual(lines.filter((l) => l.includes('apparmor="DENIED"')), [], lines.join('\n'))
  const a = JSON.parse(base.stdout) as Record<string, unknown>
  assert.deepEqual(JSON.parse(confined.stdout), a)
  return a
}

test('username as a uid without a passwd entry', () => {
  const a = same('username', { uid: 4242 })
  assert.deepEqual(a['username'], { value: 'no-username-4242' })
  assert.match(JSON.stringify(a['idUn']), /no such user/)
})

test('fullname with a git config', () => {
  fs.mkdirSync('/tmp/aam-home-git', { recursive: true })
  // root's passwd name, so that whichever probe answers first the package says the same.
  fs.writeFileSync('/tmp/aam-home-git/.gitconfig', '[user]\n\tname = root\n\temail = root@example.org\n')
  const a = same('fullname', { env: { HOME: '/tmp/aam-home-git' } })
  assert.deepEqual(a['fullname'], { value: 'root' })
  assert.equal((a['git'] as { stdout: string }).stdout, 'root\n')
})

test('fullname without a git config', () => {
  fs.mkdirSync('/tmp/aam-home-empty', { recursive: true })
  const a = same('fullname', { env: { HOME: '/tmp/aam-home-empty' } })
  assert.deepEqual(a['fullname'], { value: 'root' })
  assert.equal((a['git'] as { exitCode: number }).exitCode, 1)
})

test('default-gateway: ip in its own profile by the exec-time confine rule', () => {
  const a = same('default-gateway', { profile: 'aam-node-ip', env: { APPARMOR_MONKEYS_CONFINE: 'ip=apparmor-monkeys-ip-route' } }, true)
  const ip = a['ip'] as { stdout: string; exitCode: number }
  assert.equal(ip.exitCode, 0)
  assert.notEqual(ip.stdout, '', 'the route step left routes to print')
  // The route step (test/packages/vm.test.ts) adds a default route over lo.
  assert.match(ip.stdout, /^default via 192\.0\.2\.1 dev lo/)
  assert.deepEqual(a['async'], { value: { gateway: '192.0.2.1', version: 4, int: 'lo' } })
})

test('getos: lsb_release -a through sh -c', () => {
  same('getos', {})
})
