// The host-side parts of the learner (src/profile/learn.ts): the generated file for every
// recorded VM log compiles with apparmor_parser against the kernel's feature set, grants every
// access that was seen (with the abstractions), holds no rule that matches nothing seen, and
// is the same whatever the order of the records; the learning profiles; the run environment.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { corePackageDirs, dependencyRoots, generate, ownPackageDir, learningFile, packageProfilesDir, runEnv, runParser, NODE_ABSTRACTION, defaultIncludes } from '../../src/profile/learn'
import { parseProfileArgs } from '../../src/profile/options'
import { defaultSearchPath, fileCovered, readRules, readVariables } from '../../src/profile/policy'
import { parseRecords, recordsFor, type AuditRecord } from '../../src/profile/records'
import { ruleLetters } from '../../src/profile/rules'

const FEATURES = '/usr/share/apparmor-features/features'
const parser = spawnSync('sh', ['-c', 'command -v apparmor_parser || ls /usr/sbin/apparmor_parser'], { encoding: 'utf8' }).stdout.trim()
const canCompile = parser !== '' && fs.existsSync(FEATURES)
const repo = path.resolve(__dirname, '..', '..', '..', '..')
const RECORDS = path.join(__dirname, 'fixtures', 'records')
/** The checkout the records were made in (fixtures/records/README.md): its paths become this checkout's. */
const RECORDED_ROOT = '/work/wt-profile'

/** A recorded log, with the recording checkout's paths moved to this one (records hold absolute paths). */
function readLog(line: string, log: string): string {
  return fs.readFileSync(path.join(RECORDS, line, log), 'utf8').split(`"${RECORDED_ROOT}/`).join(`"${repo}/`)
}

/** The recorded logs (fixtures/records/README.md), as `profile` would have been called for them. */
const CASES = [
  { log: 'minimal-app.log', name: 'aam-min', appDir: path.join(repo, 'test', 'profile', 'fixtures'), children: [] },
  { log: 'fastify-app.log', name: 'fastify-app', appDir: path.join(repo, 'examples', 'fastify-app'), children: [] },
  { log: 'express-app.log', name: 'express-app', appDir: path.join(repo, 'examples', 'express-app'), children: [] },
  { log: 'cluster-app.log', name: 'cluster-primary', appDir: path.join(repo, 'examples', 'cluster-app'), children: [{ name: 'web-worker', match: 'node' }] },
  { log: 'bullmq-worker.log', name: 'bullmq-worker', appDir: path.join(repo, 'examples', 'bullmq-worker'), children: [{ name: 'bullmq-processor', match: 'node' }] },
]

function compile(t: Tap.Test, text: string, label: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-profile-test-'))
  const file = path.join(dir, 'profile')
  fs.writeFileSync(file, text)
  try {
    runParser(file, 'compile', ['--kernel-features', FEATURES])
    t.pass(`${label}: compiles with apparmor_parser -Q -K --kernel-features`)
  } catch (err) {
    t.fail(`${label}: ${(err as Error).message}`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const includes = defaultIncludes()

t.test('the package ships the Node abstraction the generated profiles include', async (t) => {
  t.ok(fs.existsSync(path.join(packageProfilesDir(), NODE_ABSTRACTION)))
  t.same(includes, ['abstractions/base', NODE_ABSTRACTION])
})

for (const line of ['node20', 'node26']) {
  for (const c of CASES) {
    t.test(`${line}/${c.log}`, { skip: canCompile ? false : 'apparmor_parser or its feature file is missing' }, async (t) => {
      const all = parseRecords(readLog(line, c.log))
      const names = [`${c.name}-boot`, c.name, ...c.children.map((x) => x.name)]
      const records = recordsFor(all, names)
      t.ok(records.length > 20, `${records.length} records of ${names.join(', ')}`)
      const node = line === 'node20' ? '/usr/bin/node' : execPathIn(all)
      const opts = { name: c.name, children: c.children, appDir: c.appDir, dataDirs: [], command: ['node', 'server.js'] }
      const { text, profiles } = generate({ opts, records, node, includes })
      compile(t, text, 'the learned file')
      const shuffled = [...records].sort((a, b) => (a.raw < b.raw ? 1 : -1))
      t.equal(generate({ opts, records: shuffled, node, includes }).text, text, 'the same file whatever the order of the records')
      t.notMatch(text, /\b\d{3,}\b.*\/(task|attr)\//, 'no pid in a rule')
      t.notMatch(text, /\.pnpm\/[^/@]+@\d/, 'no version under .pnpm')

      // Every access seen is granted by the learned profile (with its includes), and every
      // file rule matches something that was seen.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-profile-cover-'))
      try {
        for (const p of profiles) {
          const body = text.slice(text.indexOf(`profile ${p.name} {`))
          const own = body.slice(0, body.indexOf('\n}\n'))
          const file = path.join(dir, p.name)
          fs.writeFileSync(file, `include <tunables/global>\n${own.split('\n').slice(1).join('\n')}\n`)
          const vars = readVariables('/etc/apparmor.d/tunables/global', defaultSearchPath())
          for (const m of text.matchAll(/^@\{(\w+)\}=(.*)$/gm)) vars.set(m[1]!, m[2]!.split(' '))
          const rules = readRules(file, vars)
          const seen = records.filter((r) => r.profile === p.name && r.name?.startsWith('/') && fileOp(r))
          const uncovered = seen.filter((r) => !fileCovered(rules, r.name!, ruleLetters(r.requested), r.fsuid === r.ouid)).map((r) => `${r.name} ${r.requested}`)
          t.same(uncovered, [], `${p.name}: every file access seen is granted`)
          const ownRules = readRules(file, vars, [path.join(dir, 'none')]).files
          // NAME is granted the core package's directory when NAME-boot read it (the process
          // enters NAME with the package loaded): the one rule that may match nothing NAME read.
          const inherited = p.name === c.name ? profiles[0]!.packageDirs : []
          t.same(p.packageDirs.filter((d) => !seen.some((r) => r.name!.startsWith(`${d}/`))).filter((d) => !inherited.includes(d)), [], `${p.name}: a package directory granted was read in it or inherited`)
          const unused = ownRules
            .filter((rule) => !seen.some((r) => rule.regexp.test(r.name!)))
            .filter((rule) => !inherited.some((d) => rule.regexp.test(`${d}/package.json`)))
            .map((r) => r.glob)
          t.same(unused, [], `${p.name}: every file rule matches an access that was seen`)
          if (p.name === c.name) t.same(profiles[0]!.packageDirs.filter((d) => !p.packageDirs.includes(d)), [], `${p.name}: has every package directory ${profiles[0]!.name} read`)
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
      if (c.name === 'fastify-app') {
        const runtime = text.slice(text.indexOf('profile fastify-app {'))
        t.notMatch(runtime, /config\/secrets/, 'the secrets read at boot stay out of the runtime profile')
        t.match(text.slice(0, text.indexOf('profile fastify-app {')), /@\{APP_DIR\}\/config\/secrets\.json r,/)
        t.match(runtime, /network inet stream,/)
      }
      if (c.children.length > 0) t.match(text, new RegExp(`change_profile -> ${c.children[0]!.name},`), 'the exec-time change into the child')
    })
  }
}

function fileOp(r: AuditRecord): boolean {
  return r.family === undefined && r.operation !== 'exec' && r.operation !== 'change_profile' && r.operation !== 'change_onexec' && ruleLetters(r.requested) !== ''
}

function execPathIn(records: readonly AuditRecord[]): string {
  const m = records.find((r) => r.operation === 'file_mmap' && /\/bin\/node$/.test(r.name ?? ''))
  return m?.name ?? '/usr/bin/node'
}

t.test('the learning profiles: complain mode, the includes and the change into NAME', { skip: canCompile ? false : 'no apparmor_parser' }, async (t) => {
  const text = learningFile({ name: 'svc', children: [{ name: 'svc-worker', match: 'node' }], appDir: '/srv/svc' }, includes, '/usr/bin/node')
  t.match(text, /^profile svc-boot flags=\(complain\) \{\n  include <abstractions\/base>\n  include <abstractions\/apparmor-monkeys-node>\n\n  # profile changes\n  change_profile -> svc,\n\}/m)
  t.match(text, /^profile svc flags=\(complain\) \{$/m)
  t.match(text, /^profile svc-worker flags=\(complain\) \{$/m)
  t.match(text, /^@\{NODE\}=\/usr\/bin\/node$/m)
  compile(t, text, 'the learning file')
})

t.test('dependency roots are the node_modules trees read from', async (t) => {
  const recs = parseRecords(
    ['/srv/a/node_modules/x/i.js', '/srv/a/node_modules/.pnpm/y@1/node_modules/y/i.js', '/repo/node_modules/z/i.js', '/etc/hosts']
      .map((n, i) => `audit(1.0:${i}): apparmor="ALLOWED" operation="open" profile="p" name="${n}" requested_mask="r"`)
      .join('\n'),
  )
  t.same(dependencyRoots(recs), ['/repo/node_modules', '/srv/a/node_modules'])
})

t.test("the core package's directories: this package's own and any copy under node_modules", async (t) => {
  const own = ownPackageDir()
  t.ok(fs.existsSync(path.join(own, 'package.json')) && JSON.parse(fs.readFileSync(path.join(own, 'package.json'), 'utf8')).name === '@apparmor-monkeys/core', own)
  const recs = parseRecords(
    [`${own}/dist/register.js`, '/srv/a/node_modules/.pnpm/@apparmor-monkeys+core@1.0.0/node_modules/@apparmor-monkeys/core/dist/x.js', '/srv/a/node_modules/@apparmor-monkeys/fastify/dist/i.js', `${own}-other/x`, '/etc/hosts']
      .map((n, i) => `audit(1.0:${i}): apparmor="ALLOWED" operation="open" profile="p" name="${n}" requested_mask="r"`)
      .join('\n'),
  )
  t.same(corePackageDirs(recs), [own, '/srv/a/node_modules/.pnpm/@apparmor-monkeys+core@1.0.0/node_modules/@apparmor-monkeys/core'].sort())
  t.same(corePackageDirs(recs.slice(4)), [], 'none read, none granted')
})

t.test('the run environment: the caller\'s, the register preload once, the children\'s confine rules', async (t) => {
  const opts = parseProfileArgs(['--name', 'svc', '--out', '/tmp/o', '--child', 'svc-worker=node', '--', 'node', 'x.js'])
  const register = require.resolve('../../src/register')
  const env = runEnv(opts, { FOO: 'bar', NODE_OPTIONS: '--max-old-space-size=100', APPARMOR_MONKEYS_CONFINE: 'git=svc-git' })
  t.equal(env['FOO'], 'bar')
  t.match(env['NODE_OPTIONS'], /^--max-old-space-size=100 --require=.*register/)
  t.equal(env['APPARMOR_MONKEYS_CONFINE'], 'git=svc-git,node=svc-worker')
  const exercise = runEnv(opts, { APPARMOR_MONKEYS_CONFINE: 'git=svc-git' }, false)
  t.equal(exercise['APPARMOR_MONKEYS_CONFINE'], 'git=svc-git', "the exercise keeps the caller's rules only")
  t.match(exercise['NODE_OPTIONS'], /--require=.*register/)
  const again = runEnv(opts, { NODE_OPTIONS: `--require=${register}` })
  t.equal(again['NODE_OPTIONS'], `--require=${register}`, 'not added twice')
})
