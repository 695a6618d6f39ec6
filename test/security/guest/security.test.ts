/**
 * Adversarial tests on a real AppArmor kernel (runs inside the VM, as root): each one attacks
 * the confinement machinery the way docs/security.md's adversaries can, and asks the KERNEL
 * (a read of a file the target profile denies) whether the process is really confined.
 * Profile: test/security/profiles/security.aa.
 */
import { before, test } from 'node:test'
import * as assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createInterface } from 'node:readline'

const FIX = path.join(__dirname, 'fixtures')
const TEST_PKG = path.resolve(__dirname, '..', '..', '..')
const REGISTER = path.join(TEST_PKG, 'node_modules', '@apparmor-monkeys', 'core', 'dist', 'register.js')
const SECRET = '/tmp/aam-sec-secret'
const LABEL = 'aam-sec-target (enforce)'

before(() => {
  fs.writeFileSync(SECRET, 'top secret\n')
})

// ------------------------------------------------------------------------------------------
// 1. A fake /proc: something mounted over /proc (a volume, a tmpfs, a bind mount; runc's
//    CVE-2019-16884 class) that says "already confined". Every entry point must refuse with
//    ERR_AA_FAKE_PROCFS instead of "verifying" the fake.

interface FakeOut {
  op: string
  ok: boolean
  code?: string
  message?: string
  syncRead: string
  asyncRead: string
  childRead: string
}

/** Shell lines (run as root in a private mount namespace) that fake what /proc says. */
const SETUPS: Record<string, string> = {
  'a tmpfs over /proc': `
    mount -t tmpfs fake /proc
    mkdir -p /proc/thread-self/attr/apparmor /proc/self/task/1/attr/apparmor
    for f in thread-self/attr/apparmor/current thread-self/attr/apparmor/exec self/task/1/attr/apparmor/current; do
      echo '${LABEL}' > /proc/$f
    done`,
  "a tmpfs over the main thread's /proc/<pid>/task/<tid>/attr": `
    P=$$
    mount -t tmpfs fake /proc/$P/task/$P/attr
    mkdir /proc/$P/task/$P/attr/apparmor
    echo '${LABEL}' > /proc/$P/task/$P/attr/apparmor/current
    echo '${LABEL}' > /proc/$P/task/$P/attr/apparmor/exec`,
  'a bind mount over /proc/self/task': `
    P=$$
    D=$(mktemp -d /tmp/aam-sec-task.XXXXXX)
    mkdir -p $D/$P/attr/apparmor
    echo '${LABEL}' > $D/$P/attr/apparmor/current
    echo '${LABEL}' > $D/$P/attr/apparmor/exec
    mount --bind $D /proc/$P/task`,
  'a file bind-mounted over attr/apparmor/current and exec': `
    P=$$
    F=$(mktemp /tmp/aam-sec-attr.XXXXXX)
    echo '${LABEL}' > $F
    mount --bind $F /proc/$P/task/$P/attr/apparmor/current
    mount --bind $F /proc/$P/task/$P/attr/apparmor/exec`,
}

function underFakeProc(setup: string, op: string): FakeOut {
  const script = `set -e\n${setup}\nexec ${process.execPath} ${path.join(FIX, 'fake-proc-app.js')} ${op}\n`
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', cwd: TEST_PKG, timeout: 120_000 })
  assert.equal(r.status, 0, `${op} exited ${r.status}: ${r.stderr}\n${r.stdout}`)
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as FakeOut
}

/** Why `out` is not the refusal expected, or undefined. */
function notRefused(out: FakeOut, call: RegExp | undefined): string | undefined {
  if (out.ok) return `${out.op} reported success while the kernel says: sync read ${out.syncRead}, async ${out.asyncRead}, child ${out.childRead}`
  if (out.code !== 'ERR_AA_FAKE_PROCFS') return `${out.op}: ${out.code} ${out.message}`
  if (call && !call.test(out.message ?? '')) return `${out.op}: the message does not name the call: ${out.message}`
  if (!/not procfs \(0x9fa0\)/.test(out.message ?? '')) return `${out.op}: ${out.message}`
  return undefined
}

const ALL_OPS: Array<[string, RegExp | undefined]> = [
  ['confine', /^confine\("aam-sec-target"\): /],
  ['confineSync', /^confineSync\("aam-sec-target"\): /],
  ['changeProfile', /^changeProfile\("aam-sec-target"\): /],
  ['withExecProfile', /^withExecProfile\("aam-sec-target"\): /],
  ['fastify', undefined],
  ['express', undefined],
  ['cluster', /onWorkerFork/],
]
const SOME_OPS = ALL_OPS.filter(([op]) => op === 'confine' || op === 'changeProfile' || op === 'withExecProfile')

for (const [where, setup] of Object.entries(SETUPS)) {
  const ops = where.startsWith('a tmpfs over the main') ? ALL_OPS : SOME_OPS
  test(`fake /proc (${where}): ${ops.map(([op]) => op).join(', ')} refuse with ERR_AA_FAKE_PROCFS`, () => {
    // Every entry point is tried, and every one that does not refuse is named.
    const wrong = ops.map(([op, call]) => notRefused(underFakeProc(setup as string, op), call)).filter((w) => w !== undefined)
    assert.ok(wrong.length === 0, `${wrong.length} of ${ops.length} entry points did not refuse: ${wrong.join('; ')}`)
  })
}

test("fake /proc (a tmpfs over the main thread's attr): the register preload with APPARMOR_MONKEYS_PROFILE stops the process before the app runs", () => {
  const setup = SETUPS["a tmpfs over the main thread's /proc/<pid>/task/<tid>/attr"] as string
  const script = `set -e\n${setup}\nexec ${process.execPath} --require ${REGISTER} ${path.join(FIX, 'fake-proc-app.js')} preload\n`
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
    encoding: 'utf8',
    cwd: TEST_PKG,
    timeout: 120_000,
    env: { ...process.env, APPARMOR_MONKEYS_PROFILE: 'aam-sec-target' },
  })
  assert.notEqual(r.status, 0, `the app ran: ${r.stdout}`)
  assert.equal(r.stdout, '', 'no line of the app ran')
  assert.match(r.stderr, /ERR_AA_FAKE_PROCFS/)
  assert.match(r.stderr, /confine\("aam-sec-target"\)/)
})

test('control: without a fake /proc the same fixture confines (the kernel denies the secret everywhere)', () => {
  for (const op of ['confine', 'changeProfile', 'withExecProfile']) {
    const out = underFakeProc('true', op)
    assert.equal(out.ok, true, `${op}: ${out.code} ${out.message}`)
    if (op === 'withExecProfile') assert.equal(out.childRead, 'EACCES')
    else assert.equal(out.syncRead, 'EACCES', op)
    if (op === 'confine') assert.equal(out.asyncRead, 'EACCES')
  }
})

// ------------------------------------------------------------------------------------------
// 2. The park channel: a process in the same network namespace watches /proc/net/unix and
//    connects to the park socket while confine() pairs the pool threads with their writers.

/** The child's stdout, line by line; '' once it has ended. */
function lineReader(child: ChildProcessWithoutNullStreams): () => Promise<string> {
  const it = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return async () => ((await it.next()).value as string | undefined) ?? ''
}

interface ParkOut {
  size: number
  complete?: boolean
  error?: { code: string; message: string }
  ms: number
  poolFree: boolean
  asyncReads: string[] | null
  syncRead: string
  hung?: boolean
}

const PARK_TIMEOUT_MS = 8000

for (let round = 1; round <= 3; round++) {
  test(`park socket under attack (round ${round}): confine() completes or fails with ERR_AA_PARK_FAILED in time, and no pool thread stays parked`, async () => {
    const env = { ...process.env, UV_THREADPOOL_SIZE: '32', AAM_BUSY_MS: '2' }
    const victim = spawn(process.execPath, [path.join(FIX, 'park-victim.js'), String(PARK_TIMEOUT_MS)], { env, cwd: TEST_PKG }) as ChildProcessWithoutNullStreams
    const vLine = lineReader(victim)
    const pid = /^pid (\d+)$/.exec(await vLine())?.[1]
    assert.ok(pid, 'the victim started')
    const hostile = spawn(process.execPath, [path.join(FIX, 'hostile.js'), pid], { env, cwd: TEST_PKG }) as ChildProcessWithoutNullStreams
    const hLine = lineReader(hostile)
    assert.equal(await hLine(), 'ready', 'the hostile process watches /proc/net/unix')
    victim.stdin.end('go\n')
    const text = await vLine()
    hostile.kill('SIGTERM')
    const attack = JSON.parse((await hLine()) || '{}') as { connections?: number; names?: number }
    victim.kill('SIGKILL')
    const out = JSON.parse(text) as ParkOut
    process.stdout.write(`# round ${round}: ${JSON.stringify({ ...out, error: out.error?.code, attack })}\n`)
    assert.ok((attack.connections ?? 0) > 0, 'the hostile process connected to the park socket')
    assert.notEqual(out.hung, true, `confine() never settled (${out.ms} ms)`)
    assert.ok(out.ms < PARK_TIMEOUT_MS + 2000, `settled within its timeout (${out.ms} ms)`)
    assert.equal(out.poolFree, true, 'every pool thread is free afterwards')
    if (out.error) {
      assert.equal(out.error.code, 'ERR_AA_PARK_FAILED', out.error.message)
    } else {
      assert.equal(out.complete, true)
      assert.deepEqual(out.asyncReads, ['EACCES'], 'every pool thread is confined')
      assert.equal(out.syncRead, 'EACCES')
    }
  })
}

// ------------------------------------------------------------------------------------------
// 3. The decision log: a symlink planted where a root service logs, and secrets in argv.

function withRegister(env: Record<string, string>, code: string) {
  return spawnSync(process.execPath, ['--require', REGISTER, '-e', code], {
    encoding: 'utf8',
    cwd: TEST_PKG,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', ...env },
    timeout: 60_000,
  })
}

test('a symlink planted as the decision log is refused (ERR_AA_OPTIONS naming APPARMOR_MONKEYS_LOG); nothing is written through it', () => {
  const dir = fs.mkdtempSync('/tmp/aam-sec-logs-')
  fs.chmodSync(dir, 0o1777) // a shared directory
  const victim = path.join(dir, 'victim')
  fs.writeFileSync(victim, 'precious\n')
  const log = path.join(dir, 'decisions.jsonl')
  fs.symlinkSync(victim, log)
  const r = withRegister({ APPARMOR_MONKEYS_LOG: log }, "require('node:child_process').execFileSync('true')")
  assert.notEqual(r.status, 0, 'the preload stops the process')
  assert.match(r.stderr, /APPARMOR_MONKEYS_LOG/)
  assert.match(r.stderr, /symbolic link/)
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the symlink target is untouched')
  fs.unlinkSync(log)
  const dangling = path.join(dir, 'nowhere')
  fs.symlinkSync(dangling, log)
  assert.notEqual(withRegister({ APPARMOR_MONKEYS_LOG: log }, '0').status, 0)
  assert.equal(fs.existsSync(dangling), false, 'no file is created through a dangling symlink')
})

test('a passthrough command line carrying a secret is not in the decision log by default', () => {
  const dir = fs.mkdtempSync('/tmp/aam-sec-logs-')
  const log = path.join(dir, 'decisions.jsonl')
  const code = `
    const cp = require('node:child_process')
    cp.execSync('sleep 0 --password=hunter2 || TOKEN=hunter2 sleep 0 https://user:hunter2@example.com/?token=hunter2 || true')
    cp.execFileSync('env', ['TOKEN=hunter2', 'sleep', '0'])
  `
  const r = withRegister({ APPARMOR_MONKEYS_LOG: log }, code)
  assert.equal(r.status, 0, r.stderr)
  const text = fs.readFileSync(log, 'utf8')
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.equal(lines.length, 2, text)
  assert.doesNotMatch(text, /hunter2/, 'no secret in the log')
  assert.equal(lines[0]?.['decision'], 'passthrough')
  assert.deepEqual(lines[0]?.['programs'], ['sleep', 'true'])
  assert.equal(lines[1]?.['decision'], 'passthrough')
  assert.equal(lines[1]?.['command'], 'env …')
  assert.equal(lines[1]?.['argc'], 3)
  assert.equal(fs.statSync(log).mode & 0o777, 0o600, 'created with mode 0600')
})
