/**
 * Runs one example app the way `apparmor-monkeys profile` runs it (inside the AppArmor VM, with
 * its learning profiles already loaded): redis-server first when the app needs it, the app in
 * `NAME-boot` through `aa-exec`, the ready probe, the exercise (unconfined, same environment),
 * then SIGTERM (SIGKILL after 10 s). Prints one JSON line: the app's and the exercise's exits.
 * Exit status 0 only when the app got ready, the exercise passed and the app stopped with 0.
 *
 *   node run-example.js EXAMPLE        (an example of ../examples.ts, or `minimal`)
 *
 * The kernel's AppArmor records of the run are collected by the VM driver for the whole step.
 */
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { exampleDir, exampleSpec, repoRoot, type ExampleSpec } from '../examples'
import { startRedis, type RedisServer } from '../../bullmq/redis'
import { label, startExample } from './start'

/** The minimal app of fixtures/ as a spec of its own (Node's own needs). */
function minimalSpec(): ExampleSpec {
  const dir = path.join(repoRoot(), 'test', 'profile', 'fixtures')
  return {
    example: 'fastify-app', // unused: not an example folder
    name: 'aam-min',
    children: [],
    argv: ['node', path.join(dir, 'minimal-app.cjs')],
    cwd: dir,
    env: { PORT: '3300' },
    ready: 'tcp:3300',
    exercise: `node -e "fetch('http://127.0.0.1:3300/').then((r) => r.text()).then((t) => process.exit(t.startsWith('ok') ? 0 : 1))"`,
    redis: false,
    services: [],
  }
}

async function main(): Promise<number> {
  const which = process.argv[2] ?? ''
  const spec = which === 'minimal' ? minimalSpec() : exampleSpec(which)
  let redis: RedisServer | undefined
  let env: NodeJS.ProcessEnv = { ...process.env, ...spec.env }
  if (spec.redis) {
    redis = await startRedis()
    env = { ...env, REDIS_PORT: String(redis.port) }
  }
  const result: Record<string, unknown> = { example: which, node: process.version }
  try {
    const app = await startExample(spec, `${spec.name}-boot`, env)
    result['label'] = label(app.pid)
    const ex = spawnSync('sh', ['-c', spec.exercise.replace(/^node /, `${process.execPath} `)], {
      cwd: which === 'minimal' ? spec.cwd : exampleDir(spec.example),
      env,
      encoding: 'utf8',
      timeout: 300_000,
    })
    result['exercise'] = { status: ex.status, signal: ex.signal, output: `${ex.stdout}${ex.stderr}` }
    const exit = await app.stop()
    result['app'] = { code: exit.code, signal: exit.signal, output: app.output() }
  } catch (err) {
    result['error'] = (err as Error).message
  } finally {
    await redis?.stop()
  }
  // records the kernel could not queue are counted in the kernel log ("audit_lost=")
  const lost = spawnSync('dmesg', [], { encoding: 'utf8' }).stdout.split('\n').filter((l) => /audit_lost|backlog limit exceeded/.test(l))
  result['auditLost'] = lost
  process.stdout.write(`${JSON.stringify(result)}\n`)
  const ex = result['exercise'] as { status: number } | undefined
  const appExit = result['app'] as { code: number | null } | undefined
  return result['error'] === undefined && ex?.status === 0 && appExit?.code === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`run-example: ${(err as Error).stack}\n`)
    process.exit(2)
  },
)
