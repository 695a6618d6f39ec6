'use strict'
// express-app: a small Express 5 JSON service that boots under a broad AppArmor profile
// (express-app-boot: it may read its secrets and change profile), starts listening, then
// confines itself in the narrow one (express-app) before it serves any request. The register
// preload answers the boot-time shell-outs in-process. See README.md for every rule.
//
//   aa-exec -p express-app-boot -- node --require @apparmor-monkeys/core/register server.js
//
// Environment: PORT (3000), HOST (127.0.0.1), APP_PROFILE (express-app),
// APP_CONFINE_BEFORE=1 (confine before listening), APP_APPARMOR=off (run without
// apparmor-monkeys' confinement: the comparison run).
const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const express = require('express')
const { listenConfined } = require('@apparmor-monkeys/express')
const { getCon, threadLabels } = require('@apparmor-monkeys/core')
const { machineId } = require('node-machine-id')

const SECRETS = path.join(__dirname, 'config', 'secrets.json')

function settings(env = process.env) {
  return {
    port: Number(env.PORT ?? 3000),
    host: env.HOST ?? '127.0.0.1',
    profile: env.APP_PROFILE ?? 'express-app',
    before: env.APP_CONFINE_BEFORE === '1',
    apparmor: env.APP_APPARMOR !== 'off',
  }
}

function log(msg, fields = {}) {
  process.stdout.write(`${JSON.stringify({ time: Date.now(), msg, ...fields })}\n`)
}

/** The instance id: a hash of the machine id, as node-machine-id computes it (it shells out to /bin/sh). */
async function instanceId() {
  try {
    return await machineId()
  } catch (err) {
    log('machine id unavailable', { err: { code: err.code, message: err.message } })
    return 'unknown'
  }
}

function build({ secrets, instance, status }) {
  const app = express()
  const notes = []
  app.disable('x-powered-by')
  app.use(express.json({ limit: '16kb' }))
  app.use(express.static(path.join(__dirname, 'public')))

  app.get('/api/health', (req, res) => {
    res.json({ status: 'ok', instance, uptime: Math.round(process.uptime()) })
  })

  app.get('/api/apparmor', (req, res) => {
    res.json({
      current: getCon().raw,
      threads: threadLabels().map((t) => ({ tid: t.tid, main: t.main, label: t.raw })),
      status: status(),
    })
  })

  app.get('/api/notes', (req, res) => {
    res.json(notes)
  })

  app.post('/api/notes', (req, res) => {
    if (req.get('authorization') !== `Bearer ${secrets.apiToken}`) return res.status(401).json({ error: 'unauthorized' })
    const text = req.body?.text
    if (typeof text !== 'string' || text.length === 0 || text.length > 500) return res.status(400).json({ error: 'text must be 1 to 500 characters' })
    const note = { id: notes.length + 1, text, at: new Date().toISOString() }
    notes.push(note)
    res.status(201).json(note)
  })

  // Re-reads the secrets file at request time. Under the narrow profile the kernel refuses it,
  // through the synchronous API (main thread) and the asynchronous one (a libuv pool thread).
  app.get('/api/reload-secrets', async (req, res) => {
    const via = req.query.via === 'async' ? 'async' : 'sync'
    try {
      const text = via === 'async' ? await fs.promises.readFile(SECRETS, 'utf8') : fs.readFileSync(SECRETS, 'utf8')
      res.json({ via, reloaded: true, keys: Object.keys(JSON.parse(text)) })
    } catch (err) {
      res.status(err.code === 'EACCES' ? 403 : 500).json({ via, reloaded: false, error: err.code })
    }
  })

  // Tries, at request time, what the narrow profile refuses besides the secrets: running a
  // program (/usr/bin/ls: no in-process answer exists, so it reaches the kernel) and writing a
  // file outside any data directory (in the temporary directory). `via` picks the synchronous
  // API (main thread) or the asynchronous one (libuv: a child process or a pool thread).
  app.get('/api/refused', async (req, res) => {
    const op = req.query.op === 'write' ? 'write' : 'exec'
    const via = req.query.via === 'async' ? 'async' : 'sync'
    try {
      await attempt(op, via)
      res.json({ op, via, refused: false })
    } catch (err) {
      res.status(err.code === 'EACCES' ? 403 : 500).json({ op, via, refused: true, error: err.code })
    }
  })

  return app
}

/** One exec or one write, synchronously or not (see /api/refused). */
async function attempt(op, via) {
  const file = path.join(os.tmpdir(), `express-app-${process.pid}.txt`)
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
  // Boot work that needs the broad profile: the secrets file and the machine id.
  // (An async read: libuv's threadpool then exists before the change, and is relabelled too.)
  const secrets = JSON.parse(await fs.promises.readFile(SECRETS, 'utf8'))
  const instance = await instanceId()
  let confined = null
  const app = build({ secrets, instance, status: () => confined && { interception: confined.interception, report: confined.report } })

  let server
  if (options.apparmor) {
    confined = await listenConfined(app, { profile: options.profile, port: options.port, host: options.host, before: options.before })
    server = confined.server
    log('confined', { profile: options.profile, port: confined.address.port, threads: confined.report.threads.length, pool: confined.report.pool, interception: confined.interception })
  } else {
    server = await new Promise((resolve, reject) => {
      const s = app.listen(options.port, options.host, (err) => (err ? reject(err) : resolve(s)))
    })
    log('listening (not confined by apparmor-monkeys)', { port: server.address().port })
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      server.close(() => process.exit(0))
      server.closeAllConnections()
    })
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`express-app: ${err.code ? `${err.code}: ` : ''}${err.message}\n`)
    process.exit(1)
  })
}

module.exports = { build, settings }
