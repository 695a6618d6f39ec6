/**
 * Pieces of the diagnostics GNU programs print: the program name (argv[0]), and quoting as
 * gnulib's quote() does it in the C and UTF-8 locales.
 */
import type { CommandIO } from '../../types'
import { LocaleSession, isUtf8Codeset } from './locale-resolve'
import type { SystemView } from './view'

/**
 * program_invocation_name as error() prints it: argv[0] unchanged. Undefined when argv[0]
 * is unknown or when gnulib's set_program_name would rewrite it (libtool wrappers).
 */
export function invocationName(io: CommandIO): string | undefined {
  const argv0 = io.argv0
  if (argv0 === undefined || argv0 === '') return undefined
  const base = argv0.slice(argv0.lastIndexOf('/') + 1)
  if (argv0.includes('/.libs/') || base.startsWith('lt-')) return undefined
  return argv0
}

/** glibc's __progname: argv[0] after its last slash. */
export function shortProgramName(io: CommandIO): string | undefined {
  const argv0 = io.argv0
  if (argv0 === undefined || argv0 === '') return undefined
  return argv0.slice(argv0.lastIndexOf('/') + 1)
}

/** How a program that calls setlocale(LC_ALL, "") prints diagnostics for this child. */
export interface DiagnosticsLocale {
  /**
   * gnulib quote() of a string; undefined for strings quote() would escape (anything but
   * printable ASCII without backslashes and quote characters).
   */
  quote(s: string): string | undefined
}

/**
 * The diagnostics locale of a coreutils-style program, or undefined when its messages could be
 * translated (or the locale cannot be decided).
 */
export function coreutilsDiagnostics(view: SystemView, io: CommandIO): DiagnosticsLocale | undefined {
  const locale = new LocaleSession(view, io.ctx.env)
  if (!locale.untranslatedAfterSetlocaleAll()) return undefined
  const ctype = locale.afterSetlocaleAll('LC_CTYPE')
  if (ctype === undefined) return undefined
  const utf8 = isUtf8Codeset(ctype.codeset)
  if (!utf8 && ctype.codeset !== 'ANSI_X3.4-1968') return undefined
  return {
    quote: (s) => {
      if (!/^[\x20-\x7e]*$/.test(s) || /[\\'"`]/.test(s)) return undefined
      return utf8 ? '\u00e2\u0080\u0098' + s + '\u00e2\u0080\u0099' : "'" + s + "'"
    },
  }
}
