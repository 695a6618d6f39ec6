// Adversarial tests on a real AppArmor kernel (docs/security.md): a fake /proc in a mount
// namespace, a hostile process at the park socket, a planted symlink and secrets in argv for
// the decision log. One VM boot runs the guest suite; every guest test becomes a host assertion.
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'

const guest = path.resolve(__dirname, '..', 'dist', 'security', 'guest')
const pre = vmPrerequisites()

t.test('adversarial tests in the AppArmor VM', { skip: skipOrFail(pre) }, async (t) => {
  const r = await runVm({
    profiles: [path.join(__dirname, 'profiles', 'security.aa')],
    steps: [{ name: 'security', argv: ['node', '--test-reporter=tap', path.join(guest, 'security.test.js')], timeoutSec: 600 }],
    timeoutMs: 900_000,
  })
  t.same(r.profilesLoaded.sort(), ['aam-sec-target'])
  for (const step of r.steps) {
    t.test(step.name, async (t) => assertGuestTap(t, step))
    // The park rounds' numbers (duration, outcome, the hostile's connection count), for the record.
    for (const line of step.stdout.split('\n')) if (/# round \d+:/.test(line)) t.comment(line.trim().replace(/^# /, ''))
  }
  t.comment(`boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms; ` + r.steps.map((s) => `${s.name} ${Math.round(s.durationMs)} ms`).join(', '))
})
