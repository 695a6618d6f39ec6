// Fail open: native spawn calls in a shape the interception does not know (a future Node line)
// reach Node's native untouched, the app keeps working, and each layer reports it once.
import t from 'tap'
import { jsonFixture } from './helpers'

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
