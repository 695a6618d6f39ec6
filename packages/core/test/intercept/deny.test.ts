// deny must be indistinguishable from a kernel EACCES on exec: every API, compared property by
// property (errors: prototype, enumerable keys in order, every own property) and event by
// event against a real EACCES (the same file with mode 0644), and nothing may run.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DIST, FIXTURES, jsonFixture, markerScript, node } from './helpers'

type Shapes = Record<string, unknown>

t.test('deny reproduces the kernel EACCES of every API, and runs nothing', async (t) => {
  const dir = t.testdir({})
  const { file, marker } = markerScript(dir)
  const { result } = jsonFixture<{ real: Shapes; denied: Shapes }>(dir, 'deny.mjs', [file])
  const apis = Object.keys(result.real)
  t.equal(apis.length, 14)
  for (const api of apis) t.same(result.denied[api], result.real[api], api)
  t.notOk(fs.existsSync(marker), 'the denied file never ran')
  t.notOk(fs.existsSync(path.join(FIXTURES, 'never-runs.marker')), 'the denied fork ran nothing')

  // The facts of the notes (command-outputs.md §3), on the real side: the comparison above
  // is only worth something if the real side is the documented EACCES.
  const real = result.real as Record<string, any>
  // With no output, spawnSync's stdout/stderr are null on some Node lines and undefined on
  // others (the denied side above must match whichever this line gives).
  const none = real.spawnSync.returned.stdout
  t.ok(none === null || none === '[undefined]', `stdout of a failed spawnSync: ${none}`)
  t.match(real.execSync.threw, {
    $error: 'Error',
    keys: ['errno', 'code', 'syscall', 'path', 'spawnargs', 'error', 'status', 'signal', 'output', 'pid', 'stdout', 'stderr'],
    props: { message: `spawnSync ${file} EACCES`, errno: -13, code: 'EACCES', syscall: `spawnSync ${file}`, path: file, spawnargs: ['-c', 'x'], error: '[self]', status: null, signal: null, output: null, pid: 0, stdout: none, stderr: none },
  })
  t.match(real.spawnSync.returned, { error: { props: { code: 'EACCES' } }, status: null, signal: null, output: null, pid: 0, stdout: none, stderr: none })
  t.same(real.spawn.events.map((e: unknown[]) => e[0]), ['error', 'close'])
  t.equal(real.spawn.events[1][1], -13)
  t.equal(real.spawn.at.pid, '[undefined]')
  t.same([real.exec.stdout, real.exec.stderr], ['', ''])
  t.match(real.execPromise.rejected.props, { stdout: '', stderr: '', code: 'EACCES' })
  t.same(real.fork.events.map((e: unknown[]) => e[0]), ['error', 'close', 'disconnect'])
})

t.test('an unhandled denied spawn crashes the process like an unhandled kernel EACCES', async (t) => {
  const dir = t.testdir({})
  const { file, marker } = markerScript(dir)
  const fixture = path.join(FIXTURES, 'uncaught.cjs')
  const real = node([fixture, DIST, file, 'real'])
  const denied = node([fixture, DIST, file, 'denied'])
  t.equal(real.status, 1)
  t.equal(denied.status, 1)
  const errorLines = (s: string) => s.split('\n').filter((l) => /^Error:|^\s+(errno|code|syscall|path|spawnargs):/.test(l))
  t.same(errorLines(denied.stderr), errorLines(real.stderr))
  t.match(real.stderr, `Error: spawn ${file} EACCES`)
  t.notOk(fs.existsSync(marker))
})
