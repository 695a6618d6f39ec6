'use strict'
// bullmq-worker: a BullMQ worker for the "receipts" queue. It connects to Redis, confines
// itself in the bullmq-worker AppArmor profile (every thread, verified) before it takes any
// job, and runs each job in a sandboxed child that starts in bullmq-processor. Any failure
// to confine stops it before the first job. See README.md for every rule of the profiles.
//
//   node worker.js            (REDIS_HOST 127.0.0.1, REDIS_PORT 6379, CONCURRENCY 2)
//
// Environment: WORKER_PROFILE (bullmq-worker), PROCESSOR_PROFILE (bullmq-processor),
// APP_APPARMOR=off (no confinement at all: the comparison run).
const path = require('node:path')
const { Worker } = require('bullmq')
const { startConfinedWorker } = require('@apparmor-monkeys/bullmq')

function log(msg, fields = {}) {
  process.stdout.write(`${JSON.stringify({ time: Date.now(), msg, ...fields })}\n`)
}

function settings(env = process.env) {
  return {
    connection: { host: env.REDIS_HOST ?? '127.0.0.1', port: Number(env.REDIS_PORT ?? 6379), maxRetriesPerRequest: null },
    concurrency: Number(env.CONCURRENCY ?? 2),
    profile: env.WORKER_PROFILE ?? 'bullmq-worker',
    processorProfile: env.PROCESSOR_PROFILE ?? 'bullmq-processor',
    apparmor: env.APP_APPARMOR !== 'off',
  }
}

async function main() {
  const s = settings()
  const processor = path.join(__dirname, 'processor.js')
  const workerOptions = { connection: s.connection, concurrency: s.concurrency }
  let worker
  if (s.apparmor) {
    const started = await startConfinedWorker(Worker, 'receipts', processor, workerOptions, {
      profile: s.profile,
      processorProfile: s.processorProfile,
    })
    worker = started.worker
    const { report } = started.confinement
    log('confined', {
      profile: report.profile,
      threads: report.threads.length,
      leftOut: report.unconfined.map((t) => ({ tid: t.tid, role: t.role })),
      processorProfile: started.confinement.processorProfile,
    })
  } else {
    worker = new Worker('receipts', processor, workerOptions)
    log('running without apparmor-monkeys')
  }
  worker.on('completed', (job) => log('completed', { id: job.id }))
  worker.on('failed', (job, err) => log('failed', { id: job?.id, error: err.message }))
  worker.on('error', (err) => log('error', { error: err.message }))
  const stop = async (signal) => {
    log('stopping', { signal })
    await worker.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

main().catch((err) => {
  log('not started', { code: err.code, error: err.message })
  process.exit(1)
})
