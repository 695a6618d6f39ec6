'use strict'
// The worker of examples/cluster-app/server.js without @apparmor-monkeys/cluster: what the same
// application runs when it does not use the adapter. bench/cluster.mjs forks it for its `bare`
// side (the informational third row); its other sides fork the example itself.
const cluster = require('node:cluster')
const http = require('node:http')

const PORT = Number(process.env.PORT || 8080)
const HOST = process.env.HOST || '127.0.0.1'

http
  .createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ pid: process.pid, worker: cluster.worker.id, url: req.url }))
  })
  .listen(PORT, HOST)
