// The example apps on this host (no AppArmor here), each in a child process over loopback:
// unconfined (APP_APPARMOR=off) they serve every route; confined by apparmor-monkeys they refuse to
// start (fail closed, ERR_AA_DISABLED) and never listen. Their confined runs are in the VM
// suites (guest/fastify-app.test.ts, guest/express-app.test.ts).
import t from 'tap'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { accepts, request, runToExit, startApp } from './guest/app'
import { exampleDir } from './profiles'

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

const apps = [
  { name: 'fastify-app' as const, argv: [process.execPath, 'server.js'] },
  { name: 'express-app' as const, argv: [process.execPath, '--require', '@apparmor-monkeys/core/register', 'server.js'] },
]

for (const { name, argv } of apps) {
  const cwd = exampleDir(name)
  const token = (JSON.parse(fs.readFileSync(path.join(cwd, 'config', 'secrets.json'), 'utf8')) as { apiToken: string }).apiToken

  t.test(`${name} unconfined (APP_APPARMOR=off): every route answers`, async (t) => {
    const port = await freePort()
    const app = await startApp(argv, port, { cwd, env: { APP_APPARMOR: 'off', LOG_LEVEL: 'warn' }, timeoutMs: 30_000 })
    t.teardown(() => app.stop())
    const index = await request(port, 'GET', '/')
    t.equal(index.status, 200)
    t.match(index.body, `<h1>${name}</h1>`)
    const health = await request(port, 'GET', '/api/health')
    t.equal(health.json.status, 'ok')
    t.match(health.json.instance, /^([0-9a-f]{64}|unknown)$/)
    t.equal((await request(port, 'POST', '/api/notes', { body: { text: 'x' } })).status, 401)
    t.equal((await request(port, 'POST', '/api/notes', { body: { text: 'x' }, headers: { authorization: `Bearer ${token}` } })).status, 201)
    t.same((await request(port, 'GET', '/api/notes')).json.map((n: { text: string }) => n.text), ['x'])
    const reread = await request(port, 'GET', '/api/reload-secrets?via=async')
    t.same([reread.status, reread.json.reloaded], [200, true], 'unconfined: the secrets are readable')
    t.equal((await app.stop()).code, 0)
  })

  t.test(`${name} with apparmor-monkeys on a kernel without AppArmor: fails closed, never serves`, async (t) => {
    const port = await freePort()
    const r = runToExit(argv, { cwd, port, env: { LOG_LEVEL: 'warn' }, timeoutMs: 30_000 })
    t.equal(r.code, 1)
    t.match(r.stderr, new RegExp(`^${name}: ERR_AA_DISABLED: @apparmor-monkeys/(fastify|express): the process could not be confined in AppArmor profile '${name}'`))
    t.equal(await accepts(port), false)
  })
}
