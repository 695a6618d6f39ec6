// startConfinedWorker()'s options: validation and defaults (pure: no kernel, no Redis), and
// the processor rule's matching. Nothing here creates a Worker: every refusal happens before.
import t from 'tap'
import { startConfinedWorker, processorConfineRule } from '../src/index'
import { DEFAULTS, resolveOptions } from '../src/options'

t.test('defaults live in one place', async (t) => {
  const o = resolveOptions({ profile: 'bullmq-worker' })
  t.same(o, { profile: 'bullmq-worker', processorProfile: null, holdJobs: true, strict: true, intercept: {}, onWorker: null, readyTimeoutMs: 30_000, kernel: undefined })
  t.equal(o.intercept, DEFAULTS.intercept)
  t.ok(Object.isFrozen(o))
  t.same(resolveOptions({ profile: null, processorProfile: 'bullmq-processor', holdJobs: false, strict: false }), {
    profile: null,
    processorProfile: 'bullmq-processor',
    holdJobs: false,
    strict: false,
    intercept: {},
    onWorker: null,
    readyTimeoutMs: 30_000,
    kernel: undefined,
  })
})

t.test('every wrong option is named', async (t) => {
  const cases: Array<[unknown, string, RegExp]> = [
    [undefined, 'ERR_AA_OPTIONS', /options must be an object such as \{ profile: 'bullmq-worker' \}; got undefined/],
    [[], 'ERR_AA_OPTIONS', /options must be an object .*; got an array/],
    [{}, 'ERR_AA_OPTIONS', /options\.profile is required/],
    [{ profile: null }, 'ERR_AA_OPTIONS', /nothing to confine/],
    [{ profile: 'w', holdjobs: true }, 'ERR_AA_OPTIONS', /unknown option "holdjobs" \(did you mean holdJobs\?\); known: profile, processorProfile, holdJobs, strict, intercept, onWorker, readyTimeoutMs, kernel/],
    [{ profile: 42 }, 'ERR_AA_OPTIONS', /options\.profile must be a profile name or null; got number 42/],
    [{ profile: 'w', processorProfile: ['p'] }, 'ERR_AA_OPTIONS', /options\.processorProfile must be a profile name or null; got an array/],
    [{ profile: 'w', holdJobs: 'yes' }, 'ERR_AA_OPTIONS', /options\.holdJobs must be a boolean; got "yes"/],
    [{ profile: 'w', strict: 1 }, 'ERR_AA_OPTIONS', /options\.strict must be a boolean; got number 1/],
    [{ profile: 'w', intercept: false }, 'ERR_AA_OPTIONS', /options\.intercept must be install\(\) options \(an object\); got boolean false/],
    [{ profile: 'w', kernel: {} }, 'ERR_AA_OPTIONS', /options\.kernel must be a kernel interface/],
    [{ profile: 'w', onWorker: 'x' }, 'ERR_AA_OPTIONS', /options\.onWorker must be a function or null; got "x"/],
    [{ profile: 'w', readyTimeoutMs: -1 }, 'ERR_AA_OPTIONS', /options\.readyTimeoutMs must be an integer of ms from 0 to 2147483647; got number -1/],
    [{ profile: 'a b' }, 'ERR_AA_OPTIONS', /^startConfinedWorker: options\.profile: invalid profile name "a b"/],
    [{ profile: 'w', processorProfile: '' }, 'ERR_AA_OPTIONS', /^startConfinedWorker: options\.processorProfile: the profile name is empty/],
  ]
  for (const [options, code, message] of cases) {
    t.throws(() => resolveOptions(options), { code, message }, JSON.stringify(options) ?? 'undefined')
  }
})

class NoWorker {
  static made = 0
  constructor() {
    NoWorker.made++
  }
  waitUntilReady = async () => undefined
  run = async () => undefined
  close = async () => undefined
}

t.test('contradictions are refused before any Worker exists', async (t) => {
  const fn = async () => 1
  const cases: Array<[unknown, object, object, string, RegExp]> = [
    [fn, { connection: {}, autorun: true }, { profile: 'w' }, 'ERR_AA_OPTIONS', /autorun: true would start fetching jobs before the worker is confined/],
    [fn, { connection: {} }, { profile: 'w', processorProfile: 'p' }, 'ERR_AA_OPTIONS', /processorProfile applies to sandboxed processors only/],
    ['/srv/p.js', { connection: {}, useWorkerThreads: true }, { profile: 'w', processorProfile: 'p' }, 'ERR_AA_UNSUPPORTED', /cannot be applied with useWorkerThreads/],
    ['/srv/p.js', { connection: {}, workerForkOptions: 'x' }, { profile: 'w', processorProfile: 'p' }, 'ERR_AA_OPTIONS', /workerForkOptions must be an object/],
    [42, { connection: {} }, { profile: 'w' }, 'ERR_AA_OPTIONS', /the processor must be a function, a file path or a file URL; got number 42/],
    [fn, null, { profile: 'w' }, 'ERR_AA_OPTIONS', /BullMQ's worker options must be an object/],
  ]
  for (const [processor, workerOptions, options, code, message] of cases) {
    await t.rejects(startConfinedWorker(NoWorker, 'q', processor as never, workerOptions as never, options as never), { code, message, name: 'AppArmorError' })
  }
  t.equal(NoWorker.made, 0, 'no Worker was created')
  // autorun: true is fine when the user opts out of holding jobs
  t.doesNotThrow(() => resolveOptions({ profile: 'w', holdJobs: false }))
})

t.test('the processor rule matches the child entry file as a whole word of the command line', async (t) => {
  const file = '/srv/app/node_modules/.pnpm/bullmq@6.7.0_ioredis@5.9.2_/node_modules/bullmq/dist/cjs/classes/main.js'
  const rule = processorConfineRule(file, 'bullmq-processor')
  t.equal(rule.profile, 'bullmq-processor')
  const re = rule.match as RegExp
  t.ok(re.test(`/usr/bin/node ${file}`))
  t.ok(re.test(`/usr/bin/node --max-old-space-size=99 --require /x/y.js ${file}`))
  t.notOk(re.test(`/usr/bin/node ${file}.bak`), 'a longer file')
  t.notOk(re.test(`/usr/bin/node /other${file}`), 'the same path under another directory')
  t.notOk(re.test(`/usr/bin/node ${file.replace('main.js', 'main-worker.js')}`))
  t.notOk(re.test(`/usr/bin/node ${file.replace('.pnpm', 'xpnpm')}`), 'dots are literal')
  // a path that needs quoting appears quoted in the command line (core's shellQuote)
  const spaced = processorConfineRule("/srv/my app/it's/main.js", 'p').match as RegExp
  t.ok(spaced.test(`/usr/bin/node '/srv/my app/it'\\''s/main.js'`))
  t.notOk(spaced.test(`/usr/bin/node /srv/my app/it's/main.js`))
})
