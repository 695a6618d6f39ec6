// The procfs check (docs/security.md, "A fake /proc"): every attr path is statfs'd and must be
// procfs. These host tests cover the check itself and when it may be skipped; the real attack
// (a tmpfs or bind mount over /proc in a mount namespace) is test/security/vm.test.ts.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createKernel, ErrorCodes, AppArmorError } from '../../src/index'
import { PROC_SUPER_MAGIC, Procfs, asCall } from '../../src/kernel/procfs'

function fakeTree(t: Tap.Test) {
  const root = t.testdir({})
  const attr = path.join(root, 'proc/thread-self/attr/apparmor')
  fs.mkdirSync(attr, { recursive: true })
  fs.writeFileSync(path.join(attr, 'current'), 'unconfined\n')
  fs.writeFileSync(path.join(attr, 'exec'), '')
  return { root, attr }
}

t.test('the real /proc is procfs; anything else is refused with ERR_AA_FAKE_PROCFS naming the path and type', async (t) => {
  t.equal(fs.statfsSync('/proc').type, PROC_SUPER_MAGIC)
  const p = new Procfs()
  t.equal(p.verifying, true, 'on by default')
  t.doesNotThrow(() => p.assertProcfs(['/proc', '/proc/self/task', '/proc/thread-self/attr', '/proc/self/environ'], { operation: 'confine', name: 'web' }))
  const dir = t.testdir({ f: '' })
  const err = t.throws(() => p.assertProcfs(['/proc', path.join(dir, 'f')], { operation: 'changeProfile', name: 'web' }), {
    code: ErrorCodes.FAKE_PROCFS,
    operation: 'changeProfile',
    profile: 'web',
  }) as AppArmorError
  t.match(err.message, /^changeProfile\("web"\): .*\/f is on .*f_type 0x[0-9a-f]+\), not procfs \(0x9fa0\).*nothing was changed.*mount -t proc proc \/proc/)
  t.doesNotThrow(() => p.assertProcfs(['/proc/self/task/999999999/attr'], { operation: 'x' }), 'a path that is gone is left to the open')
})

t.test('a fake tree is trusted only when it is an explicit procRoot other than /', async (t) => {
  const { root, attr } = fakeTree(t)
  // Unit tests' fake trees: the check is off for them (they are ordinary files by design).
  t.equal(createKernel({ procRoot: root, sysRoot: root }).changeProfile('web').changed, true)
  fs.writeFileSync(path.join(attr, 'current'), 'unconfined\n')
  // Asked for explicitly, the same check the default kernel makes refuses it, before any write.
  const k = createKernel({ procRoot: root, sysRoot: root, verifyProcfs: true })
  for (const [call, op] of [
    [() => k.changeProfile('web'), 'changeProfile'],
    [() => k.changeOnExec('web'), 'changeOnExec'],
    [() => k.stackProfile('web'), 'stackProfile'],
    [() => k.permProfile('web'), 'permProfile'],
    [() => k.getCon(), 'getCon'],
  ] as const) {
    t.throws(call, { code: ErrorCodes.FAKE_PROCFS, operation: op }, op)
  }
  t.equal(fs.readFileSync(path.join(attr, 'current'), 'utf8'), 'unconfined\n', 'nothing was written')
  // The check cannot be turned off for the real /proc.
  t.throws(() => createKernel({ verifyProcfs: false }), { code: ErrorCodes.OPTIONS })
  t.throws(() => createKernel({ procRoot: '/', verifyProcfs: false }), { code: ErrorCodes.OPTIONS })
  t.throws(() => createKernel({ procRoot: '/tmp/..', verifyProcfs: false }), { code: ErrorCodes.OPTIONS })
})

t.test('asCall names the larger call in an AppArmorError (code, errno, data kept) and passes other errors unchanged', async (t) => {
  const inner = new AppArmorError(ErrorCodes.FAKE_PROCFS, 'getCon(): /proc is on tmpfs', { operation: 'getCon', data: { path: '/proc' } })
  const err = t.throws(() => asCall('confine', 'web', () => { throw inner }), { code: ErrorCodes.FAKE_PROCFS, operation: 'confine', profile: 'web' }) as AppArmorError
  t.equal(err.message, 'confine("web"): /proc is on tmpfs')
  t.equal(err.cause, inner)
  t.same(err.data, { path: '/proc' })
  const disabled = new AppArmorError(ErrorCodes.DISABLED, 'getCon(): AppArmor is not enabled', { operation: 'getCon', errno: 'ENOSYS' })
  const named = t.throws(() => asCall('confine', 'web', () => { throw disabled }), { code: ErrorCodes.DISABLED, operation: 'confine', profile: 'web', errno: 'ENOSYS' }) as AppArmorError
  t.equal(named.message, 'confine("web"): AppArmor is not enabled')
  const own = new AppArmorError(ErrorCodes.NOT_FOUND, 'confine("web"): x', { operation: 'confine', profile: 'web' })
  t.throws(() => asCall('confine', 'web', () => { throw own }), own, 'already named: unchanged')
  const other = new Error('x')
  t.throws(() => asCall('confine', 'web', () => { throw other }), other)
  t.equal(asCall('confine', 'web', () => 42), 42)
})

// A tmpfs over /proc in a mount namespace, on this host (root and unshare needed): the default
// kernel refuses even though the fake tree offers every attr file AppArmor would.
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0
t.test('a tmpfs over /proc in a mount namespace: the default kernel refuses (host, no AppArmor needed)', { skip: canUnshare ? false : 'needs root and unshare -m' }, async (t) => {
  const core = path.resolve(__dirname, '..', '..', 'dist', 'index.js')
  const script = `
    set -e
    mount -t tmpfs fake /proc
    mkdir -p /proc/thread-self/attr/apparmor /proc/self/task
    echo unconfined > /proc/thread-self/attr/apparmor/current
    exec ${JSON.stringify(process.execPath)} -e '
      const core = require(${JSON.stringify(core)})
      const out = {}
      for (const [name, fn] of Object.entries({
        changeProfile: () => core.changeProfile("web"),
        getCon: () => core.getCon(),
        withExecProfile: () => core.withExecProfile("web", () => 1),
      })) {
        try { fn(); out[name] = "ok" } catch (e) { out[name] = e.code }
      }
      out.file = require("fs").readFileSync("/proc/thread-self/attr/apparmor/current", "utf8")
      console.log(JSON.stringify(out))'
  `
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout), { changeProfile: 'ERR_AA_FAKE_PROCFS', getCon: 'ERR_AA_FAKE_PROCFS', withExecProfile: 'ERR_AA_FAKE_PROCFS', file: 'unconfined\n' })
})
