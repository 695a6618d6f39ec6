// `apparmor-monkeys profile` on the example apps, on the real AppArmor kernel (issue #15's
// "Done when"): ONE VM boot learns the profiles of the Fastify, Express and cluster examples and
// of the BullMQ worker with its processor profile (Redis inside the VM), each with the command
// in place in the guest (root, AppArmor), which verifies them itself in enforce mode; then
// guest/learned.test.ts runs each app under its learned profiles and proves the normal
// workload leaves zero DENIED lines while a boot-only file, an exec and a write outside the
// app's data directory are refused with EACCES. Every guest test becomes a host assertion.
//
// (Until the command's --vm mode and @apparmor-monkeys/vm are merged this boots test/vm's
// runVm itself and runs the CLI in place inside it: the same thing --vm does.)
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'
import { exampleSpecs, profileNames } from './examples'

const guest = path.resolve(__dirname, '..', 'dist', 'profile', 'guest', 'learned.test.js')
const pre = vmPrerequisites()
/** The examples whose routes try the refusals at request time (the others: a probe process per profile). */
const ROUTES = new Set(['fastify-app', 'express-app'])
/** The marker records the learner and the guest's auditSince() provoke to cut the kernel log. */
const BARRIER = /apparmor="DENIED" operation="change_profile" info="label not found" error=-2 profile="unconfined" name="aam-[a-z]+-barrier-[\d-]+"/
/** What the guest provokes: an exec of /usr/bin/ls, a write in /tmp, a read of the secrets. */
const REFUSAL = /apparmor="DENIED" (operation="exec" .*name="\/usr\/bin\/ls"|operation="(open|mknod)" .*name="(\/tmp\/[^"]+|[^"]*\/config\/secrets\.json)")/

t.test('profile learns and proves the examples\' profiles in the AppArmor VM', { skip: skipOrFail(pre) }, async (t) => {
  // AAM_PROFILE_EXAMPLES=bullmq-worker,cluster-app: only these (while working on one)
  const only = process.env['AAM_PROFILE_EXAMPLES']?.split(',')
  const specs = exampleSpecs().filter((s) => !only || only.includes(s.example))
  const r = await runVm({
    steps: specs.flatMap((s) => [
      { name: s.example, argv: ['node', '--test-reporter=tap', guest], env: { EXAMPLE: s.example }, timeoutSec: 900 },
      { name: `${s.example}: the learned file`, argv: ['cat', `/tmp/learned/${s.name}`], timeoutSec: 30 },
    ]),
    timeoutMs: 3_000_000,
  })
  specs.forEach((s, i) => {
    const suite = r.steps[2 * i] as (typeof r.steps)[number]
    const file = r.steps[2 * i + 1] as (typeof r.steps)[number]
    t.test(s.example, async (t) => {
      await t.test('guest suite', async (t) => assertGuestTap(t, suite))
      t.equal(file.status, 0, 'the learned file was written')
      for (const name of profileNames(s)) t.match(file.stdout, new RegExp(`^profile ${name}[ {]`, 'm'), `it defines ${name}`)
      t.notMatch(file.stdout, /^\s*[^#\s].*\bix,/m, 'no exec rule was granted silently')
      if (s.example === 'bullmq-worker') {
        const processor = file.stdout.slice(file.stdout.indexOf('profile bullmq-processor '))
        t.notMatch(processor, /^\s*network /m, 'the processor profile has no network rule (the processor talks to the worker over its IPC channel only)')
      }
      // The step's records hold the learning run (complain: ALLOWED only), the command's own
      // enforce re-run of the app and its exercise, the guest's own run of both under the
      // learned file, and the guest's refusals. So: no DENIED record but the refusals the guest
      // provoked (2 per refused kind and profile).
      // (The audit barriers, changes to profiles that do not exist, are markers, not refusals.)
      const refusals = suite.audit.filter((l) => l.includes('apparmor="DENIED"') && !BARRIER.test(l))
      // routes: the secrets, an exec, a write, each sync and async; probes: an exec and a write per probed profile
      const probed = s.children.length + (s.example === 'bullmq-worker' ? 1 : 0)
      const todo = { todo: s.knownIssue ?? false }
      t.equal(refusals.length, ROUTES.has(s.example) ? 6 : 2 * probed, 'DENIED records: only the refusals the guest provoked', todo)
      for (const l of refusals) t.match(l, REFUSAL, 'a provoked refusal', todo)
      t.comment(`${s.example}: ${suite.audit.length} audit records in the step, ${Math.round(suite.durationMs)} ms`)
      t.comment(file.stdout)
    })
  })
  t.comment(`boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms`)
})
