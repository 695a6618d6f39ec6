// The onexec restore of exec-time confinement on a real AppArmor kernel: one VM boot runs the
// guest suite test/kernel/guest/onexec.test.ts (profiles: profiles/onexec.aa).
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'

const guest = path.resolve(__dirname, '..', 'dist', 'kernel', 'guest')
const pre = vmPrerequisites()

t.test('onexec restore after exec-time confinement in the AppArmor VM', { skip: skipOrFail(pre) }, async (t) => {
  const r = await runVm({
    profiles: [path.join(__dirname, 'profiles', 'onexec.aa')],
    steps: [{ name: 'onexec', argv: ['node', '--test-reporter=tap', path.join(guest, 'onexec.test.js')], timeoutSec: 300 }],
    timeoutMs: 600_000,
  })
  t.same(r.profilesLoaded.sort(), ['aam-ox-allcond', 'aam-ox-attached', 'aam-ox-narrow', 'aam-ox-open', 'aam-ox-other', 'aam-ox-sink', 'aam-ox-sinkrule', 'aam-ox-worker'])
  for (const step of r.steps) t.test(step.name, async (t) => assertGuestTap(t, step))
  t.comment(`boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms`)
})
