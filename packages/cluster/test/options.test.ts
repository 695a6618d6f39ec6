// changeProfile() and onWorkerFork()'s options: validation and defaults (pure, no kernel).
import t from 'tap'
import { DEFAULT_OPTIONS, changeProfile, onWorkerFork, resolveOptions } from '../src/index'

t.test('changeProfile() describes a change, validates the name and changes nothing', async (t) => {
  const hook = changeProfile('web-worker')
  t.same(hook, { kind: 'changeProfile', profile: 'web-worker' })
  t.ok(Object.isFrozen(hook))
  for (const bad of ['', 'a b', 'a\nb', 'hat^x', 'tab\tx']) {
    t.throws(() => changeProfile(bad), { code: 'ERR_AA_INVALID_NAME' }, JSON.stringify(bad))
  }
  t.throws(() => changeProfile(42 as unknown as string), { code: 'ERR_AA_INVALID_NAME' })
})

t.test('defaults live in one place', async (t) => {
  const o = resolveOptions()
  t.equal(o.confirmTimeoutMs, 10_000)
  t.equal(o.onFailure, 'kill')
  t.equal(o.allowComplain, false)
  t.equal(o.preload, true)
  t.equal(typeof o.log, 'function')
  t.equal(o.cluster, undefined)
  t.equal(o.kernel, undefined)
  t.same(o, DEFAULT_OPTIONS)
  t.ok(Object.isFrozen(o))
  t.same(resolveOptions({ confirmTimeoutMs: 250, onFailure: 'exit', allowComplain: true, preload: false, log: null }), {
    ...DEFAULT_OPTIONS,
    confirmTimeoutMs: 250,
    onFailure: 'exit',
    allowComplain: true,
    preload: false,
    log: null,
  })
})

t.test('every wrong option is named (ERR_AA_OPTIONS)', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /options must be an object; got null/],
    [[], /options must be an object; got an array/],
    [{ confirmTimeout: 5 }, /unknown option "confirmTimeout" \(did you mean confirmTimeoutMs\?\); known: confirmTimeoutMs/],
    [{ confirmTimeoutMs: 0 }, /confirmTimeoutMs must be an integer of ms from 1 to 2147483647; got number 0/],
    [{ confirmTimeoutMs: -1 }, /confirmTimeoutMs/],
    [{ confirmTimeoutMs: 1.5 }, /confirmTimeoutMs/],
    [{ confirmTimeoutMs: Number.NaN }, /confirmTimeoutMs/],
    [{ confirmTimeoutMs: 2 ** 31 }, /confirmTimeoutMs/],
    [{ confirmTimeoutMs: '100' }, /confirmTimeoutMs.*got "100"/],
    [{ onFailure: 'restart' }, /onFailure must be 'kill' or 'exit'; got "restart"/],
    [{ allowComplain: 'yes' }, /allowComplain must be a boolean/],
    [{ preload: 1 }, /preload must be a boolean; got number 1/],
    [{ log: 'stderr' }, /log must be a function or null/],
    [{ cluster: 'node:cluster' }, /cluster must be the node:cluster module/],
    [{ kernel: {} }, /kernel must be a Kernel/],
  ]
  for (const [options, message] of cases) {
    t.throws(() => resolveOptions(options as never), { code: 'ERR_AA_OPTIONS', message }, JSON.stringify(options) ?? String(options))
  }
})

t.test('onWorkerFork() validates the hook and the options before anything else', async (t) => {
  const fakeCluster = { isWorker: false, isPrimary: true, settings: {}, fork: () => t.fail('must not fork') }
  for (const hook of [undefined, 'web-worker', { kind: 'stackProfile', profile: 'x' }, { kind: 'changeProfile', profile: 'a b' }]) {
    t.throws(() => onWorkerFork(hook as never, { cluster: fakeCluster as never }), { code: /^ERR_AA_(OPTIONS|INVALID_NAME)$/ }, JSON.stringify(hook))
  }
  t.throws(() => onWorkerFork(changeProfile('w'), { bogus: true } as never), { code: 'ERR_AA_OPTIONS' })
})
