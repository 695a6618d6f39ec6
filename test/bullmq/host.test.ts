/// <reference types="tap" />
// @apparmor-monkeys/bullmq on this host, against a real redis-server and BullMQ 5 and 6: the
// ordering guarantee, BullMQ 5 reconnects, fail-closed paths, and the processor children's
// exec-time rule and fork options. The worker runs in a child process (fixtures/worker.cjs).
// Where AppArmor itself would be needed, a kernel stand-in (fake one-thread kernel) or a
// recording exec confiner is injected; the real kernel is exercised in bullmq.vm.test.ts.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { isEnabled } from '@apparmor-monkeys/core'
import { FIXTURES, VERSIONS, WorkerRun, openQueue, type BullVersion, type WorkerConfig } from './harness'
import { redisAvailable, startRedis, type RedisServer } from './redis'
import { skipOrFail } from '../support/require-vm'

const redisPre = redisAvailable()
const skip = skipOrFail(redisPre, 'redis-server')
let redis: RedisServer

t.before(async () => {
  if (!skip) redis = await startRedis()
})
t.teardown(async () => {
  await redis?.stop()
})

let queues = 0
async function setup(t: tap.Test, version: BullVersion, jobs: object[]) {
  const name = `q${++queues}-${process.pid}`
  const queue = await openQueue(version, redis.port, name)
  t.teardown(() => queue.close())
  for (const data of jobs) await queue.add('job', data)
  return { name, queue }
}

function start(t: tap.Test, cfg: WorkerConfig): WorkerRun {
  const run = new WorkerRun(cfg)
  t.teardown(() => run.kill())
  return run
}

const echo = (n: number) => Array.from({ length: n }, (_, i) => ({ op: 'echo', n: i }))

t.test('host tests', { skip }, async (t) => {
  for (const version of VERSIONS) {
    t.test(`${version}: no job before the confinement (jobs queued before start)`, async (t) => {
      const { name } = await setup(t, version, echo(5))
      const run = start(t, { bullmq: version, port: redis.port, queue: name, profile: 'aam-bq-worker', fakeKernel: true, concurrency: 3 })
      await run.settled(5)
      const writes = run.of('kernel-write')
      t.equal(writes.length, 1, 'one profile change')
      t.equal(writes[0]?.['active'], 0, 'no job had started when the profile was changed')
      const order = run.events.map((e) => e.ev)
      t.ok(order.indexOf('kernel-write') < order.indexOf('active'), 'the change comes before the first active job')
      t.ok(order.indexOf('started') < order.indexOf('active'), 'startConfinedWorker resolved before the first job')
      t.same(run.of('completed').map((e) => e['result']).sort(), [0, 1, 2, 3, 4])
      const { code } = await run.close()
      t.equal(code, 0)
    })

    t.test(`${version}: holdJobs: false runs as configured and confines on the first 'ready'`, async (t) => {
      const { name, queue } = await setup(t, version, echo(2))
      const run = start(t, { bullmq: version, port: redis.port, queue: name, profile: 'aam-bq-worker', fakeKernel: true, holdJobs: false })
      // Without holdJobs the Worker runs jobs while startConfinedWorker() is still confining,
      // before the fixture has attached its 'completed' listener: count on the queue instead.
      const deadline = Date.now() + 60_000
      let counts: { completed: number; failed: number } = { completed: 0, failed: 0 }
      while (counts.completed + counts.failed < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        counts = await queue.getJobCounts('completed', 'failed')
      }
      t.same(counts, { completed: 2, failed: 0 })
      await run.waitFor((e) => e.ev === 'started', 'started')
      t.equal(run.of('kernel-write').length, 1)
      const started = run.of('started')[0]
      t.equal(started?.['confinement'].report.complete, true)
      await run.close()
    })

    t.test(`${version}: fail closed on this host (AppArmor absent): no job is processed`, { skip: isEnabled().enabled && 'AppArmor is enabled on this host' }, async (t) => {
      for (const sandboxed of [false, true]) {
        const { name, queue } = await setup(t, version, echo(4))
        const run = start(t, {
          bullmq: version,
          port: redis.port,
          queue: name,
          profile: 'aam-bq-worker',
          ...(sandboxed ? { sandboxed: true, processorProfile: 'aam-bq-processor' } : {}),
        })
        const { code } = await run.close()
        const refusal = run.of('start-failed')[0]
        t.equal(code, 3, 'startConfinedWorker rejected')
        t.equal(refusal?.['error'].code, 'ERR_AA_DISABLED')
        t.equal(refusal?.['interception'], false, 'the interception installed for the processor rule was removed again')
        t.same(run.of('active'), [], 'no job became active')
        const { waiting, active, completed, failed } = await queue.getJobCounts('waiting', 'active', 'completed', 'failed')
        t.same({ waiting, active, completed, failed }, { waiting: 4, active: 0, completed: 0, failed: 0 }, `${sandboxed ? 'sandboxed' : 'in-process'}: every job still waits`)
      }
    })

    t.test(`${version}: Redis restarts (BullMQ 5 emits 'ready' again): checked, never re-written, still processing`, async (t) => {
      const { name, queue } = await setup(t, version, echo(1))
      const run = start(t, { bullmq: version, port: redis.port, queue: name, profile: 'aam-bq-worker', fakeKernel: true })
      await run.settled(1)
      for (let i = 1; i <= 2; i++) {
        await redis.restart()
        await queue.add('job', { op: 'echo', n: 10 + i })
        await run.settled(1 + i, 90_000)
      }
      const { confinement } = await run.report()
      // (the fixture listens from the moment startConfinedWorker resolved: it may miss the first 'ready')
      const later = run.of('ready').filter((e) => e['rechecks'] >= 0).length
      if (version === 'bullmq5') {
        t.equal(confinement.rechecks, 2, "each reconnect's 'ready' was checked once")
        t.ok(later >= 2, `'ready' after each reconnect (${later})`)
      } else {
        t.equal(confinement.rechecks, 0, "BullMQ 6 emits 'ready' once (the initial connection)")
        t.ok(later <= 1)
      }
      t.equal(confinement.reconfinements, 0)
      t.equal(run.of('kernel-write').length, 1, 'the profile was written once, at start')
      t.same(run.of('completed').map((e) => e['result']), [0, 11, 12])
      await run.close()
    })
  }

  t.test("bullmq5: a thread found outside the profile on 'ready' is confined again; a refused change stops the worker", async (t) => {
    const { name, queue } = await setup(t, 'bullmq5', echo(1))
    const run = start(t, { bullmq: 'bullmq5', port: redis.port, queue: name, profile: 'aam-bq-worker', fakeKernel: true })
    await run.settled(1)
    run.send('drift')
    let from = run.events.length
    await redis.restart()
    await run.waitFor((e) => e.ev === 'kernel-write', 'the second write', 90_000, from)
    await queue.add('job', { op: 'echo', n: 2 })
    await run.settled(2, 90_000)
    t.equal((await run.report()).confinement.reconfinements, 1)

    run.send('drift')
    run.send('break')
    from = run.events.length
    await redis.restart()
    const err = await run.waitFor((e) => e.ev === 'error', 'the AppArmorError', 90_000, from)
    t.equal(err['error'].code, 'ERR_AA_NOT_PERMITTED')
    await run.waitFor((e) => e.ev === 'worker-closed', 'the worker to close', 30_000, from)
    const before = run.of('active').length
    await queue.add('job', { op: 'echo', n: 3 })
    await new Promise((r) => setTimeout(r, 1500))
    t.equal(run.of('active').length, before, 'no job after the failure')
    t.equal(await queue.getWaitingCount(), 1)
    await run.close()
  })

  const CHECK = path.resolve(FIXTURES, '../../../packages/bullmq/dist/processor-check.js')
  const PROBE = path.join(FIXTURES, 'probe-env.cjs')
  for (const [version, userOptions] of [['bullmq', true], ['bullmq5', false]] as const) {
    const what = userOptions ? "the user's execArgv/env merged" : "without user fork options: the worker's execArgv (minus --inspect*) and env"
    t.test(`${version}: processor children: BullMQ's real fork matches the rule; ${what}; the child refuses when not confined`, async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-bq-probe-'))
      t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
      const probe = path.join(dir, 'probe.jsonl')
      const { name } = await setup(t, version, echo(2))
      const cfg: WorkerConfig = {
        bullmq: version,
        port: redis.port,
        queue: name,
        profile: 'aam-bq-worker',
        processorProfile: 'aam-bq-processor',
        sandboxed: true,
        fakeKernel: true,
        recordConfiner: true,
      }
      // The probe preload records what each process started with (on this host NODE_OPTIONS is honoured).
      const run = userOptions
        ? start(t, { ...cfg, forkOptions: { execArgv: ['--max-old-space-size=99'], env: { PROBE_FOO: 'bar', PROBE_OUT: probe, NODE_OPTIONS: `--require ${PROBE}` } } })
        : (() => {
            const r = new WorkerRun(cfg, { nodeArgs: ['--no-deprecation', '--inspect-port=0'], env: { ...process.env, PROBE_FOO: 'inherited', PROBE_OUT: probe, NODE_OPTIONS: `--require ${PROBE}` } })
            t.teardown(() => r.kill())
            return r
          })()
      const ended = await run.settled(2)
      const started = run.of('started')[0]
      t.match(started?.['confinement'].processorEntry, new RegExp(`/bullmq/dist/cjs/classes/main\\.js$`), "BullMQ's own child entry file")
      t.equal(started?.['confinement'].interception, 'installed')
      t.same(
        run.of('kernel-perm').map((e) => e['profile']),
        ['aam-bq-worker', 'aam-bq-processor', 'aam-bq-processor', 'aam-bq-worker'],
        'dry runs: before the Worker exists, the worker and processor profiles; once confined, the processor profile and the restore into the worker profile',
      )
      const confined = run.of('exec-confine')
      t.equal(confined.length, 2, 'each fork went through the confiner (no child was reused: each refused)')
      t.ok(confined.every((e) => e['profile'] === 'aam-bq-processor'))
      for (const e of ended) {
        t.equal(e.ev, 'failed')
        t.match(e['reason'], /^@apparmor-monkeys\/bullmq: its threads' AppArmor labels could not be read .*refuses to run jobs$/)
      }
      const children = fs.readFileSync(probe, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((s) => s.check !== null)
      t.equal(children.length, 2, 'two children started')
      for (const s of children) {
        t.same(s.execArgv, [...(userOptions ? ['--max-old-space-size=99'] : ['--no-deprecation']), '--import', `file://${CHECK}`], 'execArgv, then the check preload')
        t.equal(s.foo, userOptions ? 'bar' : 'inherited', userOptions ? "the user's env" : "the worker's env")
        t.match(s.nodeOptions, PROBE, 'NODE_OPTIONS untouched')
        t.notMatch(s.nodeOptions, 'processor-check')
        t.same(JSON.parse(s.check), { profile: 'aam-bq-processor', ipc: 'json' })
      }
      const { closed } = await run.close()
      t.equal(closed?.['interception'], false, 'the interception is removed with the last Worker')
    })
  }
})
