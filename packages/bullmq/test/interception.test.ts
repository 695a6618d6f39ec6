// How the processor rule reaches core's exec interception (fixtures/lease.cjs, one fresh
// process per scenario, against dist/): installed and removed by the adapter, shared between
// Workers, added to the register preload's (or anybody's) policy with core's addConfineRule and
// put back, and matched against a real fork whose path needs quoting.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'

const FIXTURE = path.join(__dirname, 'fixtures', 'lease.cjs')

function scenario(name: string, env: NodeJS.ProcessEnv = {}): any {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('APPARMOR_MONKEYS_')) clean[k] = v
  const r = spawnSync(process.execPath, [FIXTURE, name], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 60_000 })
  if (r.status !== 0) throw new Error(`${name}: exit ${r.status}: ${r.stdout}\n${r.stderr}`)
  return JSON.parse(r.stdout)
}

const ruleText = '/(?:^| )\\/srv\\/a\\/bullmq\\/dist\\/cjs\\/classes\\/main\\.js(?: |$)/'

t.test('nobody installed it: installed with the rule, a real fork of that file (quoted path) is confined, other forks are not; removed on release', async (t) => {
  const out = scenario('own')
  t.same(out, { state: 'installed', installed: true, confinedForks: ['bq-proc'], afterRelease: false })
})

t.test('Workers share the rule; the same file cannot go to two profiles; the last release uninstalls', async (t) => {
  const out = scenario('shared')
  t.equal(out.conflict.error.code, 'ERR_AA_OPTIONS')
  t.match(out.conflict.error.message, /cannot also start in 'other-proc'/)
  t.same(out.rules, ['bq-proc', 'bq-proc-b'])
  t.same(out.afterOne, ['bq-proc', 'bq-proc-b'], 'one holder left')
  t.same(out.afterTwo, ['bq-proc-b'])
  t.equal(out.afterAll, false)
})

t.test("the register preload's policy is extended with the rule and put back exactly", async (t) => {
  const out = scenario('register', { APPARMOR_MONKEYS_DENY: 'foo,bar', APPARMOR_MONKEYS_UNKNOWN: 'passthrough' })
  const base = { unknown: 'passthrough', allow: [], deny: ['foo', 'bar'], confine: [], emulation: true, log: null, logArgv: false }
  t.same(out.before, base)
  t.equal(out.state, 'extended')
  t.same(out.during, { ...base, confine: [{ match: ruleText, profile: 'bq-proc' }] }, "the preload's options are kept; the adapter's own intercept options are not used")
  t.same(out.after, base)
  t.equal(out.installed, true, "the preload's installation stays")
})

t.test("any policy somebody else installed is extended with core's addConfineRule and put back exactly", async (t) => {
  const out = scenario('foreign')
  t.equal(out.result.value, 'extended')
  t.same(out.during, { ...out.before, confine: [{ match: ruleText, profile: 'bq-proc' }] }, 'their allow list and log stay')
  t.same(out.after, out.before)
})

t.test('a policy that already holds the rule is used as it is', async (t) => {
  t.same(scenario('present'), { state: 'already-present', after: 1, installed: true })
})

t.test('an installation replaced behind the adapter keeps the added rules until they are released', async (t) => {
  const out = scenario('replaced')
  t.same(out.second, { value: 'installed' })
  t.same(out.during.confine.map((c: { profile: string }) => c.profile), ['bq-proc', 'p'], 'rules added before the re-install are still in force')
  t.same(out.after, { unknown: 'passthrough', allow: [], deny: ['curl'], confine: [{ match: '/(?:^| )\\/srv\\/b\\/main\\.js(?: |$)/', profile: 'p' }], emulation: true, log: null, logArgv: false })
})
