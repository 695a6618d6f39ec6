// src/exec-limits.ts: what fits is what the kernel execs; what does not fit is declined, and
// the real exec of it fails with E2BIG.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { MIN_ARG_SPACE, withinExecLimits } from '../src/exec-limits'
import { emulate } from '../src/index'

const PATH = '/usr/bin:/bin'

t.test('the bound is one the kernel always accepts, and an exec above MAX_ARG_STRLEN fails', (t) => {
  const env = { PATH, X: 'x'.repeat(MIN_ARG_SPACE - 4096) }
  t.ok(withinExecLimits(['/bin/true'], env), 'just inside the bound')
  t.equal(spawnSync('/bin/true', [], { env }).error, undefined, 'and the kernel execs it')
  const big = { PATH, X: 'x'.repeat(200000) }
  t.notOk(withinExecLimits(['/bin/true'], big))
  t.match(spawnSync('/bin/true', [], { env: big }).error, { code: 'E2BIG' }, 'the kernel refuses it')
  t.notOk(withinExecLimits(['/bin/true', 'é'.repeat(70000)], { PATH }), 'UTF-8 bytes count, not UTF-16 units')
  t.ok(withinExecLimits(['/bin/true', 'é'.repeat(10000)], { PATH }))
  t.notOk(withinExecLimits(['/bin/true', 'x'.repeat(140000)], { PATH }, true), 'byte strings')
  t.end()
})

t.test('requests beyond it are declined: the real exec reports E2BIG', (t) => {
  const ctx = { env: { PATH }, cwd: '/', uid: process.getuid!(), gid: process.getgid!() }
  const script = `echo ${'x'.repeat(200000)} | wc -c`
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script, ctx }), null, 'an over-long script')
  t.match(spawnSync('/bin/sh', ['-c', script], { env: ctx.env }).error, { code: 'E2BIG' })
  t.equal(emulate({ kind: 'exec', file: 'uname', args: ['-m'], ctx: { ...ctx, env: { PATH, X: 'x'.repeat(200000) } } }), null, 'an over-long environment')
  // Inside a line: an external command given a word that only expansion makes long.
  const long = `x=${'y'.repeat(70000)}; cat $x$x`
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: long, ctx }), null, 'an external command with an over-long argument')
  t.match(spawnSync('/bin/sh', ['-c', long], { env: ctx.env, encoding: 'utf8' }).stderr, /Argument list too long/)
  t.ok(emulate({ kind: 'exec', file: 'uname', args: ['-m'], ctx }), 'an ordinary request is answered')
  t.end()
})
