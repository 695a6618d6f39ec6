// Option validation of listenConfined: defaults in one place, the caller's object never
// mutated, one coded error (ERR_AA_OPTIONS) naming the first wrong option.
import t from 'tap'
import { DEFAULTS, resolveOptions } from '../src/options'

t.test('defaults', async (t) => {
  const given = { profile: 'web' }
  const r = resolveOptions(given)
  t.same(r, { profile: 'web', port: 0, host: undefined, before: false, strict: true, intercept: {} })
  t.same(given, { profile: 'web' }, 'the caller object is not touched')
  t.ok(Object.isFrozen(r))
  t.equal(r.intercept, DEFAULTS.intercept)
})

t.test('explicit values are kept, including falsy ones', async (t) => {
  t.same(resolveOptions({ profile: 'web', port: 8080, host: '::1', before: true, strict: false, intercept: false }), {
    profile: 'web',
    port: 8080,
    host: '::1',
    before: true,
    strict: false,
    intercept: false,
  })
  t.equal(resolveOptions({ profile: 'web', port: 0 }).port, 0)
})

t.test('every wrong option is an AppArmorError ERR_AA_OPTIONS naming it', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /options must be an object with at least \{ profile \}; got undefined/],
    [3000, /options must be an object.*got number 3000/],
    [{ port: 3000 }, /options\.profile is required/],
    [{ profile: 7 }, /^@apparmor-monkeys\/express: options\.profile must be a profile name; got number 7$/],
    [{ profile: 'a b' }, /options\.profile: .*invalid profile name "a b"/],
    [{ profile: 'web', port: '3000' }, /options\.port must be an integer from 0 to 65535; got "3000"/],
    [{ profile: 'web', port: 70000 }, /options\.port must be an integer from 0 to 65535; got number 70000/],
    [{ profile: 'web', port: 1.5 }, /options\.port must be an integer/],
    [{ profile: 'web', port: -1 }, /options\.port must be an integer/],
    [{ profile: 'web', host: '' }, /options\.host must be a non-empty string; got ""/],
    [{ profile: 'web', host: 127 }, /options\.host must be a non-empty string; got number 127/],
    [{ profile: 'web', before: 'yes' }, /options\.before must be a boolean; got "yes"/],
    [{ profile: 'web', strict: 1 }, /options\.strict must be a boolean; got number 1/],
    [{ profile: 'web', intercept: 'off' }, /options\.intercept must be install\(\) options \(an object\) or false; got "off"/],
    [{ profile: 'web', prot: 80 }, /unknown option "prot" \(did you mean port\?\); known: profile, port, host, before, strict, intercept/],
    [{ profile: 'web', befor: true }, /unknown option "befor" \(did you mean before\?\)/],
  ]
  for (const [options, message] of cases) {
    t.throws(() => resolveOptions(options), { name: 'AppArmorError', code: 'ERR_AA_OPTIONS', operation: 'options', message }, JSON.stringify(options) ?? 'undefined')
  }
})
