/**
 * Real npm packages under a profile that lets only node exec (runs inside the VM):
 * with the register preload they answer exactly as they do unconfined, and the kernel
 * logs no exec denial; without it, the same run is full of them.
 */
import { test } from 'node:test'
import * as assert from 'node:assert/strict'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'

const TEST_PKG = path.resolve(__dirname, '..', '..', '..')
const FIXTURE = path.join(TEST_PKG, 'packages', 'fixtures', 'real-packages.cjs')
const REGISTER = require.resolve('@apparmor-monkeys/core/register', { paths: [TEST_PKG] })

function audit(): string[] {
  return spawnSync('dmesg', ['-c'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('apparmor='))
}
function fixture(prefix: string[], nodeArgs: string[]) {
  const [cmd, ...args] = [...prefix, process.execPath, ...nodeArgs, FIXTURE] as unknown as [string, ...string[]]
  return spawnSync(cmd, args, { encoding: 'utf8', cwd: TEST_PKG, timeout: 120_000 })
}

test('unconfined baseline, confined with the preload: identical answers, no exec denied', () => {
  audit()
  const base = fixture([], [])
  assert.equal(base.status, 0, base.stderr)
  assert.deepEqual(audit(), [])
  const confined = fixture(['aa-exec', '-p', 'aam-node-only', '--'], ['--require', REGISTER])
  assert.equal(confined.status, 0, confined.stderr)
  const lines = audit()
  assert.deepEqual(lines.filter((l) => l.includes('operation="exec"')), [], lines.join('\n'))
  assert.deepEqual(JSON.parse(confined.stdout), JSON.parse(base.stdout))
})

test('control: the same run without apparmor-monkeys fills the audit log with exec denials', () => {
  audit()
  const bare = fixture(['aa-exec', '-p', 'aam-node-only', '--'], [])
  const denied = audit().filter((l) => l.includes('apparmor="DENIED"') && l.includes('operation="exec"'))
  // measured: 7 denials, then node-machine-id's execSync throws EACCES and the run dies
  assert.notEqual(bare.status, 0, 'without the preload a package crashes on the denied exec')
  assert.match(bare.stderr, /EACCES/)
  assert.ok(denied.length >= 5, `expected exec denials, got ${denied.length}`)
  assert.ok(denied.some((l) => l.includes('name="/usr/bin/dash"')))
  assert.ok(denied.some((l) => l.includes('name="/usr/bin/getconf"')))
})
