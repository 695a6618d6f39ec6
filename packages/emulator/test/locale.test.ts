// locale.ts: the one helper that reads the child's locale from its environment, behind the text
// tools' gate (textLocale) and the informational commands' LocaleSession.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { LOCALE_CATEGORIES, localeNameFor, textLocale } from '../src/locale'
import { LocaleSession, isUtf8Codeset } from '../src/commands/info/locale-resolve'
import { liveSystemView } from '../src/commands/info/view'

const ENVS: Record<string, string>[] = [
  {}, { LANG: 'C' }, { LANG: 'C.UTF-8' }, { LANG: 'C.utf8' }, { LANG: 'POSIX' }, { LC_ALL: 'C.UTF-8', LANG: 'de_DE.UTF-8' },
  { LC_ALL: '', LANG: 'C.UTF-8' }, { LC_CTYPE: 'C.UTF-8' }, { LC_CTYPE: 'C.UTF-8', LC_ALL: 'C' }, { LANG: 'C', LC_MESSAGES: 'C.UTF-8' },
  { LANG: 'C.UTF-8', LANGUAGE: 'de' }, { LANG: 'C', LANGUAGE: 'de' }, { LANG: 'en_US.UTF-8' }, { LC_COLLATE: 'xx_YY' },
]

t.test('localeNameFor: LC_ALL, the category, LANG, else C (empty values are unset), as `locale` prints them', (t) => {
  for (const env of ENVS) {
    // The real `locale` quotes names it took from LANG or LC_ALL rather than the category.
    const real = spawnSync('locale', [], { env, encoding: 'utf8' }).stdout
    for (const cat of LOCALE_CATEGORIES) {
      const line = real.split('\n').find((l) => l.startsWith(`${cat}=`))
      // With none of them set, `locale` shows the default's other name.
      const unset = [env['LC_ALL'], env[cat], env['LANG']].every((v) => v === undefined || v === '')
      const expected = unset ? 'POSIX' : localeNameFor(env, cat)
      t.equal(line?.slice(cat.length + 1).replace(/^"|"$/g, ''), expected, `${JSON.stringify(env)} ${cat}`)
    }
  }
  t.end()
})

t.test('the text tools\' gate agrees with the informational commands\' session', (t) => {
  const view = liveSystemView()
  for (const env of ENVS) {
    const text = textLocale(env)
    if (text === null) continue
    const ctype = new LocaleSession(view, env).afterSetlocaleOne('LC_CTYPE')
    t.not(ctype, undefined, `${JSON.stringify(env)}: LC_CTYPE loads`)
    t.equal(isUtf8Codeset(ctype!.codeset), text.utf8, `${JSON.stringify(env)}: UTF-8 ${text.utf8}`)
  }
  t.end()
})
