/**
 * The adapters with Express 5, Express 4 and Fastify 5 on a real AppArmor kernel (runs inside
 * the VM), through the fixture servers in ./fixtures and the broad test profiles of
 * test/adapters/profiles/adapters.aa (aam-web-boot → aam-web; aam-web-nochange may not change).
 */
import { before, test } from 'node:test'
import * as assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { auditSince, denied, request, runToExit, type Reply } from './app'

const FIX = path.resolve(__dirname, '..', '..', '..', 'adapters', 'guest', 'fixtures')
const EXPRESS = path.join(FIX, 'express-server.cjs')
const FASTIFY = path.join(FIX, 'fastify-server.cjs')
const SECRET = '/tmp/aam-adapters-secret'

before(async () => {
  fs.writeFileSync(SECRET, 'top secret\n')
  await auditSince()
})

interface Race {
  /** When the first request that got an answer was sent (before its connection was made). */
  sentAt: number
  reply: Reply
  lines: unknown[]
  stop(): Promise<{ code: number | null; stdout: string; stderr: string }>
}

/**
 * Starts a fixture and sends GET /label the moment the port accepts connections (polling
 * every 10 ms), so that the request lands while the process is still being confined.
 */
async function race(file: string, port: number, env: Record<string, string>): Promise<Race> {
  const child = spawn('aa-exec', ['-p', 'aam-web-boot', '--', process.execPath, file], {
    env: { ...process.env, PORT: String(port), UV_THREADPOOL_SIZE: '32', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err })),
  )
  const deadline = Date.now() + 60_000
  for (;;) {
    const sentAt = Date.now()
    try {
      const reply = await request(port, 'GET', '/label')
      const stop = async () => {
        child.kill('SIGTERM')
        return exited
      }
      // the ready line comes after the confinement; wait for it
      while (!out.includes('"ready"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)
      return { sentAt, reply, lines, stop }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`${file}: ${(e as Error).message}\n${err}\n${out}`)
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  }
}

async function secretReads(port: number): Promise<string[]> {
  const out: string[] = []
  for (const via of ['sync', 'async']) out.push((await request(port, 'GET', `/secret?via=${via}`)).json.error)
  return out
}

for (const [which, major] of [
  ['express', '5'],
  ['express4', '4'],
] as const) {
  test(`Express ${major}: listenConfined listens, holds the first request until the process is confined, then serves it confined`, async (t) => {
    const port = 3310 + Number(major)
    const r = await race(EXPRESS, port, { EXPRESS: which, PROFILE: 'aam-web' })
    try {
      const ready = r.lines.find((l) => (l as { ready?: boolean }).ready) as {
        readyAt: number
        express: string
        interception: string
        report: { complete: boolean; pool: string; unconfined: string[]; durationMs: number }
      }
      t.diagnostic(`confine() took ${Math.round(ready.report.durationMs)} ms`)
      assert.equal(ready.express.split('.')[0], major)
      assert.equal(r.reply.status, 200)
      assert.equal(r.reply.json.label, 'aam-web (enforce)', 'no request is served before the change')
      assert.ok(r.sentAt < ready.readyAt, `the request (sent at ${r.sentAt}) arrived before the confinement was over (${ready.readyAt}) and was held`)
      assert.equal(ready.interception, 'installed')
      assert.deepEqual([ready.report.complete, ready.report.pool], [true, 'relabelled'])
      assert.ok(ready.report.unconfined.every((role) => role === 'runtime'))
      const threads = (await request(port, 'GET', '/threads')).json as Array<{ label: string }>
      assert.ok(threads.filter((t) => t.label === 'aam-web').length >= 33, 'main + 32 pool threads')
      await auditSince()
      assert.deepEqual(await secretReads(port), ['EACCES', 'EACCES'])
      const lines = denied(await auditSince())
      assert.equal(lines.length, 2, lines.join('\n'))
      for (const l of lines) assert.match(l, /operation="open" profile="aam-web" name="\/tmp\/aam-adapters-secret"/)
    } finally {
      const exit = await r.stop()
      assert.equal(exit.code, 0, `${exit.stdout}\n${exit.stderr}`)
    }
  })
}

test('Express: a refused change fails closed: the server is closed, nothing accepts, the code is ERR_AA_NOT_PERMITTED', () => {
  const r = runToExit([process.execPath, EXPRESS], { profile: 'aam-web-nochange', port: 3320, env: { PROFILE: 'aam-web', PASS_SERVER: '1' } })
  assert.equal(r.code, 3, r.stderr)
  const out = JSON.parse(r.stdout) as { error: { code: string; message: string }; listening: boolean; accepts: boolean }
  assert.equal(out.error.code, 'ERR_AA_NOT_PERMITTED')
  assert.match(out.error.message, /after listening on port 3320; the server was closed\): .*"change_profile -> aam-web,"/)
  assert.deepEqual([out.listening, out.accepts], [false, false])
})

test("Fastify when: 'listen': confined after listen; the first request waits for the confinement", async () => {
  const r = await race(FASTIFY, 3330, { PROFILE: 'aam-web', WHEN: 'listen' })
  try {
    const body = r.reply.json as { label: string; state: string; confinedAt: number }
    assert.equal(r.reply.status, 200)
    assert.equal(body.label, 'aam-web (enforce)')
    assert.equal(body.state, 'confined')
    assert.ok(r.sentAt < body.confinedAt, `the request (sent at ${r.sentAt}) arrived before the confinement was over (${body.confinedAt}) and was held`)
    assert.deepEqual(await secretReads(3330), ['EACCES', 'EACCES'])
  } finally {
    const exit = await r.stop()
    assert.equal(exit.code, 0, `${exit.stdout}\n${exit.stderr}`)
  }
})

test("Fastify when: 'listen': a refused change closes the server and ends the process (exit 1, ERR_AA_NOT_PERMITTED)", () => {
  const r = runToExit([process.execPath, FASTIFY], { profile: 'aam-web-nochange', port: 3331, env: { PROFILE: 'aam-web', WHEN: 'listen' } })
  assert.equal(r.code, 1)
  assert.match(r.stdout, /"msg":"AppArmor confinement failed: closing the server"/)
  assert.match(r.stderr, /AppArmorError: @apparmor-monkeys\/fastify: the process could not be confined in AppArmor profile 'aam-web' \(when: 'listen'\)/)
  assert.match(r.stderr, /code: 'ERR_AA_NOT_PERMITTED'/)
})
