import t from 'tap'
import { LOCALE_ENVS, TRANSLATED_ENV, check, env, report, tally } from './helpers'

const VARIABLES = [
  'GNU_LIBC_VERSION',
  'GNU_LIBPTHREAD_VERSION',
  'CLK_TCK',
  'PAGESIZE',
  'PAGE_SIZE',
  '_NPROCESSORS_ONLN',
  '_NPROCESSORS_CONF',
  'LONG_BIT',
]

t.test('getconf: every supported variable, in every environment', async (t) => {
  const counts = tally()
  for (const e of LOCALE_ENVS) {
    for (const v of VARIABLES) {
      check(t, counts, 'getconf', [v], { env: e })
      check(t, counts, 'getconf', ['--', v], { env: e })
    }
  }
  report(t, 'getconf variables', counts)
})

t.test('getconf: usage and unrecognized variables', async (t) => {
  const counts = tally()
  const errors: string[][] = [
    [],
    ['PAGESIZE', 'extra'],
    ['LONG_BIT', '/'],
    ['--', 'GNU_LIBC_VERSION', 'x'],
    ['a', 'b', 'c'],
    ['NO_SUCH_VARIABLE'],
    ['_SC_PAGESIZE'],
    ['pagesize'],
    ['NO_SUCH', '/tmp'],
    ['--'],
  ]
  for (const e of LOCALE_ENVS) for (const args of errors) check(t, counts, 'getconf', args, { env: e })
  for (const argv0 of ['/usr/bin/getconf', 'getconf', './getconf']) {
    check(t, counts, 'getconf', ['NOPE'], { argv0 })
    check(t, counts, 'getconf', [], { argv0 })
  }
  // Translations would apply: left to the real program.
  check(t, counts, 'getconf', ['NOPE'], { env: TRANSLATED_ENV }, 'null')
  check(t, counts, 'getconf', [], { env: TRANSLATED_ENV }, 'null')
  // Names the table may hold (as themselves or as _POSIX_<name>) are not claimed unknown.
  for (const name of ['VERSION', 'PATH_MAX', 'SIZE', '']) check(t, counts, 'getconf', [name], {}, 'null')
  // Options are left to the real program.
  for (const args of [['-a'], ['-v', 'POSIX_V7_LP64_OFF64', 'PAGESIZE'], ['--version'], ['--help']]) {
    check(t, counts, 'getconf', args, {}, 'null')
  }
  // The dynamic loader's knobs could change what runs.
  check(t, counts, 'getconf', ['PAGESIZE'], { env: env({ LD_PRELOAD: '' }) }, 'null')
  report(t, 'getconf errors', counts)
})
