// The `apparmor-monkeys:exec` diagnostics channel: one event per decision, its exact payload,
// the caller's stack, and no cost while nobody listens.
import t from 'tap'
import * as path from 'node:path'
import { EXEC_CHANNEL } from '../../src/intercept'
import { FIXTURES, jsonFixture } from './helpers'

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
