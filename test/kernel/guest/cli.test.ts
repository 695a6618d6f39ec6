/**
 * The apparmor-monkeys CLI against real profiles (runs inside the VM).
 */
import { test, before } from 'node:test'
import * as assert from 'node:assert/strict'
import * as path from 'node:path'
import { spawn } from 'node:child_process'
import { audit, run, writeSecret, TEST_PKG } from './helpers'

const CLI = path.join(path.dirname(require.resolve('@apparmor-monkeys/core/package.json', { paths: [TEST_PKG] })), 'dist', 'cli.js')
const LABELS = "const fs=require('fs');fs.promises.readFile('/etc/hostname').then(()=>{const l=fs.readdirSync('/proc/self/task').map(t=>fs.readFileSync('/proc/self/task/'+t+'/attr/apparmor/current','utf8').trim());let s;try{fs.readFileSync('/tmp/secret');s='OK'}catch(e){s=e.code}console.log(JSON.stringify({n:l.length,labels:[...new Set(l)],s}));process.exitCode=Number(process.argv[1]||0)})"

before(() => {
  writeSecret()
  audit()
})

test('status: enabled, and the label of every thread', () => {
  const r = run([process.execPath, CLI, 'status'])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^AppArmor: enabled/)
  const pid = /process (\d+): \d+ thread\(s\)/.exec(r.stdout)?.[1]
  assert.ok(pid, r.stdout)
  // The main thread's row (its comm is `node`, `MainThread` or `node-MainThread` by Node line).
  assert.match(r.stdout, new RegExp(`\\n\\s+${pid}\\s+\\S+\\s+unconfined\\n`))
})

test('status --pid of a confined process, as JSON', async () => {
  const child = spawn('aa-exec', ['-p', 'aam-target', '--', process.execPath, '-e', 'setTimeout(() => {}, 20000)'])
  await new Promise((r) => setTimeout(r, 1500))
  try {
    const r = run([process.execPath, CLI, 'status', '--json', '--pid', String(child.pid)])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.enabled.enabled, true)
    assert.ok(out.threads.length >= 7)
    assert.deepEqual([...new Set(out.threads.map((t: { label: string }) => t.label))], ['aam-target (enforce)'])
  } finally {
    child.kill('SIGKILL')
  }
})

test('exec -p: the command starts confined in all its threads and its exit status is passed on', () => {
  const r = run([process.execPath, CLI, 'exec', '-p', 'aam-target', '--', process.execPath, '-e', LABELS, '7'])
  assert.equal(r.status, 7, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.deepEqual(out.labels, ['aam-target (enforce)'])
  assert.ok(out.n >= 11)
  assert.equal(out.s, 'EACCES')
})

test('exec -p with a missing profile: exit 3 and a clear message, nothing runs', () => {
  const r = run([process.execPath, CLI, 'exec', '-p', 'aam-missing', '--', process.execPath, '-e', 'console.log("ran")'])
  assert.equal(r.status, 3)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, /profile 'aam-missing' is not loaded.*\[ERR_AA_NOT_FOUND\]/)
})

test('exec -p not permitted by the current profile: exit 4', () => {
  const r = run([process.execPath, CLI, 'exec', '-p', 'aam-target', '--', '/bin/true'], { profile: 'aam-nochange' })
  assert.equal(r.status, 4, r.stderr)
  assert.match(r.stderr, /does not allow.*change_profile -> aam-target,.*\[ERR_AA_NOT_PERMITTED\]/)
})

test('exec: a signal that kills the command gives 128+N', () => {
  const r = run([process.execPath, CLI, 'exec', '-p', 'aam-target', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")'])
  assert.equal(r.status, 143)
})
