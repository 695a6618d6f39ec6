/**
 * One example app learned and proven on the real AppArmor kernel (runs inside the VM, as root):
 * `apparmor-monkeys profile` learns the example's profiles in place (complain, then its own
 * enforce re-run), then, under the learned profiles, this file runs the app and its exercise
 * again and proves: zero DENIED lines for the normal workload; the secrets (read only at boot)
 * refused with EACCES through sync and async fs at request time; an exec and a write outside
 * any data directory refused with EACCES. For the children (cluster workers, BullMQ
 * processors) the exec and the write are tried by a node process started in the child's
 * learned profile.
 *
 *   EXAMPLE=fastify-app node --test-reporter=tap learned.test.js
 *   EXAMPLE=fastify-app LEARNED_FILE=/host/dir/fastify-app node …   (learned on the host by
 *                                      `apparmor-monkeys profile --vm`: only the proof runs here)
 *
 * The learned file stays in /tmp/learned/<NAME> for the next step of the boot to print.
 */
import { after, before, test } from 'node:test'
import * as assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { auditSince, denied, request } from '../../adapters/guest/app'
import { label, nodeArgv, startExample, type Started } from './start'
import { startRedis, type RedisServer } from '../../bullmq/redis'
import { exampleDir, exampleSpec, repoRoot } from '../examples'

const spec = exampleSpec(process.env['EXAMPLE'] ?? '')
const APP = exampleDir(spec.example)
const CLI = path.join(repoRoot(), 'packages', 'core', 'dist', 'cli.js')
const OUT = '/tmp/learned'
const LEARNED = path.join(OUT, spec.name)
const BOOT = `${spec.name}-boot`
const RUNTIME = spec.name
const CHILDREN = spec.children.map((c) => c.name)

let redis: RedisServer | undefined
let env: NodeJS.ProcessEnv = { ...process.env, ...spec.env }

before(async () => {
  if (spec.redis) {
    redis = await startRedis()
    env = { ...env, REDIS_PORT: String(redis.port) }
  }
})
after(async () => {
  await redis?.stop()
})

test(`apparmor-monkeys profile learns ${BOOT} + ${RUNTIME}${CHILDREN.map((c) => ` + ${c}`).join('')} and verifies them in enforce mode`, () => {
  const learnedOnHost = process.env['LEARNED_FILE']
  if (learnedOnHost) {
    // Learned (and verified) on the host by `apparmor-monkeys profile --vm`, in a VM of its own.
    fs.mkdirSync(OUT, { recursive: true })
    fs.copyFileSync(learnedOnHost, LEARNED)
  } else {
    const args = [CLI, 'profile', '--name', spec.name, '--out', OUT, '--app-dir', APP, '--exercise', spec.exercise.replace(/^node /, `${process.execPath} `), '--timeout', '240']
    if (spec.ready) args.push('--ready', spec.ready)
    for (const c of spec.children) args.push('--child', `${c.name}=${c.match}`)
    const r = spawnSync(process.execPath, [...args, '--', ...nodeArgv(spec.argv)], { cwd: spec.cwd, env, encoding: 'utf8', timeout: 900_000 })
    process.stdout.write(`# learn: status ${r.status}\n${`${r.stdout}${r.stderr}`.replace(/^/gm, '# ')}\n`)
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`)
  }
  const text = fs.readFileSync(LEARNED, 'utf8')
  for (const name of [BOOT, RUNTIME, ...CHILDREN]) assert.match(text, new RegExp(`^profile ${name} `, 'm'))
  assert.match(text, new RegExp(`change_profile -> ${RUNTIME},`))
})

/**
 * Loads the learned file (enforce), replacing whatever is loaded under these names. Its
 * `include <abstractions/apparmor-monkeys-node>` is found in core's profiles/ directory, as a
 * deployment finds it with `-I node_modules/@apparmor-monkeys/core/profiles`.
 */
function load(): void {
  const profiles = path.join(repoRoot(), 'packages', 'core', 'profiles')
  const r = spawnSync('apparmor_parser', ['-r', '-K', '-I', profiles, '-I', '/etc/apparmor.d', LEARNED], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
}

/** `aa-exec -p PROFILE -- node -e …` tries an exec of /usr/bin/ls and a write to /tmp; returns the errors' codes. */
function probe(profile: string): { exec: string; write: string } {
  const code =
    "const cp=require('node:child_process'),fs=require('node:fs');const o={};" +
    "try{cp.execFileSync('/usr/bin/ls',['/'],{stdio:'ignore'});o.exec='ok'}catch(e){o.exec=e.code}" +
    "try{fs.writeFileSync('/tmp/aam-probe-'+process.pid,'x');o.write='ok'}catch(e){o.write=e.code}" +
    'process.stdout.write(JSON.stringify(o))'
  const r = spawnSync('aa-exec', ['-p', profile, '--', process.execPath, '-e', code], { env: { PATH: process.env['PATH'] }, encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`)
  return JSON.parse(r.stdout) as { exec: string; write: string }
}

const EXEC_DENIED = /apparmor="DENIED" operation="exec" profile="([^"]+)" name="\/usr\/bin\/ls"/
const WRITE_DENIED = /apparmor="DENIED" operation="(open|mknod)" profile="([^"]+)" name="\/tmp\/[^"]+"/

/** Fastify and Express have routes that try, at request time, what the runtime profile refuses. */
const ROUTES = spec.example === 'fastify-app' || spec.example === 'express-app'
let app: Started | undefined

test(
  `under the learned profiles: the normal workload leaves zero DENIED lines${ROUTES ? '; the secrets, an exec and a write are refused with EACCES at request time' : ''}`,
  async () => {
    load()
    await auditSince()
    app = await startExample(spec, BOOT, env)
    const ex = spawnSync('sh', ['-c', spec.exercise.replace(/^node /, `${process.execPath} `)], { cwd: APP, env, encoding: 'utf8', timeout: 300_000 })
    assert.equal(ex.status, 0, `${ex.stdout}${ex.stderr}`)
    // the primary of cluster-app never changes profile
    assert.equal(label(app.pid), `${spec.example === 'cluster-app' ? BOOT : RUNTIME} (enforce)`)
    assert.deepEqual(denied(await auditSince()), [], 'the normal workload: no DENIED line')
    if (ROUTES) await refusedAtRequestTime(3000)
  },
)

test('under the learned profiles: SIGTERM stops the app with status 0 and no DENIED line', { todo: spec.knownIssue ?? false }, async () => {
  assert.ok(app, 'the app was started')
  await auditSince()
  const exit = await app.stop()
  assert.deepEqual(denied(await auditSince()), [], 'stopping: no DENIED line')
  assert.equal(exit.code, 0, exit.stdout)
})

test('in the children\'s learned profiles (and the BullMQ worker\'s): an exec and a write are refused with EACCES', { skip: spec.children.length === 0 && 'no children' }, async () => {
  load()
  await auditSince()
  const profiles = spec.example === 'bullmq-worker' ? [RUNTIME, ...CHILDREN] : CHILDREN
  for (const p of profiles) assert.deepEqual(probe(p), { exec: 'EACCES', write: 'EACCES' }, p)
  const lines = denied(await auditSince())
  for (const p of profiles) {
    assert.equal(lines.filter((l) => EXEC_DENIED.exec(l)?.[1] === p).length, 1, `${p}:\n${lines.join('\n')}`)
    assert.equal(lines.filter((l) => WRITE_DENIED.exec(l)?.[2] === p).length, 1, `${p}:\n${lines.join('\n')}`)
  }
  assert.equal(lines.length, 2 * profiles.length, `nothing else was refused:\n${lines.join('\n')}`)
})

/** Fastify and Express: the refusals, at request time, through the app's own routes. */
async function refusedAtRequestTime(port: number): Promise<void> {
  for (const via of ['sync', 'async']) {
    const r = await request(port, 'GET', `/api/reload-secrets?via=${via}`)
    assert.deepEqual([r.status, r.json.error], [403, 'EACCES'], `secrets via ${via}`)
    for (const op of ['exec', 'write']) {
      const x = await request(port, 'GET', `/api/refused?op=${op}&via=${via}`)
      assert.deepEqual([x.status, x.json.error], [403, 'EACCES'], `${op} via ${via}`)
    }
  }
  const refusals = denied(await auditSince())
  const secrets = refusals.filter((l) => new RegExp(`operation="open" profile="${RUNTIME}" name="[^"]*/config/secrets\\.json"`).test(l))
  assert.equal(secrets.length, 2, refusals.join('\n'))
  assert.equal(refusals.filter((l) => EXEC_DENIED.exec(l)?.[1] === RUNTIME).length, 2, refusals.join('\n'))
  assert.equal(refusals.filter((l) => WRITE_DENIED.exec(l)?.[2] === RUNTIME).length, 2, refusals.join('\n'))
  assert.equal(refusals.length, 6, `exactly the six refusals:\n${refusals.join('\n')}`)
}
