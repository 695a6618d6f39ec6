/**
 * glibc's `locale` (Debian build, which adds the LANGUAGE line) without arguments, and
 * `locale -a`. The variables are printed from the child's environment with glibc's quoting;
 * the "Cannot set … to default locale" diagnostics come from resolving each category the way
 * setlocale() does (locale-resolve.ts). Installed locales come from /usr/lib/locale and
 * locale.alias; a locale archive makes the answer unknown.
 */
import type { ChildContext, CommandIO, EmulatedCommand } from '../../types'
import { binaryHas } from './binaries'
import { loaderTampered } from './env-guard'
import {
  LOCALE_CATEGORIES,
  LOCALE_FAILS,
  LocaleSession,
  type LocaleCategory,
  type Resolution,
} from './locale-resolve'
import { invocationName } from './messages'
import { isPrintableAscii, result } from '../result'
import type { SystemView } from './view'

const MARKERS = ['LANGUAGE=%s\n', 'Cannot set %s to default locale', 'locale.alias']
const LOCALE_DIR = '/usr/lib/locale'
const ALIAS_FILE = '/usr/share/locale/locale.alias'

/** glibc locale.c print_assignment. */
export function printAssignment(name: string, value: string, dquote: boolean): string {
  const special = dquote ? /[$`"\\]/g : /[~|&;<>()$`\\"' \t\n]/g
  const body = value.replace(special, (c) => '\\' + c)
  return dquote ? `${name}="${body}"\n` : `${name}=${body}\n`
}

/**
 * The variable listing (show_locale_vars plus Debian's LANGUAGE line, which it leaves out when
 * POSIXLY_CORRECT is in the environment, even empty).
 */
export function localeVariables(env: ChildContext['env']): string {
  const lcall = env['LC_ALL'] ?? ''
  const lang = env['LANG'] ?? ''
  let out = printAssignment('LANG', lang, false)
  if (env['POSIXLY_CORRECT'] === undefined) out += 'LANGUAGE=' + (env['LANGUAGE'] ?? '') + '\n'
  for (const cat of LOCALE_CATEGORIES) {
    const val = env[cat]
    if (lcall !== '' || val === undefined) out += printAssignment(cat, lcall !== '' ? lcall : lang !== '' ? lang : 'POSIX', true)
    else out += printAssignment(cat, val, false)
  }
  return out + printAssignment('LC_ALL', lcall, false)
}

/** The alias/value pairs of locale.alias, in file order (glibc locale.c's reader). */
function aliasPairs(text: string): [string, string][] {
  const out: [string, string][] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t\f\v\r]+/, '')
    if (line === '' || line.startsWith('#')) continue
    const m = /^([^ \t\f\v\r]+)[ \t\f\v\r]+([^ \t\f\v\r]+)/.exec(line)
    if (m !== null) out.push([m[1]!, m[2]!])
  }
  return out
}

/** glibc's `locale -a` list, or undefined when it depends on something not reproduced. */
function allLocales(view: SystemView): string[] | undefined {
  if (view.lstat(LOCALE_DIR + '/locale-archive') !== undefined) return undefined
  const names = new Set<string>(['POSIX', 'C'])
  const entries = view.readdir(LOCALE_DIR)
  for (const d of entries ?? []) {
    const full = LOCALE_DIR + '/' + d.name
    const isDir = d.isDirectory() || (d.isSymbolicLink() && view.stat(full)?.isDirectory() === true)
    if (!isDir) continue
    if (view.stat(full + '/LC_IDENTIFICATION')?.isFile() === true) names.add(d.name)
  }
  if (view.lstat(ALIAS_FILE) !== undefined) {
    const text = view.readText(ALIAS_FILE)
    if (text === undefined) return undefined
    for (const [alias, value] of aliasPairs(text)) if (names.has(value)) names.add(alias)
  }
  const list: string[] = []
  names.forEach((n) => list.push(n))
  if (!list.every(isPrintableAscii)) return undefined
  return list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function errorLine(prog: string, category: string): string {
  return `${prog}: Cannot set ${category} to default locale: No such file or directory\n`
}

/** Debian glibc locale. */
export function createLocale(view: SystemView): EmulatedCommand {
  /** Diagnostics for categories set one by one; undefined when any resolution is unknown. */
  function trySet(io: CommandIO, locale: LocaleSession, categories: readonly (LocaleCategory | 'LC_ALL')[]): string | undefined {
    let err = ''
    let prog: string | undefined
    for (const cat of categories) {
      let failed: boolean
      if (cat === 'LC_ALL') {
        const all: Resolution[] = LOCALE_CATEGORIES.map((c) => locale.resolve(c))
        if (all.includes(undefined)) return undefined
        failed = all.includes(LOCALE_FAILS)
      } else {
        const r = locale.resolve(cat)
        if (r === undefined) return undefined
        failed = r === LOCALE_FAILS
      }
      if (failed) {
        prog ??= invocationName(io)
        if (prog === undefined) return undefined
        err += errorLine(prog, cat)
      }
    }
    if (err !== '' && !locale.untranslated(locale.afterSetlocaleOne('LC_MESSAGES'))) return undefined
    return err
  }

  return {
    name: 'locale',
    run(args, io) {
      const env = io.ctx.env
      const listAll = args.length === 1 && (args[0] === '-a' || args[0] === '--all-locales')
      if (args.length > 0 && !listAll) return null
      if (loaderTampered(view, env) || !binaryHas(view, 'locale', MARKERS)) return null
      for (const key of ['LANG', 'LANGUAGE', 'LC_ALL', ...LOCALE_CATEGORIES]) {
        const v = env[key]
        if (v !== undefined && !/^[\x01-\x7f]*$/.test(v)) return null
      }
      const locale = new LocaleSession(view, env)
      if (listAll) {
        const err = trySet(io, locale, ['LC_CTYPE', 'LC_MESSAGES', 'LC_COLLATE'])
        if (err === undefined) return null
        // The list is ordered by strcoll() in the child's LC_COLLATE: byte order in C and C.UTF-8.
        const collate = locale.afterSetlocaleOne('LC_COLLATE')
        if (collate === undefined || collate.language !== 'C') return null
        const names = allLocales(view)
        if (names === undefined) return null
        return result(names.map((n) => n + '\n').join(''), err, 0)
      }
      const err = trySet(io, locale, ['LC_CTYPE', 'LC_MESSAGES', 'LC_ALL'])
      if (err === undefined) return null
      return result(localeVariables(env), err, 0)
    },
  }
}
