// @apparmor-monkeys/cluster on a real AppArmor kernel: one VM boot runs the guest suite
// (test/cluster/guest/cluster.test.ts) and every guest test becomes a host assertion.
// The example's own profiles are loaded with @{APP} pointing at this repository.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'

const repo = path.resolve(__dirname, '..', '..')
const guest = path.resolve(__dirname, '..', 'dist', 'cluster', 'guest', 'cluster.test.js')
const pre = vmPrerequisites()

/** The example's profile files, with @{APP} set to this checkout. */
function exampleProfiles(dir: string): string[] {
  return ['cluster-primary', 'web-worker'].map((name) => {
    const text = fs.readFileSync(path.join(repo, 'examples', 'cluster-app', 'apparmor', name), 'utf8')
    const line = /^@\{APP\}=.*$/m
    if (!line.test(text)) throw new Error(`examples/cluster-app/apparmor/${name} has no @{APP}= line`)
    const file = path.join(dir, name)
    fs.writeFileSync(file, text.replace(line, `@{APP}=${repo}`))
    return file
  })
}

t.test('cluster workers confined at exec time, in the AppArmor VM', { skip: skipOrFail(pre) }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-cluster-profiles-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const r = await runVm({
    profiles: [...exampleProfiles(dir), path.join(__dirname, 'profiles', 'cluster-test.aa')],
    steps: [{ name: 'cluster', argv: ['node', '--test-reporter=tap', guest], timeoutSec: 600 }],
    timeoutMs: 900_000,
  })
  t.same(r.profilesLoaded.sort(), ['aam-cl-complain', 'aam-cl-cond', 'aam-cl-nochange', 'aam-cl-noself', 'cluster-primary', 'web-worker'])
  for (const step of r.steps) {
    t.test(step.name, async (t) => assertGuestTap(t, step))
  }
  t.comment(`boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms; ` + r.steps.map((s) => `${s.name} ${Math.round(s.durationMs)} ms`).join(', '))
})
