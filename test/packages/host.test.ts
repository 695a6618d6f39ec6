// Real packages with exec denied on this host (no AppArmor needed): under the register
// preload with APPARMOR_MONKEYS_UNKNOWN=deny, every answer is the same as a plain run, and
// every exec request was answered in-process (none passed through, none denied).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import t from 'tap'

const TEST_PKG = path.resolve(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'real-packages.cjs')
const REGISTER = require.resolve('@apparmor-monkeys/core/register', { paths: [TEST_PKG] })

t.test('detect-libc 1 and 2, napi-rs loader, node-machine-id: same answers with exec denied', async (t) => {
  const dir = t.testdir({})
  const log = path.join(dir, 'decisions.jsonl')
  const plain = spawnSync(process.execPath, [FIXTURE], { encoding: 'utf8', cwd: TEST_PKG })
  t.equal(plain.status, 0, plain.stderr)
  const env = { ...process.env, APPARMOR_MONKEYS_UNKNOWN: 'deny', APPARMOR_MONKEYS_LOG: log }
  const patched = spawnSync(process.execPath, ['--require', REGISTER, FIXTURE], { encoding: 'utf8', cwd: TEST_PKG, env })
  t.equal(patched.status, 0, patched.stderr)
  const a = JSON.parse(plain.stdout)
  const b = JSON.parse(patched.stdout)
  t.same(b, a, 'identical answers')
  t.match(a, { detectLibc1: { family: 'glibc', method: 'getconf' }, detectLibc2: { familySync: 'glibc' }, napi: { musl: false, via: 'child_process' } })
  t.match(a.machineId.sync, /^[0-9a-f]{32}$/)
  const decisions = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { decision: string; command: string })
  t.ok(decisions.length >= 19, `${decisions.length} exec requests`)
  t.same(decisions.filter((d) => d.decision !== 'emulate'), [], 'every request answered in-process')
})
