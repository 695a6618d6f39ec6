// confine: the injected execConfiner runs exactly around the native spawn (recorders wrap the
// native functions before install), for sync and async calls, fork after an await included,
// and a confiner failure surfaces as a synchronous throw of its AppArmorError.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { jsonFixture } from './helpers'

interface Step {
  name: string
  order: string[]
  value: any
}

t.test('the confiner wraps the native spawn call, and its failures are thrown', async (t) => {
  const dir = t.testdir({})
  const { result, run } = jsonFixture<{ steps: Step[]; sameError: boolean }>(dir, 'confine.cjs', [dir])
  t.equal(run.status, 0, run.stderr)
  const steps = Object.fromEntries(result.steps.map((s) => [s.name, s]))
  const expect = (name: string, order: string[], value: unknown) => {
    t.same(steps[name]?.order, order, `${name}: order`)
    t.same(steps[name]?.value, value, `${name}: result`)
  }
  expect('execSync', ['onexec p-echo', 'native-sync sh', 'restore'], 'x\n')
  expect('spawnSync unmatched', ['native-sync true'], 0)
  expect('spawn', ['onexec p-echo', 'native-async echo', 'restore'], ['y\n', 0])
  expect('fork after an await', ['onexec p-node', `native-async ${path.basename(process.execPath)}`, 'restore'], ['forked\n', 0])
  expect('exec RegExp rule', ['onexec p-line', 'native-async sh', 'restore'], null)
  // Failure before the spawn: nothing is spawned (the async handle is retired), the error is the confiner's own.
  t.same(steps['execSync confiner fails before']?.order, ['onexec fail-before'])
  t.match(steps['execSync confiner fails before']?.value, { code: 'ERR_AA_NOT_FOUND', profile: 'fail-before', message: 'profile not loaded' })
  t.ok(result.sameError)
  t.same(steps['spawn confiner fails before']?.order, ['onexec fail-before', 'retire'])
  t.match(steps['spawn confiner fails before']?.value, { code: 'ERR_AA_NOT_FOUND' })
  expect('exec confiner fails before', ['onexec fail-before', 'retire'], 'ERR_AA_NOT_FOUND')
  // Failure after the spawn: sync children have run; an async child is killed before it acts.
  expect('execSync confiner fails after', ['onexec fail-after', 'native-sync sh', 'restore'], 'ERR_AA_RESTORE_FAILED')
  expect('spawn confiner fails after', ['onexec fail-after', 'native-async sh', 'restore'], ['ERR_AA_RESTORE_FAILED', false, true])
  expect('uninstalled', ['native-sync sh'], 'z\n')
  t.notOk(fs.existsSync(path.join(dir, 'late.marker')))
})
