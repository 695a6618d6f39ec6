// Errors carry where they came from (issue 16): the public operation, the profile, the errno
// libapparmor would report, and a message naming both and the fix. A fake procfs tree without
// AppArmor stands in for a kernel without it, so this runs the same on every host.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import { AppArmorError, ErrorCodes, confine, confineSync, createKernel, withExecProfile } from '../../src/index'
import { describeValue, readEnvConfig, resolveInterceptOptions } from '../../src/options'
import { adapterError, readOptions } from '../../src/adapter'

function kernelWithout(t: Tap.Test, enabled?: 'N') {
  const root = t.testdir({})
  fs.mkdirSync(path.join(root, 'proc/thread-self'), { recursive: true })
  fs.mkdirSync(path.join(root, `proc/self/task/${process.pid}`), { recursive: true })
  if (enabled) {
    fs.mkdirSync(path.join(root, 'sys/module/apparmor/parameters'), { recursive: true })
    fs.writeFileSync(path.join(root, 'sys/module/apparmor/parameters/enabled'), `${enabled}\n`)
  }
  return createKernel({ procRoot: root, sysRoot: root })
}

t.test('without AppArmor, every entry point names itself, the profile, the errno and the fix', async (t) => {
  for (const [enabled, errno] of [[undefined, 'ENOSYS'], ['N', 'ECANCELED']] as const) {
    const k = kernelWithout(t, enabled)
    const calls: Array<[string, () => unknown]> = [
      ['changeProfile', () => k.changeProfile('web')],
      ['changeOnExec', () => k.changeOnExec('web')],
      ['stackProfile', () => k.stackProfile('web')],
      ['permProfile', () => k.permProfile('web')],
      ['withExecProfile', () => withExecProfile('web', () => 1, { kernel: k })],
      ['confineSync', () => confineSync('web', { kernel: k })],
    ]
    for (const [operation, call] of calls) {
      const err = t.throws(call, { name: 'AppArmorError', code: ErrorCodes.DISABLED, operation, profile: 'web', errno }, `${operation} (${errno})`) as AppArmorError
      t.match(err.message, new RegExp(`^${operation}\\("web"\\): AppArmor is not enabled in this kernel .*apparmor=1 security=apparmor`), operation)
    }
    await t.rejects(confine('web', { kernel: k }), { code: ErrorCodes.DISABLED, operation: 'confine', profile: 'web', errno, message: /^confine\("web"\): AppArmor is not enabled/ })
  }
})

t.test('confine() and friends refuse unknown or wrong options (ERR_AA_OPTIONS, did you mean)', async (t) => {
  await t.rejects(confine('x', { bogus: 1 } as never), { code: ErrorCodes.OPTIONS, operation: 'confine', profile: 'x', message: /^confine\("x"\): unknown option "bogus"; known: strict, parkTimeoutMs, kernel$/ })
  await t.rejects(confine('x', { strct: false } as never), { code: ErrorCodes.OPTIONS, message: /unknown option "strct" \(did you mean strict\?\)/ })
  await t.rejects(confine('x', { parkTimeoutMs: -1 }), { code: ErrorCodes.OPTIONS, message: /options\.parkTimeoutMs must be a positive integer; got number -1/ })
  t.throws(() => confineSync('x', { parkTimeoutMs: 5 } as never), { code: ErrorCodes.OPTIONS, operation: 'confineSync', message: /unknown option "parkTimeoutMs"/ })
  t.throws(() => withExecProfile('x', () => 1, { restor: false } as never), { code: ErrorCodes.OPTIONS, operation: 'withExecProfile', message: /did you mean restore\?/ })
})

t.test('option messages: no doubled prefix, no "undefined undefined"', async (t) => {
  t.equal(describeValue(undefined), 'undefined')
  t.equal(describeValue(() => 1), 'a function')
  t.equal(describeValue(3), 'number 3')
  const err = t.throws(() => resolveInterceptOptions({ confine: [{ match: 'x', profile: 'a b' }] })) as Error
  t.match(err.message, /^options\.confine\[0\]\.profile: invalid profile name "a b"/)
  t.notMatch(err.message, /profile: options/)
  const env = t.throws(() => readEnvConfig({ APPARMOR_MONKEYS_PROFILE: '&x' })) as Error
  t.match(env.message, /^APPARMOR_MONKEYS_PROFILE: "&x" starts with '&'/)
  t.throws(() => resolveInterceptOptions({ unknown: undefined, log: 7 as never }), { message: /options\.log must be 'stderr' or a file path; got number 7$/ })
})

t.test('core/adapter: readOptions and adapterError, shared by the four adapters', async (t) => {
  const given = { profile: 'web', whn: 'ready' }
  t.throws(() => readOptions('@x/y', given, { known: ['profile', 'when'] }), { code: 'ERR_AA_OPTIONS', operation: 'options', message: '@x/y: unknown option "whn" (did you mean when?); known: profile, when' })
  t.throws(() => readOptions('@x/y', undefined, { known: [], shape: 'an object with { profile }' }), { message: '@x/y: options must be an object with { profile }; got undefined' })
  const o = readOptions('@x/y', { profile: 'web', strict: false, n: 3 }, { known: ['profile', 'strict', 'n', 'when'] })
  t.equal(o.profile('profile'), 'web')
  t.equal(o.boolean('strict', true), false)
  t.equal(o.oneOf('when', ['ready', 'listen'], 'ready'), 'ready')
  t.equal(o.integer('n', 0, 5, 0), 3)
  t.throws(() => o.required('missing', 'why'), { message: '@x/y: options.missing is required: why' })
  t.throws(() => readOptions('@x/y', { profile: 'a^b' }, { known: ['profile'] }).profile('profile'), { code: 'ERR_AA_OPTIONS', message: /^@x\/y: options\.profile: invalid profile name "a\^b"/, cause: { code: 'ERR_AA_INVALID_NAME' } })
  t.same(Object.getPrototypeOf(o.values), null, 'a null-prototype copy')
  const inner = new AppArmorError(ErrorCodes.NOT_FOUND, 'confine("web"): not loaded', { operation: 'confine', profile: 'web', errno: 'ENOENT', data: 1 })
  t.match(adapterError(inner, { prefix: 'P', profile: 'web' }), { code: 'ERR_AA_NOT_FOUND', operation: 'confine', profile: 'web', errno: 'ENOENT', data: 1, cause: inner, message: 'P: confine("web"): not loaded' })
  t.match(adapterError(new Error('boom'), { prefix: 'P', profile: 'w', operation: 'onWorkerFork' }), { code: 'ERR_AA_UNAVAILABLE', operation: 'onWorkerFork', profile: 'w', message: 'P: boom' })
})

const REGISTER = path.resolve(__dirname, '..', '..', 'dist', 'register.js')
const REGISTER_ESM = path.resolve(__dirname, '..', '..', 'dist', 'register.mjs')
t.test('the preload names APPARMOR_MONKEYS_PROFILE when it cannot confine', { skip: fs.existsSync('/sys/module/apparmor/parameters/enabled') && 'AppArmor is enabled here: covered by the VM suite' }, async (t) => {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], APPARMOR_MONKEYS_PROFILE: 'web' }
  for (const [flag, entry] of [['--require', REGISTER], ['--import', REGISTER_ESM]] as const) {
    const r = spawnSync(process.execPath, [flag, entry, '-e', 'console.log("app ran")'], { encoding: 'utf8', env })
    t.not(r.status, 0, flag)
    t.equal(r.stdout, '', `${flag}: the application did not run`)
    t.match(r.stderr, /APPARMOR_MONKEYS_PROFILE=web: the process was not started: confine(Sync)?\("web"\): AppArmor is not enabled/, flag)
    t.match(r.stderr, /ERR_AA_DISABLED/, flag)
  }
})
