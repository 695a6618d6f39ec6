// The real node:cluster on this host, which has no AppArmor: registration fails closed, and
// with a recording kernel the real fork, preload, IPC confirmation and rejection run end to
// end (the worker cannot read an AppArmor label here, so it must be refused). The confined
// paths run on a real AppArmor kernel in test/cluster (VM suite).
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'

const APP = path.join(__dirname, 'fixtures', 'app.js')
const PRELOAD = path.resolve(__dirname, '..', 'dist', 'worker.js')
const hasAppArmor = fs.existsSync('/sys/module/apparmor/parameters/enabled')
const skip = hasAppArmor ? 'this host has AppArmor: these are the paths of a host without it' : false

interface Result {
  calls: string[]
  onexecAtFork: Array<string | undefined>
  rejected: Array<{ code: string; message: string; stopped: string }>
  confirmed: unknown[]
  registration?: { code: string; message: string }
  forkUnchanged?: boolean
  workerExit?: { code: number | null; signal: string | null }
  settingsExecArgv?: string[]
}

/** A refused worker exits by itself with status 78, unless the primary's SIGKILL lands first. */
function exitedOrKilled(exit: Result['workerExit']): boolean {
  return (exit?.code === 78 && exit.signal === null) || (exit?.code === null && exit.signal === 'SIGKILL')
}

function app(config: Record<string, unknown>) {
  const r = spawnSync(process.execPath, [APP, JSON.stringify(config)], { encoding: 'utf8', timeout: 30_000 })
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '))
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, result: line ? (JSON.parse(line.slice(7)) as Result) : undefined }
}

t.test('without AppArmor, registration fails closed (ERR_AA_DISABLED) and cluster.fork is left alone', { skip }, async (t) => {
  const r = app({ kernel: 'real' })
  t.equal(r.status, 0, r.stderr)
  t.match(r.result?.registration, { code: 'ERR_AA_DISABLED', message: /^onWorkerFork\(changeProfile\('web-worker'\)\): .*AppArmor is not enabled in this kernel/ })
  t.equal(r.result?.forkUnchanged, true)
})

t.test('real fork: onexec set around node:cluster\'s fork, the worker checks itself in the preload and is refused', { skip }, async (t) => {
  const r = app({ kernel: 'fake' })
  t.equal(r.status, 0, r.stderr)
  const res = r.result as Result
  t.same(res.calls, ['permprofile web-worker', 'exec web-worker', 'exec unconfined'])
  t.same(res.onexecAtFork, ['web-worker'], "node:cluster's fork ran inside the onexec window")
  t.same(res.confirmed, [])
  t.equal(res.rejected.length, 1)
  t.match(res.rejected[0], {
    code: 'ERR_AA_NOT_CONFINED',
    message: /^worker 1 \(pid \d+\) is not confined in 'web-worker': it could not read its own label: AppArmor is not enabled in this kernel \(no apparmor module\) \[ERR_AA_DISABLED\]$/,
  })
  t.ok(exitedOrKilled(res.workerExit), `the worker exited by itself (78) or was killed first: ${JSON.stringify(res.workerExit)}`)
  t.same(res.settingsExecArgv, [], 'settings.execArgv is the primary\'s own again')
  t.notMatch(r.stdout, /WORKER USER CODE RAN/, 'no application code ran in the worker')
  t.match(r.stderr, /worker pid \d+ is NOT confined in 'web-worker' \(AppArmor is not enabled.*\[ERR_AA_DISABLED\]\); exiting with status 78 before any application code runs/)
  t.match(r.stderr, /^apparmor-monkeys\/cluster: worker 1 \(pid \d+\) is not confined in 'web-worker': .*\[ERR_AA_NOT_CONFINED\]$/m)
})

t.test('onFailure: exit — the primary exits with status 1', { skip }, async (t) => {
  const r = app({ kernel: 'fake', options: { onFailure: 'exit' } })
  t.equal(r.status, 1)
  t.equal(r.result, undefined)
  t.match(r.stderr, /exiting the primary \(onFailure: exit\) \[ERR_AA_NOT_CONFINED\]/)
})

t.test('preload: false and a worker that never confirms: stopped at the timeout', { skip }, async (t) => {
  const r = app({ kernel: 'fake', options: { preload: false, confirmTimeoutMs: 1500 } })
  const res = r.result as Result
  t.match(res.rejected, [{ message: /it did not confirm its label within 1500 ms/, stopped: 'killed' }])
  t.same(res.workerExit, { code: null, signal: 'SIGKILL' })
  t.match(r.stdout, /WORKER USER CODE RAN/, 'without the preload the worker runs until it is stopped')
})

t.test('preload: false and the worker calls onWorkerFork(): it checks itself there', { skip }, async (t) => {
  const r = app({ kernel: 'fake', workerCalls: true, options: { preload: false } })
  const res = r.result as Result
  t.match(res.rejected, [{ message: /it could not read its own label: .*\[ERR_AA_DISABLED\]/ }])
  t.ok(exitedOrKilled(res.workerExit), JSON.stringify(res.workerExit))
  t.notMatch(r.stdout, /WORKER CALL RETURNED|WORKER USER CODE RAN/, 'nothing after the call ran')
})

t.test('the preload does nothing in a process the primary did not fork', async (t) => {
  const plain = spawnSync(process.execPath, ['--require', PRELOAD, '-e', 'console.log(process.env.AAM_CLUSTER_WORKER ?? "ran")'], { encoding: 'utf8' })
  t.equal(plain.status, 0, plain.stderr)
  t.equal(plain.stdout, 'ran\n')
  t.equal(plain.stderr, '')
})

t.test('with the primary\'s instructions but no label to show, the preload stops the process before its code', { skip }, async (t) => {
  const env = { ...process.env, AAM_CLUSTER_WORKER: JSON.stringify({ v: 1, profile: 'web-worker', modes: ['enforce', 'kill'], preload: true }) }
  const r = spawnSync(process.execPath, ['--require', PRELOAD, '-e', 'console.log("ran")'], { encoding: 'utf8', env })
  t.equal(r.status, 78)
  t.equal(r.stdout, '')
  t.match(r.stderr, /^apparmor-monkeys\/cluster: worker pid \d+ is NOT confined in 'web-worker' \(AppArmor is not enabled/)
  const garbled = spawnSync(process.execPath, ['--require', PRELOAD, '-e', 'console.log("ran")'], { encoding: 'utf8', env: { ...env, AAM_CLUSTER_WORKER: '{oops' } })
  t.equal(garbled.status, 78, 'unreadable instructions fail closed')
  // With preload: false the primary added no preload: loading the file checks nothing (the
  // worker checks when it calls onWorkerFork()).
  const off = { ...env, AAM_CLUSTER_WORKER: JSON.stringify({ v: 1, profile: 'web-worker', modes: ['enforce', 'kill'], preload: false }) }
  const quiet = spawnSync(process.execPath, ['--require', PRELOAD, '-e', 'console.log("ran")'], { encoding: 'utf8', env: off })
  t.equal(quiet.status, 0, quiet.stderr)
  t.equal(quiet.stdout, 'ran\n')
})
