'use strict'
// Several node:http workers behind node:cluster, each one in the `web-worker` AppArmor profile
// from its first instruction. The same file runs in both roles, like most cluster apps.
//
//   aa-exec -p cluster-primary -- node server.js      (profiles: ./apparmor, see README.md)
//
// Environment: PORT (default 8080), HOST (default 127.0.0.1), WORKERS (default 2),
// WORKER_PROFILE (default web-worker), WORKER_ALLOW_COMPLAIN=1 (accept a worker profile in
// complain mode: only while its rules are being learned, see README.md).
const cluster = require('node:cluster')
const http = require('node:http')
const { onWorkerFork, changeProfile } = require('@apparmor-monkeys/cluster')

const PORT = Number(process.env.PORT || 8080)
const HOST = process.env.HOST || '127.0.0.1'
const WORKERS = Number(process.env.WORKERS || 2)

// Primary: every cluster.fork() from now on starts the worker in this profile (exec time) and
// waits for it to confirm its label; throws now if the profile is missing or not permitted.
// Worker: does nothing more (the worker has already confirmed before this file ran).
const confinement = onWorkerFork(changeProfile(process.env.WORKER_PROFILE || 'web-worker'), {
  allowComplain: process.env.WORKER_ALLOW_COMPLAIN === '1',
})

if (cluster.isPrimary) {
  let stopping = false
  let announced = false

  confinement.on('confirmed', (worker, c) => {
    console.log(`worker ${worker.id} pid ${c.pid}: ${c.threads.length} threads in '${c.profile}' (${c.elapsedMs.toFixed(0)} ms after fork)`)
  })
  // A worker that is not confined has already been killed and logged; nothing else to do here.
  confinement.on('rejected', () => {})

  cluster.on('listening', () => {
    const serving = Object.values(cluster.workers).filter((w) => w.state === 'listening').length
    if (!announced && serving === WORKERS) {
      announced = true
      console.log(`ready: ${WORKERS} workers on http://${HOST}:${PORT}/ (primary pid ${process.pid})`)
    }
  })

  // Respawn workers that die; the replacement goes through the same confined fork.
  cluster.on('exit', (worker, code, signal) => {
    console.log(`worker ${worker.id} pid ${worker.process.pid} exited (${signal || code})`)
    if (!stopping && !worker.exitedAfterDisconnect) cluster.fork()
  })

  // Rolling restart: start a replacement; once it listens, disconnect the old worker (it
  // finishes its requests and exits), and kill it if it is still there 10 s later.
  process.on('SIGHUP', () => {
    const old = Object.values(cluster.workers)
    console.log(`SIGHUP: replacing ${old.length} workers`)
    for (const worker of old) {
      cluster.fork().once('listening', () => {
        const timer = setTimeout(() => worker.kill(), 10_000)
        worker.once('exit', () => clearTimeout(timer))
        worker.disconnect()
      })
    }
  })

  process.on('SIGTERM', () => {
    stopping = true
    for (const worker of Object.values(cluster.workers)) worker.kill()
  })

  for (let i = 0; i < WORKERS; i++) cluster.fork()
} else {
  http
    .createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ pid: process.pid, worker: cluster.worker.id, url: req.url }))
    })
    .listen(PORT, HOST)
}
