// The normal workload of examples/cluster-app, run against the running app: requests on fresh
// connections, spread by the primary over the workers (at least 20, and until two workers have
// answered, for up to 30 s: the second worker may still be starting). Exits 0 when every answer
// is a worker's JSON for the URL asked and two workers answered (one if WORKERS=1).
//
//   node exercise.mjs            (PORT 8080, HOST 127.0.0.1, WORKERS 2: the app's defaults)
//
// This is the --exercise of `apparmor-monkeys profile` (README.md, "Learn the profiles").
const base = `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 8080}`
const expected = Math.min(2, Number(process.env.WORKERS ?? 2))
const workers = new Set()
const deadline = Date.now() + 30_000
let i = 0
for (; i < 20 || (workers.size < expected && Date.now() < deadline); i++) {
  const url = `/exercise/${i}`
  const res = await fetch(`${base}${url}`, { headers: { connection: 'close' } })
  const body = await res.json()
  if (res.status !== 200 || body.url !== url || !Number.isInteger(body.worker)) {
    process.stderr.write(`FAILED GET ${url}: ${res.status} ${JSON.stringify(body)}\n`)
    process.exit(1)
  }
  workers.add(body.pid)
}
if (workers.size < expected) {
  process.stderr.write(`FAILED: only ${workers.size} worker(s) answered ${i} requests, expected ${expected}\n`)
  process.exit(1)
}
process.stdout.write(`ok ${i} requests answered by ${workers.size} workers\n`)
