/**
 * Drives the worker fixture (fixtures/worker.cjs) from a test, on the host or inside the
 * AppArmor VM: starts it with a configuration, collects its JSON events, waits for events,
 * sends commands, and adds jobs through a real BullMQ Queue. No side effects on import.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import * as fs from 'node:fs'
import * as path from 'node:path'

/** The repository root (works from test/bullmq and test/dist/bullmq). */
export function repoRoot(): string {
  let dir = __dirname
  for (;;) {
    if (fs.existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`no pnpm-workspace.yaml above ${__dirname}`)
    dir = up
  }
}

/**
 * examples/bullmq-worker/apparmor/bullmq-worker with its three variables set for this checkout
 * (as a deployment edits them), written into `outDir`; returns the file.
 */
export function renderExampleProfile(outDir: string): string {
  const root = repoRoot()
  const set = (text: string, name: string, values: string[]) => {
    const re = new RegExp(`^@\\{${name}\\}=.*$`, 'm')
    if (!re.test(text)) throw new Error(`no @{${name}}= line`)
    if (values.some((v) => /\s/.test(v))) throw new Error(`@{${name}}: a value with whitespace cannot be written`)
    return text.replace(re, `@{${name}}=${values.join(' ')}`)
  }
  let text = fs.readFileSync(path.join(root, 'examples', 'bullmq-worker', 'apparmor', 'bullmq-worker'), 'utf8')
  text = set(text, 'APP_DIR', [path.join(root, 'examples', 'bullmq-worker')])
  // pnpm keeps dependencies under <root>/node_modules/.pnpm and links workspace packages from <root>/packages
  text = set(text, 'APP_DEPS', [path.join(root, 'node_modules'), path.join(root, 'packages')])
  text = set(text, 'NODE', [fs.realpathSync(process.execPath)])
  const out = path.join(outDir, 'bullmq-worker.aa')
  fs.writeFileSync(out, text)
  return out
}

export const FIXTURES = path.join(repoRoot(), 'test', 'bullmq', 'fixtures')
export const WORKER = path.join(FIXTURES, 'worker.cjs')

export type BullVersion = 'bullmq' | 'bullmq5'
export const VERSIONS: readonly BullVersion[] = ['bullmq', 'bullmq5']

/** BullMQ 6 (`bullmq`) or 5 (`bullmq5`), as installed for packages/bullmq. */
export function bullmq(version: BullVersion): any {
  return createRequire(path.join(repoRoot(), 'packages', 'bullmq', 'package.json'))(version)
}

export interface WorkerEvent {
  ev: string
  [key: string]: any
}

export interface WorkerConfig {
  bullmq: BullVersion
  port: number
  queue: string
  profile: string | null
  processorProfile?: string
  holdJobs?: boolean
  strict?: boolean
  sandboxed?: boolean
  useWorkerThreads?: boolean
  autorun?: boolean
  concurrency?: number
  fakeKernel?: boolean
  recordConfiner?: boolean
  forkOptions?: { execArgv?: string[]; env?: Record<string, string> }
}

export class WorkerRun {
  readonly events: WorkerEvent[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: string | null }>
  private readonly child: ChildProcess
  private waiters: Array<() => void> = []

  constructor(cfg: WorkerConfig, opts: { prefix?: string[]; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}) {
    const argv = [...(opts.prefix ?? []), process.execPath, ...(opts.nodeArgs ?? []), WORKER, JSON.stringify(cfg)]
    this.child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env })
    let buf = ''
    this.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString('utf8')
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        try {
          this.events.push(JSON.parse(line) as WorkerEvent)
        } catch {
          this.events.push({ ev: 'stdout', line })
        }
        this.wake()
      }
    })
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')))
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        resolve({ code, signal })
        this.wake()
      })
    })
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  of(ev: string): WorkerEvent[] {
    return this.events.filter((e) => e.ev === ev)
  }

  /** Resolves with the first event (from index `from`) that satisfies `pred`. */
  async waitFor(pred: (e: WorkerEvent) => boolean, what: string, timeoutMs = 60_000, from = 0): Promise<WorkerEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.slice(from).find(pred)
      if (found) return found
      if (!this.alive) throw new Error(`worker exited before ${what}; events: ${JSON.stringify(this.events)}\nstderr: ${this.stderr}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}\nstderr: ${this.stderr}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Waits until `n` jobs have ended (completed or failed) in total. */
  async settled(n: number, timeoutMs = 60_000): Promise<WorkerEvent[]> {
    await this.waitFor(() => this.events.filter((e) => e.ev === 'completed' || e.ev === 'failed').length >= n, `${n} finished jobs`, timeoutMs)
    return this.events.filter((e) => e.ev === 'completed' || e.ev === 'failed')
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`)
  }

  async report(): Promise<WorkerEvent> {
    const from = this.events.length
    this.send('report')
    return this.waitFor((e) => e.ev === 'report', 'report', 30_000, from)
  }

  /** Closes the Worker and waits for the process to end. */
  async close(): Promise<{ closed: WorkerEvent | undefined; code: number | null }> {
    if (this.alive) this.send('close')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000)
    const { code } = await this.exited
    clearTimeout(timer)
    return { closed: this.of('closed')[0], code }
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL')
  }
}

/** A BullMQ Queue on `port` (emptied first). */
export async function openQueue(version: BullVersion, port: number, name: string): Promise<any> {
  const { Queue } = bullmq(version)
  const queue = new Queue(name, { connection: { host: '127.0.0.1', port } })
  await queue.obliterate({ force: true })
  return queue
}
