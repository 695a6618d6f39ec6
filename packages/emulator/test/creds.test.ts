// src/creds.ts: one rule for "the child's file accesses are checked like ours". The text tools
// used to compare only the ids (a child without our supplementary groups was answered with our
// reads); the informational commands compared real ids, not the effective ones the kernel uses.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { sameCredentials } from '../src/creds'

t.test('the rule', (t) => {
  const self = { euid: () => 1000, egid: () => 1000, groups: () => [1000, 27, 100] }
  const ctx = { env: {}, cwd: '/', uid: 1000, gid: 1000 }
  t.ok(sameCredentials(ctx, self), 'groups not given: the child keeps ours')
  t.ok(sameCredentials({ ...ctx, groups: [100, 27] }, self), 'the same groups, the primary gid aside')
  t.notOk(sameCredentials({ ...ctx, groups: [] }, self), 'a child without our supplementary groups')
  t.notOk(sameCredentials({ ...ctx, groups: [27, 100, 4] }, self), 'a child with another group')
  t.notOk(sameCredentials({ ...ctx, uid: 0 }, self), 'another uid')
  t.notOk(sameCredentials(ctx, { ...self, euid: () => 0 }), 'our effective uid differs from the child\'s')
  t.end()
})

const DIST = path.resolve(__dirname, '../dist/index.js')
const canRun = process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv') && fs.existsSync(DIST)

t.test('a file readable through a supplementary group, compared with real runs', { skip: !canRun && 'needs root, setpriv and dist' }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-creds-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.chmodSync(dir, 0o755)
  const secret = path.join(dir, 'secret')
  fs.writeFileSync(secret, 'x\n')
  fs.chownSync(secret, 0, 4242)
  fs.chmodSync(secret, 0o640)
  const as = ['--reuid=65534', '--regid=65534']
  const real = (groups: string) => {
    const r = spawnSync('/usr/bin/setpriv', [...as, groups, '/bin/cat', secret], { encoding: 'latin1', env: { PATH: '/usr/bin:/bin', LANG: 'C' } })
    return { stdout: r.stdout, stderr: r.stderr.replace('/bin/cat', 'cat'), status: r.status }
  }
  // This node runs as uid 65534 with supplementary group 4242 and asks the emulator.
  const script = `
    const { emulate } = require(${JSON.stringify(DIST)})
    const base = { env: { PATH: '/usr/bin:/bin', LANG: 'C' }, cwd: '/', uid: 65534, gid: 65534 }
    const show = (r) => r && { stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1'), status: r.status }
    const out = {}
    for (const [name, groups] of [['kept', undefined], ['none', []], ['4242', [4242]]]) {
      const ctx = groups === undefined ? base : { ...base, groups }
      out[name] = { exec: show(emulate({ kind: 'exec', file: 'cat', args: [${JSON.stringify(secret)}], argv0: 'cat', ctx })),
                    shell: show(emulate({ kind: 'shell', shell: '/bin/sh', script: 'cat < ${secret}', ctx })) }
    }
    process.stdout.write(JSON.stringify(out))
  `
  const r = spawnSync('/usr/bin/setpriv', [...as, '--groups=4242', process.execPath, '-e', script], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } })
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Record<string, { exec: unknown; shell: unknown }>
  const withGroup = real('--groups=4242')
  const without = real('--clear-groups')
  t.equal(withGroup.stdout, 'x\n', 'the real cat reads it through group 4242')
  t.equal(without.status, 1, `and not without it: ${without.stderr.trim()}`)
  t.same(out['kept']!.exec, withGroup, 'groups not given (kept): answered, equal to the real run')
  t.same(out['4242']!.exec, withGroup, 'groups given and equal to ours: answered, equal')
  t.same(out['kept']!.shell, withGroup, 'cat < file through dash: answered, equal')
  t.equal(out['none']!.exec, null, 'a child without the group: declined (the old text-tool rule answered "x")')
  t.equal(out['none']!.shell, null, 'the same for a shell redirection')
  t.end()
})
