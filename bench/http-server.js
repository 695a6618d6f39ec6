'use strict'
// The server of bench/http.mjs: a Fastify hello world, the whole application, so that each
// server process holds the app and nothing of the benchmark's driver (autocannon's harness,
// child_process, the VM glue), whose module graph the adapter would otherwise confine too.
//
//   node bench/http-server.js plain PORT     no adapter
//   node bench/http-server.js adapter PORT   app.register(apparmorMonkeys, { profile: 'aam-web' })
//
// Prints one JSON line once listening: { ready, mode, status } (status: the adapter's report).
const path = require('node:path')

const PKG = path.join(__dirname, '..', 'packages', 'fastify')
const Fastify = require(path.join(PKG, 'node_modules', 'fastify'))
const [mode, port] = process.argv.slice(2)

async function main() {
  const app = Fastify({ logger: false })
  if (mode === 'adapter') await app.register(require(PKG), { profile: 'aam-web' })
  else if (mode !== 'plain') throw new Error(`unknown mode ${mode}`)
  app.get('/', async () => ({ hello: 'world' }))
  await app.listen({ port: Number(port), host: '127.0.0.1' })
  const status = mode === 'adapter' ? { state: app.apparmor.state, complete: app.apparmor.report.complete, pool: app.apparmor.report.pool } : null
  process.stdout.write(`${JSON.stringify({ ready: true, mode, status })}\n`)
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`)
  process.exit(1)
})
