// Option validation of the plugin: defaults in one place, the caller's object never mutated,
// one coded error (ERR_AA_OPTIONS) naming the first wrong option.
import t from 'tap'
import { DEFAULTS, resolveOptions } from '../src/options'

t.test('defaults', async (t) => {
  const given = { profile: 'web' }
  const r = resolveOptions(given)
  t.same(r, { profile: 'web', when: 'ready', strict: true, intercept: {} })
  t.same(given, { profile: 'web' }, 'the caller object is not touched')
  t.ok(Object.isFrozen(r))
  t.equal(r.intercept, DEFAULTS.intercept)
})

t.test('explicit values are kept, including falsy ones', async (t) => {
  const intercept = { unknown: 'deny' as const, deny: ['curl'] }
  t.same(resolveOptions({ profile: 'web', when: 'listen', strict: false, intercept }), { profile: 'web', when: 'listen', strict: false, intercept })
  t.equal(resolveOptions({ profile: 'web', intercept: false }).intercept, false)
})

t.test("keys Fastify itself reads from register options are not ours, and are accepted", async (t) => {
  t.equal(resolveOptions({ profile: 'web', prefix: '/v1', logLevel: 'warn', logSerializers: {} }).profile, 'web')
})

t.test('every wrong option is an AppArmorError ERR_AA_OPTIONS naming it', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /options must be an object with at least \{ profile \}; got undefined/],
    [null, /options must be an object.*got null/],
    ['web', /options must be an object.*got "web"/],
    [[], /options must be an object.*got an array/],
    [{}, /options\.profile is required/],
    [{ profile: 42 }, /^@apparmor-monkeys\/fastify: options\.profile must be a profile name; got number 42$/],
    [{ profile: '' }, /options\.profile: .*the profile name is empty/],
    [{ profile: 'two words' }, /options\.profile: .*invalid profile name "two words"/],
    [{ profile: 'web', when: 'start' }, /options\.when must be 'ready' or 'listen'; got "start"/],
    [{ profile: 'web', strict: 'yes' }, /options\.strict must be a boolean; got "yes"/],
    [{ profile: 'web', intercept: true }, /options\.intercept must be install\(\) options \(an object\) or false; got boolean true/],
    [{ profile: 'web', intercept: ['curl'] }, /options\.intercept must be .*got an array/],
    [{ profile: 'web', proflie: 'x' }, /unknown option "proflie" \(did you mean profile\?\); known: profile, when, strict, intercept/],
    [{ profile: 'web', whn: 'ready' }, /unknown option "whn" \(did you mean when\?\)/],
    [{ profile: 'web', somethingElse: 1 }, /unknown option "somethingElse"; known:/],
  ]
  for (const [options, message] of cases) {
    t.throws(() => resolveOptions(options), { name: 'AppArmorError', code: 'ERR_AA_OPTIONS', operation: 'options', message }, JSON.stringify(options) ?? 'undefined')
  }
})

t.test('an invalid profile name keeps the name check as the cause', async (t) => {
  try {
    resolveOptions({ profile: 'a^b' })
    t.fail('no error')
  } catch (err) {
    t.match((err as Error).message, /^@apparmor-monkeys\/fastify: options\.profile:/)
    t.equal(((err as Error).cause as { code?: string }).code, 'ERR_AA_INVALID_NAME')
  }
})
