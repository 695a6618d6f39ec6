// The --vm glue (src/profile/vm.ts): the guest step's argv is this CLI's own `profile` command
// with --out under the step's AAM_VM_OUT, run through a real /bin/sh (here with printf as the
// "node", to see the argv the guest's node would get).
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { parseProfileArgs } from '../../src/profile/options'
import { guestArgv } from '../../src/profile/vm'

t.test('guest argv', async (t) => {
  const opts = parseProfileArgs(
    ['--name', 'svc', '--out', '/host/out', '--vm', '--exercise', 'node ex.mjs "a b"', '--ready', 'tcp:3000', '--child', 'svc-w=node', '--data-dir', '/srv/data', '--', 'node', 'server.js', '--port', '3000'],
    '/srv/app',
  )
  const argv = guestArgv(opts, '/usr/bin/printf', '%s\\n')
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { AAM_VM_OUT: '/mnt/out' } })
  t.equal(r.status, 0, r.stderr)
  t.same(r.stdout.split('\n').slice(0, -1), [
    'profile',
    '--out',
    '/mnt/out/profile',
    '--name',
    'svc',
    '--exercise',
    'node ex.mjs "a b"',
    '--timeout',
    '120',
    '--grace',
    '30',
    '--ready',
    'tcp:3000',
    '--child',
    'svc-w=node',
    '--app-dir',
    '/srv/app',
    '--data-dir',
    '/srv/data',
    '--',
    'node',
    'server.js',
    '--port',
    '3000',
  ])
  t.notOk(argv.includes('--vm'), 'the guest runs in place')
  t.same(parseProfileArgs(r.stdout.split('\n').slice(1, -1), '/').command, ['node', 'server.js', '--port', '3000'], 'the guest parses it back')
})
