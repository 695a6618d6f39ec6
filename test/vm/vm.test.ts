// The VM harness tested for real: one boot with a tiny profile, plus the checks that need no boot.
import * as fs from 'node:fs'
import * as path from 'node:path'
import t from 'tap'
import { skipOrFail } from '../support/require-vm'
import { assertGuestTap } from './tap'
import { runVm, vmPrerequisites } from './vm'

const fixtures = path.join(__dirname, 'fixtures')
const parser = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'].some((p) => fs.existsSync(p))
const noParser = skipOrFail(parser ? { ok: true } : { ok: false, reason: 'apparmor_parser is not installed' }, 'apparmor_parser')
const noVm = skipOrFail(vmPrerequisites())

t.test('a profile with a syntax error fails the run with the parser message, before any boot', { skip: noParser }, async (t) => {
  const dir = t.testdir({ 'broken.aa': 'profile aam-broken {\n  /** rr x,\n}\n' })
  const started = performance.now()
  await t.rejects(
    runVm({ profiles: [path.join(dir, 'broken.aa')], steps: [{ name: 'never', argv: ['true'] }] }),
    { message: /apparmor_parser failed[\s\S]*broken\.aa[\s\S]*syntax error/ },
  )
  // A boot takes 6 s or more under TCG; the compile error comes well before.
  t.ok(performance.now() - started < 5000, 'rejected without booting')
})

t.test('invalid options are rejected before anything runs', async (t) => {
  await t.rejects(runVm({ steps: [{ name: 'x', argv: [] }] }), TypeError)
  await t.rejects(runVm({ steps: [{ name: 'x', argv: ['true'], cwd: 'relative' }] }), TypeError)
  await t.rejects(runVm({ steps: [], smp: 0 }), TypeError)
})

t.test('vmPrerequisites answers without side effects', async (t) => {
  const p = vmPrerequisites()
  if (p.ok) t.same(p, { ok: true })
  else t.match(p.reason, /^missing: /)
})

t.test('one boot: AppArmor enabled, a confined read denied and audited, a guest node:test file', { skip: noVm }, async (t) => {
  const readSecret = [
    "const fs = require('node:fs')",
    "const label = fs.readFileSync('/proc/self/attr/current', 'utf8').trim()",
    "let code = 'READ'",
    "try { fs.readFileSync('/tmp/secret') } catch (e) { code = e.code }",
    'console.log(JSON.stringify({ label, code }))',
  ].join('\n')
  const r = await runVm({
    profiles: [path.join(fixtures, 'harness.aa')],
    steps: [
      { name: 'enabled', argv: ['cat', '/sys/module/apparmor/parameters/enabled'] },
      {
        name: 'prepare',
        argv: ['sh', '-c', 'printf s3cret > /tmp/secret && echo "$AAM_X $(pwd) $HOME $LANG"'],
        env: { AAM_X: 'x1' },
        cwd: '/tmp',
      },
      { name: 'denied', argv: ['aa-exec', '-p', 'aam-harness', '--', 'node', '-e', readSecret] },
      { name: 'node-test', argv: ['node', '--test-reporter=tap', path.join(fixtures, 'guest-pass.cjs')] },
      { name: 'timeout', argv: ['sleep', '30'], timeoutSec: 1 },
    ],
  })
  t.comment(`boot ${r.bootMs} ms, total ${r.totalMs} ms, steps ${r.steps.map((s) => `${s.name}=${s.durationMs}ms`).join(' ')}`)
  t.ok(r.profilesLoaded.includes('aam-harness'), 'the harness profile was loaded')
  t.equal(r.steps.length, 5)
  t.match(r.console, /AAM-GUEST-READY/)
  t.ok(r.bootMs > 0 && r.bootMs <= r.totalMs, 'boot time measured')

  const [enabled, prepare, denied, nodeTest, timeout] = r.steps
  if (!enabled || !prepare || !denied || !nodeTest || !timeout) throw new Error('missing step results')

  t.equal(enabled.stdout, 'Y\n')
  t.equal(enabled.status, 0)
  t.same(enabled.audit, [], 'no audit records for an unconfined cat')

  t.equal(prepare.status, 0, prepare.stderr)
  t.equal(prepare.stdout, 'x1 /tmp /root C.UTF-8\n', 'step env, cwd and base env')

  t.equal(denied.status, 0, denied.stderr)
  t.same(JSON.parse(denied.stdout), { label: 'aam-harness (enforce)', code: 'EACCES' })
  const denial = denied.audit.filter(
    (l) => l.includes('apparmor="DENIED"') && l.includes('profile="aam-harness"') && l.includes('name="/tmp/secret"'),
  )
  t.equal(denial.length, 1, `one DENIED record for /tmp/secret in: ${JSON.stringify(denied.audit)}`)
  t.notOk(denied.audit.some((l) => l.includes('aam-barrier')), 'the barrier record is not part of a step')

  assertGuestTap(t, nodeTest)

  t.equal(timeout.timedOut, true, 'per-step timeout')
  t.equal(timeout.signal, 'SIGKILL')
  t.equal(timeout.status, null)
  t.ok(timeout.durationMs >= 1000 && timeout.durationMs < 10_000, `killed after ~1 s (${timeout.durationMs} ms)`)
})
