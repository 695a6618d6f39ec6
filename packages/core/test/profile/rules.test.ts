// Records → rules (src/profile/rules.ts): grouping, the only generalisations (pids/tids,
// versions under node_modules/.pnpm, the data dirs), what the abstractions cover, execs.
import * as path from 'node:path'
import t from 'tap'
import { defaultSearchPath, readRules, readVariables } from '../../src/profile/policy'
import { parseRecords } from '../../src/profile/records'
import { buildRules, generaliseProc, generaliseVersions, ruleLetters, type RuleContext } from '../../src/profile/rules'

let serial = 0
function rec(profile: string, op: string, fields: string): string {
  return `audit: type=1400 audit(1.0:${++serial}): apparmor="ALLOWED" operation="${op}" profile="${profile}" ${fields} pid=7 comm="node"`
}
const file = (profile: string, name: string, mask: string, op = 'open', owner = true) =>
  rec(profile, op, `name="${name}" requested_mask="${mask}" denied_mask="${mask}" fsuid=0 ouid=${owner ? 0 : 1}`)

const searchPath = defaultSearchPath()
const vars = readVariables('/etc/apparmor.d/tunables/global', searchPath)
vars.set('NODE', ['/usr/bin/node'])
const covered = readRules(path.join(searchPath[0]!, 'abstractions', 'apparmor-monkeys-node'), vars, searchPath)
const ctx: RuleContext = {
  variables: [
    { name: 'APP_DIR', value: '/srv/app' },
    { name: 'APP_DEPS', value: '/srv/app/node_modules' },
    { name: 'NODE', value: '/usr/bin/node' },
  ],
  dataDirs: ['/var/lib/app'],
  covered,
  children: [{ name: 'app-child', match: 'node' }],
}

const rulesOf = (p: ReturnType<typeof buildRules>) => Object.fromEntries(p.groups.map((g) => [g.id, g.rules]))

t.test('mask letters', async (t) => {
  t.equal(ruleLetters('r'), 'r')
  t.equal(ruleLetters('rm'), 'rm')
  t.equal(ruleLetters('wc'), 'w')
  t.equal(ruleLetters('ac'), 'w', 'create is w, and w covers append')
  t.equal(ruleLetters('a'), 'a')
  t.equal(ruleLetters('kr'), 'rk')
  t.equal(ruleLetters(undefined), '')
})

t.test('the two generalisations of a path', async (t) => {
  t.equal(generaliseProc('/proc/123/task/456/attr/current'), '@{PROC}/@{pid}/task/@{tid}/attr/current')
  t.equal(generaliseProc('/proc/123/cgroup'), '@{PROC}/@{pid}/cgroup')
  t.equal(generaliseProc('/proc/sys/kernel/version'), '@{PROC}/sys/kernel/version')
  t.equal(generaliseProc('/etc/hosts'), null)
  t.equal(generaliseVersions('/r/node_modules/.pnpm/fastify@5.1.0/node_modules/fastify/x.js'), '/r/node_modules/.pnpm/fastify@*/node_modules/fastify/x.js')
  t.equal(generaliseVersions('/r/node_modules/.pnpm/@fastify+ajv-compiler@4.0.1_x@1/node_modules/y'), '/r/node_modules/.pnpm/@fastify+ajv-compiler@*/node_modules/y')
  t.equal(generaliseVersions('/r/node_modules/fastify/package.json'), '/r/node_modules/fastify/package.json', 'nothing to generalise outside .pnpm')
  t.equal(generaliseVersions('/srv/a@1/x'), '/srv/a@1/x', 'nor outside node_modules')
})

t.test('rules per group; boot-only reads stay out of the runtime profile', async (t) => {
  const records = parseRecords(
    [
      file('app-boot', '/srv/app/config/secret.json', 'r'),
      file('app-boot', '/srv/app/server.js', 'r'),
      file('app', '/srv/app/lib/lazy.js', 'r'),
      file('app', '/srv/app/node_modules/.pnpm/fastify@5.1.0/node_modules/fastify/lib/a.js', 'r'),
      file('app', '/srv/app/node_modules/.pnpm/fastify@5.1.0/node_modules/fastify/lib/b.js', 'r'),
      file('app', '/srv/app/node_modules/addon/build/Release/addon.node', 'r'),
      file('app', '/srv/app/node_modules/addon/build/Release/addon.node', 'rm', 'file_mmap'),
      file('app', '/var/lib/app/db/x.sqlite', 'wc', 'mknod'),
      file('app', '/var/lib/app/db/x.sqlite', 'rk', 'file_lock'),
      file('app', '/tmp/report.txt', 'wc'),
      file('app', '/proc/345/task/346/stat', 'r'),
      file('app', '/proc/1/cgroup', 'r', 'open', false),
      file('app', '/etc/ssl/openssl.cnf', 'r'),
      file('app', '/proc/345/cgroup', 'r'),
      rec('app', 'create', 'family="inet6" sock_type="stream" protocol=6 requested_mask="create" denied_mask="create"'),
      rec('app', 'connect', 'family="inet" sock_type="dgram" protocol=17 requested_mask="connect" denied_mask="connect"'),
      rec('app', 'getsockname', 'family="unix" sock_type="stream" protocol=0 requested_mask="getattr" denied_mask="getattr"'),
      rec('app', 'signal', 'requested_mask="receive" denied_mask="receive" signal=term peer="unconfined"'),
      rec('app', 'capable', 'capability=12  capname="net_admin"'),
      rec('app', 'capable', 'info="optional: no audit" error=-1 capability=14  capname="ipc_lock"'),
      rec('app', 'exec', 'name="/usr/bin/git" requested_mask="x" denied_mask="x" fsuid=0 ouid=0 target="app//null-/usr/bin/git"'),
      rec('app', 'exec', 'name="/usr/bin/node" requested_mask="x" denied_mask="x" fsuid=0 ouid=0 target="app//null-/usr/bin/node"'),
      rec('app', 'exec', 'info="change_profile onexec" error=-13 name="/usr/bin/node" target="app-worker"'),
      rec('app', 'mount', 'info="failed flags match" error=-13 fstype="tmpfs" srcname="none" flags="rw"'),
      file('app//null-/usr/bin/git', '/usr/share/git-core/templates', 'r'),
      rec('app-boot', 'change_profile', 'name="app" target="app"'),
    ].join('\n'),
  )
  const boot = buildRules('app-boot', records, { ...ctx, changeProfileTo: ['app'] })
  const rt = buildRules('app', records, ctx)
  t.same(rulesOf(boot), {
    app: ['@{APP_DIR}/config/secret.json r,', '@{APP_DIR}/server.js r,'],
    change_profile: ['change_profile -> app,'],
  })
  t.same(rulesOf(rt), {
    app: ['@{APP_DIR}/lib/lazy.js r,'],
    deps: ['@{APP_DEPS}/.pnpm/fastify@*/node_modules/fastify/lib/a.js r,', '@{APP_DEPS}/.pnpm/fastify@*/node_modules/fastify/lib/b.js r,', '@{APP_DEPS}/addon/build/Release/addon.node rm,'],
    data: ['/var/lib/app/ r,', '/var/lib/app/** rwk,'],
    writes: ['/tmp/report.txt w,'],
    proc: ['@{PROC}/@{pid}/cgroup r,', 'owner @{PROC}/@{pid}/task/@{tid}/stat r,'],
    network: ['network inet dgram,', 'network inet6 stream,'],
    ipc: ['signal (receive) set=(term) peer=unconfined,'],
    capability: ['capability net_admin,'],
    exec: [
      '/usr/bin/node Px -> app-child,',
      '# NOT granted: /usr/bin/git was executed (as app//null-/usr/bin/git); name it with --child NAME=git or add "/usr/bin/git ix," by hand',
    ],
    change_profile: ['change_profile -> app-worker,'],
    unhandled: ['# ALLOWED mount info="failed flags match"'],
  })
  const spaced = buildRules('app', parseRecords(file('app', '/var/lib/my app/db/x.sqlite', 'rwk')), { ...ctx, dataDirs: ['/var/lib/my app'] })
  t.same(rulesOf(spaced)['data'], ['"/var/lib/my app/" r,', '"/var/lib/my app/**" rwk,'], 'a data directory with whitespace is quoted, as every path')
  t.same(rt.ungrantedExecs, ['/usr/bin/git'])
  t.equal(rt.covered, 3, 'openssl.cnf, the owned cgroup read and the unix socket are the abstraction\'s')
  t.equal(rt.skipped, 2, 'the optional capability probe and the null-profile record')
  t.equal(rt.records, 22)
})

t.test('the output does not depend on the order of the records', async (t) => {
  const lines = [
    file('a', '/srv/app/x.js', 'r'),
    file('a', '/srv/app/y.js', 'r'),
    file('a', '/etc/hosts', 'r'),
    rec('a', 'create', 'family="inet" sock_type="stream" protocol=6 requested_mask="create" denied_mask="create"'),
    file('a', '/srv/app/x.js', 'rm', 'file_mmap'),
  ]
  const one = buildRules('a', parseRecords(lines.join('\n')), ctx)
  const two = buildRules('a', parseRecords([...lines].reverse().join('\n')), ctx)
  t.same(one.groups, two.groups)
  t.same(rulesOf(one).app, ['@{APP_DIR}/x.js rm,', '@{APP_DIR}/y.js r,'], 'permissions of the same path merge')
})

t.test('a change back to itself (the onexec put back after a confined child) is granted and explained', async (t) => {
  const records = parseRecords(
    [
      rec('w', 'change_onexec', 'name="w-child" target="w-child"'),
      rec('w', 'exec', 'info="change_profile onexec" error=-13 name="/usr/bin/node" target="w-child"'),
      rec('w', 'change_onexec', 'name="w" target="w"'),
    ].join('\n'),
  )
  const rules = rulesOf(buildRules('w', records, ctx))
  t.same(rules.change_profile!.slice(0, 2), ['change_profile -> w,', 'change_profile -> w-child,'])
  t.match(rules.change_profile![2], /^# change_profile -> w \(itself\) puts the spawning thread's onexec back .* exec any program into this profile without an x rule/)
  t.equal(rules.change_profile!.length, 3)
})

t.test("the core package's directory is granted whole and read-only, once any file of it was read", async (t) => {
  const core = '/srv/app/node_modules/.pnpm/@apparmor-monkeys+core@0.4.0/node_modules/@apparmor-monkeys/core'
  const withCore: RuleContext = { ...ctx, packageDirs: [core, '/opt/aam core'] }
  const records = parseRecords(
    [
      file('app-boot', `${core}/dist/register.js`, 'r'),
      file('app-boot', `${core}/package.json`, 'r'),
      file('app-boot', '/opt/aam core/dist/register.js', 'r'),
      file('app', '/srv/app/lib/a.js', 'r'),
      file('app', `${core}/dist/cache/x`, 'rw'),
    ].join('\n'),
  )
  const boot = rulesOf(buildRules('app-boot', records, withCore))
  t.same(boot['package'], ['"/opt/aam core/**" r,', '@{APP_DEPS}/.pnpm/@apparmor-monkeys+core@*/node_modules/@apparmor-monkeys/core/** r,'])
  t.notOk(boot['deps'], 'the files read are not listed one by one beside it')
  const app = rulesOf(buildRules('app', records, withCore))
  t.notOk(app['package'], 'a profile that read nothing of it gets no rule for it')
  t.same(app['writes'], ['@{APP_DEPS}/.pnpm/@apparmor-monkeys+core@*/node_modules/@apparmor-monkeys/core/dist/cache/x rw,'], 'a write below it is named, never widened')
  t.notOk(rulesOf(buildRules('app-boot', records, ctx))['package'], 'no package directories given: no such rule')
  const bootRules = buildRules('app-boot', records, withCore)
  t.same(bootRules.packageDirs, ['/opt/aam core', core].sort())
  const inherited = rulesOf(buildRules('app', records, { ...withCore, inheritedPackageDirs: bootRules.packageDirs }))
  t.same(inherited['package'], boot['package'], 'the profile changed into with the package loaded gets what the boot profile read')
  // An app inside the package's directory (developed in its checkout): no whole-directory rule,
  // which would grant the app's boot-only files in the runtime profile too.
  const inside: RuleContext = { ...ctx, variables: [{ name: 'APP_DIR', value: '/opt/aam core/test/app' }, ...ctx.variables.slice(1)], packageDirs: ['/opt/aam core'] }
  const appInside = parseRecords([file('app-boot', '/opt/aam core/dist/register.js', 'r'), file('app-boot', '/opt/aam core/test/app/secret.txt', 'r')].join('\n'))
  const insideBoot = buildRules('app-boot', appInside, inside)
  t.notOk(rulesOf(insideBoot)['package'], 'a package directory holding the app is not granted whole')
  t.same(rulesOf(insideBoot)['app'], ['@{APP_DIR}/secret.txt r,'])
  t.same(rulesOf(buildRules('app', appInside, { ...inside, inheritedPackageDirs: ['/opt/aam core'] }))['package'], undefined, 'nor inherited')
  const dataInside = buildRules('app-boot', appInside, { ...ctx, dataDirs: ['/opt/aam core/data'], packageDirs: ['/opt/aam core'] })
  t.notOk(rulesOf(dataInside)['package'], 'nor one holding a data directory')
})
