import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ChildContext } from '../src/types'
import { emulate } from '../src/index'
import { childEnvironment } from '../src/shell/env'

const dir = t.testdir({ 'f.txt': 'b\na\n' })
const ctx: ChildContext = {
  env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
  cwd: dir,
  uid: process.getuid!(),
  gid: process.getgid!(),
}

function real(file: string, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(file, args, { cwd: ctx.cwd, env: ctx.env as NodeJS.ProcessEnv, encoding: 'latin1', input: '' })
  return { stdout: r.stdout, stderr: r.stderr, status: r.status }
}

t.test('direct execs', (t) => {
  for (const [file, args] of [['sort', ['f.txt']], ['cat', ['/nope', 'f.txt']], ['false', []], ['/usr/bin/head', ['-n1', 'f.txt']]] as const) {
    const e = emulate({ kind: 'exec', file, args, ctx })
    t.ok(e, `${file} emulated`)
    t.same({ stdout: e!.stdout.toString('latin1'), stderr: e!.stderr.toString('latin1'), status: e!.status }, real(file, [...args]), `${file} ${args.join(' ')}`)
  }
  // Reading the caller's stdin, a program name in messages, or a program we do not know.
  t.equal(emulate({ kind: 'exec', file: 'cat', args: [], ctx }), null, 'stdin is unknown')
  t.equal(emulate({ kind: 'exec', file: '/usr/bin/cat', args: ['/nope'], ctx }), null, 'argv[0] in the message')
  t.equal(emulate({ kind: 'exec', file: 'ls', args: [], ctx }), null, 'not in the registry')
  t.equal(emulate({ kind: 'exec', file: 'nope-xyz', args: [], ctx }), null, 'ENOENT is the spawn\'s own error')
  t.end()
})

t.test('the shell must be dash', (t) => {
  const script = 'echo hi'
  t.ok(emulate({ kind: 'shell', shell: '/bin/sh', script, ctx }))
  t.ok(emulate({ kind: 'shell', shell: 'sh', script, ctx }), 'found on PATH')
  t.ok(emulate({ kind: 'exec', file: '/bin/sh', args: ['-c', script], ctx }), 'sh -c as a direct exec')
  t.equal(emulate({ kind: 'shell', shell: '/bin/bash', script, ctx }), null)
  t.equal(emulate({ kind: 'shell', shell: '/nonexistent/sh', script, ctx }), null)
  // A symlink to dash elsewhere is dash; $0 is the name as given.
  const link = path.join(dir, 'mysh')
  fs.symlinkSync('/usr/bin/dash', link)
  const e = emulate({ kind: 'shell', shell: link, script: 'nope-xyz', ctx })
  t.same(e?.stderr.toString(), `${link}: 1: nope-xyz: not found\n`)
  t.equal(e?.status, 127)
  t.end()
})

t.test('other credentials or locales are not answered', (t) => {
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'cat f.txt', ctx: { ...ctx, uid: ctx.uid + 1 } }), null)
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'sort f.txt', ctx: { ...ctx, env: { ...ctx.env, LC_ALL: 'de_DE.UTF-8' } } }), null)
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'sort f.txt', ctx: { ...ctx, env: { ...ctx.env, POSIXLY_CORRECT: '1' } } }), null)
  t.ok(emulate({ kind: 'shell', shell: '/bin/sh', script: 'echo a', ctx: { ...ctx, uid: ctx.uid + 1 } }), 'builtins need no files')
  t.end()
})

t.test('scripts with NUL bytes or non-UTF-8 are left alone', (t) => {
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'echo a\0b', ctx }), null)
  t.end()
})

t.test('the environment a program receives is the one dash exports', (t) => {
  const cases: Record<string, string>[] = [
    { IFS: ':', PWD: '/bogus', X: '1', PATH: '/usr/bin:/bin' },
    { PWD: dir, Y: 'a b' },
    { A: '1' },
  ]
  for (const inherited of cases) {
    const r = spawnSync('/bin/sh', ['-c', 'env -0'], { cwd: dir, env: inherited, encoding: 'latin1' })
    const env = childEnvironment(inherited, new Map(), [], dir, (s) => s)
    const ours = Object.keys(env).map((k) => `${k}=${env[k]}`).sort()
    // The test runner adds its own variables to every spawn (NODE_OPTIONS, TAP_*, …).
    const theirs = r.stdout.split('\0').filter((l) => l !== '' && (l.split('=')[0]! in inherited || l.startsWith('PWD=')))
    t.same(ours, theirs.sort(), JSON.stringify(inherited))
  }
  const withOverlay = childEnvironment({ A: '1', B: '2' }, new Map([['A', { value: undefined, exported: false }], ['C', { value: '3', exported: true }], ['D', { value: '4', exported: false }]]), [['E', '5']], dir, (s) => s)
  t.same(Object.keys(withOverlay).sort(), ['B', 'C', 'E', 'PWD'])
  t.end()
})
