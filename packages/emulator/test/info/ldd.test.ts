import t from 'tap'
import { LOCALE_ENVS, TRANSLATED_ENV, check, env, report, tally } from './helpers'

t.test('ldd --version (glibc, read from the ldd script)', async (t) => {
  const counts = tally()
  for (const e of LOCALE_ENVS) for (const flag of ['--version', '--vers', '--versi', '--versio']) check(t, counts, 'ldd', [flag], { env: e })
  check(t, counts, 'ldd', ['--version', '/bin/ls'])
  check(t, counts, 'ldd', ['--version'], { env: env({ LC_ALL: 'C.UTF-8', LANG: 'xx' }) })
  report(t, 'ldd --version', counts)
})

t.test('ldd: what is left to the real program', async (t) => {
  const counts = tally()
  // Translated texts, bash startup hooks, a failing LC_ALL (bash warns), other modes.
  check(t, counts, 'ldd', ['--version'], { env: TRANSLATED_ENV }, 'null')
  check(t, counts, 'ldd', ['--version'], { env: env({ LC_ALL: 'xx_YY' }) }, 'null')
  check(t, counts, 'ldd', ['--version'], { env: env({ BASH_ENV: '/dev/null' }) }, 'null')
  check(t, counts, 'ldd', ['--version'], { env: env({ SHELLOPTS: 'xtrace' }) }, 'null')
  check(t, counts, 'ldd', ['--version'], { env: env({ 'BASH_FUNC_echo%%': '() { :; }' }) }, 'null')
  for (const args of [[], ['/bin/ls'], ['-v', '--version'], ['--help'], ['--ver']]) check(t, counts, 'ldd', args, {}, 'null')
  report(t, 'ldd refusals', counts)
})
