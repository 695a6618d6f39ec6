/**
 * `ldd --version`. On glibc systems ldd is a bash script whose `--version` branch echoes the
 * distribution's version line and printf's two translatable texts: they are read from the
 * script itself. On musl systems (Alpine's `exec /lib/ld-musl-ARCH.so.1 --list "$@"` wrapper)
 * the loader prints its usage banner on stderr and exits 1; its arch and version are read
 * from the loader file.
 */
import type { CommandIO, EmulatedCommand, EmulationResult } from '../../types'
import { systemBinary } from './binaries'
import { bashTampered, dashTampered } from './env-guard'
import { muslLoader } from './libc'
import { C_LOCALE, LOCALE_CATEGORIES, LOCALE_FAILS, LocaleSession } from './locale-resolve'
import { failure, result } from '../result'
import type { SystemView } from './view'

/** The `--version` branch of glibc's ldd script. */
interface GlibcLdd {
  readonly kind: 'glibc'
  /** The case patterns that select it (`--vers`, `--versi`, …). */
  readonly spellings: readonly string[]
  /** Output pieces: plain text, or a translatable text (`$"…"`) already formatted. */
  readonly pieces: readonly { readonly text: string; readonly translatable: boolean }[]
}

interface MuslLdd {
  readonly kind: 'musl'
  /** The loader path the wrapper execs (its argv[0], printed in the usage line). */
  readonly loader: string
}

type LddScript = GlibcLdd | MuslLdd

/** A double-quoted bash word without expansions, or undefined when it has any. */
function plainDoubleQuoted(s: string): string | undefined {
  return /[$`\\"]/.test(s) ? undefined : s
}

/** printf FORMAT ARGS… for formats whose only conversions are %s, one per argument. */
function printfPlain(format: string, args: readonly string[]): string | undefined {
  if (format.includes('\\')) return undefined
  const parts = format.split('%s')
  if (parts.some((p) => p.includes('%')) || parts.length - 1 !== args.length) return undefined
  return parts.reduce((acc, p, i) => acc + args[i - 1]! + p)
}

/** Parse the `--version` branch of glibc's ldd script. */
export function parseGlibcLdd(script: string): GlibcLdd | undefined {
  if (!/^#! ?\/bin\/bash\n/.test(script)) return undefined
  const head = /\n {2}(--vers[^\n)]*)\)\n/.exec(script)
  if (head === null) return undefined
  const spellings = head[1]!.split(' | ')
  if (!spellings.every((s) => /^--[a-z]+$/.test(s))) return undefined
  let rest = script.slice(head.index + head[0].length)
  const pieces: { text: string; translatable: boolean }[] = []
  for (;;) {
    if (rest.startsWith('    exit 0\n')) return { kind: 'glibc', spellings, pieces }
    const echo = /^ {4}echo '([^'\n]*)'\n/.exec(rest)
    if (echo !== null) {
      pieces.push({ text: echo[1]! + '\n', translatable: false })
      rest = rest.slice(echo[0].length)
      continue
    }
    const printf = /^ {4}printf \$"([^"]*)"((?: "[^"\n]*")*)\n/.exec(rest)
    if (printf === null) return undefined
    const format = plainDoubleQuoted(printf[1]!)
    const args: (string | undefined)[] = []
    const word = / "([^"\n]*)"/g
    for (let m = word.exec(printf[2]!); m !== null; m = word.exec(printf[2]!)) args.push(plainDoubleQuoted(m[1]!))
    if (format === undefined || args.includes(undefined)) return undefined
    const text = printfPlain(format, args as string[])
    if (text === undefined) return undefined
    pieces.push({ text, translatable: true })
    rest = rest.slice(printf[0].length)
  }
}

/** Parse Alpine's musl ldd wrapper. */
export function parseMuslLdd(script: string): MuslLdd | undefined {
  const m = /^#!\/bin\/sh\nexec (\/[A-Za-z0-9_./-]+) --list "\$@"\n?$/.exec(script)
  return m === null ? undefined : { kind: 'musl', loader: m[1]! }
}

function parseLdd(data: Buffer): LddScript | undefined {
  const text = data.toString('latin1')
  return parseGlibcLdd(text) ?? parseMuslLdd(text)
}

/**
 * True when bash would print `$"…"` texts untranslated whichever of LC_ALL, LC_MESSAGES and
 * LANG ends up selecting its messages locale.
 */
function bashUntranslated(locale: LocaleSession, env: CommandIO['ctx']['env']): boolean {
  for (const key of ['LC_ALL', 'LC_MESSAGES', 'LANG'] as const) {
    const v = env[key]
    if (v === undefined || v === '') continue
    const r = locale.resolveName('LC_MESSAGES', v)
    if (r === undefined) return false
    if (!locale.untranslated(r === LOCALE_FAILS ? C_LOCALE : r)) return false
  }
  return true
}

function glibcVersion(view: SystemView, io: CommandIO, ldd: GlibcLdd): EmulationResult | null {
  const env = io.ctx.env
  if (bashTampered(view, env) || view.stat('/bin/bash')?.isFile() !== true) return null
  const locale = new LocaleSession(view, env)
  // bash warns on stderr at startup when LC_ALL names a locale it cannot load.
  const lcAll = env['LC_ALL']
  if (lcAll !== undefined && lcAll !== '') {
    const loads = LOCALE_CATEGORIES.map((c) => locale.resolveName(c, lcAll))
    if (loads.some((r) => r === undefined || r === LOCALE_FAILS)) return null
  }
  if (ldd.pieces.some((p) => p.translatable) && !bashUntranslated(locale, env)) return null
  return result(ldd.pieces.map((p) => p.text).join(''))
}

function muslUsage(view: SystemView, io: CommandIO, ldd: MuslLdd): EmulationResult | null {
  if (dashTampered(view, io.ctx.env) || view.stat('/bin/sh')?.isFile() !== true) return null
  const loader = view.parsed('musl loader', ldd.loader, muslLoader)
  if (loader === undefined) return null
  return failure(
    `musl libc (${loader.arch})\nVersion ${loader.version}\nDynamic Program Loader\nUsage: ${ldd.loader} [options] [--] pathname\n`,
    1,
  )
}

/** ldd --version, glibc and musl forms. */
export function createLdd(view: SystemView): EmulatedCommand {
  return {
    name: 'ldd',
    run(args, io) {
      const path = systemBinary(view, 'ldd')
      if (path === undefined) return null
      // Re-checked each call: a libc-bin security update rewrites the version line in place.
      const ldd = view.parsed('ldd script', path, parseLdd)
      if (ldd === undefined) return null
      if (ldd.kind === 'glibc') {
        if (args.length === 0 || !ldd.spellings.includes(args[0]!)) return null
        return glibcVersion(view, io, ldd)
      }
      if (args.length > 1 || (args.length === 1 && args[0] !== '--version')) return null
      return muslUsage(view, io, ldd)
    },
  }
}
