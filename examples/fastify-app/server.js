'use strict'
// fastify-app: a small JSON service that boots under a broad AppArmor profile
// (fastify-app-boot: it may read its secrets and change profile) and confines itself in the
// narrow one (fastify-app) before it serves anything. See README.md for every rule.
//
//   aa-exec -p fastify-app-boot -- node server.js
//
// Environment: PORT (3000), HOST (127.0.0.1), APP_PROFILE (fastify-app),
// APP_CONFINE_WHEN (ready | listen), APP_EXEC_LOG=stderr (one JSON line per exec decision),
// APP_APPARMOR=off (run without apparmor-monkeys: the comparison run of the demo), LOG_LEVEL (info).
const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const Fastify = require('fastify')
const apparmorMonkeys = require('@apparmor-monkeys/fastify')
const { getCon, threadLabels } = require('@apparmor-monkeys/core')
const { machineIdSync } = require('node-machine-id')

const SECRETS = path.join(__dirname, 'config', 'secrets.json')
const INDEX = path.join(__dirname, 'public', 'index.html')

function settings(env = process.env) {
  return {
    port: Number(env.PORT ?? 3000),
    host: env.HOST ?? '127.0.0.1',
    profile: env.APP_PROFILE ?? 'fastify-app',
    when: env.APP_CONFINE_WHEN ?? 'ready',
    execLog: env.APP_EXEC_LOG,
    apparmor: env.APP_APPARMOR !== 'off',
    logLevel: env.LOG_LEVEL ?? 'info',
  }
}

/** The instance id: a hash of the machine id, as node-machine-id computes it (it shells out to /bin/sh). */
function instanceId(log) {
  try {
    return machineIdSync()
  } catch (err) {
    log.warn({ err: { code: err.code, message: err.message } }, 'machine id unavailable')
    return 'unknown'
  }
}

async function build(options = settings()) {
  const app = Fastify({ logger: { level: options.logLevel } })

  // First: from here on shell-outs are answered in-process, and the process changes into the
  // narrow profile in onReady, before the server listens.
  if (options.apparmor) {
    const intercept = options.execLog ? { log: options.execLog } : {}
    await app.register(apparmorMonkeys, { profile: options.profile, when: options.when, intercept })
  }

  // Boot work that needs the broad profile: the secrets file and the machine id.
  // (An async read: libuv's threadpool then exists before the change, and is relabelled too.)
  const secrets = JSON.parse(await fs.promises.readFile(SECRETS, 'utf8'))
  const instance = instanceId(app.log)
  const notes = []

  app.get('/', (request, reply) => {
    reply.type('text/html; charset=utf-8').send(fs.createReadStream(INDEX))
  })

  app.get('/api/health', async () => ({ status: 'ok', instance, uptime: Math.round(process.uptime()) }))

  app.get('/api/apparmor', async () => ({
    current: getCon().raw,
    threads: threadLabels().map((t) => ({ tid: t.tid, main: t.main, label: t.raw })),
    status: options.apparmor ? app.apparmor.toJSON() : null,
  }))

  app.get('/api/notes', async () => notes)

  app.post(
    '/api/notes',
    {
      schema: {
        body: {
          type: 'object',
          required: ['text'],
          additionalProperties: false,
          properties: { text: { type: 'string', minLength: 1, maxLength: 500 } },
        },
      },
    },
    async (request, reply) => {
      if (request.headers.authorization !== `Bearer ${secrets.apiToken}`) return reply.code(401).send({ error: 'unauthorized' })
      const note = { id: notes.length + 1, text: request.body.text, at: new Date().toISOString() }
      notes.push(note)
      return reply.code(201).send(note)
    },
  )

  // Re-reads the secrets file at request time. Under the narrow profile the kernel refuses it,
  // through the synchronous API (main thread) and the asynchronous one (a libuv pool thread).
  app.get('/api/reload-secrets', async (request, reply) => {
    const via = request.query.via === 'async' ? 'async' : 'sync'
    try {
      const text = via === 'async' ? await fs.promises.readFile(SECRETS, 'utf8') : fs.readFileSync(SECRETS, 'utf8')
      return { via, reloaded: true, keys: Object.keys(JSON.parse(text)) }
    } catch (err) {
      return reply.code(err.code === 'EACCES' ? 403 : 500).send({ via, reloaded: false, error: err.code })
    }
  })

  // Tries, at request time, what the narrow profile refuses besides the secrets: running a
  // program (/usr/bin/ls: no in-process answer exists, so it reaches the kernel) and writing a
  // file outside any data directory (in the temporary directory). `via` picks the synchronous
  // API (main thread) or the asynchronous one (libuv: a child process or a pool thread).
  app.get('/api/refused', async (request, reply) => {
    const op = request.query.op === 'write' ? 'write' : 'exec'
    const via = request.query.via === 'async' ? 'async' : 'sync'
    try {
      await attempt(op, via)
      return { op, via, refused: false }
    } catch (err) {
      return reply.code(err.code === 'EACCES' ? 403 : 500).send({ op, via, refused: true, error: err.code })
    }
  })

  return app
}

/** One exec or one write, synchronously or not (see /api/refused). */
async function attempt(op, via) {
  const file = path.join(os.tmpdir(), `fastify-app-${process.pid}.txt`)
  if (op === 'exec') {
    if (via === 'sync') execFileSync('/usr/bin/ls', ['/'], { stdio: 'ignore' })
    else {
      await new Promise((resolve, reject) => {
        spawn('/usr/bin/ls', ['/'], { stdio: 'ignore' }).once('error', reject).once('exit', resolve)
      })
    }
  } else if (via === 'sync') fs.writeFileSync(file, 'x')
  else await fs.promises.writeFile(file, 'x')
}

async function main() {
  const options = settings()
  const app = await build(options)
  await app.listen({ port: options.port, host: options.host })
  if (options.apparmor) {
    const { state, report } = app.apparmor
    if (report) app.log.info({ profile: options.profile, state, threads: report.threads.length, pool: report.pool }, 'confined')
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      app.close().then(() => process.exit(0), () => process.exit(1))
    })
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`fastify-app: ${err.code ? `${err.code}: ` : ''}${err.message}\n`)
    process.exit(1)
  })
}

module.exports = { build, settings }
