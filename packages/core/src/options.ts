import * as path from 'node:path'
import type { EmulationRequest, EmulationResult } from '@apparmor-monkeys/emulator'
import type * as Errors from './errors'
import type * as Validate from './kernel/validate'

/**
 * The one place where apparmor-monkeys' options are typed, defaulted and validated: the
 * programmatic options of `install()` and the `APPARMOR_MONKEYS_*` environment read by the
 * register preload. Everything here is pure (no I/O, no patching); heavy modules (the
 * emulator, the confiner) are loaded on first use, so the preload's import graph stays tiny.
 */

// ---------------------------------------------------------------------------------------------
// Types

/** What happens to one request to start a process. */
export type Decision = 'emulate' | 'passthrough' | 'deny' | 'confine'

/** What happens to a command that no rule names and the emulator does not answer. */
export type UnknownPolicy = 'passthrough' | 'deny'

/**
 * A command rule.
 * - `'*'` matches every request.
 * - A string without `/` matches a program by its name: the basename of the exec'd file, or
 *   of a command word of a shell line (`getconf` matches `getconf`, `/usr/bin/getconf`).
 * - A string with `/` matches a program by its path: the word as written, or, for a bare
 *   word, its resolution on the child's `PATH`.
 * - A RegExp is tested against the request's command line (the shell line for shell
 *   requests, the argv joined as a shell would show it for direct execs).
 */
export type CommandRule = string | RegExp

/** "Children matching `match` start under AppArmor profile `profile`." */
export interface ConfineRule {
  readonly match: CommandRule
  readonly profile: string
}

/**
 * The emulator: answers a request byte-exactly, or returns null. Contract: it never answers a
 * line whose result would depend on the caller's stdin (it returns null when a command would
 * read it), so the interceptor can accept and discard what the caller writes to the child.
 */
export type EmulateFn = (request: EmulationRequest) => EmulationResult | null

/**
 * Runs `spawn` (the native, synchronous spawn call) with the calling thread's onexec set to
 * `profile`, restores the attribute, and returns what `spawn` returned. Throws an
 * AppArmorError when the profile cannot be applied or restored.
 */
export type ExecConfiner = <T>(profile: string, spawn: () => T) => T

/** Where the one-JSON-line-per-decision log goes: `'stderr'` or a file path (appended). */
export type LogTarget = string

export interface InterceptOptions {
  /** Decision for commands no rule names and the emulator does not answer. Default `'passthrough'`. */
  readonly unknown?: UnknownPolicy
  /** Commands that run for real, never emulated; with `unknown: 'deny'`, the only ones allowed to run. */
  readonly allow?: readonly CommandRule[]
  /** Commands that are denied (EACCES, as the kernel would), even if the emulator could answer them. */
  readonly deny?: readonly CommandRule[]
  /** Commands that run for real under an AppArmor profile from their first instruction. */
  readonly confine?: readonly ConfineRule[]
  /**
   * The emulator. Default: the package's own (loaded on first use). `null` disables emulation:
   * every request is then decided by the rules and `unknown`.
   */
  readonly emulate?: EmulateFn | null
  /** Applies a profile around the native spawn for `confine` decisions. Default: the package's onexec confiner. */
  readonly execConfiner?: ExecConfiner
  /** Write one JSON line per decision to `'stderr'` or to a file (appended). Default: no log. */
  readonly log?: LogTarget | null
  /**
   * Log each request's full argv and command line. Default false: the log holds the program
   * names and the argument count only, since command lines often carry secrets
   * (docs/security.md). The diagnostics_channel events always carry the full request.
   */
  readonly logArgv?: boolean
}

export interface ResolvedInterceptOptions {
  readonly unknown: UnknownPolicy
  readonly allow: readonly CommandRule[]
  readonly deny: readonly CommandRule[]
  readonly confine: readonly ConfineRule[]
  readonly emulate: EmulateFn | null
  readonly execConfiner: ExecConfiner
  /** `'stderr'`, or an absolute file path. */
  readonly log: LogTarget | null
  readonly logArgv: boolean
}

/** What the register preload reads from the environment. */
export interface EnvConfig {
  /** `APPARMOR_MONKEYS_DISABLE=1`: the preload does nothing at all. */
  readonly disabled: boolean
  /** `APPARMOR_MONKEYS_PROFILE`: confine the whole process at boot (null: not asked). */
  readonly profile: string | null
  /** The interception options given by the environment (only the keys that were set). */
  readonly intercept: InterceptOptions
}

// ---------------------------------------------------------------------------------------------
// Defaults

type RuntimeModule = typeof import('./intercept/runtime')
type ConfinerModule = typeof import('./confine/exec')

let builtinEmulate: EmulateFn | undefined
let builtinConfiner: ExecConfiner | undefined

/**
 * @apparmor-monkeys/emulator, loaded on the first request (keeps the preload's import graph
 * small), through the interception's runtime: the build makes that one file with the emulator
 * in it, so a first exec neither resolves the package nor loads it twice.
 */
export const defaultEmulate: EmulateFn = (request) => {
  builtinEmulate ??= (require('./intercept/runtime') as RuntimeModule).emulate
  return builtinEmulate(request)
}

/** The package's onexec confiner, loaded on the first `confine` decision. */
export const defaultExecConfiner: ExecConfiner = (profile, spawn) => {
  builtinConfiner ??= (require('./confine/exec') as ConfinerModule).createExecConfiner()
  return builtinConfiner(profile, spawn)
}

export const defaultInterceptOptions: ResolvedInterceptOptions = Object.freeze({
  unknown: 'passthrough',
  allow: Object.freeze([]),
  deny: Object.freeze([]),
  confine: Object.freeze([]),
  emulate: defaultEmulate,
  execConfiner: defaultExecConfiner,
  log: null,
  logArgv: false,
})

// ---------------------------------------------------------------------------------------------
// Validation of programmatic options

const INTERCEPT_KEYS = ['unknown', 'allow', 'deny', 'confine', 'emulate', 'execConfiner', 'log', 'logArgv'] as const

// errors.ts and kernel/validate.ts are loaded only when needed: the register preload parses
// the environment at every process start, and a valid, rule-free configuration needs neither.
function optionsError(message: string, cause?: unknown): Errors.AppArmorError {
  const { AppArmorError, ErrorCodes } = require('./errors') as typeof Errors
  return new AppArmorError(ErrorCodes.OPTIONS, message, { operation: 'options', cause })
}

/** Levenshtein distance, for "did you mean" hints on misspelt option and variable names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] as number
      row[j] = Math.min(up + 1, (row[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return row[b.length] as number
}

/** ` (did you mean X?)` for a misspelt name close to one of `known`, else ''. Shared with the adapters. */
export function didYouMean(name: string, known: readonly string[]): string {
  let best: string | undefined
  let bestDistance = Infinity
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean ${best}?)` : ''
}

const DESCRIBE_LIMIT = 60

/** A short description of a wrong option value for error messages. Shared with the adapters. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > DESCRIBE_LIMIT ? `${value.slice(0, DESCRIBE_LIMIT)}…` : value)
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return 'a function'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

/**
 * Checks the options object of a call such as `confine(profile, options)`: an object (or
 * undefined) whose keys are all in `known`, each of the type `known` gives. Throws
 * AppArmorError `ERR_AA_OPTIONS` naming the call, the profile and the option.
 */
export function checkCallOptions(
  options: unknown,
  known: Readonly<Record<string, 'boolean' | 'positive integer' | 'object'>>,
  operation: string,
  profile: string,
): void {
  const { AppArmorError, ErrorCodes } = require('./errors') as typeof Errors
  const fail = (message: string): never => {
    throw new AppArmorError(ErrorCodes.OPTIONS, `${operation}(${JSON.stringify(profile)}): ${message}`, { operation, profile })
  }
  if (options === undefined) return
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail(`options must be an object; got ${describeValue(options)}`)
  const names = Object.keys(known)
  for (const [key, value] of Object.entries(options as Record<string, unknown>)) {
    const type = known[key]
    if (type === undefined) fail(`unknown option ${JSON.stringify(key)}${didYouMean(key, names)}; known: ${names.join(', ')}`)
    if (value === undefined) continue
    const ok =
      type === 'boolean'
        ? typeof value === 'boolean'
        : type === 'positive integer'
          ? typeof value === 'number' && Number.isInteger(value) && value > 0
          : typeof value === 'object' && value !== null
    if (!ok) fail(`options.${key} must be ${type === 'object' ? 'an object' : `a ${type}`}; got ${describeValue(value)}`)
  }
}

/** A rule string is one word: no whitespace, not empty. */
function checkRule(rule: unknown, where: string): CommandRule {
  if (rule instanceof RegExp) return rule
  if (typeof rule !== 'string' || rule.length === 0 || /\s/.test(rule)) {
    throw optionsError(`${where} must be a command name, a path, '*' or a RegExp; got ${describeValue(rule)}`)
  }
  return rule
}

function checkRules(value: unknown, name: string): readonly CommandRule[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw optionsError(`options.${name} must be an array of command rules; got ${describeValue(value)}`)
  return Object.freeze(value.map((rule, i) => checkRule(rule, `options.${name}[${i}]`)))
}

function checkProfile(profile: unknown, where: string): string {
  const { validateProfileName } = require('./kernel/validate') as typeof Validate
  try {
    return validateProfileName(profile, where)
  } catch (err) {
    // The name check's message already starts with `<where>: `.
    throw optionsError((err as Error).message, err)
  }
}

function checkConfineRules(value: unknown): readonly ConfineRule[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw optionsError(`options.confine must be an array of { match, profile }; got ${describeValue(value)}`)
  return Object.freeze(
    value.map((rule: unknown, i) => {
      if (typeof rule !== 'object' || rule === null) {
        throw optionsError(`options.confine[${i}] must be { match, profile }; got ${describeValue(rule)}`)
      }
      const { match, profile } = rule as { match?: unknown; profile?: unknown }
      return Object.freeze({
        match: checkRule(match, `options.confine[${i}].match`),
        profile: checkProfile(profile, `options.confine[${i}].profile`),
      })
    }),
  )
}

function checkLog(value: unknown, where: string): LogTarget | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw optionsError(`${where} must be 'stderr' or a file path; got ${describeValue(value)}`)
  }
  return value === 'stderr' ? value : path.resolve(value)
}

function checkLogArgv(value: unknown, where: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw optionsError(`${where} must be true or false; got ${describeValue(value)}`)
  return value
}

function checkUnknown(value: unknown, where: string): UnknownPolicy {
  if (value === 'passthrough' || value === 'deny') return value
  throw optionsError(`${where} must be 'passthrough' or 'deny'; got ${describeValue(value)}`)
}

/**
 * Validates `install()` options and fills in the defaults. Throws AppArmorError
 * `ERR_AA_OPTIONS` naming the first wrong option (with a hint for misspelt keys).
 */
export function resolveInterceptOptions(options: InterceptOptions = {}): ResolvedInterceptOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionsError(`options must be an object; got ${describeValue(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!(INTERCEPT_KEYS as readonly string[]).includes(key)) {
      throw optionsError(`unknown option ${JSON.stringify(key)}${didYouMean(key, INTERCEPT_KEYS)}`)
    }
  }
  const o = options as Record<string, unknown>
  if (o['emulate'] !== undefined && o['emulate'] !== null && typeof o['emulate'] !== 'function') {
    throw optionsError(`options.emulate must be a function or null; got ${describeValue(o['emulate'])}`)
  }
  if (o['execConfiner'] !== undefined && typeof o['execConfiner'] !== 'function') {
    throw optionsError(`options.execConfiner must be a function; got ${describeValue(o['execConfiner'])}`)
  }
  return Object.freeze({
    unknown: o['unknown'] === undefined ? defaultInterceptOptions.unknown : checkUnknown(o['unknown'], 'options.unknown'),
    allow: checkRules(o['allow'], 'allow'),
    deny: checkRules(o['deny'], 'deny'),
    confine: checkConfineRules(o['confine']),
    emulate: o['emulate'] === undefined ? defaultInterceptOptions.emulate : (o['emulate'] as EmulateFn | null),
    execConfiner: (o['execConfiner'] as ExecConfiner | undefined) ?? defaultInterceptOptions.execConfiner,
    log: checkLog(o['log'], 'options.log'),
    logArgv: checkLogArgv(o['logArgv'], 'options.logArgv'),
  })
}

// ---------------------------------------------------------------------------------------------
// The environment (register preload)

/** The environment variables the register preload reads. Any other `APPARMOR_MONKEYS_*` is an error. */
export const ENV = Object.freeze({
  DISABLE: 'APPARMOR_MONKEYS_DISABLE',
  UNKNOWN: 'APPARMOR_MONKEYS_UNKNOWN',
  LOG: 'APPARMOR_MONKEYS_LOG',
  LOG_ARGV: 'APPARMOR_MONKEYS_LOG_ARGV',
  DENY: 'APPARMOR_MONKEYS_DENY',
  ALLOW: 'APPARMOR_MONKEYS_ALLOW',
  CONFINE: 'APPARMOR_MONKEYS_CONFINE',
  PROFILE: 'APPARMOR_MONKEYS_PROFILE',
})

const ENV_PREFIX = 'APPARMOR_MONKEYS_'
const ENV_NAMES: readonly string[] = Object.values(ENV)

function envError(name: string, message: string, cause?: unknown): Errors.AppArmorError {
  return optionsError(`${name}: ${message}`, cause)
}

/** `a,b,c`: every item one non-empty word. */
function envList(name: string, raw: string): string[] {
  return raw.split(',').map((item, i) => {
    const word = item.trim()
    if (word.length === 0 || /\s/.test(word)) {
      throw envError(name, `item ${i + 1} of ${JSON.stringify(raw)} is ${word.length === 0 ? 'empty' : 'not one word'}; expected comma-separated command names or paths`)
    }
    return word
  })
}

/**
 * Reads and validates the `APPARMOR_MONKEYS_*` variables. An empty variable counts as unset.
 * Throws AppArmorError `ERR_AA_OPTIONS` on any invalid value or unknown variable, so a
 * preload with a wrong configuration stops the process before the application runs.
 *
 * - `APPARMOR_MONKEYS_DISABLE=1|0`
 * - `APPARMOR_MONKEYS_UNKNOWN=passthrough|deny`
 * - `APPARMOR_MONKEYS_LOG=stderr|<file>` (a relative path is resolved against the cwd)
 * - `APPARMOR_MONKEYS_LOG_ARGV=1|0` (log full command lines; default 0: names and counts only)
 * - `APPARMOR_MONKEYS_DENY=<rule>,…`, `APPARMOR_MONKEYS_ALLOW=<rule>,…` (names, paths or `*`)
 * - `APPARMOR_MONKEYS_CONFINE=<rule>=<profile>,…` (split at the first `=`)
 * - `APPARMOR_MONKEYS_PROFILE=<profile>`
 */
export function readEnvConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const get = (name: string): string | undefined => {
    const value = env[name]
    return value === undefined || value === '' ? undefined : value
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && !ENV_NAMES.includes(name)) {
      throw envError(name, `unknown variable${didYouMean(name, ENV_NAMES)}; known: ${ENV_NAMES.join(', ')}`)
    }
  }

  const disable = get(ENV.DISABLE)
  if (disable !== undefined && disable !== '1' && disable !== '0') {
    throw envError(ENV.DISABLE, `must be 1 or 0; got ${describeValue(disable)}`)
  }

  const intercept: { -readonly [K in keyof InterceptOptions]: InterceptOptions[K] } = {}
  const unknown = get(ENV.UNKNOWN)
  if (unknown !== undefined) intercept.unknown = checkUnknown(unknown, ENV.UNKNOWN)
  const log = get(ENV.LOG)
  if (log !== undefined) intercept.log = checkLog(log, ENV.LOG)
  const logArgv = get(ENV.LOG_ARGV)
  if (logArgv !== undefined) {
    if (logArgv !== '1' && logArgv !== '0') throw envError(ENV.LOG_ARGV, `must be 1 or 0; got ${describeValue(logArgv)}`)
    intercept.logArgv = logArgv === '1'
  }
  const deny = get(ENV.DENY)
  if (deny !== undefined) intercept.deny = envList(ENV.DENY, deny)
  const allow = get(ENV.ALLOW)
  if (allow !== undefined) intercept.allow = envList(ENV.ALLOW, allow)
  const confine = get(ENV.CONFINE)
  if (confine !== undefined) {
    intercept.confine = confine.split(',').map((item, i) => {
      const eq = item.indexOf('=')
      const match = item.slice(0, eq).trim()
      if (eq < 0 || match.length === 0 || /\s/.test(match)) {
        throw envError(ENV.CONFINE, `item ${i + 1} of ${JSON.stringify(confine)} must be <command>=<profile>`)
      }
      return { match, profile: checkProfile(item.slice(eq + 1).trim(), `${ENV.CONFINE} item ${i + 1}`) }
    })
  }
  const profile = get(ENV.PROFILE)

  return Object.freeze({
    disabled: disable === '1',
    profile: profile === undefined ? null : checkProfile(profile, ENV.PROFILE),
    intercept: Object.freeze(intercept),
  })
}
