// emulate must be indistinguishable from a real run: the same command lines run for real
// (no interception) and answered by an injected emulator that knows their exact output,
// through every API, compared property by property and event by event. The functions are
// references taken before install().
import t from 'tap'
import { jsonFixture } from './helpers'

type Shapes = Record<string, any>
interface Result {
  real: Shapes
  emulated: Shapes
  decisions: { command: string; decision: string; reason: string; api: string }[]
  passthrough: string[]
  pid: number
  kill0: string
  killedEarly: Shapes
  realKilledEarly: Shapes
  killedLate: Shapes
  maxBuffer: Shapes
  requests: Shapes[]
}

// Writes to the stdin of a child that does not read it race with its exit for real (EPIPE or
// not); the emulated child accepts them. Compared apart below.
// maxBuffer: the real binding kills the child after the overflowing read, which a fast child
// may have outlived (status 0) or not (the kill signal); the emulated one has exited.
const RACY = ['spawnSyncInput', 'spawnStdin', 'spawnSyncMaxBuffer', 'spawnSyncMaxBufferKill']

// One run of the fixture serves both tests.
const dir = t.testdir({})
const { result: r, run } = jsonFixture<Result>(dir, 'emulate.cjs')

t.test('emulated runs are the real runs, API by API', async (t) => {
  t.equal(run.status, 0, run.stderr)
  const apis = Object.keys(r.real)
  t.equal(apis.length, 28)
  for (const api of apis) if (!RACY.includes(api)) t.same(r.emulated[api], r.real[api], api)

  // The emulated side was emulated (all but the unusable cwd, which must reach the kernel).
  const sync = r.decisions.slice(0, 16)
  t.same(sync.filter((d) => d.decision !== 'emulate').map((d) => d.command), ["printf 'out\\n'; printf 'err\\n' >&2"], 'bad cwd passes through')
  t.match(r.real.spawnSyncBadCwd, { returned: { error: { props: { code: 'ENOENT' } } } })
  t.ok(r.decisions.slice(0, 27).every((d, i) => (i === 15 ? d.decision === 'passthrough' : d.decision === 'emulate')))

  // Bytes written to inherited fds land on the fixture's own fd 1 and 2, in order.
  t.equal(run.stdout, '[real:out\n][emulated:out\n]')
  t.equal(run.stderr, '[real:err\n][emulated:err\n]')

  // The racy ones: same result, and the write is accepted rather than failing with EPIPE.
  const { error: _ignored, ...realInput } = r.real.spawnSyncInput.returned
  t.same(r.emulated.spawnSyncInput.returned, realInput)
  t.same(r.emulated.spawnStdin.streams.stdin, ['finish', 'close'])
  for (const api of ['spawnSyncMaxBuffer', 'spawnSyncMaxBufferKill']) {
    const { status: realStatus, signal: realSignal, ...realRest } = r.real[api].returned
    const { status, signal, ...rest } = r.emulated[api].returned
    t.same(rest, realRest, api)
    t.same([status, signal], [0, null])
    t.ok((realStatus === 0 && realSignal === null) || (realStatus === null && realSignal === (api.endsWith('Kill') ? 'SIGKILL' : 'SIGTERM')), `${api}: a real outcome`)
  }
  t.match(r.emulated.spawnSyncMaxBuffer.returned.error, { props: { code: 'ENOBUFS', message: 'spawnSync /bin/sh ENOBUFS' } })
  t.same({ ...r.emulated.spawnStdin, streams: { ...r.emulated.spawnStdin.streams, stdin: null } }, { ...r.real.spawnStdin, streams: { ...r.real.spawnStdin.streams, stdin: null } })

  // What the emulator was asked: shell requests for sh -c, exec requests otherwise, the child's context.
  t.match(r.requests[0], { kind: 'shell', shell: '/bin/sh', script: "printf 'out\\n'; printf 'err\\n' >&2", ctx: { cwd: process.cwd(), uid: process.getuid!(), gid: process.getgid!() } })
  t.ok(r.requests.some((q) => q.kind === 'exec' && q.file === '/bin/echo' && q.args.join() === 'hello'))
})

t.test('an emulated child: pid, kill(), maxBuffer, and options that force a real run', async (t) => {
  t.ok(r.pid >= 4194304, 'pid above PID_MAX_LIMIT')
  t.equal(r.kill0, 'ESRCH', 'no process has it')
  t.match(r.killedEarly, { events: [['spawn'], ['exit', null, 'SIGTERM'], ['close', null, 'SIGTERM']], stdout: '', killed: true })
  // A real child killed right after spawn usually dies by the signal before it writes, but it
  // may have written its line first (and still die by the signal), or finished first.
  if (r.realKilledEarly.signalCode === 'SIGTERM' && r.realKilledEarly.stdout === '') t.same(r.killedEarly, r.realKilledEarly, 'kill() right after spawn, like a real child')
  else if (r.realKilledEarly.signalCode === 'SIGTERM') t.same({ ...r.realKilledEarly, stdout: '' }, r.killedEarly, 'kill() right after spawn, like a real child that wrote first')
  else t.match(r.realKilledEarly, { exitCode: 0, stdout: 'hello\n' })
  t.match(r.killedLate, { events: [['spawn'], ['exit', 0, null], ['close', 0, null]], stdout: 'hello\n', killed: true }, 'kill() after the output: an exited child')
  t.match(r.maxBuffer, { err: { $error: 'RangeError', props: { code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER', message: 'stdout maxBuffer length exceeded' } }, stdout: '0123' })
  t.same(r.passthrough, ['passthrough', 'passthrough', 'passthrough', 'passthrough'], 'uid, argv0, detached and ipc pass through')
})
