// The primary's logic against a fake cluster object and a fake kernel: what is written and
// when, execArgv and env handling, registration, and how confirmations are judged. Nothing
// here touches node:cluster or the real /proc (that is fork.test.ts and the VM suite).
import t from 'tap'
import { EventEmitter } from 'node:events'
import * as path from 'node:path'
import { AppArmorError, ErrorCodes, type Kernel, type Label } from '@apparmor-monkeys/core'
import { WORKER_ENV, changeProfile, onWorkerFork, type WorkerConfirmation } from '../src/index'
import { CONFIRM_CMD } from '../src/worker'

const PRELOAD = path.resolve(__dirname, '..', 'src', 'worker.js')

function label(raw: string): Label {
  const m = /^(.*) \((\w+)\)$/.exec(raw)
  const name = m ? (m[1] as string) : raw
  return { label: name, mode: m?.[2], unconfined: raw === 'unconfined', stack: [name], namespace: undefined, raw }
}

/** A kernel that keeps the calling thread's label and onexec in memory and logs each call. */
function fakeKernel(opts: { self?: string; refuse?: Record<string, AppArmorError> } = {}) {
  const calls: string[] = []
  const state = { self: opts.self ?? 'unconfined', onexec: undefined as string | undefined }
  const refuse = (op: string, p: string) => {
    const err = opts.refuse?.[`${op} ${p}`]
    if (err) throw err
  }
  const k = {
    getCon: () => label(state.self),
    getExecCon: () => (state.onexec === undefined ? undefined : label(`${state.onexec} (enforce)`)),
    permProfile: (p: string) => {
      calls.push(`permprofile ${p}`)
      refuse('permprofile', p)
    },
    changeOnExec: (p: string) => {
      calls.push(`exec ${p}`)
      refuse('exec', p)
      state.onexec = p
      return { operation: 'changeOnExec', onexec: label(`${p} (enforce)`), changed: true, scope: 'thread', thread: { tid: 1, mainThread: true } }
    },
    writeAttr: (_attr: string, command: string) => {
      calls.push(command)
      state.onexec = command.slice('exec '.length)
    },
  }
  return { kernel: k as unknown as Kernel, calls, state }
}

class FakeProcess extends EventEmitter {
  connected = true
  killed: string[] = []
  killError: NodeJS.ErrnoException | undefined
  constructor(readonly pid: number) {
    super()
  }
  kill(signal: string): boolean {
    if (this.killError) {
      // What ChildProcess does: emit 'error' (the cluster Worker re-emits and throws unheard).
      throw this.killError
    }
    this.killed.push(signal)
    return true
  }
  disconnect(): void {
    this.connected = false
    setImmediate(() => this.emit('disconnect'))
  }
}

/** A cluster-like object whose fork() records what the kernel and settings were at that moment. */
function fakeCluster(kernelState: { onexec: string | undefined }) {
  const forks: Array<{ onexec: string | undefined; execArgv: string[] | undefined; env: Record<string, string> }> = []
  const workers: Array<{ id: number; process: FakeProcess }> = []
  let nextPid = 1000
  const c = {
    isPrimary: true,
    isWorker: false,
    settings: {} as { execArgv?: string[] },
    fork(env?: Record<string, string>) {
      // Like node:cluster: setupPrimary() replaces the settings object, then execArgv is copied.
      c.settings = { execArgv: process.execArgv, ...c.settings }
      forks.push({ onexec: kernelState.onexec, execArgv: c.settings.execArgv && [...c.settings.execArgv], env: { ...env } })
      const w = { id: workers.length + 1, process: new FakeProcess(nextPid++) }
      workers.push(w)
      return w
    },
  }
  return { cluster: c, forks, workers }
}

function setup(t: Tap.Test, opts: Parameters<typeof fakeKernel>[0] & { options?: Record<string, unknown> } = {}) {
  const k = fakeKernel(opts)
  const fc = fakeCluster(k.state)
  const logs: string[] = []
  const original = fc.cluster.fork
  const handle = onWorkerFork(changeProfile('web-worker'), {
    cluster: fc.cluster as never,
    kernel: k.kernel,
    log: (line) => logs.push(line),
    ...opts.options,
  })
  t.teardown(() => handle.dispose())
  return { ...k, ...fc, handle, logs, original }
}

const confirm = (pid: number, raws: string[], extra: Record<string, unknown> = {}) => ({
  cmd: CONFIRM_CMD,
  v: 1,
  pid,
  source: 'preload',
  threads: raws.map((raw, i) => ({ tid: pid + i, raw })),
  ...extra,
})

t.test('registration: the worker profile is dry-run first; cluster.fork is replaced', async (t) => {
  const s = setup(t)
  t.same(s.calls, ['permprofile web-worker'], 'unconfined primary: only the target is checked')
  t.equal(s.handle.role, 'primary')
  t.equal(s.handle.profile, 'web-worker')
  t.equal(s.handle.active, true)
  t.not(s.cluster.fork, s.original)
  t.equal(s.cluster.fork.name, 'fork')
})

t.test('a confined primary also checks that it can change back into itself', async (t) => {
  const s = setup(t, { self: 'cluster-primary (enforce)' })
  t.same(s.calls, ['permprofile web-worker', 'permprofile cluster-primary'])
})

t.test('registration errors stop startup with the kernel answer, nothing hooked', async (t) => {
  const cases: Array<[string, AppArmorError, string, RegExp]> = [
    ['unconfined', new AppArmorError(ErrorCodes.NOT_FOUND, "profile 'web-worker' is not loaded"), ErrorCodes.NOT_FOUND, /^onWorkerFork\(changeProfile\('web-worker'\)\): profile 'web-worker' is not loaded/],
    ['p (enforce)', new AppArmorError(ErrorCodes.NOT_PERMITTED, 'no'), ErrorCodes.NOT_PERMITTED, /changeProfile\('web-worker'\)\): no/],
    ['unconfined', new AppArmorError(ErrorCodes.DISABLED, 'AppArmor is not enabled'), ErrorCodes.DISABLED, /AppArmor is not enabled/],
  ]
  for (const [self, err, code, message] of cases) {
    const k = fakeKernel({ self, refuse: { 'permprofile web-worker': err } })
    const fc = fakeCluster(k.state)
    const original = fc.cluster.fork
    t.throws(() => onWorkerFork(changeProfile('web-worker'), { cluster: fc.cluster as never, kernel: k.kernel }), { code, message })
    t.equal(fc.cluster.fork, original)
  }
  const noself = fakeKernel({ self: 'p (enforce)', refuse: { 'permprofile p': new AppArmorError(ErrorCodes.NOT_PERMITTED, 'no') } })
  const fc = fakeCluster(noself.state)
  t.throws(() => onWorkerFork(changeProfile('web-worker'), { cluster: fc.cluster as never, kernel: noself.kernel }), {
    code: ErrorCodes.RESTORE_FAILED,
    message: /add "change_profile -> p," to it/,
  })
})

t.test('fork: onexec is web-worker during the spawn and restored after; preload first, user execArgv kept', async (t) => {
  const s = setup(t)
  s.cluster.settings = { execArgv: ['--max-http-header-size=16384'] }
  s.calls.length = 0
  const w = s.cluster.fork({ FOO: 'bar' }) as unknown as { id: number }
  t.equal(w.id, 1)
  t.same(s.calls, ['exec web-worker', 'exec unconfined'], 'set, then restored to the thread\'s own label')
  t.equal(s.state.onexec, 'unconfined')
  t.equal(s.forks[0]?.onexec, 'web-worker', 'the original fork ran with onexec set')
  t.same(s.forks[0]?.execArgv, ['--require', PRELOAD, '--max-http-header-size=16384'])
  t.same(s.cluster.settings.execArgv, ['--max-http-header-size=16384'], 'settings put back')
  t.equal(s.forks[0]?.env['FOO'], 'bar')
  t.same(JSON.parse(s.forks[0]?.env[WORKER_ENV] as string), { v: 1, profile: 'web-worker', modes: ['enforce', 'kill'], preload: true })

  // Default settings: the primary's own execArgv.
  s.cluster.settings = {}
  s.cluster.fork()
  t.same(s.forks[1]?.execArgv, ['--require', PRELOAD, ...process.execArgv])
  t.same(s.cluster.settings.execArgv, process.execArgv)
})

t.test('preload: false adds nothing to execArgv; allowComplain widens the accepted modes', async (t) => {
  const s = setup(t, { options: { preload: false, allowComplain: true } })
  s.cluster.settings = { execArgv: ['--x'] }
  s.cluster.fork()
  t.same(s.forks[0]?.execArgv, ['--x'])
  t.same(JSON.parse(s.forks[0]?.env[WORKER_ENV] as string), { v: 1, profile: 'web-worker', modes: ['enforce', 'kill', 'complain'], preload: false })
})

t.test('a fork the kernel refuses throws, is logged, and leaves settings as they were', async (t) => {
  const s = setup(t)
  s.cluster.settings = { execArgv: ['--x'] }
  const refused = new AppArmorError(ErrorCodes.NOT_FOUND, "changeOnExec(\"web-worker\"): profile 'web-worker' is not loaded")
  ;(s.kernel as unknown as { changeOnExec: () => never }).changeOnExec = () => {
    throw refused
  }
  const err = t.throws(() => s.cluster.fork(), { code: 'ERR_AA_NOT_FOUND', message: /profile 'web-worker' is not loaded/ }) as Error
  t.equal(err.cause, refused, 'the kernel\'s error is the cause')
  t.equal(s.forks.length, 0, 'nothing spawned')
  t.same(s.cluster.settings.execArgv, ['--x'])
  t.match(s.logs, [/^apparmor-monkeys\/cluster: cluster\.fork\(\) refused: .*not loaded \[ERR_AA_NOT_FOUND\]$/])
})

t.test('idempotent registration; a conflicting one is refused; dispose() restores cluster.fork', async (t) => {
  const s = setup(t)
  const again = onWorkerFork(changeProfile('web-worker'), { cluster: s.cluster as never, kernel: s.kernel, log: s.handle.options.log })
  t.equal(again, s.handle)
  t.throws(() => onWorkerFork(changeProfile('other'), { cluster: s.cluster as never, kernel: s.kernel }), {
    code: 'ERR_AA_OPTIONS',
    message: /already hooked for 'web-worker'; call dispose\(\) on that handle first/,
  })
  t.throws(() => onWorkerFork(changeProfile('web-worker'), { cluster: s.cluster as never, kernel: s.kernel, confirmTimeoutMs: 5 }), {
    code: 'ERR_AA_OPTIONS',
    message: /with other options/,
  })
  s.handle.dispose()
  t.equal(s.handle.active, false)
  t.equal(s.cluster.fork, s.original)
  s.handle.dispose()
  s.calls.length = 0
  s.cluster.fork()
  t.same(s.calls, [], 'no onexec after dispose()')
  const fresh = onWorkerFork(changeProfile('other'), { cluster: s.cluster as never, kernel: s.kernel })
  t.not(fresh, s.handle)
  fresh.dispose()
})

t.test('dispose() when someone wrapped cluster.fork since: their wrapper stays, ours passes through', async (t) => {
  const s = setup(t)
  const ours = s.cluster.fork
  const theirs = (env?: Record<string, string>) => ours.call(s.cluster, env)
  s.cluster.fork = theirs as typeof s.cluster.fork
  s.handle.dispose()
  t.equal(s.cluster.fork, theirs)
  s.calls.length = 0
  s.cluster.fork()
  t.same(s.calls, [])
  t.equal(s.forks.length, 1)
  t.equal(s.forks[0]?.env[WORKER_ENV], undefined)
})

function forkOne(t: Tap.Test, options: Record<string, unknown> = {}) {
  const s = setup(t, { options })
  s.cluster.fork()
  const w = s.workers[0] as { id: number; process: FakeProcess }
  const events: Array<[string, unknown]> = []
  s.handle.on('confirmed', (_w, c) => events.push(['confirmed', c]))
  s.handle.on('rejected', (_w, e) => events.push(['rejected', e]))
  return { ...s, w, events }
}

const tick = () => new Promise((r) => setImmediate(r))

t.test('a worker whose every thread is in the profile is confirmed; other messages are ignored', async (t) => {
  const s = forkOne(t)
  s.w.process.emit('internalMessage', { cmd: 'NODE_CLUSTER', act: 'online' })
  s.w.process.emit('internalMessage', { ...confirm(s.w.process.pid, ['web-worker (enforce)']), v: 2 })
  t.same(s.events, [])
  s.w.process.emit('internalMessage', confirm(s.w.process.pid, Array(7).fill('web-worker (enforce)')))
  t.equal(s.events.length, 1)
  const [kind, c] = s.events[0] as [string, WorkerConfirmation]
  t.equal(kind, 'confirmed')
  t.match(c, { workerId: 1, pid: s.w.process.pid, profile: 'web-worker', source: 'preload' })
  t.equal(c.threads.length, 7)
  t.same(c.threads[0], { tid: s.w.process.pid, label: 'web-worker', mode: 'enforce' })
  t.ok(c.elapsedMs >= 0)
  // Later messages and the exit do not change the verdict.
  s.w.process.emit('internalMessage', confirm(s.w.process.pid, ['unconfined']))
  s.w.process.emit('exit', 0, null)
  await tick()
  t.equal(s.events.length, 1)
  t.same(s.w.process.killed, [])
  t.same(s.logs, [])
})

t.test('workers that are not confined are killed, disconnected, reported and logged', async (t) => {
  const cases: Array<[string, (pid: number) => unknown, RegExp]> = [
    ['one thread elsewhere', (pid) => confirm(pid, ['web-worker (enforce)', 'unconfined']), /1 of 2 threads are elsewhere \(1 in 'web-worker \(enforce\)', 1 in 'unconfined'\)/],
    ['complain mode', (pid) => confirm(pid, ['web-worker (complain)']), /1 of 1 threads are elsewhere \(1 in 'web-worker \(complain\)'\)/],
    ['a stack', (pid) => confirm(pid, ['web-worker//&other (enforce)']), /elsewhere/],
    ['another pid', (pid) => confirm(pid + 1, ['web-worker (enforce)']), /its confirmation names pid \d+/],
    ['no threads', (pid) => confirm(pid, []), /its confirmation lists no threads/],
    ['malformed threads', (pid) => ({ ...confirm(pid, []), threads: [{ tid: 'x' }] }), /lists no threads/],
    ['unreadable labels', (pid) => ({ cmd: CONFIRM_CMD, v: 1, pid, source: 'preload', error: { code: 'ERR_AA_DISABLED', message: 'AppArmor is not enabled' } }), /it could not read its own label: AppArmor is not enabled \[ERR_AA_DISABLED\]/],
  ]
  for (const [name, msg, reason] of cases) {
    await t.test(name, async (t) => {
      const s = forkOne(t)
      s.w.process.emit('internalMessage', msg(s.w.process.pid))
      t.equal(s.events.length, 1)
      const [kind, err] = s.events[0] as [string, AppArmorError]
      t.equal(kind, 'rejected')
      t.equal(err.code, 'ERR_AA_NOT_CONFINED')
      t.match(err.message, reason)
      t.match(err.data, { workerId: 1, pid: s.w.process.pid, profile: 'web-worker', stopped: 'killed' })
      t.same(s.w.process.killed, ['SIGKILL'])
      t.equal(s.w.process.connected, false, 'the IPC channel is closed too')
      t.equal(s.logs.length, 1)
      t.match(s.logs[0], /^apparmor-monkeys\/cluster: worker 1 \(pid \d+\) is not confined in 'web-worker': .*; stopped it \(SIGKILL\) \[ERR_AA_NOT_CONFINED\]$/)
    })
  }
})

t.test('allowComplain accepts complain mode', async (t) => {
  const s = forkOne(t, { allowComplain: true })
  s.w.process.emit('internalMessage', confirm(s.w.process.pid, ['web-worker (complain)']))
  t.equal(s.events[0]?.[0], 'confirmed')
})

t.test('no confirmation in time: rejected at the timeout', async (t) => {
  const s = forkOne(t, { confirmTimeoutMs: 30 })
  await new Promise((r) => setTimeout(r, 80))
  t.equal(s.events[0]?.[0], 'rejected')
  t.match((s.events[0]?.[1] as Error).message, /it did not confirm its label within 30 ms/)
  t.same(s.w.process.killed, ['SIGKILL'])
})

t.test('exit before confirming: decided once the channel has delivered everything', async (t) => {
  const s = forkOne(t)
  s.w.process.emit('exit', 78, null)
  await tick()
  t.same(s.events, [], 'still connected: waits for the disconnect')
  s.w.process.connected = false
  s.w.process.emit('disconnect')
  await tick()
  t.equal(s.events[0]?.[0], 'rejected')
  t.match((s.events[0]?.[1] as Error).message, /it exited \(status 78\) before confirming its label \(status 78: it found itself outside the profile\)/)

  const late = forkOne(t)
  late.w.process.connected = false
  late.w.process.emit('exit', null, 'SIGSEGV')
  // A confirmation still in flight when 'exit' fires is taken into account.
  late.w.process.emit('internalMessage', confirm(late.w.process.pid, ['web-worker (enforce)']))
  await tick()
  t.same(late.events.map((e) => e[0]), ['confirmed'])
})

t.test('a kill the kernel denies is reported, and the channel is still closed', async (t) => {
  const s = forkOne(t)
  const denied: NodeJS.ErrnoException = new Error('kill EACCES')
  denied.code = 'EACCES'
  s.w.process.killError = denied
  s.w.process.emit('internalMessage', confirm(s.w.process.pid, ['unconfined']))
  const err = s.events[0]?.[1] as AppArmorError
  t.match(err.data, { stopped: 'SIGKILL failed (EACCES)' })
  t.equal(s.w.process.connected, false)
  t.match(s.logs[0], /stopped it: SIGKILL failed \(EACCES\), IPC channel closed/)
})

t.test('a throwing logger does not change the outcome; log: null is silent', async (t) => {
  const s = forkOne(t, {
    log: () => {
      throw new Error('logger down')
    },
  })
  s.w.process.emit('internalMessage', confirm(s.w.process.pid, ['unconfined']))
  t.equal(s.events[0]?.[0], 'rejected')
  t.same(s.w.process.killed, ['SIGKILL'])
  const quiet = forkOne(t, { log: null })
  quiet.w.process.emit('internalMessage', confirm(quiet.w.process.pid, ['unconfined']))
  t.equal(quiet.events[0]?.[0], 'rejected')
  t.same(quiet.logs, [])
})

t.test('in a worker, onWorkerFork() hooks nothing', async (t) => {
  const c = { isPrimary: false, isWorker: true, fork: undefined }
  const h = onWorkerFork(changeProfile('web-worker'), { cluster: c as never })
  t.equal(h.role, 'worker')
  t.equal(h.active, false)
  t.equal(h.self, undefined, 'not forked under onWorkerFork(): nothing to check')
  h.dispose()
})
