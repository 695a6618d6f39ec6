// Redis down (a real redis-server, started and stopped, so nothing listens on its port):
// startConfinedWorker() checks AppArmor first and settles, with nothing printed to stderr, and
// the user's 'error' listener (attached in onWorker) hears the connection errors meanwhile.
// BullMQ 5 and 6.
import t from 'tap'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'

const FIXTURE = path.join(__dirname, 'fixtures', 'redis-down.cjs')
const BULLMQ = { 6: path.resolve(__dirname, '..', 'node_modules', 'bullmq'), 5: path.resolve(__dirname, '..', 'node_modules', 'bullmq5') }
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((f) => fs.existsSync(f))
const hasAppArmor = fs.existsSync('/sys/module/apparmor/parameters/enabled')

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1')
    c.once('connect', () => (c.destroy(), resolve(true)))
    c.once('error', () => resolve(false))
  })
}

/** A redis-server that ran on `port` and was stopped: nothing listens there any more. */
async function stoppedRedis(t: Tap.Test): Promise<number> {
  const port = await freePort()
  const server = spawn(REDIS as string, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  for (let i = 0; i < 100 && !(await connects(port)); i++) await new Promise((r) => setTimeout(r, 50))
  t.ok(await connects(port), 'redis-server listened')
  server.kill('SIGTERM')
  await new Promise((r) => server.once('exit', r))
  t.notOk(await connects(port), 'and stopped: nothing listens')
  return port
}

function run(bullmq: string, port: number, kernel: 'real' | 'fake') {
  const env = { ...process.env }
  delete env['NODE_OPTIONS']
  for (const k of Object.keys(env)) if (k.startsWith('APPARMOR_MONKEYS_')) delete env[k]
  const r = spawnSync(process.execPath, [FIXTURE, bullmq, String(port), kernel], { encoding: 'utf8', env, timeout: 30_000 })
  return { status: r.status, stderr: r.stderr, out: JSON.parse(r.stdout || '{}') }
}

t.test('Redis down', { skip: REDIS === undefined && 'redis-server is not installed' }, async (t) => {
  const port = await stoppedRedis(t)
  for (const [major, dir] of Object.entries(BULLMQ)) {
    t.test(`BullMQ ${major}: AppArmor is checked first: ERR_AA_DISABLED at once, no Worker, nothing printed`, { skip: hasAppArmor && 'this host has AppArmor' }, async (t) => {
      const r = run(dir, port, 'real')
      t.equal(r.status, 0, r.stderr)
      t.match(r.out.result, { code: 'ERR_AA_DISABLED', operation: 'startConfinedWorker', profile: 'bq-worker', message: /^startConfinedWorker\("bq-worker"\): nothing was started: AppArmor is not enabled/ })
      t.equal(r.out.onWorker, 0, 'no Worker was created')
      t.ok(r.out.ms < 1000, `settled in ${r.out.ms} ms`)
      t.equal(r.stderr, '')
    })
    t.test(`BullMQ ${major}: AppArmor fine, Redis down: rejects with ERR_AA_NOT_READY after readyTimeoutMs; errors go to the user's listener, not stderr`, async (t) => {
      const r = run(dir, port, 'fake')
      t.equal(r.status, 0, r.stderr)
      t.match(r.out.result, { name: 'AppArmorError', code: 'ERR_AA_NOT_READY', operation: 'startConfinedWorker', cause: 'ECONNREFUSED', message: /not ready within 1500 ms \(last error: .*ECONNREFUSED.*\); the Worker was closed/ })
      t.equal(r.out.onWorker, 1, 'onWorker saw the Worker before the call settled')
      t.ok(r.out.userErrors > 0, `the user's 'error' listener heard ${r.out.userErrors} connection error(s)`)
      t.ok(r.out.ms >= 1400 && r.out.ms < 10_000, `settled in ${r.out.ms} ms`)
      t.notMatch(r.stderr, /ECONNREFUSED/, 'no flood on stderr')
    })
  }
})
