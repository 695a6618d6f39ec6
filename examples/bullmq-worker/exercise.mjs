// The normal workload of examples/bullmq-worker, run while the worker runs: the producer adds
// 4 receipt jobs and waits for their results. Exits 0 when all 4 receipts come back right,
// each rendered in a sandboxed processor child (not in the worker).
//
//   node exercise.mjs            (REDIS_HOST 127.0.0.1, REDIS_PORT 6379: the worker's Redis)
//
// This is the --exercise of `apparmor-monkeys profile` (README.md, "Learn the profiles").
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const producer = fileURLToPath(new URL('./producer.js', import.meta.url))
const r = spawnSync(process.execPath, [producer, '4'], { encoding: 'utf8', timeout: 180_000 })
const fail = (why) => {
  process.stderr.write(`FAILED: ${why}\n${r.stdout}${r.stderr}`)
  process.exit(1)
}
if (r.status !== 0) fail(`producer.js exited with ${r.status ?? r.signal}`)
const receipts = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
const totals = receipts.map((x) => x.total)
if (JSON.stringify(totals) !== JSON.stringify([7.75, 11.25, 14.75, 18.25])) fail(`totals ${JSON.stringify(totals)}`)
if (new Set(receipts.map((x) => x.digest)).size !== 4) fail('the 4 digests are not distinct')
process.stdout.write(`ok 4 receipts rendered by processor pids ${[...new Set(receipts.map((x) => x.pid))].join(', ')}\n`)
