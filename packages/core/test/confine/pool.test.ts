// The park channel under attack, on this host (no AppArmor needed: the attr files are regular
// files here; the VM suite test/security proves the same against the real kernel). A hostile
// process watches /proc/net/unix and connects to the park socket while the pool is paired.
import t from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as path from 'node:path'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { cleanEnv } from '../intercept/helpers'

const FIX = path.join(__dirname, 'fixtures')

/** The child's stdout, line by line. */
function lines(child: ChildProcessWithoutNullStreams): AsyncIterator<string> {
  return createInterface({ input: child.stdout })[Symbol.asyncIterator]()
}

interface Outcome {
  size: number
  results?: string[]
  written?: number
  error?: { code: string; message: string }
  ms: number
  poolFree: boolean
  hung?: boolean
}

async function attacked(t: Tap.Test, mode: 'junk' | 'silent' | 'mixed', pool: number, timeoutMs: number) {
  const env = cleanEnv({ UV_THREADPOOL_SIZE: String(pool), AAM_BUSY_MS: '2' })
  const victim = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(FIX, 'park-attack.cjs'), String(timeoutMs)], { env })
  const closed = once(victim, 'close')
  const vOut = lines(victim)
  const pid = /^pid (\d+)$/.exec((await vOut.next()).value as string)?.[1]
  const hostile = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(FIX, 'hostile.cjs'), String(pid), mode], { env })
  const hOut = lines(hostile)
  t.equal((await hOut.next()).value, 'ready', 'the hostile process watches /proc/net/unix')
  victim.stdin.end('go\n')
  const outcome = JSON.parse((await vOut.next()).value as string) as Outcome
  hostile.kill('SIGTERM')
  const attack = JSON.parse((await hOut.next()).value as string) as { connections: number; names: number }
  await closed
  return { outcome, attack }
}

for (const mode of ['junk', 'silent', 'mixed'] as const) {
  t.test(`a stranger connecting to the park socket (${mode}): pairing completes or fails with a code, nothing stays parked`, async (t) => {
    const { outcome, attack } = await attacked(t, mode, 32, 5000)
    t.comment(JSON.stringify({ ...outcome, results: outcome.results?.length, attack }))
    t.ok(attack.names > 0 && attack.connections > 0, 'the hostile process found the park sockets and connected')
    t.notOk(outcome.hung, 'relabelPool settled')
    t.ok(outcome.ms < 5000 + 2000, `within its timeout (${outcome.ms} ms)`)
    t.ok(outcome.poolFree, 'every pool thread is free afterwards')
    if (outcome.error) t.equal(outcome.error.code, 'ERR_AA_PARK_FAILED')
    else {
      t.same(outcome.results, Array(32).fill('written'), 'each pool thread wrote its own file')
      t.equal(outcome.written, 32)
    }
  })
}

t.test('the park deadline: pairing that cannot finish in time ends in ERR_AA_PARK_FAILED, nothing parked, the pool free', async (t) => {
  const env = cleanEnv({ UV_THREADPOOL_SIZE: '64', AAM_BUSY_MS: '2' })
  const victim = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(FIX, 'park-attack.cjs'), '1'], { env })
  const closed = once(victim, 'close')
  const out = lines(victim)
  t.match((await out.next()).value, /^pid \d+$/)
  victim.stdin.end('go\n')
  const outcome = JSON.parse((await out.next()).value as string) as Outcome
  await closed
  t.equal(outcome.error?.code, 'ERR_AA_PARK_FAILED')
  t.match(outcome.error?.message, /could not be paired .* within 1 ms.*no pool thread is parked/)
  t.ok(outcome.ms < 1000, `at the deadline (${outcome.ms} ms)`)
  t.ok(outcome.poolFree, 'every pool thread is free')
})
