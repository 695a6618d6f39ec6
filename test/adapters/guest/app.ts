/**
 * Runs an example app (or a fixture server) as a child process, talks HTTP to it over
 * loopback and stops it. Used inside the AppArmor VM by the adapter suites and the demo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as net from 'node:net'

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  json: any
}

/** One HTTP/1.1 request on a fresh connection. */
export function request(port: number, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body)
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }), ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = JSON.parse(body)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)))
    req.end(payload)
  })
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunningApp {
  readonly child: ChildProcess
  readonly port: number
  stdout(): string
  stderr(): string
  /** SIGTERM, then the exit (SIGKILL after 10 s). */
  stop(): Promise<Exit>
  /** The exit, whenever it comes. */
  exited: Promise<Exit>
}

export interface StartOptions {
  /** Start under this profile (`aa-exec -p`). */
  profile?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** How long to wait for the port (default 60 s: the VM is slow). */
  timeoutMs?: number
}

/**
 * Starts `argv` and resolves once `port` accepts connections; rejects with the output if the
 * process exits first or the port never opens.
 */
export async function startApp(argv: string[], port: number, opts: StartOptions = {}): Promise<RunningApp> {
  const full = opts.profile ? ['aa-exec', '-p', opts.profile, '--', ...argv] : argv
  const child = spawn(full[0] as string, full.slice(1), {
    env: { ...process.env, PORT: String(port), ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')))
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')))
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }))
  })
  let gone = false
  void exited.then(() => (gone = true))
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  while (!(await accepts(port))) {
    if (gone) {
      const e = await exited
      throw Object.assign(new Error(`${argv.join(' ')} exited (${e.code ?? e.signal}) before listening:\n${e.stderr}\n${e.stdout}`), { exit: e })
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      const e = await exited
      throw Object.assign(new Error(`${argv.join(' ')}: port ${port} did not open:\n${e.stderr}\n${e.stdout}`), { exit: e })
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    child,
    port,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (!gone) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        const e = await exited
        clearTimeout(timer)
        return e
      }
      return exited
    },
  }
}

/** Runs `argv` to completion (for start-ups expected to fail). */
export function runToExit(argv: string[], opts: StartOptions & { port?: number } = {}): Exit {
  const full = opts.profile ? ['aa-exec', '-p', opts.profile, '--', ...argv] : argv
  const r = spawnSync(full[0] as string, full.slice(1), {
    env: { ...process.env, ...(opts.port === undefined ? {} : { PORT: String(opts.port) }), ...opts.env },
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  })
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

let barrier = 0

/**
 * The AppArmor audit records the kernel logged since the last call (then clears the log).
 * Records are printed asynchronously by kauditd: a marker record (a changeprofile to a profile
 * that does not exist, audited by the kernel) is provoked and the log is read up to it.
 */
export async function auditSince(): Promise<string[]> {
  const marker = `aam-adapters-barrier-${process.pid}-${++barrier}`
  try {
    const fd = fs.openSync('/proc/thread-self/attr/apparmor/current', fs.constants.O_WRONLY)
    try {
      fs.writeSync(fd, `changeprofile ${marker}`)
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    // ENOENT, audited: that is the marker
  }
  const deadline = Date.now() + 10_000
  for (;;) {
    const text = spawnSync('dmesg', [], { encoding: 'utf8' }).stdout
    const at = text.indexOf(marker)
    if (at >= 0 || Date.now() > deadline) {
      spawnSync('dmesg', ['-C'])
      const before = at >= 0 ? text.slice(0, text.lastIndexOf('\n', at) + 1) : text
      return before.split('\n').filter((l) => l.includes('apparmor='))
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * What node-machine-id's machineIdSync()/machineId() return on this machine, computed without
 * any shell: sha256 of the first line of /var/lib/dbus/machine-id, else /etc/machine-id, with
 * whitespace removed and lowercased (node-machine-id's own post-processing).
 */
export function expectedInstanceId(): string {
  const { createHash } = require('node:crypto') as typeof import('node:crypto')
  let text = ''
  for (const f of ['/var/lib/dbus/machine-id', '/etc/machine-id']) {
    try {
      text += fs.readFileSync(f, 'utf8')
    } catch {
      // absent: cat goes on with the next file
    }
  }
  const first = text.split('\n')[0] ?? ''
  return createHash('sha256').update(first.replace(/\r+|\n+|\s+/gi, '').toLowerCase()).digest('hex')
}

/** The `apparmor="DENIED"` records among `lines`. */
export function denied(lines: string[]): string[] {
  return lines.filter((l) => l.includes('apparmor="DENIED"'))
}
