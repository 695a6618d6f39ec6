import t from 'tap'
import { spawnSync } from 'node:child_process'
import type { ChildContext } from '../src/types'
import { emulate } from '../src/index'
import { emulationRequest, shapeOf, stdoutIsTTY } from '../../core/src/intercept/call'

// What the interception passes with a request: argv[0] of a direct exec (messages start with
// it) and whether the child's stdout is a terminal (lsb_release prints a line on a TTY).

const ctx: ChildContext = { env: { PATH: '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8' }, cwd: '/', uid: process.getuid!(), gid: process.getgid!() }
const shown = (r: { stdout: Buffer | string; stderr: Buffer | string; status: number | null } | null) =>
  r && { stdout: String(r.stdout), stderr: String(r.stderr), status: r.status }
const real = (file: string, args: string[]) => shown(spawnSync(file, args, { env: ctx.env as NodeJS.ProcessEnv, cwd: ctx.cwd, input: '' }))

t.test('id -un for a uid without a passwd entry (the username package)', (t) => {
  const e = emulate({ kind: 'exec', file: 'id', args: ['-un', '4242'], argv0: 'id', ctx })
  t.ok(e, 'answered')
  t.same(shown(e), real('id', ['-un', '4242']))
  t.same(shown(emulate({ kind: 'shell', shell: '/bin/sh', script: 'id -un 4242', ctx })), shown(spawnSync('/bin/sh', ['-c', 'id -un 4242'], { env: ctx.env as NodeJS.ProcessEnv })), 'through sh -c')
  t.equal(emulate({ kind: 'exec', file: 'id', args: ['-un', '4242'], ctx }), null, 'argv[0] unknown: not answered')
  t.end()
})

t.test('lsb_release -a through sh -c and as a direct exec (the getos package)', { skip: spawnSync('lsb_release', ['-a']).error !== undefined && 'no lsb_release' }, (t) => {
  const want = real('lsb_release', ['-a'])
  t.same(shown(emulate({ kind: 'shell', shell: '/bin/sh', script: 'lsb_release -a', ctx, stdoutIsTTY: false })), want, 'sh -c, stdout a pipe')
  t.same(shown(emulate({ kind: 'exec', file: 'lsb_release', args: ['-a'], argv0: 'lsb_release', ctx, stdoutIsTTY: false })), want, 'direct exec')
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'lsb_release -a', ctx }), null, 'TTY unknown')
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'lsb_release -a', ctx, stdoutIsTTY: true }), null, 'on a TTY')
  const piped = emulate({ kind: 'shell', shell: '/bin/sh', script: 'lsb_release -a | cat', ctx })
  t.same(shown(piped), want, 'into a pipe: never a TTY')
  t.end()
})

t.test('the interception\'s request carries argv[0] and the TTY state', (t) => {
  const call = { api: 'spawnSync' as const, file: '/bin/sh', argv: ['/bin/sh', '-c', 'lsb_release -a'], env: ctx.env as Record<string, string>, cwd: '/', stdoutIsTTY: false }
  const req = emulationRequest(shapeOf(call), ctx, call)
  t.match(req, { kind: 'shell', stdoutIsTTY: false })
  const exec = { ...call, file: 'id', argv: ['id', '-un', '4242'] }
  t.match(emulationRequest(shapeOf(exec), ctx, exec), { kind: 'exec', argv0: 'id', stdoutIsTTY: false })
  t.equal(stdoutIsTTY({ type: 'pipe' }), false)
  t.equal(stdoutIsTTY({ type: 'ignore' }), false)
  t.equal(stdoutIsTTY(undefined), false)
  t.equal(stdoutIsTTY({ type: 'inherit', fd: 1 }), require('node:tty').isatty(1))
  t.end()
})
