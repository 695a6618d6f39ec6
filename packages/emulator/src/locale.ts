/**
 * The child's locale as its environment names it: the one helper behind the text tools' locale
 * gate (`textLocale`, environment only) and the informational commands' `LocaleSession`
 * (commands/info/locale-resolve.ts, which goes on to load the named locale from the files).
 */
import type { ChildContext } from './types'

/** The categories in glibc's numbering order (the order `locale` prints them in). */
export const LOCALE_CATEGORIES = [
  'LC_CTYPE',
  'LC_NUMERIC',
  'LC_TIME',
  'LC_COLLATE',
  'LC_MONETARY',
  'LC_MESSAGES',
  'LC_PAPER',
  'LC_NAME',
  'LC_ADDRESS',
  'LC_TELEPHONE',
  'LC_MEASUREMENT',
  'LC_IDENTIFICATION',
] as const

export type LocaleCategory = (typeof LOCALE_CATEGORIES)[number]

/** Set and not empty (glibc ignores empty locale variables). */
export function present(v: string | undefined): v is string {
  return v !== undefined && v !== ''
}

/** The name setlocale(category, "") starts from: LC_ALL, then the category, then LANG. */
export function localeNameFor(env: ChildContext['env'], category: LocaleCategory): string {
  const all = env['LC_ALL']
  if (present(all)) return all
  const cat = env[category]
  if (present(cat)) return cat
  const lang = env['LANG']
  if (present(lang)) return lang
  return 'C'
}

function plainC(v: string): boolean {
  return v === 'C' || v === 'POSIX'
}

function cUtf8(v: string): boolean {
  return v === 'C.UTF-8' || v === 'C.utf8'
}

/**
 * The locale facts a text tool depends on, or null when the child's locale could change the
 * answer (anything but C/POSIX and C.UTF-8, or LANGUAGE selecting translated messages).
 */
export interface TextLocale {
  /** LC_CTYPE is UTF-8 (multibyte characters exist). */
  readonly utf8: boolean
}

const C_TEXT: TextLocale = { utf8: false }
const UTF8_TEXT: TextLocale = { utf8: true }

/** The text tools' locale gate: decided from the environment alone, never from the files. */
export function textLocale(env: ChildContext['env']): TextLocale | null {
  // POSIXLY_CORRECT changes option parsing and several outputs.
  if (env.POSIXLY_CORRECT !== undefined) return null
  const ctype = localeNameFor(env, 'LC_CTYPE')
  const messages = localeNameFor(env, 'LC_MESSAGES')
  const collate = localeNameFor(env, 'LC_COLLATE')
  const numeric = localeNameFor(env, 'LC_NUMERIC')
  for (const v of [messages, collate, numeric]) if (!plainC(v) && !cUtf8(v)) return null
  const language = env.LANGUAGE
  if (language !== undefined && language !== '' && !plainC(messages)) return null
  if (plainC(ctype)) return C_TEXT
  if (cUtf8(ctype)) return UTF8_TEXT
  return null
}
