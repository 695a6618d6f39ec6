/**
 * `@apparmor-monkeys/core/adapter`: what the framework adapters (`@apparmor-monkeys/fastify`,
 * `/express`, `/cluster`, `/bullmq`) share, so that they check options and report failures
 * the same way. Not part of the main entry: an application has no use for it; a third-party
 * adapter may use it (it follows the package's semver like every other entry).
 *
 * - `readOptions(who, options, spec)`: copies the options (null prototype, the caller's object
 *   is never touched), refuses unknown keys with a "did you mean", and reads each value with a
 *   typed checker; every failure is an AppArmorError `ERR_AA_OPTIONS` whose message starts with
 *   `who` and names the option.
 * - `adapterError(err, context)`: adds the adapter's context to a failure, keeping its stable
 *   code, errno and data, with the original as `cause`.
 */
import { AppArmorError, ErrorCodes } from './errors'
import { validateProfileName } from './kernel/validate'
import { describeValue, didYouMean } from './options'

export { describeValue, didYouMean }

export interface OptionsSpec {
  /** The option names this adapter knows. */
  readonly known: readonly string[]
  /** Names that may be present but belong to someone else (e.g. Fastify's `prefix`); ignored. */
  readonly ignore?: readonly string[]
  /** What a valid options value looks like, for the "must be an object" message. */
  readonly shape?: string
  /** `operation` of the errors (default `'options'`). */
  readonly operation?: string
  /** Accept `undefined` as `{}` (default false: options are required). */
  readonly optional?: boolean
}

export interface OptionReader {
  /** The options, copied into a null-prototype object. */
  readonly values: Readonly<Record<string, unknown>>
  /** describeValue, for messages about values the reader has no checker for. */
  describe(value: unknown): string
  /** An ERR_AA_OPTIONS error: `<who>: <message>`. */
  error(message: string, cause?: unknown): AppArmorError
  /** The value, or the error `options.<key> is required: <why>` when it is undefined. */
  required(key: string, why: string): unknown
  boolean(key: string, fallback: boolean): boolean
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T
  /** An integer in [min, max]. */
  integer(key: string, min: number, max: number, fallback: number, unit?: string): number
  /** A valid AppArmor profile name (ERR_AA_OPTIONS naming the option otherwise). */
  profile(key: string): string
  /** A profile name or null. */
  profileOrNull(key: string): string | null
  /** A plain object (not an array), or `false` when `allowFalse`. */
  object<T>(key: string, fallback: T, what: string, allowFalse?: boolean): T
  /** A function, or null when `allowNull`. */
  func<T>(key: string, fallback: T, what: string, allowNull?: boolean): T
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads and checks an adapter's options (see the module comment). */
export function readOptions(who: string, options: unknown, spec: OptionsSpec): OptionReader {
  const operation = spec.operation ?? 'options'
  const error = (message: string, cause?: unknown): AppArmorError =>
    new AppArmorError(ErrorCodes.OPTIONS, `${who}: ${message}`, cause === undefined ? { operation } : { operation, cause })
  const input = options === undefined && spec.optional === true ? {} : options
  if (!isPlainObject(input)) {
    throw error(`options must be ${spec.shape ?? 'an object'}; got ${describeValue(input)}`)
  }
  const values: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, input)
  for (const key of Object.keys(values)) {
    if (spec.known.includes(key) || spec.ignore?.includes(key)) continue
    throw error(`unknown option ${JSON.stringify(key)}${didYouMean(key, spec.known)}; known: ${spec.known.join(', ')}`)
  }
  const wrong = (key: string, expected: string, value: unknown): AppArmorError =>
    error(`options.${key} must be ${expected}; got ${describeValue(value)}`)
  const profile = (key: string, orNull = ''): string => {
    if (typeof values[key] !== 'string') throw wrong(key, `a profile name${orNull}`, values[key])
    try {
      return validateProfileName(values[key], `options.${key}`)
    } catch (err) {
      // The name check's message already starts with `options.<key>: `.
      throw error((err as Error).message, err)
    }
  }
  return {
    values,
    describe: describeValue,
    error,
    required(key, why) {
      const value = values[key]
      if (value === undefined) throw error(`options.${key} is required: ${why}`)
      return value
    },
    boolean(key, fallback) {
      const value = values[key] ?? fallback
      if (typeof value !== 'boolean') throw wrong(key, 'a boolean', value)
      return value
    },
    oneOf(key, allowed, fallback) {
      const value = values[key] ?? fallback
      if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
        throw wrong(key, allowed.map((a) => `'${a}'`).join(' or '), value)
      }
      return value as (typeof allowed)[number]
    },
    integer(key, min, max, fallback, unit = '') {
      const value = values[key] ?? fallback
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw wrong(key, `an integer${unit} from ${min} to ${max}`, value)
      }
      return value
    },
    profile: (key) => profile(key),
    profileOrNull(key) {
      return values[key] === null ? null : profile(key, ' or null')
    },
    object(key, fallback, what, allowFalse = false) {
      const value = values[key] ?? fallback
      if (value === false && allowFalse) return value as typeof fallback
      if (!isPlainObject(value)) throw wrong(key, what, value)
      return value as typeof fallback
    },
    func(key, fallback, what, allowNull = false) {
      const value = values[key] === undefined ? fallback : values[key]
      if (value === null && allowNull) return value as typeof fallback
      if (typeof value !== 'function') throw wrong(key, what, value)
      return value as typeof fallback
    },
  }
}

export interface AdapterErrorContext {
  /** What failed, e.g. `@apparmor-monkeys/fastify: the process could not be confined in …`. */
  readonly prefix: string
  /** The profile the adapter was applying (used when the error names none). */
  readonly profile: string
  /** The adapter's public operation; default: the error's own (e.g. `confine`). */
  readonly operation?: string
  /**
   * The prefix stands for the call the error names: a leading `<operation>(…): ` of the
   * original message (a kernel read made on the adapter's behalf, say `getCon(): `) is
   * replaced by the prefix instead of kept after it.
   */
  readonly replacesCall?: boolean
}

/**
 * Adds an adapter's context to a failure: the same code, errno and data, `operation` and
 * `profile` set, the message `<prefix>: <original message>`, the original as `cause`. Anything
 * that is not an AppArmorError becomes ERR_AA_UNAVAILABLE.
 */
export function adapterError(err: unknown, context: AdapterErrorContext): AppArmorError {
  if (err instanceof AppArmorError) {
    const call = err.operation === undefined ? null : new RegExp(`^${err.operation}\\((?:"(?:[^"\\\\]|\\\\.)*")?\\): `)
    const message = context.replacesCall === true && call !== null ? err.message.replace(call, '') : err.message
    return new AppArmorError(err.code, `${context.prefix}: ${message}`, {
      profile: err.profile ?? context.profile,
      operation: context.operation ?? err.operation,
      errno: err.errno,
      data: err.data,
      cause: err,
    })
  }
  const message = err instanceof Error ? err.message : String(err)
  return new AppArmorError(ErrorCodes.UNAVAILABLE, `${context.prefix}: ${message}`, {
    profile: context.profile,
    operation: context.operation ?? 'confine',
    cause: err,
  })
}
