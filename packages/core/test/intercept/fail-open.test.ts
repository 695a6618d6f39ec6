// Fail open: native spawn calls in a shape the interception does not know (a future Node line)
// reach Node's native untouched, the app keeps working, and each layer reports it once; so do
// all calls when the runtime cannot be loaded (but a confine rule then refuses: fail closed).
import * as fs from 'node:fs'
import * as path from 'node:path'
import t from 'tap'
import { cleanEnv, copyPackage, jsonFixture, node } from './helpers'

t.test('an unknown native call shape is handed through, never thrown, and reported once per layer', async (t) => {
  const dir = t.testdir({})
  const { result: r, run } = jsonFixture<Record<string, any>>(dir, 'fail-open.cjs')
  t.equal(run.status, 0, run.stderr)
  t.same(r.exec, { err: null, stdout: 'hi\n', stderr: 'err\n' }, 'exec: the real command ran')
  t.same(r.execFilePromise.resolved, { stdout: 'promised\n', stderr: '' })
  t.same(r.spawn.events.map((e: unknown[]) => e[0]), ['spawn', 'exit', 'close'])
  t.equal(r.spawn.exitCode, 3)
  t.same(r.missing.events.map((e: unknown[]) => e[0]), ['error', 'close'], 'a spawn error is still an event, not a throw')
  t.match(r.missing.events[0][1], { props: { code: 'ENOENT' } })
  t.match(r.earlySpawnSync, { status: 0, stdout: { $buffer: 'early\n' } })
  t.same(r.execSync, { returned: 'sync\n' })
  t.match(r.execFileSyncFails.threw, { $error: 'Error', props: { status: 5 } })
  // Every async call went to the native, in its own shape: nothing was emulated or retired.
  t.equal(r.seenBelow.spawn, 4)
  // The sync APIs are read at the public API first (its arguments are Node's documented ones):
  // execSync and execFileSync were answered there; the reference taken before install reached
  // the binding in the unknown shape and went to the native.
  t.equal(r.seenBelow.spawnSync, 1)
  const failOpen = r.events.filter((e: any) => e.reason === 'fail-open')
  t.equal(failOpen.length, 2, 'once per layer')
  t.same(failOpen.map((e: any) => e.api).sort(), ['spawn', 'spawnSync'])
  for (const e of failOpen) {
    t.match(e, { decision: 'passthrough', command: '', file: '', args: [] })
    t.match(e.detail, /called with 1 argument \(object\)$/)
  }
  t.same(r.events.filter((e: any) => e.reason !== 'fail-open').map((e: any) => e.decision), ['emulate', 'emulate'], 'the API layer still decides the sync calls it reads itself')
})

t.test('without its runtime (an unreadable bundle), every call runs for real with one warning, and a confine rule refuses', async (t) => {
  // A copy of the package whose runtime bundle is gone: reading it fails as a profile that does
  // not grant the package's directory makes it fail (ENOENT here, EACCES under the kernel).
  const pkg = t.testdir({})
  copyPackage(pkg)
  fs.rmSync(path.join(pkg, 'dist', 'intercept', 'runtime.bundle.js'))
  const register = path.join(pkg, 'dist', 'register.js')
  const script = `
    const cp = require('node:child_process')
    const out = { execSync: cp.execSync('echo sync').toString(), spawnSync: cp.spawnSync('echo', ['spawn']).stdout.toString() }
    try { cp.execFileSync('sh', ['-c', 'exit 5']) } catch (err) { out.status = err.status }
    cp.exec('echo async', (err, stdout) => { out.exec = [err, stdout]; console.log(JSON.stringify(out)) })`
  const r = node(['--require', register, '-e', script])
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout), { execSync: 'sync\n', spawnSync: 'spawn\n', status: 5, exec: [null, 'async\n'] }, 'the real commands ran, sync and async')
  const warnings = r.stderr.match(/APPARMOR_MONKEYS_NO_RUNTIME/g) ?? []
  t.equal(warnings.length, 1, 'one warning')
  t.match(r.stderr, /could not load its runtime \(.*runtime\.bundle\.js.*\); processes are started as without it/, 'naming the file and the fix')
  t.match(r.stderr, /@apparmor-monkeys\/core's directory \(DIR\/\*\* r\)/)
  // With children to confine at exec time, a start is refused: unconfined would be wrong.
  const confined = node(['--require', register, '-e', `
    const cp = require('node:child_process')
    try { cp.execSync('echo no') ; console.log('ran') } catch (err) { console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message })) }
    cp.exec('echo no', (err) => console.log(JSON.stringify({ async: err && err.code })))`], { env: cleanEnv({ APPARMOR_MONKEYS_CONFINE: 'echo=aam-some-profile' }) })
  const lines = confined.stdout.trim().split('\n')
  t.match(JSON.parse(lines[0] ?? 'null'), { name: 'AppArmorError', code: 'ERR_AA_UNAVAILABLE', message: /runtime could not be loaded .*a child matching a confine rule would run unconfined/ }, confined.stderr)
  t.notOk(confined.stdout.includes('ran'), 'nothing started')
})
