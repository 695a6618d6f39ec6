/**
 * The onexec restore of exec-time confinement, on a real AppArmor kernel (runs inside the VM).
 * Profiles: test/kernel/profiles/onexec.aa. After withExecProfile the calling thread's onexec
 * holds its own profile (there is no "clear onexec"), and the kernel then applies the onexec
 * rules, not the exec rules, to every later exec of that thread (security/apparmor/domain.c:
 * onexec overrides the x transitions). These tests pin the measured behaviour, documented in
 * docs/security.md ("Known limits"): a kernel or a fix that changes it makes them fail.
 */
import { test } from 'node:test'
import * as assert from 'node:assert/strict'
import * as path from 'node:path'
import { audit, run } from './helpers'

const APP = path.join(__dirname, 'fixtures', 'onexec-app.js')

interface Out {
  self: string
  before: Record<string, string>
  first: string
  pending: string | null
  after: Record<string, string>
  second: string
}

function app(profile: string): { out: Out; audit: string[] } {
  audit()
  const r = run([process.execPath, APP, 'aam-ox-worker'], { profile })
  assert.equal(r.status, 0, `onexec-app under ${profile} exited ${r.status}: ${r.stderr}`)
  return { out: JSON.parse(r.stdout) as Out, audit: audit() }
}

const W = 'aam-ox-worker (enforce)'
const BEFORE = (p: string) => ({ unlisted: 'EACCES', ix: `${p} (enforce)`, px: 'aam-ox-other (enforce)', node: `${p} (enforce)` })

test('baseline and the hole: with "change_profile -> <self>" a thread that confined a child execs ANY binary into its own profile', () => {
  const { out, audit: log } = app('aam-ox-open')
  assert.equal(out.self, 'aam-ox-open')
  assert.deepEqual(out.before, BEFORE('aam-ox-open'), 'without onexec the exec rules apply')
  assert.equal(out.first, W)
  assert.equal(out.pending, 'aam-ox-open', 'the restore leaves onexec set to the own profile')
  // KNOWN HOLE: head has no exec rule but runs (in aam-ox-open), and tail's Px is replaced.
  assert.deepEqual(out.after, { unlisted: 'aam-ox-open (enforce)', ix: 'aam-ox-open (enforce)', px: 'aam-ox-open (enforce)', node: 'aam-ox-open (enforce)' })
  assert.equal(out.second, W, 'the next exec-time confinement still works')
  const heads = log.filter((l) => l.includes('name="/usr/bin/head"'))
  assert.equal(heads.length, 1, `only the exec before the first confinement is denied (and audited), the later one is silent:\n${heads.join('\n')}`)
})

test('narrowing: an unconditional child rule plus "change_profile @{NODE} -> <self>" refuses every later exec but node', () => {
  const { out, audit: log } = app('aam-ox-narrow')
  assert.deepEqual(out.before, BEFORE('aam-ox-narrow'))
  assert.equal(out.first, W, 'the dry run and the restore accept an exec-conditioned self rule')
  assert.equal(out.pending, 'aam-ox-narrow')
  assert.deepEqual(out.after, { unlisted: 'EACCES', ix: 'EACCES', px: 'EACCES', node: 'aam-ox-narrow (enforce)' })
  assert.equal(out.second, W)
  for (const bin of ['head', 'cat', 'tail']) {
    assert.ok(
      log.some((l) => l.includes('apparmor="DENIED"') && l.includes('info="change_profile onexec"') && l.includes(`name="/usr/bin/${bin}"`)),
      `a DENIED "change_profile onexec" record for ${bin}:\n${log.join('\n')}`,
    )
  }
})

test('conditions on every change_profile rule do not narrow: an exec matching no condition goes into the onexec target', () => {
  const { out } = app('aam-ox-allcond')
  assert.deepEqual(out.before, BEFORE('aam-ox-allcond'))
  assert.equal(out.first, W)
  assert.deepEqual(out.after, { unlisted: 'aam-ox-allcond (enforce)', ix: 'aam-ox-allcond (enforce)', px: 'aam-ox-allcond (enforce)', node: 'aam-ox-allcond (enforce)' })
  assert.equal(out.second, W)
})
