// `apparmor-monkeys profile` on the example apps, on the real AppArmor kernel (issue #15's
// "Done when"): `apparmor-monkeys profile --vm`, run on the host as a user runs it, learns the
// profiles of the Fastify, Express and cluster examples and of the BullMQ worker with its
// processor profile (Redis started inside the VM by `--service`), each in a VM of its own, and
// verifies them there in enforce mode. Then, in one more boot, guest/learned.test.ts runs each app
// under its learned profiles and proves the normal workload leaves zero DENIED lines while a
// boot-only file, an exec and a write outside the app's data directory are refused with
// EACCES. Every guest test becomes a host assertion.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'
import { exampleDir, exampleSpecs, profileNames, repoRoot, type ExampleSpec } from './examples'

const guest = path.resolve(__dirname, '..', 'dist', 'profile', 'guest', 'learned.test.js')
const pre = vmPrerequisites()
const CLI = path.join(repoRoot(), 'packages', 'core', 'dist', 'cli.js')
/** Learned on the host with `profile --vm` (all of them; the guest can also learn in place). */
const VM_LEARNED = new Set(['fastify-app', 'express-app', 'cluster-app', 'bullmq-worker'])

/** `apparmor-monkeys profile --vm …` for one example, as a user runs it from the app's folder. */
function learnWithVm(s: ExampleSpec, out: string): Promise<{ status: number | null; output: string }> {
  const args = [CLI, 'profile', '--vm', '--name', s.name, '--out', out, '--app-dir', exampleDir(s.example), '--exercise', s.exercise, '--timeout', '240']
  if (s.ready) args.push('--ready', s.ready)
  for (const c of s.children) args.push('--child', `${c.name}=${c.match}`)
  for (const c of s.services) args.push('--service', c)
  const argv = s.argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : a))
  // A clean environment: the test runner's variables are not the app's.
  const env: NodeJS.ProcessEnv = { PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: os.homedir(), ...s.env }
  for (const k of ['AAM_VM_DIR', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k]
  return new Promise((resolve) => {
    // Through `env -i`: tap's process-info hook adds its NODE_OPTIONS to whatever a test spawns.
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`)
    const child = spawn('/usr/bin/env', ['-i', ...vars, process.execPath, ...args, '--', ...argv], { cwd: s.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('close', (status) => resolve({ status, output }))
  })
}
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
  const learned = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-learned-'))
  t.teardown(() => fs.rmSync(learned, { recursive: true, force: true }))
  for (const s of specs.filter((x) => VM_LEARNED.has(x.example))) {
    const r = await learnWithVm(s, learned)
    t.comment(`profile --vm ${s.example}: status ${r.status}\n${r.output}`)
    t.equal(r.status, 0, `apparmor-monkeys profile --vm learned and verified ${s.example}'s profiles`)
  }
  const r = await runVm({
    steps: specs.flatMap((s) => [
      {
        name: s.example,
        argv: ['node', '--test-reporter=tap', guest],
        env: { EXAMPLE: s.example, ...(VM_LEARNED.has(s.example) ? { LEARNED_FILE: path.join(learned, s.name) } : {}) },
        timeoutSec: 900,
      },
      { name: `${s.example}: the learned file`, argv: ['cat', `/tmp/learned/${s.name}`], timeoutSec: 30 },
    ]),
    shares: [learned],
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
