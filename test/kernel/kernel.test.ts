// The kernel interface and whole-process confinement on a real AppArmor kernel: one VM boot
// runs the guest suites (node:test inside the VM) and every guest test becomes a host assertion.
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'

const guest = path.resolve(__dirname, '..', 'dist', 'kernel', 'guest')
const pre = vmPrerequisites()

t.test('kernel interface and confinement in the AppArmor VM', { skip: skipOrFail(pre) }, async (t) => {
  const r = await runVm({
    profiles: [path.join(__dirname, 'profiles', 'kernel.aa')],
    steps: ['kernel-api', 'confine', 'cli'].map((name) => ({
      name,
      argv: ['node', '--test-reporter=tap', path.join(guest, `${name}.test.js`)],
      timeoutSec: 600,
    })),
    timeoutMs: 1_500_000,
  })
  t.same(r.profilesLoaded.sort(), ['aam-hats', 'aam-hats//h1', 'aam-hats//h2', 'aam-nochange', 'aam-start', 'aam-target'])
  for (const step of r.steps) {
    t.test(step.name, async (t) => assertGuestTap(t, step))
  }
  t.comment(`boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms; ` + r.steps.map((s) => `${s.name} ${Math.round(s.durationMs)} ms`).join(', '))
})
