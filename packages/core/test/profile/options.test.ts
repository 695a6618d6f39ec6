// The options of `profile` (src/profile/options.ts): defaults, every option, and the usage
// errors (ERR_AA_OPTIONS) for what is missing or wrong.
import * as path from 'node:path'
import t from 'tap'
import { parseProfileArgs, parseReady, PROFILE_DEFAULTS } from '../../src/profile/options'

t.test('defaults', async (t) => {
  const o = parseProfileArgs(['--name', 'svc', '--out', 'out', '--', 'node', 'server.js'], '/srv/app')
  t.same(o, {
    name: 'svc',
    out: '/srv/app/out',
    vm: false,
    exercise: null,
    timeoutSec: PROFILE_DEFAULTS.timeoutSec,
    ready: { kind: 'label' },
    graceSec: PROFILE_DEFAULTS.graceSec,
    children: [],
    services: [],
    appDir: '/srv/app',
    dataDirs: [],
    command: ['node', 'server.js'],
  })
})

t.test('every option', async (t) => {
  const o = parseProfileArgs(
    ['--name', 'svc', '--out', '/o', '--vm', '--exercise', 'npm test', '--timeout', '30', '--grace', '0', '--ready', 'tcp:3000', '--child', 'svc-worker=node', '--child', 'svc-proc=/usr/bin/node', '--service', "redis-server --save ''", '--service', 'memcached', '--app-dir', 'app', '--data-dir', 'data', '--data-dir', '/var/lib/x', '--', 'node', '--flag', 'x.js'],
    '/srv',
  )
  t.match(o, {
    vm: true,
    exercise: 'npm test',
    timeoutSec: 30,
    graceSec: 0,
    ready: { kind: 'tcp', port: 3000 },
    children: [
      { name: 'svc-worker', match: 'node' },
      { name: 'svc-proc', match: '/usr/bin/node' },
    ],
    services: ["redis-server --save ''", 'memcached'],
    appDir: '/srv/app',
    dataDirs: ['/srv/data', '/var/lib/x'],
    command: ['node', '--flag', 'x.js'],
  })
  t.same(parseReady('http:http://127.0.0.1:3000/health'), { kind: 'http', url: 'http://127.0.0.1:3000/health' })
  t.same(parseReady('file:ready.txt'), { kind: 'file', path: path.resolve('ready.txt') })
  t.same(parseReady('label'), { kind: 'label' })
})

t.test('usage errors', async (t) => {
  const bad: Array<[string[], RegExp]> = [
    [['--out', 'o', '--', 'x'], /--name NAME is required/],
    [['--name', 'svc', '--', 'x'], /--out DIR is required/],
    [['--name', 'svc', '--out', 'o'], /the command to learn is missing/],
    [['--name', 'svc', '--out', 'o', '--bogus', '--', 'x'], /Unknown option '--bogus'/],
    [['--name', 'svc', '--out', 'o', 'stray', '--', 'x'], /Unexpected argument 'stray'/],
    [['--name', 'a b', '--out', 'o', '--', 'x'], /--name "a b" is not a valid profile name/],
    [['--name', 'svc-boot', '--out', 'o', '--', 'x'], /give the runtime profile's name/],
    [['--name', 'svc', '--out', 'o', '--timeout', '0', '--', 'x'], /--timeout must be a positive number/],
    [['--name', 'svc', '--out', 'o', '--ready', 'tcp:99999', '--', 'x'], /--ready tcp:PORT needs a port/],
    [['--name', 'svc', '--out', 'o', '--grace=-1', '--', 'x'], /--grace must be a number of seconds/],
    [['--name', 'svc', '--out', 'o', '--service', ' ', '--', 'x'], /--service needs a shell command/],
    [['--name', 'svc', '--out', 'o', '--ready', 'http:ftp://x', '--', 'x'], /--ready http:URL needs an http:\/\/ URL/],
    [['--name', 'svc', '--out', 'o', '--ready', 'soon', '--', 'x'], /--ready must be tcp:PORT, http:URL, file:PATH or label/],
    [['--name', 'svc', '--out', 'o', '--child', 'nomatch', '--', 'x'], /--child must be NAME=/],
    [['--name', 'svc', '--out', 'o', '--child', 'w=bin/node', '--', 'x'], /a path must be absolute/],
    [['--name', 'svc', '--out', 'o', '--child', 'svc=node', '--', 'x'], /--child svc: the name is already used/],
    [['--name', 'svc', '--out', 'o', '--child', 'svc-boot=node', '--', 'x'], /the name is already used/],
    [['--name', 'svc', '--out', 'o', '--data-dir', 'd\n/etc/shadow r,', '--', 'x'], /--data-dir: a profile cannot name a path with a control character/],
    [['--name', 'svc', '--out', 'o', '--app-dir', 'a\tb', '--', 'x'], /--app-dir: a profile cannot name a path with a control character/],
  ]
  for (const [args, message] of bad) {
    t.throws(() => parseProfileArgs(args, '/srv'), { name: 'AppArmorError', code: 'ERR_AA_OPTIONS', operation: 'profile', message }, args.join(' '))
  }
})
