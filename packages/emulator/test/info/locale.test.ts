import t from 'tap'
import { check, env, report, tally } from './helpers'

/** Environments for `locale`: quoting, empty and unset variables, installed and missing locales. */
const ENVS: Record<string, string>[] = [
  {},
  { LANG: 'C.UTF-8' },
  { LC_ALL: 'C' },
  { LANG: 'en_US.UTF-8' },
  { LANG: 'C.utf8', LC_CTYPE: 'POSIX' },
  { LC_CTYPE: '' },
  { LANG: '', LC_ALL: '' },
  { LANGUAGE: 'fr:de' },
  { LANGUAGE: 'a b"$' },
  { LANG: 'a b$"`\\\\' },
  { LC_NUMERIC: 'a b' },
  { LC_TIME: "x~|&;<>()'\t" },
  { LC_ALL: 'xx_YY' },
  { LC_MESSAGES: 'xx' },
  { LANG: 'C.UTF-8', LC_TIME: 'xx' },
  { LANG: 'c.utf8' },
  { LANG: 'C.UTF8' },
  { LANG: 'C.utf-8' },
  { LANG: 'POSIX.UTF-8' },
  { LANG: 'C.utf8@euro' },
  { LANG: 'C@euro' },
  { LANG: '_x' },
  { LANG: 'C@' },
  { LANG: 'POSIX', LC_COLLATE: 'C.UTF-8' },
  { LANG: 'de_DE.UTF-8', LANGUAGE: 'de' },
  { LC_ALL: 'C.UTF-8', LANG: 'xx' },
]

t.test('locale: the variable listing and its diagnostics', async (t) => {
  const counts = tally()
  for (const extra of ENVS) {
    check(t, counts, 'locale', [], { env: env(extra) })
    check(t, counts, 'locale', [], { env: env(extra), argv0: '/usr/bin/locale' })
  }
  report(t, 'locale', counts)
})

t.test('locale -a', async (t) => {
  const counts = tally()
  for (const extra of ENVS) check(t, counts, 'locale', ['-a'], { env: env(extra) })
  check(t, counts, 'locale', ['--all-locales'])
  report(t, 'locale -a', counts)
})

t.test('locale: what is left to the real program', async (t) => {
  const counts = tally()
  // Messages would be translated (LANGUAGE with a C.UTF-8 messages locale).
  check(t, counts, 'locale', [], { env: env({ LANG: 'C.UTF-8', LANGUAGE: 'de', LC_TIME: 'xx' }) }, 'null')
  // Codesets other than UTF-8 and names with slashes are not resolved here.
  check(t, counts, 'locale', [], { env: env({ LANG: 'C.ISO-8859-1' }) }, 'null')
  check(t, counts, 'locale', [], { env: env({ LANG: '/usr/lib/locale/C.utf8' }) }, 'null')
  check(t, counts, 'locale', [], { env: env({ LOCPATH: '/tmp', LANG: 'C.UTF-8' }) }, 'null')
  // LOCPATH does not matter when every category is C/POSIX.
  check(t, counts, 'locale', [], { env: env({ LOCPATH: '/tmp' }) })
  for (const args of [['-m'], ['-k', 'LC_CTYPE'], ['LC_NUMERIC'], ['-v', '-a'], ['-x']]) check(t, counts, 'locale', args, {}, 'null')
  report(t, 'locale refusals', counts)
})
