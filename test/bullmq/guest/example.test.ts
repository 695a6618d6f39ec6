/**
 * examples/bullmq-worker under its own profiles (apparmor/bullmq-worker, rendered for this
 * checkout by the host suite), inside the AppArmor VM: the worker confines itself, the
 * producer's receipts are rendered by confined children, SIGTERM stops it cleanly. The host
 * suite asserts that this step left no AppArmor record at all.
 */
import { test, before, after } from 'node:test'
import * as assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { repoRoot } from '../harness'
import { startRedis, type RedisServer } from '../redis'

const APP = path.join(repoRoot(), 'examples', 'bullmq-worker')
let redis: RedisServer

before(async () => {
  redis = await startRedis()
})
after(async () => {
  await redis?.stop()
})

test('the example worker confines itself and its processor children, serves the producer, and stops on SIGTERM', async () => {
  const env = { ...process.env, REDIS_PORT: String(redis.port) }
  const worker = spawn(process.execPath, [path.join(APP, 'worker.js')], { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  worker.stdout.on('data', (d: Buffer) => (out += d.toString()))
  worker.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)))
  try {
    const deadline = Date.now() + 120_000
    while (!/"msg":"(confined|not started)"/.test(out)) {
      assert.ok(Date.now() < deadline && worker.exitCode === null, `the worker did not start: ${out}${err}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const lines = () => out.trim().split('\n').map((l) => JSON.parse(l))
    const confined = lines().find((l) => l.msg === 'confined')
    assert.ok(confined, out)
    assert.equal(confined.profile, 'bullmq-worker')
    assert.equal(confined.processorProfile, 'bullmq-processor')
    assert.ok(confined.leftOut.every((t: { role: string }) => t.role === 'runtime'))

    const producer = spawnSync(process.execPath, [path.join(APP, 'producer.js'), '4'], { env, cwd: APP, encoding: 'utf8', timeout: 180_000 })
    assert.equal(producer.status, 0, `${producer.stdout}${producer.stderr}`)
    const receipts = producer.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(receipts.length, 4)
    assert.deepEqual(receipts.map((r) => r.total), [7.75, 11.25, 14.75, 18.25])
    assert.equal(new Set(receipts.map((r) => r.digest)).size, 4)
    assert.ok(receipts.every((r) => r.pid !== worker.pid), 'rendered in processor children')

    // (cwd /: as under systemd; nothing may depend on the working directory)
    worker.kill('SIGTERM')
    assert.equal(await exited, 0, err)
    assert.ok(lines().some((l) => l.msg === 'stopping'))
    assert.equal(lines().filter((l) => l.msg === 'completed').length, 4)
  } finally {
    if (worker.exitCode === null) worker.kill('SIGKILL')
  }
})
