'use strict'
// Fixture of bench/cold.mjs: a Fastify app from process start to listening, with the
// @apparmor-monkeys/fastify plugin registered (argv[2] === 'plugin') or without it. On a host
// without AppArmor the plugin is registered with when: 'listen' (its confinement, which needs
// the kernel, runs after listen: this measures the plugin's load and registration).
const path = require('node:path')
const pkg = path.join(__dirname, '..', 'packages', 'fastify')
const fastify = require(require.resolve('fastify', { paths: [pkg] }))

async function main() {
  const app = fastify()
  if (process.argv[2] === 'plugin') await app.register(require(pkg), { profile: 'bench-fastify', when: 'listen' })
  app.get('/', async () => ({ hello: 'world' }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.exit(0)
}
main().catch(() => process.exit(3))
