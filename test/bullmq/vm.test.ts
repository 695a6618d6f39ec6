// @apparmor-monkeys/bullmq and examples/bullmq-worker on a real AppArmor kernel: one VM boot
// runs the guest suites (node:test inside the VM, each with its own redis-server) and every
// guest test becomes a host assertion; then the kernel's audit records of each step are checked.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'
import { renderExampleProfile } from './harness'

const guest = path.resolve(__dirname, '..', 'dist', 'bullmq', 'guest')
const pre = vmPrerequisites()

t.test('BullMQ adapter and example in the AppArmor VM', { skip: skipOrFail(pre) }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-bq-vm-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const r = await runVm({
    profiles: [path.join(__dirname, 'profiles', 'bullmq.aa'), renderExampleProfile(dir)],
    steps: ['bullmq', 'example'].map((name) => ({
      name,
      argv: ['node', '--test-reporter=tap', path.join(guest, `${name}.test.js`)],
      timeoutSec: 900,
    })),
    timeoutMs: 2_000_000,
  })
  t.same(r.profilesLoaded.sort(), ['aam-bq-processor', 'aam-bq-worker', 'aam-bq-worker-noself', 'bullmq-processor', 'bullmq-worker'])
  const [suite, example] = r.steps
  t.test('adapter suite', async (t) => assertGuestTap(t, suite as (typeof r.steps)[number]))
  t.test('example', async (t) => assertGuestTap(t, example as (typeof r.steps)[number]))

  t.test('audit: no exec was denied; every denial is one the suite provoked', async (t) => {
    const lines = suite?.audit ?? []
    t.same(lines.filter((l) => l.includes('operation="exec"')), [], 'no DENIED operation="exec"')
    const expected = [
      // reads the profiles deny, by the worker (in-process) and by processor children
      /apparmor="DENIED" operation="open" profile="aam-bq-(worker|processor)" name="\/tmp\/secret" .*requested_mask="r"/,
      /apparmor="DENIED" operation="open" profile="aam-bq-processor" name="\/tmp\/worker-only" .*requested_mask="r"/,
      // the missing profiles, asked for by name (the kernel audits the failed change)
      /apparmor="DENIED" operation="change_profile" .*(name|target)="aam-bq-missing(-processor)?"/,
      // aam-bq-worker-noself may not change into itself (the dry run of the onexec restore)
      /apparmor="DENIED" operation="change_profile" profile="aam-bq-worker-noself" name="aam-bq-worker-noself"/,
    ]
    const unexpected = lines.filter((l) => l.includes('apparmor=') && !expected.some((re) => re.test(l)))
    t.same(unexpected, [], 'nothing else')
    t.ok(lines.some((l) => expected[0]?.test(l) && l.includes('profile="aam-bq-worker"')), 'the in-process denial is in the audit log')
    t.ok(lines.some((l) => expected[1]?.test(l)), 'the processor-only denial is in the audit log')
  })

  t.test('audit: the example ran without a single AppArmor record', async (t) => {
    t.same(example?.audit ?? [], [])
  })
  const shapes = new Map<string, number>()
  for (const l of suite?.audit ?? []) {
    const key = ['apparmor', 'operation', 'profile', 'name'].map((k) => new RegExp(`${k}="([^"]*)"`).exec(l)?.[1] ?? '-').join(' ')
    shapes.set(key, (shapes.get(key) ?? 0) + 1)
  }
  t.comment(`suite audit records: ${[...shapes].map(([k, n]) => `${k} x${n}`).join('; ')}`)
  t.comment(`boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms; ` + r.steps.map((s) => `${s.name} ${Math.round(s.durationMs)} ms`).join(', '))
})
