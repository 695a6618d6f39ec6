/**
 * @apparmor-monkeys/cluster on a real AppArmor kernel (runs inside the VM, as root).
 * Profiles: the example's own (examples/cluster-app/apparmor/*, @{APP} = the repository) and
 * test/cluster/profiles/cluster-test.aa. Each scenario runs in fresh processes.
 */
import { test, before } from 'node:test'
import * as assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as path from 'node:path'

// Compiled to test/dist/cluster/guest; the fixtures stay in the source tree (plain CommonJS).
const TEST_DIR = path.resolve(__dirname, '..', '..', '..')
const REPO = path.dirname(TEST_DIR)
const FIXTURE = path.join(TEST_DIR, 'cluster', 'guest', 'fixtures', 'cluster-app.js')
const EXAMPLE = path.join(REPO, 'examples', 'cluster-app', 'server.js')
const PRELOAD = path.join(REPO, 'packages', 'cluster', 'dist', 'worker.js')
const SECRET = '/tmp/aam-cluster-secret'
const WW = 'web-worker (enforce)'

before(() => {
  fs.writeFileSync(SECRET, 'top secret\n')
  audit()
})

/** The AppArmor records logged since the last call (clears the kernel log). */
function audit(): string[] {
  const r = spawnSync('dmesg', ['-c'], { encoding: 'utf8' })
  return r.stdout.split('\n').filter((l) => l.includes('apparmor='))
}

function denied(lines: string[]): string[] {
  return lines.filter((l) => l.includes('apparmor="DENIED"'))
}

function assertNoExecDenials(lines: string[]): void {
  assert.deepEqual(
    lines.filter((l) => /apparmor="DENIED" operation="exec"/.test(l)),
    [],
    'no exec denials',
  )
}

function labelsOf(pid: number): string[] {
  return fs.readdirSync(`/proc/${pid}/task`).map((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/attr/apparmor/current`, 'utf8').trim())
}

interface Report {
  pid: number
  labels: string[]
  syncRead: string
  asyncReads: string[]
  execArgv: string[]
  envLeft: string[]
  self: { source: string; confined: boolean; threads: number } | undefined
  role: string
}

interface AppOut {
  registration: { ok?: boolean; same?: boolean; code?: string; message?: string }
  primaryLabel: string[]
  forks: Array<{ id: number; pid: number; atFork: string[] }>
  forkError?: { code: string; message: string }
  confirmed: Array<{ id: number; pid: number; source: string; threads: number; labels: string[] }>
  rejected: Array<{ id: number; code: string; message: string; stopped: string }>
  exits?: Array<{ id: number; state: string }>
  requests: Array<{ status?: number; pid?: number; labels?: string[]; error?: string }>
  servedBy?: number
  reports: Report[]
  settingsExecArgv?: string[]
  primarySecret?: string
  killed?: { id: number; pid: number; signal: string }
  replacement?: { id: number; report: Report } | null
  afterKill?: { pid: number; labels: string[] }
  laterSpawn?: string
  disposed?: { active: boolean; restored: boolean }
}

let nextPort = 18100

/** Runs the instrumented cluster app (optionally under a start profile) and parses its report. */
function runApp(config: Record<string, unknown>, opts: { profile?: string; env?: Record<string, string>; status?: number } = {}) {
  const full = { host: '127.0.0.1', port: nextPort++, ...config }
  const argv = [...(opts.profile ? ['aa-exec', '-p', opts.profile, '--'] : []), process.execPath, FIXTURE, JSON.stringify(full)]
  const [cmd, ...args] = argv as [string, ...string[]]
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 120_000 })
  assert.equal(r.status, opts.status ?? 0, `cluster-app exited ${r.status} (${r.signal}): ${r.stderr}\n${r.stdout}`)
  const out = r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as AppOut)
  return { out: out as AppOut, stderr: r.stderr, audit: audit() }
}

function assertWorkerReport(report: Report, userExecArgv: string[]): void {
  assert.ok(report.labels.length >= 11, `main + runtime + the 4 pool threads the reads started (${report.labels.length})`)
  assert.deepEqual([...new Set(report.labels)], [WW], 'every thread of the worker, the libuv pool included')
  assert.equal(report.syncRead, 'EACCES')
  assert.deepEqual(report.asyncReads, ['EACCES'], 'reads on the pool threads are denied too')
  assert.deepEqual(report.execArgv, ['--require', PRELOAD, ...userExecArgv], 'the preload goes first; the user execArgv is kept')
  assert.deepEqual(report.envLeft, [], 'the worker removed the primary\'s instructions from its environment')
  assert.deepEqual(report.self, { source: 'preload', confined: true, threads: 7 }, 'checked in the preload, before the pool existed')
  assert.equal(report.role, 'worker')
}

function assertOnlySecretDenials(lines: string[]): void {
  for (const l of denied(lines)) {
    assert.match(l, /operation="open" profile="web-worker" name="\/tmp\/aam-cluster-secret"/, `unexpected denial: ${l}`)
  }
}

test('round-robin, unconfined primary: workers are in web-worker from the fork on, serve HTTP, a killed one is replaced confined', () => {
  const userExecArgv = ['--max-http-header-size=16384']
  const { out, audit: lines } = runApp({ workers: 2, requests: 8, secret: SECRET, kill: true, laterSpawn: true, setupExecArgv: userExecArgv })
  assert.deepEqual(out.registration, { ok: true, same: true }, 'registering twice returns the same handle')
  assert.deepEqual([...new Set(out.primaryLabel)], ['unconfined'])

  // Right after cluster.fork() returned: the worker already runs node in web-worker.
  assert.equal(out.forks.length, 3)
  for (const f of out.forks) assert.deepEqual([...new Set(f.atFork)], [WW], `worker ${f.id} right after fork`)
  assert.deepEqual(
    out.confirmed.map((c) => [c.source, c.labels, c.threads >= 7]),
    [0, 1, 2].map(() => ['preload', [WW], true]),
  )
  assert.deepEqual(out.rejected, [])

  assert.equal(out.requests.length, 8)
  for (const r of out.requests) {
    assert.equal(r.status, 200)
    assert.deepEqual(r.labels, [WW], `request served by pid ${r.pid}`)
  }
  assert.equal(out.servedBy, 2, 'both workers served requests')
  assert.equal(out.reports.length, 2)
  for (const report of out.reports) assertWorkerReport(report, userExecArgv)
  assert.equal(out.primarySecret, 'OK', 'the primary reads what its workers may not')
  assert.deepEqual(out.settingsExecArgv, userExecArgv, 'cluster.settings.execArgv is put back after each fork')

  assert.equal(out.killed?.signal, 'SIGKILL')
  assert.ok(out.replacement, 'a replacement was forked')
  assertWorkerReport((out.replacement as { report: Report }).report, userExecArgv)
  assert.deepEqual(out.afterKill?.labels, [WW])

  assert.equal(out.laterSpawn, 'unconfined', "the primary's later spawns are not in web-worker")
  assert.deepEqual(out.disposed, { active: false, restored: true }, 'dispose() puts cluster.fork back')

  assertNoExecDenials(lines)
  assertOnlySecretDenials(lines)
  assert.ok(denied(lines).length >= 27, 'each worker logged its denied reads (3 workers x 9)')
})

test('SCHED_NONE: workers listen on their own sockets under the same rules', () => {
  const { out, audit: lines } = runApp({ workers: 2, requests: 6, secret: SECRET }, { env: { NODE_CLUSTER_SCHED_POLICY: 'none' } })
  assert.equal(out.confirmed.length, 2)
  assert.equal(out.requests.length, 6)
  for (const r of out.requests) {
    assert.equal(r.status, 200)
    assert.deepEqual(r.labels, [WW])
  }
  for (const report of out.reports) assertWorkerReport(report, [])
  assertNoExecDenials(lines)
  assertOnlySecretDenials(lines)
})

test('preload: false — the worker confirms from its own onWorkerFork() call', () => {
  const { out, audit: lines } = runApp({ workers: 1, requests: 2, options: { preload: false } })
  assert.deepEqual(out.confirmed.map((c) => [c.source, c.labels]), [['call', [WW]]])
  assert.deepEqual(out.reports[0]?.execArgv, [], 'nothing was added to execArgv')
  assert.equal(out.reports[0]?.self?.source, 'call')
  assert.deepEqual(denied(lines), [])
})

test('a missing worker profile stops startup: ERR_AA_NOT_FOUND, nothing forked', () => {
  const { out, audit: lines } = runApp({ profile: 'aam-cl-missing' })
  assert.equal(out.registration.code, 'ERR_AA_NOT_FOUND')
  assert.match(out.registration.message ?? '', /'aam-cl-missing' is not loaded in the kernel/)
  assert.deepEqual(out.forks, [])
  assertNoExecDenials(lines)
})

test('a confined primary that may not change into the worker profile: ERR_AA_NOT_PERMITTED', () => {
  const { out } = runApp({ inspect: false }, { profile: 'aam-cl-nochange' })
  assert.equal(out.registration.code, 'ERR_AA_NOT_PERMITTED')
  assert.match(out.registration.message ?? '', /add "change_profile -> web-worker,"/)
  assert.deepEqual(out.forks, [])
})

test('a confined primary that could not restore its onexec: ERR_AA_RESTORE_FAILED before any fork', () => {
  const { out } = runApp({ inspect: false }, { profile: 'aam-cl-noself' })
  assert.equal(out.registration.code, 'ERR_AA_RESTORE_FAILED')
  assert.match(out.registration.message ?? '', /add "change_profile -> aam-cl-noself,"/)
  assert.deepEqual(out.forks, [])
})

test('a confined primary with an exec-conditional change_profile rule: workers confined, its own later spawns restored', () => {
  const { out, audit: lines } = runApp({ workers: 1, requests: 2, inspect: false, laterSpawn: true }, { profile: 'aam-cl-cond' })
  assert.deepEqual(out.registration, { ok: true, same: true })
  assert.deepEqual(out.confirmed.map((c) => c.labels), [[WW]])
  assert.deepEqual(out.requests.map((r) => r.status), [200, 200])
  assert.equal(out.laterSpawn, 'aam-cl-cond (enforce)')
  assertNoExecDenials(lines)
  assert.deepEqual(denied(lines), [])
})

test('a worker in a complain-mode profile is not confined: killed, reported, logged', () => {
  const { out, stderr } = runApp({ profile: 'aam-cl-complain', workers: 1 })
  assert.deepEqual(out.forks.map((f) => [...new Set(f.atFork)]), [['aam-cl-complain (complain)']])
  assert.deepEqual(out.confirmed, [])
  assert.equal(out.rejected.length, 1)
  assert.equal(out.rejected[0]?.code, 'ERR_AA_NOT_CONFINED')
  assert.match(out.rejected[0]?.message ?? '', /7 of 7 threads are elsewhere \(7 in 'aam-cl-complain \(complain\)'\)/)
  assert.deepEqual(out.exits, [{ id: 1, state: 'gone' }], 'the worker is gone')
  assert.match(stderr, /^apparmor-monkeys\/cluster: worker 1 \(pid \d+\) is not confined in 'aam-cl-complain'.*\[ERR_AA_NOT_CONFINED\]$/m)
  assert.match(stderr, /worker pid \d+ is NOT confined in 'aam-cl-complain'.*exiting with status 78 before any application code runs/)
})

test('onFailure: exit — the primary exits with status 1', () => {
  const { out, stderr } = runApp({ profile: 'aam-cl-complain', workers: 1, options: { onFailure: 'exit' } }, { status: 1 })
  assert.equal(out, undefined, 'the primary did not get to print its report')
  assert.match(stderr, /is not confined in 'aam-cl-complain'.*exiting the primary \(onFailure: exit\) \[ERR_AA_NOT_CONFINED\]/)
})

test('allowComplain: true accepts the complain-mode worker', () => {
  const { out } = runApp({ profile: 'aam-cl-complain', workers: 1, requests: 1, options: { allowComplain: true } })
  assert.deepEqual(out.confirmed.map((c) => c.labels), [['aam-cl-complain (complain)']])
  assert.deepEqual(out.requests.map((r) => r.status), [200])
})

// --- The example app, under its own profiles, as a user would run it. ---

function get(port: number): Promise<{ status: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, pid: (JSON.parse(body) as { pid: number }).pid }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

test('examples/cluster-app under cluster-primary: confined workers serve HTTP, respawn, reload and stop — no denials at all', async () => {
  audit()
  const port = nextPort++
  const app = spawn('aa-exec', ['-p', 'cluster-primary', '--', process.execPath, EXAMPLE], {
    env: { ...process.env, PORT: String(port), WORKERS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  app.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  app.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<[number | null, string | null]>((resolve) => app.on('exit', (code, signal) => resolve([code, signal])))
  const waitFor = async (re: RegExp, what: string): Promise<RegExpMatchArray> => {
    for (let i = 0; i < 600; i++) {
      const m = re.exec(stdout)
      if (m) return m
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`timed out waiting for ${what}; stdout: ${stdout}; stderr: ${stderr}`)
  }
  try {
    const ready = await waitFor(/ready: 2 workers on http:\/\/127\.0\.0\.1:(\d+)\/ \(primary pid (\d+)\)/, 'ready')
    const primaryPid = Number(ready[2])
    assert.deepEqual([...new Set(labelsOf(primaryPid))], ['cluster-primary (enforce)'])
    assert.match(stdout, /worker 1 pid \d+: 7 threads in 'web-worker'/)

    const pids = new Set<number>()
    for (let i = 0; i < 6; i++) {
      const r = await get(port)
      assert.equal(r.status, 200)
      assert.deepEqual([...new Set(labelsOf(r.pid))], [WW])
      pids.add(r.pid)
    }
    assert.equal(pids.size, 2, 'both workers served')

    // A worker killed from outside (an admin, the OOM killer) is replaced by a confined one.
    const victim = [...pids][0] as number
    process.kill(victim, 'SIGKILL')
    const fresh = Number((await waitFor(/worker 3 pid (\d+): 7 threads in 'web-worker'/, 'the replacement'))[1])
    // The replacement is confirmed before it listens: ask until it serves (bounded).
    const after = new Set<number>()
    const deadline = Date.now() + 30_000
    while (!after.has(fresh) && Date.now() < deadline) {
      const r = await get(port)
      assert.deepEqual([...new Set(labelsOf(r.pid))], [WW])
      after.add(r.pid)
      if (!after.has(fresh)) await new Promise((res) => setTimeout(res, 100))
    }
    assert.ok(after.has(fresh) && !after.has(victim), 'the replacement serves, the killed worker does not')

    // Rolling restart: two new confined workers, the old ones disconnect and exit.
    process.kill(primaryPid, 'SIGHUP')
    await waitFor(/worker 5 pid \d+: 7 threads in 'web-worker'/, 'the reloaded workers')
    await waitFor(/(exited \(0\)[\s\S]*){2}/, 'the old workers to exit')

    process.kill(primaryPid, 'SIGTERM')
    const [code, signal] = await exited
    assert.equal(code, 0, `primary exit: ${code} ${signal}; stderr: ${stderr}`)
    assert.match(stdout, /exited \(SIGTERM\)/, 'the primary stopped its workers with SIGTERM (signal rules)')
    assert.equal(stderr, '')
  } finally {
    if (app.exitCode === null) app.kill('SIGKILL')
  }
  const lines = audit()
  assert.deepEqual(denied(lines), [], 'the example profiles leave the audit log clean')
  assertNoExecDenials(lines)
})
