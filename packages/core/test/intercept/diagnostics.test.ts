// The `apparmor-monkeys:exec` diagnostics channel: one event per decision, its exact payload,
// the caller's stack, and no cost while nobody listens.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { EXEC_CHANNEL } from '../../src/intercept'
import { DIST, FIXTURES, cleanEnv, copyPackage, jsonFixture, node } from './helpers'

t.test('every decision is published with its command, decision, timing and caller', async (t) => {
  t.equal(EXEC_CHANNEL, 'apparmor-monkeys:exec')
  const dir = t.testdir({})
  const { result: r, run } = jsonFixture<{ withoutSubscribers: number; events: any[]; rawCount: number; sameObjects: boolean }>(dir, 'diagnostics.cjs')
  t.equal(run.status, 0, run.stderr)
  t.equal(r.withoutSubscribers, 0, 'no stack is captured without subscribers')
  t.equal(r.events.length, 4)
  t.equal(r.rawCount, 5, 'diagnostics_channel subscribers get the same events (and the one after unsubscribe)')
  t.ok(r.sameObjects)
  const fixture = path.join(FIXTURES, 'diagnostics.cjs')
  const [emulated, denied, confined, buggy] = r.events
  t.same(Object.keys(emulated).sort(), ['api', 'args', 'command', 'decision', 'durationNs', 'file', 'reason', 'stack'])
  t.match(emulated, { command: 'known', file: '/bin/sh', args: ['-c', 'known'], decision: 'emulate', reason: 'emulated', api: 'spawnSync' })
  t.ok(emulated.durationNs > 0 && emulated.durationNs < 1e9)
  const frames = emulated.stack.split('\n')
  t.match(frames[0], `at caller (${fixture}:`)
  t.match(frames[1], `at Object.<anonymous> (${fixture}:`)
  t.notOk(/node:|\/dist\//.test(emulated.stack), 'no frames of Node or of this package')
  t.ok(frames.length <= 5)
  t.match(denied, { command: "curl -s 'it'\\''s'", file: 'curl', args: ['-s', "it's"], decision: 'deny', reason: 'deny-rule', api: 'spawn' })
  t.match(confined, { command: '/bin/sleep 0', decision: 'confine', reason: 'confine-rule', profile: 'p-sleep', api: 'spawnSync' })
  t.match(buggy, { command: 'boom x', decision: 'passthrough', reason: 'unknown', emulatorError: 'emulator bug' })
})

t.test('the package installed at another path than it was built at: the caller stack still leaves its frames out, and names no build path', async (t) => {
  // The runtime is compiled from a code cache made at the build path (scripts/bundle.mjs); a
  // V8 that names such a script as its maker did (Node 20) must not let those frames through.
  const pkg = t.testdir({})
  copyPackage(pkg)
  const app = path.join(pkg, 'app.js')
  fs.writeFileSync(
    app,
    `const stacks = []
    require('node:diagnostics_channel').subscribe(${JSON.stringify(EXEC_CHANNEL)}, (e) => stacks.push(e.stack))
    function caller() { return require('node:child_process').execSync('getconf GNU_LIBC_VERSION', { encoding: 'utf8' }) }
    const out = caller()
    let thrown = ''
    try { require('node:child_process').execSync('curl -s x') } catch (err) { thrown = String(err.stack) }
    console.log(JSON.stringify({ out, stacks, thrown }))`,
  )
  const r = node(['--require', path.join(pkg, 'dist', 'register.js'), app], { env: cleanEnv({ APPARMOR_MONKEYS_DENY: 'curl' }) })
  t.equal(r.status, 0, r.stderr)
  const { out, stacks, thrown } = JSON.parse(r.stdout) as { out: string; stacks: string[]; thrown: string }
  t.match(out, /^glibc \d+\.\d+\n$/)
  t.equal(stacks.length, 2)
  t.match(stacks[0]!.split('\n')[0], `at caller (${app}:`, 'the first frame is the app’s')
  for (const s of stacks) t.notOk(s.includes('/dist/'), `no frame of the package: ${s}`)
  t.match(thrown, /spawnSync \/bin\/sh EACCES/, 'the deny error, as the kernel’s refusal reads')
  t.notOk(`${stacks.join('\n')}\n${thrown}`.includes(DIST), 'no frame names the path the package was built at')
})
