// The plugin's lifecycle, each scenario in a child process against the built dist/ (the exec
// interception is process-wide). This host has no AppArmor: every confinement fails for real
// with ERR_AA_DISABLED, which is what the fail-closed paths need. The successful paths run in
// the AppArmor VM (test/adapters).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'

const FIXTURE = path.join(__dirname, 'fixtures', 'lifecycle.cjs')

function run(scenario: string, nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, FIXTURE, scenario], { encoding: 'utf8', timeout: 60_000, cwd: __dirname })
  const lines = r.stdout.split('\n').filter(Boolean)
  return { status: r.status, stderr: r.stderr, lines, out: JSON.parse(lines[lines.length - 1] ?? 'null') }
}

const DISABLED = /^@apparmor-monkeys\/fastify: the process could not be confined in AppArmor profile 'web' \(when: 'ready'\); startup aborted: confine\("web"\): AppArmor is not enabled/

t.test('importing the plugin has no side effect', async (t) => {
  t.same(run('import').out, { before: false, after: false, type: 'function' })
})

t.test("register installs the interception; onReady's failure rejects ready() with the coded error; close uninstalls", async (t) => {
  const { out } = run('ready')
  t.same(out.registered, { installed: true, state: 'pending', interception: 'installed' })
  t.match(out.error, { name: 'AppArmorError', code: 'ERR_AA_DISABLED', profile: 'web', causeCode: 'ERR_AA_DISABLED', message: DISABLED })
  t.match(out.status, { profile: 'web', when: 'ready', strict: true, state: 'failed', confined: false, report: null, error: { code: 'ERR_AA_DISABLED' } })
  t.equal(out.sameError, true, 'fastify.apparmor.error is the error ready() rejected with')
  t.equal(out.closedInstalled, false)
})

t.test('listen() rejects with the same code and nothing listens (fail closed)', async (t) => {
  const { out } = run('listen')
  t.match(out.error, { code: 'ERR_AA_DISABLED', message: DISABLED })
  t.equal(out.listening, false)
})

t.test('a wrong option rejects ready() with ERR_AA_OPTIONS before anything is installed', async (t) => {
  const { out } = run('options')
  t.match(out.error, { name: 'AppArmorError', code: 'ERR_AA_OPTIONS', message: /unknown option "whn" \(did you mean when\?\)/ })
  t.equal(out.installed, false)
})

t.test("when: 'listen' without a listen (inject): nothing is served unconfined, 503", async (t) => {
  t.same(run('inject').out, {
    status: 503,
    body: { statusCode: 503, code: 'ERR_AA_NOT_CONFINED', error: 'Service Unavailable', message: 'the process is not confined in its AppArmor profile (state: pending)' },
    connection: 'close',
    state: 'pending',
  })
})

t.test("when: 'listen' and the change fails after listen: the server is closed and the error ends the process", async (t) => {
  const r = run('listenMode')
  t.equal(r.status, 1)
  const events = r.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const fatal = events.filter((e) => e['level'] === 60)
  t.equal(fatal.length, 1)
  t.match(fatal[0], { msg: 'AppArmor confinement failed: closing the server', err: { type: 'AppArmorError' } })
  t.same(
    events.filter((e) => e['level'] === undefined),
    [{ listening: true }, { closed: true }],
    'closed, and no { stillRunning } line: the process ended',
  )
  t.match(r.stderr, /AppArmorError: @apparmor-monkeys\/fastify: the process could not be confined in AppArmor profile 'web' \(when: 'listen'\)/)
  t.match(r.stderr, /code: 'ERR_AA_DISABLED'/)
})

t.test('intercept: false leaves exec alone', async (t) => {
  t.same(run('interceptOff').out, { interception: 'off', installed: false })
})

t.test('after the register preload: not installed twice, and not removed on close', async (t) => {
  t.same(run('preloaded', ['--require', '@apparmor-monkeys/core/register']).out, { before: true, interception: 'already-installed', afterClose: true })
})

t.test('fastify.apparmor escapes encapsulation (fastify-plugin): visible in child plugins', async (t) => {
  t.same(run('visible').out, { root: 'web', child: 'web', when: 'listen' })
})

t.test('registered twice: the second registration fails and gives its lease back', async (t) => {
  t.same(run('twice').out, { error: { code: 'FST_ERR_DEC_ALREADY_PRESENT' }, afterError: true, afterClose: false })
})

t.test('two apps in one process: the interception stays until the last one closes', async (t) => {
  t.same(run('twoApps').out, { states: ['installed', 'installed'], afterFirst: true, afterBoth: false })
})
