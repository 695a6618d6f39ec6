// Real packages (detect-libc 1 and 2, a napi-rs style loader, node-machine-id, and the command
// lines other packages run) on a real AppArmor kernel under a profile that lets only node exec.
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '../vm/vm'
import { skipOrFail } from '../support/require-vm'

const guest = path.resolve(__dirname, '..', 'dist', 'packages', 'guest')

t.test('real packages in the AppArmor VM', { skip: skipOrFail(vmPrerequisites()) }, async (t) => {
  const r = await runVm({
    profiles: [path.join(__dirname, 'profiles', 'packages.aa')],
    steps: [{ name: 'packages', argv: ['node', '--test-reporter=tap', path.join(guest, 'packages.test.js')], timeoutSec: 300 }],
  })
  for (const step of r.steps) t.test(step.name, async (t) => assertGuestTap(t, step))
})
