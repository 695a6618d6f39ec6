/**
 * examples/fastify-app on a real AppArmor kernel (runs inside the VM): the app starts in
 * fastify-app-boot, confines itself in fastify-app through @apparmor-monkeys/fastify, and is
 * talked to over loopback HTTP. Profiles: examples/fastify-app/apparmor/*, rendered for the
 * checkout by test/adapters/profiles.ts.
 */
import { after, before, test } from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { auditSince, denied, expectedInstanceId, request, runToExit, startApp, type RunningApp } from './app'

const APP = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'fastify-app')
const SERVER = path.join(APP, 'server.js')
const TOKEN = (JSON.parse(fs.readFileSync(path.join(APP, 'config', 'secrets.json'), 'utf8')) as { apiToken: string }).apiToken
const PORT = 3201

let app: RunningApp
let bootAudit: string[] = []

before(async () => {
  await auditSince()
  app = await startApp([process.execPath, SERVER], PORT, { profile: 'fastify-app-boot', cwd: APP })
  bootAudit = await auditSince()
})

after(async () => {
  await app?.stop()
})

test('boots with no AppArmor denial at all: the machine-id shell-out never reached the kernel', () => {
  assert.deepEqual(denied(bootAudit), [])
})

test('serves the static page, JSON routes and the token-protected POST under fastify-app', async () => {
  const index = await request(PORT, 'GET', '/')
  assert.equal(index.status, 200)
  assert.match(index.headers['content-type'] ?? '', /text\/html/)
  assert.match(index.body, /<h1>fastify-app<\/h1>/)

  const health = await request(PORT, 'GET', '/api/health')
  assert.equal(health.status, 200)
  assert.equal(health.json.status, 'ok')
  // node-machine-id ran "( cat /var/lib/dbus/machine-id /etc/machine-id … ) | head -n 1" at boot;
  // the boot profile grants no exec at all, so only an in-process answer can be right.
  assert.equal(health.json.instance, expectedInstanceId())

  const denied401 = await request(PORT, 'POST', '/api/notes', { body: { text: 'no token' } })
  assert.equal(denied401.status, 401)
  const created = await request(PORT, 'POST', '/api/notes', { body: { text: 'confined' }, headers: { authorization: `Bearer ${TOKEN}` } })
  assert.equal(created.status, 201)
  assert.equal(created.json.text, 'confined')
  const list = await request(PORT, 'GET', '/api/notes')
  assert.deepEqual(list.json.map((n: { text: string }) => n.text), ['confined'])
})

test("every thread that can run application I/O is in fastify-app; only Node's runtime threads are not", async () => {
  const r = await request(PORT, 'GET', '/api/apparmor')
  assert.equal(r.status, 200)
  const { current, threads, status } = r.json
  assert.equal(current, 'fastify-app (enforce)')
  assert.equal(status.state, 'confined')
  assert.equal(status.confined, true)
  assert.equal(status.interception, 'installed')
  assert.equal(status.report.pool, 'relabelled', 'the app read its secrets asynchronously: the pool existed and was relabelled')
  assert.equal(status.report.complete, true)
  const runtime = new Set(status.report.unconfined.map((t: { tid: number; role: string }) => (assert.equal(t.role, 'runtime'), t.tid)))
  const pool = status.report.threads.filter((t: { role: string }) => t.role === 'pool')
  assert.equal(pool.length, 4)
  for (const t of threads as Array<{ tid: number; label: string }>) {
    if (runtime.has(t.tid)) assert.equal(t.label, 'fastify-app-boot (enforce)', `runtime thread ${t.tid}`)
    else assert.equal(t.label, 'fastify-app (enforce)', `thread ${t.tid}`)
  }
})

test('reading the secrets at request time fails with EACCES, through sync and async fs', async () => {
  await auditSince()
  const sync = await request(PORT, 'GET', '/api/reload-secrets?via=sync')
  const async = await request(PORT, 'GET', '/api/reload-secrets?via=async')
  assert.deepEqual([sync.status, sync.json.error], [403, 'EACCES'])
  assert.deepEqual([async.status, async.json.error], [403, 'EACCES'])
  const lines = denied(await auditSince())
  assert.equal(lines.length, 2, lines.join('\n'))
  for (const l of lines) {
    assert.match(l, /operation="open" profile="fastify-app" name="[^"]*\/examples\/fastify-app\/config\/secrets\.json"/)
  }
})

test('no exec denial in the whole run', async () => {
  const exit = await app.stop()
  assert.equal(exit.code, 0, exit.stderr)
  assert.deepEqual([...bootAudit, ...(await auditSince())].filter((l) => l.includes('operation="exec"')), [])
})

test('without apparmor-monkeys, one profile for the whole life: the shell-out is an exec denial and the secrets stay readable', async () => {
  await auditSince()
  const single = await startApp([process.execPath, SERVER], PORT, { profile: 'fastify-app-single', cwd: APP, env: { APP_APPARMOR: 'off' } })
  const health = await request(PORT, 'GET', '/api/health')
  const reread = await request(PORT, 'GET', '/api/reload-secrets?via=async')
  const exit = await single.stop()
  const lines = denied(await auditSince())
  assert.equal(health.json.instance, 'unknown', 'node-machine-id failed: the shell was denied')
  assert.equal(reread.status, 200, 'the secrets are readable by any request handler')
  assert.equal(exit.code, 0, exit.stderr)
  assert.ok(lines.length >= 1)
  for (const l of lines) assert.match(l, /operation="exec" profile="fastify-app-single" name="\/usr\/bin\/dash"/)
})

test('startup fails with a clear message when the profile is not loaded (ERR_AA_NOT_FOUND)', () => {
  const r = runToExit([process.execPath, SERVER], { profile: 'fastify-app-boot', cwd: APP, port: PORT, env: { APP_PROFILE: 'fastify-app-missing' } })
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^fastify-app: ERR_AA_NOT_FOUND: @apparmor-monkeys\/fastify: the process could not be confined in AppArmor profile 'fastify-app-missing'/)
  assert.match(r.stderr, /is not loaded in the kernel/)
  assert.doesNotMatch(r.stdout, /Server listening/)
})

test('startup fails with a clear message when the change is not permitted (ERR_AA_NOT_PERMITTED)', () => {
  // loaded, but fastify-app-boot has no change_profile rule for it
  const r = runToExit([process.execPath, SERVER], { profile: 'fastify-app-boot', cwd: APP, port: PORT, env: { APP_PROFILE: 'fastify-app-single' } })
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^fastify-app: ERR_AA_NOT_PERMITTED: .*'fastify-app-single'/)
  assert.match(r.stderr, /does not allow this transition; add "change_profile -> fastify-app-single,"/)
  assert.doesNotMatch(r.stdout, /Server listening/)
})

test('with no_new_privs (NoNewPrivileges=, no-new-privileges, allowPrivilegeEscalation: false) the change is refused: ERR_AA_NO_NEW_PRIVS', () => {
  // no_new_privs allows the exec into fastify-app-boot (from unconfined) but no change to a
  // profile that is not a stack of the current one: docs/deployment.md says so.
  const r = runToExit(['setpriv', '--no-new-privs', 'aa-exec', '-p', 'fastify-app-boot', '--', process.execPath, SERVER], { cwd: APP, port: PORT })
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^fastify-app: ERR_AA_NO_NEW_PRIVS: .*'fastify-app'/)
  assert.match(r.stderr, /no_new_privs is set/)
})
