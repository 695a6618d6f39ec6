// The Fastify and Express adapters and the example apps on a real AppArmor kernel: ONE VM boot
// loads the examples' own profiles (rendered for this checkout) and the fixture profiles, runs
// the three guest suites, and every guest test becomes a host assertion.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'
import { renderProfile } from './profiles'

const guest = path.resolve(__dirname, '..', 'dist', 'adapters', 'guest')
const pre = vmPrerequisites()

t.test('Fastify and Express adapters and the example apps in the AppArmor VM', { skip: skipOrFail(pre) }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-adapters-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const profiles = [
    renderProfile('fastify-app', dir),
    renderProfile('fastify-app', dir, { file: 'fastify-app-single' }),
    renderProfile('express-app', dir),
    path.join(__dirname, 'profiles', 'adapters.aa'),
  ]
  const r = await runVm({
    profiles,
    steps: ['fastify-app', 'express-app', 'frameworks'].map((name) => ({
      name,
      argv: ['node', '--test-reporter=tap', path.join(guest, `${name}.test.js`)],
      timeoutSec: 400,
    })),
    timeoutMs: 1_300_000,
  })
  t.same(r.profilesLoaded.sort(), [
    'aam-web',
    'aam-web-boot',
    'aam-web-nochange',
    'express-app',
    'express-app-boot',
    'fastify-app',
    'fastify-app-boot',
    'fastify-app-single',
  ])
  for (const step of r.steps) {
    t.test(step.name, async (t) => assertGuestTap(t, step))
  }
  t.comment(`boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms; ` + r.steps.map((s) => `${s.name} ${Math.round(s.durationMs)} ms`).join(', '))
})
