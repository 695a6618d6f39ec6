/**
 * What glibc's `setlocale(category, "")` does with a child's environment, restricted to the
 * cases that can be decided exactly from the files: the built-in C/POSIX locale and locales
 * compiled into directories under /usr/lib/locale. A locale archive, LOCPATH, aliases and
 * codesets other than UTF-8 make the answer unknown (`undefined`), never a guess.
 */
import type { ChildContext } from '../../types'
import { LOCALE_CATEGORIES, localeNameFor, present, type LocaleCategory } from '../../locale'
import type { SystemView } from './view'

export { LOCALE_CATEGORIES, localeNameFor, type LocaleCategory } from '../../locale'

/** A locale that setlocale() would load. */
export interface LoadedLocale {
  /** The name setlocale() reports: `C` for C/POSIX, else the name from the environment. */
  readonly name: string
  /** The name's language part (`C` for `C.UTF-8`). */
  readonly language: string
  /** nl_langinfo(CODESET) of the locale's LC_CTYPE data. */
  readonly codeset: string
  /** The directory the data came from, undefined for the built-in C locale. */
  readonly dir: string | undefined
}

/** setlocale() failed: the category stays in the C locale and errno is ENOENT. */
export const LOCALE_FAILS = 'fail' as const
export type Resolution = LoadedLocale | typeof LOCALE_FAILS | undefined

const LOCALE_DIR = '/usr/lib/locale'
const ARCHIVE = LOCALE_DIR + '/locale-archive'
const ALIAS_FILE = '/usr/share/locale/locale.alias'
const MESSAGES_DIR = '/usr/share/locale'
const C_CODESET = 'ANSI_X3.4-1968'
const LC_CTYPE_MAGIC = 0x20090720 ^ 0
const CODESET_ITEM = 14

export const C_LOCALE: LoadedLocale = { name: 'C', language: 'C', codeset: C_CODESET, dir: undefined }

/** glibc's _nl_normalize_codeset: lower-case letters and digits only; all digits → `iso…`. */
export function normalizeCodeset(codeset: string): string {
  let out = ''
  let onlyDigits = true
  for (const ch of codeset) {
    if (/[A-Za-z]/.test(ch)) {
      out += ch.toLowerCase()
      onlyDigits = false
    } else if (/[0-9]/.test(ch)) {
      out += ch
    }
  }
  return onlyDigits ? 'iso' + out : out
}

interface Exploded {
  language: string
  territory: string | undefined
  codeset: string | undefined
  normalized: string | undefined
  modifier: string | undefined
  mask: number
}

const XPG_NORM_CODESET = 1
const XPG_CODESET = 2
const XPG_TERRITORY = 4
const XPG_MODIFIER = 8

/** glibc's _nl_explode_name. */
export function explodeLocaleName(name: string): Exploded {
  let i = 0
  while (i < name.length && !'_@.'.includes(name[i]!)) i++
  let language: string
  let territory: string | undefined
  let codeset: string | undefined
  let normalized: string | undefined
  let modifier: string | undefined
  let mask = 0
  if (i === 0) {
    // No language part: glibc uses the whole name as it is.
    return { language: name, territory, codeset, normalized, modifier, mask }
  }
  language = name.slice(0, i)
  if (name[i] === '_') {
    const start = ++i
    while (i < name.length && name[i] !== '.' && name[i] !== '@') i++
    territory = name.slice(start, i)
    mask |= XPG_TERRITORY
  }
  if (name[i] === '.') {
    const start = ++i
    while (i < name.length && name[i] !== '@') i++
    codeset = name.slice(start, i)
    mask |= XPG_CODESET
    if (codeset !== '') {
      normalized = normalizeCodeset(codeset)
      if (normalized !== codeset) mask |= XPG_NORM_CODESET
    }
  }
  if (name[i] === '@') {
    modifier = name.slice(i + 1)
    if (modifier !== '') mask |= XPG_MODIFIER
  }
  if (territory === '') mask &= ~XPG_TERRITORY
  if (codeset === '') mask &= ~XPG_CODESET
  return { language, territory, codeset, normalized, modifier, mask }
}

function candidateName(e: Exploded, mask: number): string {
  let s = e.language
  if (mask & XPG_TERRITORY) s += '_' + e.territory
  if (mask & XPG_CODESET) s += '.' + e.codeset
  if (mask & XPG_NORM_CODESET) s += '.' + e.normalized
  if (mask & XPG_MODIFIER) s += '@' + e.modifier
  return s
}

/**
 * The directory names glibc tries for a locale name, in order (_nl_make_l10nflist with one
 * directory: the full name, then every sub-mask from mask-1 down to 0; names carrying both the
 * codeset and its normalized form are never loaded).
 */
export function localeCandidates(name: string): string[] {
  const e = explodeLocaleName(name)
  const out: string[] = []
  const both = XPG_CODESET | XPG_NORM_CODESET
  for (let cnt = e.mask; cnt >= 0; cnt--) {
    if ((cnt & ~e.mask) !== 0) continue
    if ((cnt & both) === both) continue
    out.push(candidateName(e, cnt))
  }
  return out
}

/** nl_langinfo(CODESET) from an LC_CTYPE data file. */
export function ctypeCodeset(data: Buffer): string | undefined {
  if (data.length < 8 + (CODESET_ITEM + 1) * 4) return undefined
  if (data.readUInt32LE(0) !== LC_CTYPE_MAGIC) return undefined
  const n = data.readUInt32LE(4)
  if (n <= CODESET_ITEM) return undefined
  const off = data.readUInt32LE(8 + CODESET_ITEM * 4)
  const end = data.indexOf(0, off)
  if (off >= data.length || end < 0) return undefined
  return data.toString('latin1', off, end)
}

/** The keys of locale.alias (compared case-insensitively by glibc). */
function aliasKeys(view: SystemView): Set<string> | undefined {
  return view.parsed('locale.alias', ALIAS_FILE, (data) => {
    const keys = new Set<string>()
    for (const raw of data.toString('latin1').split('\n')) {
      const line = raw.replace(/^[ \t\f\v\r]+/, '')
      if (line === '' || line.startsWith('#')) continue
      const key = /^[^ \t\f\v\r\n]+/.exec(line)
      if (key !== null) keys.add(key[0].toLowerCase())
    }
    return keys
  })
}

/** The data file glibc opens for a category in a locale directory (LC_x or LC_x/SYS_LC_x). */
function categoryFile(view: SystemView, dir: string, category: LocaleCategory): string | undefined {
  const file = dir + '/' + category
  const st = view.stat(file)
  if (st === undefined) return undefined
  if (st.isDirectory()) {
    const sys = file + '/SYS_' + category
    return view.stat(sys)?.isFile() === true ? sys : undefined
  }
  return st.isFile() && st.size > 0 ? file : undefined
}

function dirCodeset(view: SystemView, dir: string): string | undefined {
  const file = categoryFile(view, dir, 'LC_CTYPE')
  if (file === undefined) return undefined
  return view.parsed('LC_CTYPE codeset', file, ctypeCodeset)
}

/**
 * Resolutions are reused while /usr/lib/locale and /usr/share/locale are unchanged (installing
 * or removing a locale, an archive or a catalog directory changes their mtime).
 */
interface LocaleMemo {
  signature: string
  readonly resolutions: Map<string, Resolution>
  readonly catalogs: Map<string, boolean>
}

function statSignature(view: SystemView, p: string): string {
  const st = view.stat(p)
  return st === undefined ? '-' : `${st.dev}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}`
}

function localeMemo(view: SystemView): LocaleMemo {
  const memo = view.once<LocaleMemo>('locale memo', () => ({ signature: '', resolutions: new Map(), catalogs: new Map() }))
  const signature = statSignature(view, LOCALE_DIR) + '|' + statSignature(view, MESSAGES_DIR)
  if (signature !== memo.signature) {
    memo.signature = signature
    memo.resolutions.clear()
    memo.catalogs.clear()
  }
  return memo
}

/** setlocale(category, name) for a name that is not C/POSIX, from the files. */
function loadLocale(view: SystemView, category: LocaleCategory, name: string): Resolution {
  if (view.lstat(ARCHIVE) !== undefined) return undefined
  const aliases = aliasKeys(view)
  if (view.lstat(ALIAS_FILE) !== undefined && aliases === undefined) return undefined
  if (aliases?.has(name.toLowerCase()) === true) return undefined
  const e = explodeLocaleName(name)
  if (e.codeset !== undefined && (e.codeset === '' || e.normalized !== 'utf8')) return undefined
  for (const candidate of localeCandidates(name)) {
    const dir = LOCALE_DIR + '/' + candidate
    if (categoryFile(view, dir, category) === undefined) continue
    const codeset = dirCodeset(view, dir)
    if (codeset === undefined) return undefined
    if (e.codeset !== undefined && codeset !== 'UTF-8') return undefined
    return { name, language: e.language, codeset, dir }
  }
  return LOCALE_FAILS
}

/**
 * The locale answers for one child: setlocale() per category, as a whole (LC_ALL), and whether
 * gettext() translates. Creating a session checks once whether the installed locales changed.
 */
export class LocaleSession {
  private readonly memo: LocaleMemo

  constructor(
    private readonly view: SystemView,
    private readonly env: ChildContext['env'],
  ) {
    this.memo = localeMemo(view)
  }

  /** setlocale(category, name). */
  resolveName(category: LocaleCategory, name: string): Resolution {
    if (name === 'C' || name === 'POSIX') return C_LOCALE
    // Slashes, traversal and over-long names take other paths in glibc (EINVAL, LOCPATH-like
    // absolute names): not decided here.
    if (name.includes('/') || name.length > 255 || name === '..') return undefined
    if (present(this.env['LOCPATH'])) return undefined
    const key = category + '\0' + name
    if (this.memo.resolutions.has(key)) return this.memo.resolutions.get(key)
    const r = loadLocale(this.view, category, name)
    this.memo.resolutions.set(key, r)
    return r
  }

  /** setlocale(category, "") for the child's environment. */
  resolve(category: LocaleCategory): Resolution {
    return this.resolveName(category, localeNameFor(this.env, category))
  }

  /**
   * setlocale(LC_ALL, "") as most programs call it: all categories load or none does (then
   * everything stays C). The locale of `category` afterwards, or undefined.
   */
  afterSetlocaleAll(category: LocaleCategory): LoadedLocale | undefined {
    let wanted: LoadedLocale | undefined
    for (const cat of LOCALE_CATEGORIES) {
      const r = this.resolve(cat)
      if (r === undefined) return undefined
      if (r === LOCALE_FAILS) return C_LOCALE
      if (cat === category) wanted = r
    }
    return wanted
  }

  /** The locale of `category` after setlocale(category, "") alone (failure leaves C). */
  afterSetlocaleOne(category: LocaleCategory): LoadedLocale | undefined {
    const r = this.resolve(category)
    if (r === undefined) return undefined
    return r === LOCALE_FAILS ? C_LOCALE : r
  }

  /**
   * True when gettext() returns every message untranslated in this messages locale: the C
   * locale, or a `C.*` locale with LANGUAGE unset and no catalog directory for its name.
   */
  untranslated(messages: LoadedLocale | undefined): boolean {
    if (messages === undefined) return false
    if (messages.dir === undefined) return true
    if (messages.language !== 'C') return false
    if (present(this.env['LANGUAGE'])) return false
    let none = this.memo.catalogs.get(messages.name)
    if (none === undefined) {
      none = localeCandidates(messages.name).every((c) => this.view.lstat(MESSAGES_DIR + '/' + c) === undefined)
      this.memo.catalogs.set(messages.name, none)
    }
    return none
  }

  /** Messages of a program that calls setlocale(LC_ALL, "") come out untranslated. */
  untranslatedAfterSetlocaleAll(): boolean {
    return this.untranslated(this.afterSetlocaleAll('LC_MESSAGES'))
  }
}

/** Is the codeset UTF-8 (as gnulib's quote() checks it)? */
export function isUtf8Codeset(codeset: string): boolean {
  return codeset.toUpperCase() === 'UTF-8'
}
