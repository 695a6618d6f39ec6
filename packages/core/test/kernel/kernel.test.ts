import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createKernel, parseLabel, AppArmorError, ErrorCodes } from '../../src/index'
import { kernelError } from '../../src/kernel/kerror'

// A fake procfs: attr files are regular files, so these tests cover paths, the strings
// written, parsing and the interface probe. Kernel behaviour is proven in the VM suite.
function fakeRoot(t: Tap.Test, opts: { iface: 'apparmor' | 'legacy' | 'none'; enabled?: string; current?: string }) {
  const root = t.testdir({})
  const self = path.join(root, 'proc/thread-self')
  const attrDir = opts.iface === 'apparmor' ? path.join(self, 'attr/apparmor') : path.join(self, 'attr')
  fs.mkdirSync(attrDir, { recursive: true })
  if (opts.iface !== 'none') {
    fs.writeFileSync(path.join(attrDir, 'current'), opts.current ?? 'unconfined\n')
  }
  if (opts.enabled !== undefined) {
    fs.mkdirSync(path.join(root, 'sys/module/apparmor/parameters'), { recursive: true })
    fs.writeFileSync(path.join(root, 'sys/module/apparmor/parameters/enabled'), `${opts.enabled}\n`)
  }
  return { root, attrDir }
}

t.test('parseLabel follows aa_splitcon', async (t) => {
  t.same(parseLabel('unconfined\n'), { label: 'unconfined', mode: undefined, unconfined: true, stack: ['unconfined'], namespace: undefined, raw: 'unconfined' })
  t.match(parseLabel('web-worker (enforce)\n'), { label: 'web-worker', mode: 'enforce', unconfined: false })
  t.match(parseLabel('a//&b (mixed)\n'), { label: 'a//&b', mode: 'mixed', stack: ['a', 'b'] })
  t.match(parseLabel(':ns:p (complain)\n'), { label: ':ns:p', mode: 'complain', namespace: 'ns' })
  t.match(parseLabel('p//hat (enforce)'), { label: 'p//hat', mode: 'enforce', stack: ['p//hat'] })
  t.match(parseLabel('odd name)'), { label: 'odd name)', mode: undefined })
})

t.test('changeProfile writes exactly "changeprofile <name>" to attr/apparmor/current', async (t) => {
  const { root, attrDir } = fakeRoot(t, { iface: 'apparmor' })
  const k = createKernel({ procRoot: root, sysRoot: root })
  // The fake file is not the kernel: after the write it holds the command itself.
  const r = k.changeProfile('web-worker')
  t.equal(fs.readFileSync(path.join(attrDir, 'current'), 'utf8'), 'changeprofile web-worker')
  t.equal(r.previous.label, 'unconfined')
  t.equal(r.changed, true)
  t.equal(r.scope, 'thread')
})

t.test('changing into the current profile is success without a write', async (t) => {
  const { root, attrDir } = fakeRoot(t, { iface: 'apparmor', current: 'web-worker (enforce)\n' })
  const k = createKernel({ procRoot: root, sysRoot: root })
  const r = k.changeProfile('web-worker')
  t.equal(r.changed, false)
  t.equal(fs.readFileSync(path.join(attrDir, 'current'), 'utf8'), 'web-worker (enforce)\n')
})

t.test('legacy attr files are used only when apparmor says enabled=Y', async (t) => {
  const legacy = fakeRoot(t, { iface: 'legacy', enabled: 'Y' })
  createKernel({ procRoot: legacy.root, sysRoot: legacy.root }).stackProfile('p2')
  // a regular file is not truncated by the O_WRONLY open: compare what was written
  t.equal(fs.readFileSync(path.join(legacy.attrDir, 'current'), 'utf8').slice(0, 8), 'stack p2')

  const off = fakeRoot(t, { iface: 'legacy', enabled: 'N' })
  t.throws(() => createKernel({ procRoot: off.root, sysRoot: off.root }).changeProfile('p'), { code: ErrorCodes.DISABLED })
  const absent = fakeRoot(t, { iface: 'legacy' })
  t.throws(() => createKernel({ procRoot: absent.root, sysRoot: absent.root }).getCon(), { code: ErrorCodes.DISABLED })
})

t.test('hat commands carry a 16-hex-digit token and the ^ separator', async (t) => {
  const { root, attrDir } = fakeRoot(t, { iface: 'apparmor', current: 'p (enforce)\n' })
  const k = createKernel({ procRoot: root, sysRoot: root })
  const h = k.changeHat('h1', 0xabcn)
  t.equal(fs.readFileSync(path.join(attrDir, 'current'), 'utf8'), 'changehat 0000000000000abc^h1')
  fs.writeFileSync(path.join(attrDir, 'current'), 'p//h1 (enforce)\n')
  h.revert()
  t.equal(fs.readFileSync(path.join(attrDir, 'current'), 'utf8'), 'changehat 0000000000000abc^')
  fs.writeFileSync(path.join(attrDir, 'current'), 'p (enforce)\n')
  k.changeHat(['a', 'b'], 1n)
  t.equal(fs.readFileSync(path.join(attrDir, 'current'), 'utf8'), 'changehat 0000000000000001^a\0b\0')
  // random tokens are never 0 and fit 64 bits
  for (let i = 0; i < 50; i++) {
    fs.writeFileSync(path.join(attrDir, 'current'), 'p (enforce)\n')
    const { token } = k.changeHat('h')
    t.ok(token > 0n && token < 1n << 64n)
  }
  t.throws(() => k.changeHat('h', 0n), { code: ErrorCodes.INVALID })
  t.throws(() => k.revertHat(1n << 64n), { code: ErrorCodes.INVALID })
  t.throws(() => k.changeHat([]), { code: ErrorCodes.INVALID })
  t.throws(() => k.changeHat(Array.from({ length: 17 }, (_, i) => `h${i}`)), { code: ErrorCodes.INVALID })
})

t.test('invalid names never reach the kernel', async (t) => {
  const { root, attrDir } = fakeRoot(t, { iface: 'apparmor' })
  const k = createKernel({ procRoot: root, sysRoot: root })
  const bad = ['', ' ', 'a b', 'a\nb', 't-worker\n', 'a\0b', 'a\tb', 'x\u00a0y', 'a^b', '\u0085', 'a\u007fb', '&stack', ':ns', 'x'.repeat(4001)]
  for (const name of bad) {
    t.throws(() => k.changeProfile(name), { code: ErrorCodes.INVALID_NAME }, JSON.stringify(name).slice(0, 30))
    t.throws(() => k.changeOnExec(name), { code: ErrorCodes.INVALID_NAME })
  }
  t.throws(() => k.changeProfile(42 as unknown as string), { code: ErrorCodes.INVALID_NAME })
  for (const hat of ['', 'a^b', 'a b', 'p//h']) t.throws(() => k.changeHat(hat), { code: ErrorCodes.INVALID_NAME })
  t.equal(fs.readFileSync(path.join(attrDir, 'current'), 'utf8'), 'unconfined\n', 'nothing was written')
  // valid forms
  for (const ok of ['web-worker', ':ns:p', ':ns://p', 'a//&b', '/usr/bin/node', 'prof//hat', 'ünïcode']) {
    t.doesNotThrow(() => createKernel({ procRoot: root, sysRoot: root }).permProfile(ok), ok)
  }
})

t.test('errno mapping: stable codes, the name and the fix in the message, errno as cause', async (t) => {
  const e = (code: string) => Object.assign(new Error(code), { code })
  const cases: Array<[string, Parameters<typeof kernelError>[1], string, RegExp]> = [
    ['ENOENT', { operation: 'changeProfile', name: 'p' }, ErrorCodes.NOT_FOUND, /'p' is not loaded.*apparmor_parser -r/],
    ['EACCES', { operation: 'changeProfile', name: 'p', current: 'q' }, ErrorCodes.NOT_PERMITTED, /'q' does not allow.*change_profile -> p,/],
    ['EACCES', { operation: 'changeOnExec', name: 'p', current: 'q' }, ErrorCodes.NOT_PERMITTED, /change_profile -> p,/],
    ['EPERM', { operation: 'changeProfile', name: 'p' }, ErrorCodes.NO_NEW_PRIVS, /no_new_privs.*stackProfile/],
    ['EINVAL', { operation: 'changeProfile', name: 'p', enabled: true }, ErrorCodes.INVALID, /malformed/],
    ['EINVAL', { operation: 'changeProfile', name: 'p', enabled: false }, ErrorCodes.DISABLED, /not enabled/],
    ['ECHILD', { operation: 'changeHat', name: 'h', current: 'p' }, ErrorCodes.NO_HATS, /'p' has no hats/],
    ['ENOENT', { operation: 'changeHat', name: 'h', current: 'p' }, ErrorCodes.NOT_FOUND, /hat 'h' does not exist/],
    ['EPERM', { operation: 'changeHat', name: 'h' }, ErrorCodes.HAT_NOT_PERMITTED, /change_hat is not permitted/],
    ['EACCES', { operation: 'revertHat', name: '' }, ErrorCodes.NOT_PERMITTED, /token/],
    ['EBUSY', { operation: 'changeProfile', name: 'p' }, ErrorCodes.BUSY, /overridden/],
    ['EIO', { operation: 'changeProfile', name: 'p' }, ErrorCodes.UNAVAILABLE, /EIO/],
  ]
  // libuv has no name for ECHILD: Node reports code UNKNOWN with errno -10
  const echild = Object.assign(new Error('unknown error'), { code: 'UNKNOWN', errno: -10 })
  t.match(kernelError(echild, { operation: 'changeHat', name: 'h', current: 'p' }), { code: ErrorCodes.NO_HATS, errno: 'ECHILD' })
  for (const [errno, ctx, code, msg] of cases) {
    const cause = e(errno)
    const err = kernelError(cause, ctx)
    t.ok(err instanceof AppArmorError)
    t.equal(err.code, code, `${errno} ${ctx.operation}`)
    t.match(err.message, msg)
    t.equal(err.cause, cause)
    t.equal(err.errno, errno)
  }
})

t.test('isEnabled reports libapparmor reasons', async (t) => {
  const absent = fakeRoot(t, { iface: 'none' })
  t.match(createKernel({ procRoot: absent.root, sysRoot: absent.root }).isEnabled(), { enabled: false, reason: 'module-absent', errno: 'ENOSYS' })
  const off = fakeRoot(t, { iface: 'none', enabled: 'N' })
  t.match(createKernel({ procRoot: off.root, sysRoot: off.root }).isEnabled(), { enabled: false, reason: 'disabled-at-boot', errno: 'ECANCELED' })
  const nofs = fakeRoot(t, { iface: 'none', enabled: 'Y' })
  fs.writeFileSync(path.join(nofs.root, 'proc/mounts'), 'proc /proc proc rw 0 0\n')
  t.match(createKernel({ procRoot: nofs.root, sysRoot: nofs.root }).isEnabled(), { enabled: false, reason: 'no-securityfs', errno: 'ENOENT' })
  fs.writeFileSync(path.join(nofs.root, 'proc/mounts'), 'proc /proc proc rw 0 0\nsecurityfs /sys/kernel/security securityfs rw 0 0\n')
  fs.mkdirSync(path.join(nofs.root, 'sys/kernel/security/apparmor'), { recursive: true })
  t.match(createKernel({ procRoot: nofs.root, sysRoot: nofs.root }).isEnabled(), { enabled: true, securityfs: '/sys/kernel/security/apparmor' })
})
