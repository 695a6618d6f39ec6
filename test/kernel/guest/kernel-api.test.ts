/**
 * The kernel interface on a real AppArmor kernel (runs inside the VM; see test/kernel/kernel.test.ts).
 * Profiles: test/kernel/profiles/kernel.aa.
 */
import { test, before } from 'node:test'
import * as assert from 'node:assert/strict'
import { audit, probe, run, writeSecret, PROBE } from './helpers'

before(() => {
  writeSecret()
  audit()
})

test('isEnabled and getCon on an unconfined process', () => {
  const [en, con, exec] = probe([['isEnabled'], ['getCon'], ['getExecCon']])
  assert.deepEqual(en?.value, { enabled: true, securityfs: '/sys/kernel/security/apparmor', message: 'AppArmor is enabled (/sys/kernel/security/apparmor)' })
  assert.equal(con?.value.label, 'unconfined')
  assert.equal(con?.value.unconfined, true)
  assert.equal('mode' in (con?.value ?? {}), false, 'unconfined has no mode')
  assert.equal(exec?.value, null, 'no onexec set')
})

test('changeProfile confines the calling thread: a denied read fails and the kernel logs it', () => {
  audit()
  const [before, change, con, secret, open] = probe([['read', '/tmp/secret'], ['changeProfile', 'aam-target'], ['getCon'], ['read', '/tmp/secret'], ['read', '/tmp/open']])
  assert.equal(before?.value, 'readable')
  assert.equal(change?.ok, true, change?.message)
  assert.equal(change?.value.changed, true)
  assert.equal(change?.value.previous.label, 'unconfined')
  assert.equal(change?.value.current.label, 'aam-target')
  assert.equal(change?.value.current.mode, 'enforce')
  assert.equal(change?.value.scope, 'thread')
  assert.equal(change?.value.thread.mainThread, true)
  assert.equal(con?.value.raw, 'aam-target (enforce)')
  assert.equal(secret?.ok, false)
  assert.equal(secret?.code, 'EACCES')
  assert.equal(open?.value, 'readable')
  const lines = audit()
  assert.ok(
    lines.some((l) => l.includes('apparmor="DENIED"') && l.includes('profile="aam-target"') && l.includes('name="/tmp/secret"')),
    lines.join('\n'),
  )
})

test('changing into the profile you are already in succeeds without a write', () => {
  audit()
  // aam-target has no change_profile rule: a real write would be EACCES with an audit line.
  const [first, again, raw] = probe([['changeProfile', 'aam-target'], ['changeProfile', 'aam-target'], ['rawWrite', 'current', 'changeprofile aam-target']])
  assert.equal(first?.value.changed, true)
  assert.equal(again?.ok, true, again?.message)
  assert.equal(again?.value.changed, false)
  assert.equal(raw?.ok, false, 'the raw write proves the kernel would refuse')
  assert.equal(raw?.code, 'EACCES')
  const lines = audit()
  assert.equal(lines.filter((l) => l.includes('operation="change_profile"')).length, 1, lines.join('\n'))
})

test('not found: ERR_AA_NOT_FOUND names the profile and the fix; the kernel logs "label not found"', () => {
  audit()
  const [r] = probe([['changeProfile', 'aam-missing']])
  assert.equal(r?.code, 'ERR_AA_NOT_FOUND')
  assert.equal(r?.errno, 'ENOENT')
  assert.match(r?.message ?? '', /'aam-missing' is not loaded.*apparmor_parser -r/)
  assert.ok(audit().some((l) => l.includes('info="label not found"') && l.includes('name="aam-missing"')))
})

test('not permitted: ERR_AA_NOT_PERMITTED suggests the change_profile rule', () => {
  audit()
  const [r, con] = probe([['changeProfile', 'aam-target'], ['getCon']], { profile: 'aam-nochange' })
  assert.equal(r?.code, 'ERR_AA_NOT_PERMITTED')
  assert.equal(r?.errno, 'EACCES')
  assert.match(r?.message ?? '', /'aam-nochange' does not allow.*change_profile -> aam-target,/)
  assert.equal(con?.value.label, 'aam-nochange')
  assert.ok(audit().some((l) => l.includes('operation="change_profile"') && l.includes('profile="aam-nochange"') && l.includes('name="aam-target"')))
})

test('an invalid name is rejected before the kernel: no write, no audit line', () => {
  audit()
  const names = ['aam target', 'aam-target\n', '', 'a\0b', 'x^y']
  const out = probe(names.map((n) => ['changeProfile', n]).concat([['changeOnExec', 'a b'], ['getCon']]))
  for (const r of out.slice(0, -1)) assert.equal(r.code, 'ERR_AA_INVALID_NAME', JSON.stringify(r))
  assert.equal(out.at(-1)?.value.label, 'unconfined')
  assert.deepEqual(audit(), [])
  // Control: the same string written raw reaches the kernel and is logged (hex-encoded name).
  const [raw] = probe([['rawWrite', 'current', 'changeprofile aam target']])
  assert.equal(raw?.code, 'ENOENT')
  assert.ok(audit().some((l) => l.includes('info="label not found"')))
})

test('no_new_privs: a confined task cannot change to a non-subset profile (ERR_AA_NO_NEW_PRIVS)', () => {
  audit()
  const [r, st] = probe([['changeProfile', 'aam-target'], ['stackProfile', 'aam-target']], {
    prefix: ['setpriv', '--no-new-privs', 'aa-exec', '-p', 'aam-start', '--'],
  })
  assert.equal(r?.code, 'ERR_AA_NO_NEW_PRIVS', JSON.stringify(r))
  assert.equal(r?.errno, 'EPERM')
  assert.equal(st?.ok, true, `stacking is allowed under no_new_privs: ${st?.message}`)
  assert.equal(st?.value.current.label, 'aam-start//&aam-target')
})

test('stackProfile from a confined task needs "change_profile -> &p"; without it: not permitted, with the & form suggested', () => {
  const [r] = probe([['stackProfile', 'aam-target']], { profile: 'aam-nochange' })
  assert.equal(r?.code, 'ERR_AA_NOT_PERMITTED')
  assert.match(r?.message ?? '', /change_profile -> &aam-target,/)
})

test('stackProfile: the label becomes a stack and both profiles apply', () => {
  audit()
  const [st, con, secret] = probe([['stackProfile', 'aam-target'], ['getCon'], ['read', '/tmp/secret']], { profile: 'aam-start' })
  assert.equal(st?.ok, true, st?.message)
  assert.equal(con?.value.label, 'aam-start//&aam-target')
  assert.deepEqual(con?.value.stack, ['aam-start', 'aam-target'])
  assert.equal(secret?.code, 'EACCES')
  // stacking a profile that is already in the stack writes nothing
  const [a, b] = probe([['stackProfile', 'aam-target'], ['stackProfile', 'aam-target']], { profile: 'aam-start' })
  assert.equal(a?.value.changed, true)
  assert.equal(b?.value.changed, false)
})

test('permProfile is a dry run: allowed leaves the label, refused throws', () => {
  audit()
  const [ok, con, refused] = probe([['permProfile', 'aam-target'], ['getCon'], ['permProfile', 'aam-hats']], { profile: 'aam-start' })
  assert.equal(ok?.ok, true, ok?.message)
  assert.equal(con?.value.label, 'aam-start')
  assert.equal(refused?.code, 'ERR_AA_NOT_PERMITTED')
})

test('changeOnExec: children start confined in every thread; the parent stays as it was', () => {
  audit()
  const [before, set, exec, child, again, self] = probe([['child'], ['changeOnExec', 'aam-target'], ['getExecCon'], ['child'], ['child'], ['getCon']])
  assert.deepEqual(before?.value.labels, ['unconfined'])
  assert.equal(set?.ok, true, set?.message)
  assert.equal(set?.value.onexec.label, 'aam-target')
  assert.equal(exec?.value.label, 'aam-target')
  assert.deepEqual(child?.value.labels, ['aam-target (enforce)'])
  assert.ok(child?.value.threads >= 7)
  assert.equal(child?.value.secret, 'EACCES')
  assert.deepEqual(again?.value.labels, ['aam-target (enforce)'], 'onexec is sticky for later spawns')
  assert.equal(self?.value.label, 'unconfined')
})

test('changeOnExec errors: not found, not permitted, already set is a no-op', () => {
  audit()
  const [nf] = probe([['changeOnExec', 'aam-missing']])
  assert.equal(nf?.code, 'ERR_AA_NOT_FOUND')
  const [np] = probe([['changeOnExec', 'aam-target']], { profile: 'aam-nochange' })
  assert.equal(np?.code, 'ERR_AA_NOT_PERMITTED')
  assert.ok(audit().some((l) => l.includes('operation="change_onexec"') && l.includes('profile="aam-nochange"')))
  const [a, b] = probe([['changeOnExec', 'aam-target'], ['changeOnExec', 'aam-target']])
  assert.equal(a?.value.changed, true)
  assert.equal(b?.value.changed, false)
})

test('stackOnExec: the child runs under the stack', () => {
  audit()
  const [set, child] = probe([['stackOnExec', 'aam-target'], ['child']])
  assert.equal(set?.ok, true, set?.message)
  // measured: the kernel keeps unconfined as a stack member at exec (unlike stackProfile now)
  assert.deepEqual(child?.value.labels, ['aam-target//&unconfined (enforce)'])
  assert.equal(child?.value.secret, 'EACCES')
})

test('hats: enter with a random token, the hat applies, revert with the token', () => {
  audit()
  const [enter, inHat, secret, back, outside] = probe([['changeHat', 'h1'], ['getCon'], ['read', '/tmp/secret'], ['revertHat'], ['read', '/tmp/secret']], {
    profile: 'aam-hats',
  })
  assert.equal(enter?.ok, true, enter?.message)
  assert.match(enter?.value.token, /^[0-9a-f]{1,16}$/)
  assert.notEqual(enter?.value.token, '0')
  assert.equal(inHat?.value.label, 'aam-hats//h1')
  assert.equal(secret?.code, 'EACCES')
  assert.equal(back?.ok, true, back?.message)
  assert.equal(back?.value.current.label, 'aam-hats')
  assert.equal(outside?.value, 'readable')
})

test('hats: the first existing of several names is entered', () => {
  const [enter, con] = probe([['changeHat', ['nope', 'h2', 'h1']], ['getCon']], { profile: 'aam-hats' })
  assert.equal(enter?.ok, true, enter?.message)
  assert.equal(con?.value.label, 'aam-hats//h2')
})

test('hats: a wrong token does not return from the hat (the kernel kills the task)', () => {
  audit()
  const r = run([process.execPath, PROBE, JSON.stringify([['changeHat', 'h1'], ['revertHatWrong'], ['getCon']])], { profile: 'aam-hats' })
  // The kernel's answer to a token mismatch is to kill the task (SIGKILL): no output at all.
  assert.equal(r.signal, 'SIGKILL', `status=${r.status} stdout=${r.stdout} stderr=${r.stderr}`)
  assert.ok(audit().some((l) => l.includes('info="failed token match"')))
})

test('hats: no hats, missing hat, and unconfined map to their codes', () => {
  const [nohats] = probe([['changeHat', 'h1']], { profile: 'aam-target' })
  assert.equal(nohats?.code, 'ERR_AA_NO_HATS', JSON.stringify(nohats))
  const [missing] = probe([['changeHat', 'nope']], { profile: 'aam-hats' })
  assert.equal(missing?.code, 'ERR_AA_NOT_FOUND', JSON.stringify(missing))
  const [unconf] = probe([['changeHat', 'h1']])
  assert.equal(unconf?.code, 'ERR_AA_HAT_NOT_PERMITTED', JSON.stringify(unconf))
})

test('threadLabels agrees with /proc/<pid>/task/*/attr and shows that only the calling thread changed', () => {
  const [, labels, plain] = probe([['changeProfile', 'aam-target'], ['threadLabels'], ['procTaskLabels']], { profile: 'aam-start' })
  const ours = labels?.value as Array<{ tid: number; raw: string; main: boolean; label: string }>
  const theirs = plain?.value as Array<{ tid: number; raw: string }>
  assert.deepEqual(
    ours.map((l) => [l.tid, l.raw]),
    theirs.map((l) => [l.tid, l.raw.replace(/\n$/, '')]),
  )
  assert.equal(ours.filter((l) => l.main).length, 1)
  assert.equal(ours.find((l) => l.main)?.label, 'aam-target')
  assert.ok(ours.filter((l) => !l.main).every((l) => l.label === 'aam-start'), 'the other threads keep the old label')
  assert.ok(ours.length >= 7)
})

test('from a worker thread, changeProfile changes that thread only and says so', () => {
  const [w, main, secret] = probe([['worker', [['changeProfile', 'aam-target'], ['getCon'], ['read', '/tmp/secret']]], ['getCon'], ['read', '/tmp/secret']])
  const [change, con, wsecret] = w?.value as Array<{ ok: boolean; value: any; code?: string; message?: string }>
  assert.equal(change?.ok, true, change?.message)
  assert.equal(change?.value.thread.mainThread, false)
  assert.equal(change?.value.scope, 'thread')
  assert.equal(con?.value.label, 'aam-target')
  assert.equal(wsecret?.code, 'EACCES')
  assert.equal(main?.value.label, 'unconfined')
  assert.equal(secret?.value, 'readable')
})
