// listenConfined with Express 5 and Express 4, each scenario in a child process against the
// built dist/ (the exec interception is process-wide). This host has no AppArmor: every
// confinement fails for real with ERR_AA_DISABLED, which is what the fail-closed paths need.
// The successful paths run in the AppArmor VM (test/adapters).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'

const FIXTURE = path.join(__dirname, 'fixtures', 'listen.cjs')

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [FIXTURE, ...args], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as Record<string, any>
}

const PREFIX = "@apparmor-monkeys/express: the process could not be confined in AppArmor profile 'web'"

t.test('importing the helper has no side effect; one named export', async (t) => {
  t.same(run('import'), { before: false, after: false, keys: ['listenConfined'] })
})

for (const [which, major] of [
  ['express', '5'],
  ['express4', '4'],
]) {
  t.test(`Express ${major}: listen, then the change fails: the server is closed, the promise rejects with the code, the interception is given back`, async (t) => {
    const out = run('after', which as string)
    t.equal(out.version.split('.')[0], major)
    t.match(out.error, { name: 'AppArmorError', code: 'ERR_AA_DISABLED', profile: 'web', causeCode: 'ERR_AA_DISABLED' })
    t.match(out.error.message, `${PREFIX} (after listening on port `)
    t.match(out.error.message, /; the server was closed\): confine\("web"\): AppArmor is not enabled/)
    t.same([out.listened, out.listening, out.accepts, out.installed], [true, false, false, false])
  })
  t.test(`Express ${major}: before: true fails before the server is started`, async (t) => {
    const out = run('before', which as string)
    t.match(out.error, { code: 'ERR_AA_DISABLED', message: `${PREFIX} (before listening; the server was not started)` })
    t.same([out.listened, out.installed], [false, false])
  })
}

t.test('an Express app (a request listener) is served through a server the helper makes', async (t) => {
  t.match(run('app').error, { code: 'ERR_AA_DISABLED', message: /after listening on port \d+; the server was closed/ })
})

t.test('misuse is ERR_AA_OPTIONS: not an app, a server already listening, a wrong option; nothing installed', async (t) => {
  const out = run('misuse')
  t.match(out.object, { code: 'ERR_AA_OPTIONS', message: /app must be a request listener \(an Express or Connect app\) or an http\(s\) server/ })
  t.match(out.string, { code: 'ERR_AA_OPTIONS' })
  t.match(out.listening, { code: 'ERR_AA_OPTIONS', message: /the server is already listening; pass it before listen\(\)/ })
  t.match(out.options, { code: 'ERR_AA_OPTIONS', message: /unknown option "prot" \(did you mean port\?\)/ })
  t.equal(out.installed, false)
})

t.test('the interception is in place while the server starts, unless intercept: false', async (t) => {
  t.same(run('interceptOn'), { during: true, after: false })
  t.same(run('interceptOff'), { during: false })
})
