/**
 * @apparmor-monkeys/bullmq on a real AppArmor kernel (runs inside the VM, as root, node:test).
 * A redis-server of its own; each scenario is a fresh worker process (fixtures/worker.cjs)
 * that starts unconfined and confines itself. Profiles: test/bullmq/profiles/bullmq.aa.
 */
import { test, before, after } from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import { VERSIONS, WorkerRun, openQueue, type BullVersion, type WorkerConfig, type WorkerEvent } from '../harness'
import { startRedis, type RedisServer } from '../redis'

const WORKER = 'aam-bq-worker'
const PROCESSOR = 'aam-bq-processor'

let redis: RedisServer
let queues = 0

before(async () => {
  fs.writeFileSync('/tmp/secret', 'top secret\n')
  fs.writeFileSync('/tmp/worker-only', 'for the worker only\n')
  fs.writeFileSync('/tmp/open', 'public\n')
  redis = await startRedis()
})

after(async () => {
  await redis?.stop()
})

interface Scenario {
  run: WorkerRun
  queue: any
  started: WorkerEvent
}

async function scenario(version: BullVersion, cfg: Omit<WorkerConfig, 'bullmq' | 'port' | 'queue'>): Promise<Scenario> {
  const name = `vm${++queues}`
  const queue = await openQueue(version, redis.port, name)
  const run = new WorkerRun({ bullmq: version, port: redis.port, queue: name, ...cfg })
  const started = await run.waitFor((e) => e.ev === 'started' || e.ev === 'start-failed', 'start', 120_000)
  return { run, queue, started }
}

/** Adds jobs and waits until each one has completed or failed; returns the outcome per job, in order. */
async function runJobs(s: Scenario, datas: object[]): Promise<WorkerEvent[]> {
  const jobs = []
  for (const data of datas) jobs.push(await s.queue.add('job', data))
  const out: WorkerEvent[] = []
  for (const job of jobs) {
    out.push(await s.run.waitFor((e) => (e.ev === 'completed' || e.ev === 'failed') && e['id'] === job.id, `job ${job.id}`, 120_000))
  }
  return out
}

/** Every thread of the worker process is in `profile`, except Node's own runtime threads the report named. */
function assertWorkerThreads(labels: Array<{ tid: number; label: string }>, report: any, profile: string): void {
  assert.ok(Array.isArray(labels), JSON.stringify(labels))
  const runtime = new Set<number>(report.unconfined.map((t: { tid: number; role: string }) => {
    assert.equal(t.role, 'runtime')
    return t.tid
  }))
  assert.ok(runtime.size <= 6, `at most Node's 6 runtime threads are left out (${runtime.size})`)
  for (const t of labels) {
    if (!runtime.has(t.tid)) assert.equal(t.label, `${profile} (enforce)`, `tid ${t.tid}`)
  }
  assert.ok(labels.filter((t) => !runtime.has(t.tid)).length >= 5, 'main and the libuv pool are confined')
}

const readJob = (file: string, mode: 'async' | 'sync' = 'async') => ({ op: 'read', file, mode })

for (const version of VERSIONS) {
  test(`${version}: in-process processor: the worker is confined before its first job; a read the profile denies fails the job with EACCES`, async () => {
    const s = await scenario(version, { profile: WORKER })
    try {
      assert.equal(s.started.ev, 'started', JSON.stringify(s.started))
      const report = s.started['confinement'].report
      assert.equal(report.complete, true)
      assert.equal(report.scope, 'process')
      assertWorkerThreads(s.started['labels'], report, WORKER)
      const [secretAsync, secretSync, open, labels] = await runJobs(s, [readJob('/tmp/secret'), readJob('/tmp/secret', 'sync'), readJob('/tmp/open'), { op: 'labels' }])
      assert.equal(secretAsync?.ev, 'failed')
      assert.match(secretAsync?.['reason'], /^EACCES: permission denied, open '\/tmp\/secret'$/, 'async read (libuv pool)')
      assert.equal(secretSync?.ev, 'failed')
      assert.match(secretSync?.['reason'], /^EACCES: permission denied, open '\/tmp\/secret'$/, 'sync read (main thread)')
      assert.equal(open?.ev, 'completed')
      assert.equal(open?.['result'].length, 7)
      assert.equal(labels?.['result'].pid, s.started['labels'][0].tid, 'processed in the worker process')
      assertWorkerThreads(labels?.['result'].labels, report, WORKER)
      const { code } = await s.run.close()
      assert.equal(code, 0)
    } finally {
      s.run.kill()
      await s.queue.close()
    }
  })

  test(`${version}: sandboxed processor: every thread of every child in the processor profile; EACCES in the child; a Redis restart keeps it processing and confined`, async () => {
    const s = await scenario(version, { profile: WORKER, processorProfile: PROCESSOR, sandboxed: true, concurrency: 2 })
    try {
      assert.equal(s.started.ev, 'started', JSON.stringify(s.started))
      const c = s.started['confinement']
      assert.equal(c.interception, 'installed')
      assert.match(c.processorEntry, /\/bullmq\/dist\/cjs\/classes\/main\.js$/)
      assertWorkerThreads(s.started['labels'], c.report, WORKER)
      const workerPid = s.started['labels'][0].tid

      const checkChildren = async (round: string) => {
        const [l1, l2, secret, workerOnly, open] = await runJobs(s, [{ op: 'labels' }, { op: 'labels' }, readJob('/tmp/secret'), readJob('/tmp/worker-only'), readJob('/tmp/open')])
        for (const l of [l1, l2]) {
          assert.equal(l?.ev, 'completed', `${round}: ${JSON.stringify(l)}`)
          const r = l?.['result']
          assert.notEqual(r.pid, workerPid, 'processed in a child')
          assert.ok(r.labels.length >= 11, `${round}: main, runtime and pool threads (${r.labels.length})`)
          for (const t of r.labels) assert.equal(t.label, `${PROCESSOR} (enforce)`, `${round}: child ${r.pid} tid ${t.tid}`)
          assert.equal(r.env, null, 'the check variable is gone from the child')
        }
        assert.equal(secret?.ev, 'failed')
        assert.match(secret?.['reason'], /^EACCES: permission denied, open '\/tmp\/secret'$/)
        assert.equal(workerOnly?.ev, 'failed', 'the child is in the processor profile, not the worker profile')
        assert.match(workerOnly?.['reason'], /^EACCES: permission denied, open '\/tmp\/worker-only'$/)
        assert.equal(open?.ev, 'completed')
      }
      await checkChildren('before the restart')

      const readiesBefore = s.run.of('ready').length
      await redis.restart()
      if (version === 'bullmq5') await s.run.waitFor((e) => e.ev === 'ready' && e['n'] > readiesBefore, "'ready' after the reconnect", 120_000)
      await checkChildren('after the restart')
      const r = await s.run.report()
      assertWorkerThreads(r['labels'], c.report, WORKER)
      assert.equal(r['confinement'].reconfinements, 0)
      assert.equal(r['confinement'].failure, null)
      if (version === 'bullmq5') assert.ok(r['confinement'].rechecks >= 1, 'the reconnect was checked')
      else assert.equal(r['confinement'].rechecks, 0)
      const { code, closed } = await s.run.close()
      assert.equal(code, 0)
      assert.equal(closed?.['interception'], false)
    } finally {
      s.run.kill()
      await s.queue.close()
    }
  })

  test(`${version}: a missing worker profile stops the worker before any job, with ERR_AA_NOT_FOUND`, async () => {
    const name = `vm${++queues}`
    const queue = await openQueue(version, redis.port, name)
    try {
      await queue.add('job', { op: 'echo', n: 1 })
      const run = new WorkerRun({ bullmq: version, port: redis.port, queue: name, profile: 'aam-bq-missing', processorProfile: PROCESSOR, sandboxed: true })
      const { code } = await run.close()
      const failed = run.of('start-failed')[0]
      assert.equal(code, 3)
      assert.equal(failed?.['error'].code, 'ERR_AA_NOT_FOUND', JSON.stringify(failed))
      assert.match(failed?.['error'].message, /aam-bq-missing/)
      assert.equal(failed?.['interception'], false)
      assert.equal(await queue.getWaitingCount(), 1, 'the job still waits')
    } finally {
      await queue.close()
    }
  })
}

test('a missing processor profile, or a worker profile that cannot restore its onexec, stops the worker before any job', async () => {
  for (const [profile, processorProfile, code] of [
    [WORKER, 'aam-bq-missing-processor', 'ERR_AA_NOT_FOUND'],
    ['aam-bq-worker-noself', PROCESSOR, 'ERR_AA_RESTORE_FAILED'],
  ] as const) {
    const s = await scenario('bullmq', { profile, processorProfile, sandboxed: true })
    try {
      await s.queue.add('job', { op: 'echo', n: 1 })
      const { code: status } = await s.run.close()
      assert.equal(s.started.ev, 'start-failed')
      assert.equal(s.started['error'].code, code, JSON.stringify(s.started))
      assert.equal(status, 3)
      assert.equal(s.run.of('active').length, 0)
    } finally {
      s.run.kill()
      await s.queue.close()
    }
  }
})

test('useWorkerThreads without a processor profile: processor threads start after the confinement and run in the worker profile', async () => {
  const s = await scenario('bullmq', { profile: WORKER, sandboxed: true, useWorkerThreads: true })
  try {
    assert.equal(s.started.ev, 'started', JSON.stringify(s.started))
    const report = s.started['confinement'].report
    const [labels, secret] = await runJobs(s, [{ op: 'labels' }, readJob('/tmp/secret')])
    assert.equal(labels?.ev, 'completed')
    assert.equal(labels?.['result'].pid, s.started['labels'][0].tid, 'a thread of the worker process')
    assert.ok(labels?.['result'].labels.length > s.started['labels'].length, 'the processor thread is new')
    assertWorkerThreads(labels?.['result'].labels, report, WORKER)
    assert.equal(secret?.ev, 'failed')
    assert.match(secret?.['reason'], /^EACCES: permission denied, open '\/tmp\/secret'$/)
    await s.run.close()
  } finally {
    s.run.kill()
    await s.queue.close()
  }
})
