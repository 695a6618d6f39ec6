/**
 * A real redis-server for the BullMQ suites (host and guest): its own loopback port, its own
 * temporary directory, no persistence; stopped (and its directory removed) by `stop()`.
 * `restart()` stops it and starts a fresh one on the same port (what a Redis failover or a
 * service restart looks like to BullMQ). No side effects on import.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'

export interface RedisServer {
  readonly port: number
  readonly dir: string
  /** The redis-server process id (changes on restart). */
  pid(): number
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Whether redis-server can be started here (for skip messages). */
export function redisAvailable(): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) return { ok: false, reason: `redis-server is not installed (${r.error?.message ?? r.stderr.trim()})` }
  return { ok: true }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** One PING; resolves true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    let data = ''
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(1000, () => done(false))
    s.once('error', () => done(false))
    s.once('connect', () => s.write('PING\r\n'))
    s.on('data', (d: Buffer) => {
      data += d.toString('latin1')
      if (data.includes('\r\n')) done(data.startsWith('+PONG'))
    })
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited at start: ${out}`)
    if (await ping(port)) return child
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      await exited
      throw new Error(`redis-server did not answer on port ${port} within 20 s: ${out}`)
    }
    await sleep(25)
  }
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

export async function startRedis(): Promise<RedisServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-redis-'))
  const port = await freePort()
  let child = await launch(port, dir)
  return {
    port,
    dir,
    pid: () => child.pid as number,
    async restart() {
      await terminate(child)
      child = await launch(port, dir)
    },
    async stop() {
      await terminate(child)
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
