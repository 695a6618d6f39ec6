/**
 * The onexec restore of exec-time confinement, on a real AppArmor kernel (runs inside the VM).
 * Profiles: test/kernel/profiles/onexec.aa. After withExecProfile the calling thread's onexec
 * holds its own profile (there is no "clear onexec"), and the kernel then applies the onexec
 * rules, not the exec rules, to every later exec of that thread (security/apparmor/domain.c:
 * onexec overrides the x transitions). These tests pin the measured behaviour, documented in
 * docs/security.md ("Known limit: the onexec restore"): a kernel or a fix that changes it makes them fail.
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

function app(profile?: string): { out: Out; audit: string[] } {
  audit()
  const r = run([process.execPath, APP, 'aam-ox-worker'], profile ? { profile } : {})
  assert.equal(r.status, 0, `onexec-app under ${profile ?? 'unconfined'} exited ${r.status}: ${r.stderr}`)
  return { out: JSON.parse(r.stdout) as Out, audit: audit() }
}

const W = 'aam-ox-worker (enforce)'

/**
 * Runs the fixture under `profile` and checks the invariant part: before any onexec the exec
 * rules apply; both children are confined; the restore leaves onexec set to the profile. Then
 * the later execs must be `after` (the label they ran in, or the spawn error code).
 */
function expectAfter(profile: string, after: Record<string, string>): string[] {
  const { out, audit: log } = app(profile)
  const own = `${profile} (enforce)`
  assert.equal(out.self, profile)
  assert.deepEqual(out.before, { unlisted: 'EACCES', ix: own, px: 'aam-ox-other (enforce)', node: own }, 'without onexec the exec rules apply')
  assert.equal(out.first, W, 'the dry run and the restore are accepted, the child is confined')
  assert.equal(out.pending, profile, 'the restore leaves onexec set to the own profile')
  assert.deepEqual(out.after, after)
  assert.equal(out.second, W, 'the next exec-time confinement still works')
  return log
}

test('baseline and the hole: with "change_profile -> <self>" a thread that confined a child execs ANY binary into its own profile', () => {
  const own = 'aam-ox-open (enforce)'
  // KNOWN HOLE: head has no exec rule but runs (in aam-ox-open), and tail's Px is replaced.
  const log = expectAfter('aam-ox-open', { unlisted: own, ix: own, px: own, node: own })
  const heads = log.filter((l) => l.includes('name="/usr/bin/head"'))
  assert.equal(heads.length, 1, `only the exec before the first confinement is denied (and audited), the later one is silent:\n${heads.join('\n')}`)
})

test('narrowing: an unconditional child rule plus "change_profile @{NODE} -> <self>" refuses every later exec but node', () => {
  const log = expectAfter('aam-ox-narrow', { unlisted: 'EACCES', ix: 'EACCES', px: 'EACCES', node: 'aam-ox-narrow (enforce)' })
  for (const bin of ['head', 'cat', 'tail']) {
    assert.ok(
      log.some((l) => l.includes('apparmor="DENIED"') && l.includes('info="change_profile onexec"') && l.includes(`name="/usr/bin/${bin}"`)),
      `a DENIED "change_profile onexec" record for ${bin}:\n${log.join('\n')}`,
    )
  }
})

test('conditions on every change_profile rule do not narrow: an exec matching no rule path goes into the onexec target', () => {
  const own = 'aam-ox-allcond (enforce)'
  expectAfter('aam-ox-allcond', { unlisted: own, ix: own, px: own, node: own })
})

test('one unconditional rule (to a profile with no rules) makes the exec conditions count again', () => {
  expectAfter('aam-ox-sinkrule', { unlisted: 'EACCES', ix: 'EACCES', px: 'EACCES', node: 'aam-ox-sinkrule (enforce)' })
})

test('an unconfined parent: after the first confined spawn, a binary with an attached profile starts unconfined', () => {
  const { out } = app()
  assert.equal(out.self, 'unconfined')
  assert.deepEqual(out.before, { unlisted: 'aam-ox-attached (enforce)', ix: 'unconfined', px: 'unconfined', node: 'unconfined' })
  assert.equal(out.first, W)
  assert.deepEqual(out.after, { unlisted: 'unconfined', ix: 'unconfined', px: 'unconfined', node: 'unconfined' })
  assert.equal(out.second, W)
})
