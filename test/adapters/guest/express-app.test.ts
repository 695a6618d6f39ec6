/**
 * examples/express-app on a real AppArmor kernel (runs inside the VM): the app starts in
 * express-app-boot with the register preload, listens, and confines itself in express-app
 * through listenConfined; it is talked to over loopback HTTP.
 */
import { after, before, test } from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { auditSince, denied, expectedInstanceId, request, startApp, type RunningApp } from './app'

const APP = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'express-app')
const ARGV = [process.execPath, '--require', '@apparmor-monkeys/core/register', path.join(APP, 'server.js')]
const TOKEN = (JSON.parse(fs.readFileSync(path.join(APP, 'config', 'secrets.json'), 'utf8')) as { apiToken: string }).apiToken
const PORT = 3202

let app: RunningApp
let bootAudit: string[] = []

before(async () => {
  await auditSince()
  app = await startApp(ARGV, PORT, { profile: 'express-app-boot', cwd: APP })
  bootAudit = await auditSince()
})

after(async () => {
  await app?.stop()
})

test('boots with no AppArmor denial: the register preload answered the async machine-id shell-out', async () => {
  assert.deepEqual(denied(bootAudit), [])
  const health = await request(PORT, 'GET', '/api/health')
  assert.equal(health.status, 200)
  assert.equal(health.json.instance, expectedInstanceId())
})

test('serves the static page and the JSON routes under express-app', async () => {
  const index = await request(PORT, 'GET', '/')
  assert.equal(index.status, 200)
  assert.match(index.body, /<h1>express-app<\/h1>/)
  assert.equal((await request(PORT, 'POST', '/api/notes', { body: { text: 'x' } })).status, 401)
  const created = await request(PORT, 'POST', '/api/notes', { body: { text: 'confined' }, headers: { authorization: `Bearer ${TOKEN}` } })
  assert.equal(created.status, 201)
  assert.deepEqual((await request(PORT, 'GET', '/api/notes')).json.map((n: { text: string }) => n.text), ['confined'])
})

test("every thread that can run application I/O is in express-app; only Node's runtime threads are not", async () => {
  const { current, threads, status } = (await request(PORT, 'GET', '/api/apparmor')).json
  assert.equal(current, 'express-app (enforce)')
  assert.equal(status.interception, 'already-installed', 'the register preload installed it first')
  assert.equal(status.report.complete, true)
  assert.equal(status.report.pool, 'relabelled')
  const runtime = new Set(status.report.unconfined.map((t: { tid: number; role: string }) => (assert.equal(t.role, 'runtime'), t.tid)))
  for (const t of threads as Array<{ tid: number; label: string }>) {
    assert.equal(t.label, runtime.has(t.tid) ? 'express-app-boot (enforce)' : 'express-app (enforce)', `thread ${t.tid}`)
  }
})

test('reading the secrets at request time fails with EACCES, through sync and async fs', async () => {
  await auditSince()
  for (const via of ['sync', 'async']) {
    const r = await request(PORT, 'GET', `/api/reload-secrets?via=${via}`)
    assert.deepEqual([r.status, r.json.error], [403, 'EACCES'], via)
  }
  const lines = denied(await auditSince())
  assert.equal(lines.length, 2, lines.join('\n'))
  for (const l of lines) assert.match(l, /operation="open" profile="express-app" name="[^"]*\/examples\/express-app\/config\/secrets\.json"/)
})

test('no exec denial in the whole run', async () => {
  const exit = await app.stop()
  assert.equal(exit.code, 0, exit.stderr)
  assert.deepEqual([...bootAudit, ...(await auditSince())].filter((l) => l.includes('operation="exec"')), [])
})

test('before: true confines before listening (express-app allows the bind) and serves the same', async () => {
  const early = await startApp(ARGV, PORT, { profile: 'express-app-boot', cwd: APP, env: { APP_CONFINE_BEFORE: '1' } })
  try {
    const { current, status } = (await request(PORT, 'GET', '/api/apparmor')).json
    assert.equal(current, 'express-app (enforce)')
    assert.equal(status.report.complete, true)
    assert.equal((await request(PORT, 'GET', '/api/reload-secrets?via=async')).json.error, 'EACCES')
  } finally {
    assert.equal((await early.stop()).code, 0)
  }
})
