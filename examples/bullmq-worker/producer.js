'use strict'
// Adds receipt jobs to the "receipts" queue and prints each result as it completes.
//
//   node producer.js [count]          (REDIS_HOST 127.0.0.1, REDIS_PORT 6379; count 3)
const { Queue, QueueEvents } = require('bullmq')

async function main() {
  const count = Number(process.argv[2] ?? 3)
  const connection = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) }
  const queue = new Queue('receipts', { connection })
  const events = new QueueEvents('receipts', { connection })
  await events.waitUntilReady()
  const jobs = []
  for (let i = 0; i < count; i++) {
    const data = {
      customer: `customer-${i + 1}`,
      items: [
        { name: 'tea', price: 3.5, quantity: i + 1 },
        { name: 'cake', price: 4.25, quantity: 1 },
      ],
    }
    jobs.push(await queue.add('receipt', data, { removeOnComplete: 100, removeOnFail: 100 }))
  }
  let failed = 0
  for (const job of jobs) {
    try {
      const result = await job.waitUntilFinished(events, 60_000)
      process.stdout.write(`${JSON.stringify({ id: job.id, total: result.total, digest: result.digest, pid: result.pid })}\n`)
    } catch (err) {
      failed++
      process.stdout.write(`${JSON.stringify({ id: job.id, error: err.message })}\n`)
    }
  }
  await events.close()
  await queue.close()
  process.exitCode = failed === 0 ? 0 : 1
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`)
  process.exit(1)
})
