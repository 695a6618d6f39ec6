// BullMQ throughput with @apparmor-monkeys/bullmq confined vs a plain BullMQ Worker, side by
// side and interleaved, on a real AppArmor kernel (the qemu VM of @apparmor-monkeys/vm; this host has no
// AppArmor). The workload is examples/bullmq-worker's processor (render a receipt from a
// template: a file read, a SHA-256, string work), run in-process and sandboxed, under the
// example's own profiles (bullmq-worker, bullmq-processor), concurrency 4, against a real
// redis-server started inside the VM. Jobs/s are counted from the first to the last completed
// job of a pre-filled queue (start-up and confinement excluded; they happen once per process).
//
//   import { bench } from './bullmq.mjs'        rows for bench/run.mjs (ms per job; ratio = throughput ratio)
//   node bench/bullmq.mjs                      prints the rows
//
// Without the VM (vmPrerequisites() not ok) the rows are measured on this host instead, with a
// stub kernel in place of AppArmor (the adapter's own work around BullMQ, not the kernel's),
// and named so. Internal modes: `--guest <json>` (inside the VM), `--worker <json>` (one worker).
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './_lib.mjs'

const SELF = fileURLToPath(import.meta.url)
const ROOT = path.resolve(path.dirname(SELF), '..')
const require = createRequire(import.meta.url)
const pkgRequire = createRequire(path.join(ROOT, 'packages', 'bullmq', 'package.json'))
const EXAMPLE = path.join(ROOT, 'examples', 'bullmq-worker')
const PROCESSOR = path.join(EXAMPLE, 'processor.js')
const BAR = 0.95
const CONCURRENCY = 4

function receipt(i) {
  return { customer: `customer-${i}`, items: [{ name: 'tea', price: 3.5, quantity: 1 + (i % 5) }, { name: 'cake', price: 4.25, quantity: 1 }] }
}

/** A stub kernel for hosts without AppArmor: one thread, a label. */
function stubKernel() {
  const core = pkgRequire('@apparmor-monkeys/core')
  let label = 'unconfined'
  const me = () => [{ ...core.parseLabel(label === 'unconfined' ? label : `${label} (enforce)`), tid: process.pid, main: true }]
  return {
    threadLabels: me,
    getCon: () => me()[0],
    permProfile() {},
    changeProfile(p) {
      const previous = me()[0]
      label = p
      return { operation: 'changeProfile', previous, current: me()[0], changed: previous.label !== p, scope: 'thread', thread: { tid: process.pid, mainThread: true } }
    },
  }
}

// --- one worker process: processes `jobs` jobs, prints the span between the first and last completion
async function worker(cfg) {
  const { Worker } = pkgRequire('bullmq')
  const { startConfinedWorker } = require(path.join(ROOT, 'packages', 'bullmq', 'dist'))
  const processor = cfg.sandboxed ? PROCESSOR : require(PROCESSOR)
  const workerOptions = { connection: { host: '127.0.0.1', port: cfg.port, maxRetriesPerRequest: null }, concurrency: CONCURRENCY }
  let w
  if (cfg.variant === 'confined') {
    const options = { profile: 'bullmq-worker', ...(cfg.sandboxed ? { processorProfile: 'bullmq-processor' } : {}) }
    if (cfg.stub) options.kernel = stubKernel()
    w = (await startConfinedWorker(Worker, 'bench', processor, workerOptions, options)).worker
  } else {
    w = new Worker('bench', processor, workerOptions)
  }
  let done = 0
  let first = 0
  let failed = 0
  await new Promise((resolve) => {
    const count = () => {
      done++
      if (done === 1) first = performance.now()
      if (done === cfg.jobs) resolve()
    }
    w.on('completed', count)
    w.on('failed', () => {
      failed++
      count()
    })
  })
  const span = performance.now() - first
  process.stdout.write(`${JSON.stringify({ rate: ((cfg.jobs - 1) * 1000) / span, failed })}\n`)
  await w.close()
}

// --- the measuring loop (inside the VM, or on the host with the stub kernel)
async function measureAll({ rounds, jobs, modes, stub }) {
  const { startRedis } = require(path.join(ROOT, 'test', 'dist', 'bullmq', 'redis.js'))
  const { Queue } = pkgRequire('bullmq')
  const redis = await startRedis()
  const queue = new Queue('bench', { connection: { host: '127.0.0.1', port: redis.port } })
  const results = {}
  try {
    for (const mode of modes) {
      const sandboxed = mode === 'sandboxed'
      results[mode] = { plain: [], confined: [] }
      // one warm-up pair (first-touch of files and Lua scripts), not counted
      for (let r = -1; r < rounds; r++) {
        const order = r % 2 === 0 ? ['plain', 'confined'] : ['confined', 'plain']
        for (const variant of order) {
          await queue.obliterate({ force: true })
          const n = r < 0 ? Math.min(jobs, 100) : jobs
          for (let i = 0; i < n; i += 500) await queue.addBulk(Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ name: 'receipt', data: receipt(i + k) })))
          const out = await runWorker({ variant, sandboxed, stub, jobs: n, port: redis.port })
          if (out.failed) throw new Error(`${mode}/${variant}: ${out.failed} jobs failed`)
          if (r >= 0) results[mode][variant].push(out.rate)
        }
      }
    }
  } finally {
    await queue.close()
    await redis.stop()
  }
  return results
}

function runWorker(cfg) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, '--worker', JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop()
      if (code !== 0 || !line) reject(new Error(`worker ${JSON.stringify(cfg)} exited ${code}: ${out}${err}`))
      else resolve(JSON.parse(line))
    })
  })
}

/**
 * Rows in bench/run.mjs's format: milliseconds per job (medians), and the median of the
 * per-round throughput ratios (confined jobs/s over plain jobs/s = plain ms/job over confined
 * ms/job; bar ≥ 0.95).
 */
function rows(results, where) {
  return Object.entries(results).map(([mode, r]) => {
    const perRound = r.plain.map((plain, i) => r.confined[i] / plain)
    const ratio = median(perRound)
    return {
      name: `bullmq ${mode} ms/job: confined worker${mode === 'sandboxed' ? ' + confined children' : ''} vs plain Worker, concurrency ${CONCURRENCY} (${where}; ratio = confined jobs/s ÷ plain jobs/s; ${r.plain.length} rounds)`,
      baseline: 1000 / median(r.plain),
      candidate: 1000 / median(r.confined),
      ratio: Number(ratio.toFixed(3)),
      bar: `≥ ${BAR}`,
      pass: ratio >= BAR,
    }
  })
}

/** The bench contract of bench/run.mjs. */
export async function bench() {
  const { vmPrerequisites, runVm } = require(path.join(ROOT, 'packages', 'vm', 'dist', 'index.js'))
  const pre = vmPrerequisites()
  if (!pre.ok) {
    process.stderr.write(`bench/bullmq: the AppArmor VM is unavailable (${pre.reason}); measuring on this host with a stub kernel\n`)
    const results = await measureAll({ rounds: 5, jobs: 2000, modes: ['in-process'], stub: true })
    process.stderr.write(`bench/bullmq: jobs/s per run: ${JSON.stringify(results)}\n`)
    return rows(results, 'this host, stub kernel: no AppArmor')
  }
  const { renderExampleProfile } = require(path.join(ROOT, 'test', 'dist', 'bullmq', 'harness.js'))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-bench-bq-'))
  try {
    const r = await runVm({
      profiles: [renderExampleProfile(dir)],
      steps: [{ name: 'bench', argv: ['node', SELF, '--guest', JSON.stringify({ rounds: 5, jobs: 600, modes: ['in-process', 'sandboxed'] })], timeoutSec: 1500 }],
      timeoutMs: 1_700_000,
    })
    const step = r.steps[0]
    const line = step.stdout.trim().split('\n').pop()
    if (line) process.stderr.write(`bench/bullmq: jobs/s per run (boot ${Math.round(r.bootMs)} ms, total ${Math.round(r.totalMs)} ms): ${line}\n`)
    if (step.status !== 0 || !line) throw new Error(`bench step exited ${step.status}: ${step.stdout}${step.stderr}`)
    if (step.audit.length) throw new Error(`the bench left AppArmor records: ${step.audit.join('\n')}`)
    return rows(JSON.parse(line), 'AppArmor VM, qemu TCG')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const [mode, arg] = process.argv.slice(2)
if (mode === '--worker') {
  worker(JSON.parse(arg)).catch((err) => {
    process.stderr.write(`${err.stack}\n`)
    process.exit(1)
  })
} else if (mode === '--guest') {
  measureAll(JSON.parse(arg)).then(
    (results) => process.stdout.write(`${JSON.stringify(results)}\n`),
    (err) => {
      process.stderr.write(`${err.stack}\n`)
      process.exit(1)
    },
  )
} else if (process.argv[1] === SELF) {
  bench().then((r) => console.log(JSON.stringify(r, null, 2)))
}
