// runVm tested for real: one boot covers profiles in both modes, shares, overlays, the out
// dir, uid/gid, a background server, timeouts and a complain-mode flood; plus the checks that
// need no boot.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { skipOrFail } from '../../../test/support/require-vm'
import { isVmError, runVm, VmErrorCodes, vmPrerequisites } from '../src/index'

const fixtures = path.join(__dirname, 'fixtures')
const parser = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'].some((p) => fs.existsSync(p))
const noParser = skipOrFail(parser ? { ok: true } : { ok: false, reason: 'apparmor_parser is not installed' }, 'apparmor_parser')
const noVm = skipOrFail(vmPrerequisites())
const FLOOD = 20_000

t.test('a profile with a syntax error fails the run with the parser message, before any boot', { skip: noParser }, async (t) => {
  const dir = t.testdir({ 'broken.aa': 'profile aam-broken {\n  /** rr x,\n}\n' })
  const started = performance.now()
  await t.rejects(runVm({ profiles: [path.join(dir, 'broken.aa')], steps: [{ name: 'never', argv: ['true'] }] }), {
    code: VmErrorCodes.PROFILE,
    message: /apparmor_parser failed[\s\S]*broken\.aa[\s\S]*syntax error/,
  })
  // A boot takes 6 s or more under TCG; the compile error comes well before.
  t.ok(performance.now() - started < 5000, 'rejected without booting')
  await t.rejects(runVm({ profiles: [{ path: path.join(dir, 'nope.aa'), mode: 'complain' }], steps: [] }), { code: VmErrorCodes.PROFILE, message: /not found: .*nope\.aa/ })
})

t.test('invalid options are rejected with ERR_AA_VM_OPTIONS before anything runs', async (t) => {
  const bad: unknown[] = [
    { steps: [{ name: 'x', argv: [] }] },
    { steps: [{ name: 'x', argv: ['true'], cwd: 'relative' }] },
    { steps: [], smp: 0 },
    { steps: [{ name: 'x', argv: ['true'], uid: -1 }] },
    { steps: [{ name: 'x', argv: ['true'], background: true, timeoutSec: 0 }] },
    { steps: [{ name: 'x', argv: ['true'], env: { A: 1 } }] },
    { steps: [], profiles: [{ path: '/x.aa', mode: 'learn' }] },
    { steps: [], shares: ['/tmp/a b'] },
    { steps: [], overlays: ['/'] },
    { steps: [], overlays: ['/x,y'] },
    { steps: [], shares: Array.from({ length: 21 }, (_, i) => `/d${i}`) },
  ]
  for (const opts of bad) {
    const err = await runVm(opts as never).catch((e: unknown) => e)
    t.ok(isVmError(err, VmErrorCodes.OPTIONS), `${JSON.stringify(opts).slice(0, 80)}: ${(err as Error).message}`)
  }
  const missing = await runVm({ steps: [{ name: 'x', argv: ['true'] }], shares: [path.join(os.tmpdir(), 'aam-vm-no-such-dir')] }).catch((e: unknown) => e)
  if (vmPrerequisites().ok) t.ok(isVmError(missing, VmErrorCodes.OPTIONS), 'a share that does not exist')
  else t.ok(isVmError(missing, VmErrorCodes.NOT_READY), 'no VM here: NOT_READY first')
})

t.test('vmPrerequisites answers without side effects', async (t) => {
  const p = vmPrerequisites()
  if (p.ok) t.same(p, { ok: true })
  else t.match(p.reason, /^missing: /)
})

t.test('one boot: enforce and complain profiles, shares, overlays, out dir, uid, background, timeout, a flood', { skip: noVm }, async (t) => {
  const readSecret = [
    "const fs = require('node:fs')",
    "const label = fs.readFileSync('/proc/self/attr/current', 'utf8').trim()",
    "let code = 'READ'",
    "try { fs.readFileSync('/tmp/secret') } catch (e) { code = e.code }",
    'console.log(JSON.stringify({ label, code }))',
  ].join('\n')
  // A share and an overlay under the host's /tmp (an empty tmpfs in the guest unless shared).
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-vm-share-'))
  const overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-vm-overlay-'))
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-vm-out-'))
  t.teardown(() => {
    for (const d of [shared, overlay, outDir]) fs.rmSync(d, { recursive: true, force: true })
  })
  fs.writeFileSync(path.join(shared, 'note.txt'), 'shared from the host\n')
  fs.writeFileSync(path.join(overlay, 'data.txt'), 'host data\n')
  fs.chmodSync(overlay, 0o777)
  fs.chmodSync(path.join(overlay, 'data.txt'), 0o666)
  fs.chmodSync(outDir, 0o777)
  const flood = [
    "const fs = require('node:fs')",
    `for (let i = 0; i < ${FLOOD}; i++) fs.closeSync(fs.openSync('/tmp/flood/f' + i, 'r'))`,
  ].join('\n')
  const env = { PORT: '8080' }
  const r = await runVm({
    profiles: [path.join(fixtures, 'harness.aa'), { path: path.join(fixtures, 'learn.aa'), mode: 'complain' }],
    shares: [shared],
    overlays: [overlay],
    outDir,
    steps: [
      { name: 'enabled', argv: ['cat', '/sys/module/apparmor/parameters/enabled', '/sys/kernel/security/apparmor/profiles'] },
      {
        name: 'prepare',
        argv: ['sh', '-c', 'printf s3cret > /tmp/secret && echo "$AAM_X $(pwd) $HOME $LANG $AAM_VM_OUT" && cat "$0/note.txt"', shared],
        env: { AAM_X: 'x1' },
        cwd: '/tmp',
      },
      { name: 'denied', argv: ['aa-exec', '-p', 'aam-harness', '--', 'node', '-e', readSecret] },
      { name: 'node-test', argv: ['node', '--test-reporter=tap', path.join(fixtures, 'guest-pass.cjs')] },
      { name: 'timeout', argv: ['sleep', '30'], timeoutSec: 1 },
      {
        name: 'overlay and out as uid 1000',
        argv: ['sh', '-c', 'id -u; id -g; echo changed > data.txt; echo new > new.txt; cat data.txt new.txt; echo "by $(id -u)" > "$AAM_VM_OUT/result.txt"; touch /readonly 2>&1 || true'],
        cwd: overlay,
        uid: 1000,
        gid: 1001,
      },
      { name: 'server', argv: ['node', path.join(fixtures, 'server.cjs')], env, uid: 1000, background: true },
      { name: 'client', argv: ['node', path.join(fixtures, 'client.cjs')], env },
      { name: 'flood files', argv: ['sh', '-c', `mkdir /tmp/flood && cd /tmp/flood && i=0; while [ $i -lt ${FLOOD} ]; do : > f$i; i=$((i+1)); done`] },
      { name: 'flood', argv: ['aa-exec', '-p', 'aam-learn', '--', 'node', '-e', flood], timeoutSec: 600 },
      { name: 'lost', argv: ['sh', '-c', 'dmesg | grep -c -E "backlog limit exceeded|audit_lost|callbacks suppressed" || true'] },
    ],
  })
  t.comment(`boot ${r.bootMs} ms, total ${r.totalMs} ms, steps ${r.steps.map((s) => `${s.name}=${s.durationMs}ms`).join(' ')}`)
  t.same(r.profilesLoaded.sort(), ['aam-harness', 'aam-learn'])
  t.equal(r.steps.length, 11)
  t.match(r.console, /AAM-GUEST-READY/)
  t.ok(r.bootMs > 0 && r.bootMs <= r.totalMs, 'boot time measured')
  t.equal(r.outDir, outDir, 'the caller’s out dir is reported')

  const [enabled, prepare, denied, nodeTest, timeout, ovl, server, client, floodFiles, floodRun, lost] = r.steps
  if (!enabled || !prepare || !denied || !nodeTest || !timeout || !ovl || !server || !client || !floodFiles || !floodRun || !lost) throw new Error('missing step results')

  t.equal(enabled.status, 0, enabled.stderr)
  t.match(enabled.stdout, /^Y\n/)
  t.match(enabled.stdout, /^aam-harness \(enforce\)$/m, 'a string entry loads in enforce mode')
  t.match(enabled.stdout, /^aam-learn \(complain\)$/m, "mode: 'complain' loads in complain mode")
  t.same(enabled.audit, [], 'no audit records for an unconfined cat')

  t.equal(prepare.status, 0, prepare.stderr)
  t.equal(prepare.stdout, `x1 /tmp /root C.UTF-8 ${outDir}\nshared from the host\n`, 'step env, cwd, base env, AAM_VM_OUT, a share under /tmp')

  t.equal(denied.status, 0, denied.stderr)
  t.same(JSON.parse(denied.stdout), { label: 'aam-harness (enforce)', code: 'EACCES' })
  const denial = denied.audit.filter((l) => l.includes('apparmor="DENIED"') && l.includes('profile="aam-harness"') && l.includes('name="/tmp/secret"'))
  t.equal(denial.length, 1, `one DENIED record for /tmp/secret in: ${JSON.stringify(denied.audit)}`)
  t.notOk(r.audit.some((l) => l.includes('aam-barrier')), 'the barrier records are not part of the run')
  t.ok(r.audit.includes(denial[0] as string), 'the run-wide audit holds the step records')

  t.equal(nodeTest.status, 0, nodeTest.stderr)
  t.match(nodeTest.stdout, /^# pass [1-9]\d*$/m, 'the guest node:test file ran')
  t.match(nodeTest.stdout, /^# fail 0$/m, 'and passed')

  t.equal(timeout.timedOut, true, 'per-step timeout')
  t.equal(timeout.signal, 'SIGKILL')
  t.equal(timeout.status, null)
  t.ok(timeout.durationMs >= 1000 && timeout.durationMs < 10_000, `killed after ~1 s (${timeout.durationMs} ms)`)

  t.equal(ovl.status, 0, ovl.stderr)
  t.match(ovl.stdout, /^1000\n1001\nchanged\nnew\n/, 'uid/gid, and the overlay is writable in the guest')
  t.match(ovl.stdout, /Read-only file system|Permission denied/, 'the host root stays read-only')
  t.equal(fs.readFileSync(path.join(overlay, 'data.txt'), 'utf8'), 'host data\n', 'overlay writes never reach the host')
  t.notOk(fs.existsSync(path.join(overlay, 'new.txt')))
  t.equal(fs.readFileSync(path.join(outDir, 'result.txt'), 'utf8'), 'by 1000\n', '$AAM_VM_OUT files are on the host')

  t.equal(client.status, 0, client.stderr)
  t.equal(client.stdout, 'hello from uid 1000\n', 'the background server answered the next step')
  t.equal(server.background, true)
  t.equal(server.timedOut, false)
  t.equal(server.stdout, 'listening on 8080\ngot SIGTERM\n', 'the background step ran until the end, then got SIGTERM')
  t.equal(server.status, 0)

  t.equal(floodFiles.status, 0, floodFiles.stderr)
  t.equal(floodRun.status, 0, floodRun.stderr)
  const names = new Set(
    floodRun.audit
      .filter((l) => l.includes('apparmor="ALLOWED"') && l.includes('profile="aam-learn"'))
      .map((l) => /name="\/tmp\/flood\/(f\d+)"/.exec(l)?.[1])
      .filter((n) => n !== undefined),
  )
  t.comment(`flood: ${floodRun.audit.length} records in the step, ${names.size} of ${FLOOD} flood files, ${floodRun.durationMs} ms; lost-record messages: ${lost.stdout.trim()}`)
  t.equal(names.size, FLOOD, 'every complain-mode record of the flood arrived')
  t.equal(lost.stdout.trim(), '0', 'the kernel reported no lost or suppressed record')
})
