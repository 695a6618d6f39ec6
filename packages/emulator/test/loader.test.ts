import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ChildContext } from '../src/types'
import { emulate } from '../src/index'
import { cleanEnv, node } from '../../core/test/intercept/helpers'
import { runReal } from './harness'

// The loader guard sits in the dispatcher: every path (shell lines, text tools, direct execs)
// declines when LD_PRELOAD, LD_LIBRARY_PATH, LD_DEBUG, LD_AUDIT, GLIBC_TUNABLES, … are in the
// child's environment (also set by the line itself) or in Node's own.

const dir = t.testdir({ 'f.txt': 'one\n' })
const file = path.join(dir, 'f.txt')
const base: ChildContext = {
  env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
  cwd: dir,
  uid: process.getuid!(),
  gid: process.getgid!(),
}

t.test('a loader variable in the child environment or on the line: declined, and the real run differs', (t) => {
  for (const v of ['LD_PRELOAD=/nonexistent.so', 'LD_LIBRARY_PATH=/nonexistent', 'LD_DEBUG=files', 'LD_AUDIT=/nonexistent.so', 'GLIBC_TUNABLES=glibc.malloc.check=0']) {
    const [k, val] = v.split('=') as [string, string]
    const ctx = { ...base, env: { ...base.env, [k]: val } }
    t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'echo hi', ctx }), null, `${k}: sh -c 'echo hi'`)
    t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'cat f.txt', ctx }), null, `${k}: cat`)
    t.equal(emulate({ kind: 'exec', file: 'cat', args: ['f.txt'], ctx }), null, `${k}: direct exec`)
    t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: `${v} cat f.txt`, ctx: base }), null, `${k} on the line`)
    t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: `export ${v}; cat f.txt`, ctx: base }), null, `${k} exported`)
  }
  // The real commands do differ (ld.so speaks on stderr).
  t.match(runReal('LD_PRELOAD=/nonexistent.so cat f.txt', base).stderr.toString(), /ld\.so: object '\/nonexistent\.so' from LD_PRELOAD cannot be preloaded/)
  // A builtin with the assignment runs no program: answered, and equal to dash's.
  const e = emulate({ kind: 'shell', shell: '/bin/sh', script: 'LD_PRELOAD=/nonexistent.so echo hi', ctx: base })
  t.same(e && { out: e.stdout.toString(), err: e.stderr.toString(), status: e.status }, { out: 'hi\n', err: '', status: 0 })
  t.end()
})

t.test('the guard looks at an environment once per request, never across requests', (t) => {
  // The same environment object, changed between two requests (process.env is one object for
  // the life of the process): the second request sees the change.
  const env: Record<string, string | undefined> = { ...base.env }
  const ctx = { ...base, env }
  t.ok(emulate({ kind: 'shell', shell: '/bin/sh', script: 'cat f.txt; cat f.txt', ctx }), 'answered')
  env['LD_PRELOAD'] = '/nonexistent.so'
  t.equal(emulate({ kind: 'shell', shell: '/bin/sh', script: 'cat f.txt; cat f.txt', ctx }), null, 'LD_PRELOAD added to the same object: declined')
  t.equal(emulate({ kind: 'exec', file: 'cat', args: ['f.txt'], ctx }), null, 'and for a direct exec')
  delete env['LD_PRELOAD']
  t.ok(emulate({ kind: 'exec', file: 'cat', args: ['f.txt'], ctx }), 'removed: answered again')
  t.end()
})

t.test('LD_PRELOAD in Node\'s own environment: sh -c \'echo hi\' and cat run for real', (t) => {
  const run = node([path.join(__dirname, 'fixtures', 'loader-guard.cjs'), file], { env: cleanEnv({ LD_PRELOAD: '/nonexistent.so' }) })
  t.equal(run.status, 0, run.stderr)
  const r = JSON.parse(run.stdout) as { results: Record<string, { stdout: string; stderr: string; status: number }>; decisions: [string, string][] }
  const ldso = /ERROR: ld\.so: object '\/nonexistent\.so' from LD_PRELOAD cannot be preloaded/
  t.equal(r.results.shell!.stdout, 'hi\n')
  t.match(r.results.shell!.stderr, ldso, 'sh -c \'echo hi\' ran for real')
  t.equal(r.results.cat!.stdout, 'one\n')
  t.match(r.results.cat!.stderr, ldso, 'cat ran for real')
  t.equal(r.results.execSync!.stdout, 'one\n')
  t.equal(r.results.catCleanEnv!.stdout, 'one\n')
  t.ok(r.decisions.length >= 4, 'every spawn reached the decision point')
  t.same(r.decisions.filter(([, d]) => d === 'emulate'), [], 'nothing was emulated')
  t.end()
})

t.test('/etc/ld.so.preload is checked', (t) => {
  // Not created here (it would affect every process on the machine); its absence is what lets
  // the lines above be answered at all.
  t.equal(fs.existsSync('/etc/ld.so.preload'), false)
  t.ok(emulate({ kind: 'shell', shell: '/bin/sh', script: 'cat f.txt', ctx: base }))
  t.end()
})
