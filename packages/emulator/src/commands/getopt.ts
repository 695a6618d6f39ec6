/**
 * glibc getopt_long(), the one argument parser of the commands (informational and text tools),
 * for deciding what a GNU program will do with its arguments. Only the successful parses are
 * reproduced: any argument getopt would complain about makes the whole parse `undefined` (the
 * caller then lets the real program print its own diagnostics).
 *
 * `longs` must list every long option the real program has (hidden ones too), not only those
 * the emulation supports: abbreviations are resolved against the whole table, as glibc does
 * (`sed --s` is ambiguous because of --sandbox and --separate). A command declines the keys it
 * does not model.
 *
 * Obsolete forms getopt does not parse are the command's business, before or after the call:
 * head's and tail's leading `-NUM` (the command reads argv[0] itself and passes the rest),
 * sort's `+POS` and uniq's `+N` (operands met before `--`: see `beforeDashDash`).
 */
import type { ChildContext } from '../types'

export interface LongOption {
  readonly name: string
  readonly arg: 'none' | 'required' | 'optional'
  /** What the option stands for (usually its short letter). */
  readonly key: string
}

export interface ParsedOption {
  readonly key: string
  readonly value: string | undefined
}

export interface ParsedArgs {
  readonly options: readonly ParsedOption[]
  readonly operands: readonly string[]
  /** How many of `operands` came before a `--` (all of them when there was none). */
  readonly beforeDashDash: number
}

type ArgKind = LongOption['arg']

function shortTable(spec: string): Map<string, ArgKind> {
  const table = new Map<string, ArgKind>()
  for (let i = spec[0] === '+' || spec[0] === '-' ? 1 : 0; i < spec.length; i++) {
    const ch = spec[i]!
    let kind: ArgKind = 'none'
    if (spec[i + 1] === ':') {
      kind = spec[i + 2] === ':' ? 'optional' : 'required'
      i += kind === 'optional' ? 2 : 1
    }
    table.set(ch, kind)
  }
  return table
}

function findLong(longs: readonly LongOption[], name: string): LongOption | undefined | null {
  const exact = longs.find((o) => o.name === name)
  if (exact !== undefined) return exact
  const matches = longs.filter((o) => o.name.startsWith(name))
  if (matches.length === 0) return undefined
  const first = matches[0]!
  // glibc accepts several prefix matches when they all mean the same thing.
  if (matches.every((o) => o.arg === first.arg && o.key === first.key)) return first
  return null
}

/**
 * Parse like getopt_long(argc, argv, spec, longs): permuting unless `spec` starts with `+`
 * or POSIXLY_CORRECT is in the environment; a `spec` starting with `-` (glibc's
 * RETURN_IN_ORDER) keeps parsing after operands, as permuting does. `undefined` on any getopt
 * error.
 */
export function gnuGetopt(
  args: readonly string[],
  spec: string,
  longs: readonly LongOption[],
  env: ChildContext['env'],
): ParsedArgs | undefined {
  const shorts = shortTable(spec)
  const inOrder = spec[0] === '+' || (spec[0] !== '-' && env['POSIXLY_CORRECT'] !== undefined)
  const options: ParsedOption[] = []
  const operands: string[] = []
  let beforeDashDash = -1
  let i = 0
  while (i < args.length) {
    const arg = args[i]!
    if (arg === '--') {
      beforeDashDash = operands.length
      operands.push(...args.slice(i + 1))
      break
    }
    if (arg.length < 2 || arg[0] !== '-') {
      if (inOrder) {
        operands.push(...args.slice(i))
        break
      }
      operands.push(arg)
      i++
      continue
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
      const opt = findLong(longs, name)
      if (opt === undefined || opt === null) return undefined
      let value: string | undefined
      if (eq >= 0) {
        if (opt.arg === 'none') return undefined
        value = arg.slice(eq + 1)
      } else if (opt.arg === 'required') {
        if (i + 1 >= args.length) return undefined
        value = args[++i]
      }
      options.push({ key: opt.key, value })
      i++
      continue
    }
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j]!
      const kind = shorts.get(ch)
      if (kind === undefined || ch === ':') return undefined
      if (kind === 'none') {
        options.push({ key: ch, value: undefined })
        continue
      }
      const rest = arg.slice(j + 1)
      if (rest !== '') {
        options.push({ key: ch, value: rest })
      } else if (kind === 'required') {
        if (i + 1 >= args.length) return undefined
        options.push({ key: ch, value: args[++i] })
      } else {
        options.push({ key: ch, value: undefined })
      }
      break
    }
    i++
  }
  return { options, operands, beforeDashDash: beforeDashDash < 0 ? operands.length : beforeDashDash }
}
