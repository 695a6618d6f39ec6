import { AppArmorError, ErrorCodes, validateProfileName } from '@apparmor-monkeys/core'
import { describeValue, didYouMean } from '@apparmor-monkeys/core'
import type { InterceptOptions } from '@apparmor-monkeys/core'

/** Options of `listenConfined(app, options)`. */
export interface ListenConfinedOptions {
  /**
   * The AppArmor profile the whole process changes into (main thread, every libuv pool
   * thread, verified). It must be loaded, and the profile the process starts in must hold
   * `change_profile -> <profile>,`.
   */
  readonly profile: string
  /**
   * The TCP port (`0`: one the kernel picks).
   * @defaultValue `0`
   */
  readonly port?: number
  /**
   * The address to bind. Unset: Node's default (`::`, or `0.0.0.0` without IPv6).
   * @defaultValue `undefined`
   */
  readonly host?: string
  /**
   * `false`: listen first, then confine (the profile need not allow the bind); requests that
   * arrive meanwhile wait. `true`: confine first, then listen (the profile must allow the bind:
   * `network inet stream,`).
   * @defaultValue `false`
   */
  readonly before?: boolean
  /**
   * Fail when a thread that can run application I/O (a worker_thread started before the
   * change, say) stays in the old profile (`ERR_AA_INCOMPLETE`).
   * @defaultValue `true`
   */
  readonly strict?: boolean
  /**
   * The exec interception (shell-outs answered in-process, the rest passed to the kernel):
   * options for `install()` of `@apparmor-monkeys/core`, or `false` to leave exec alone.
   * Skipped when the register preload has already installed it.
   * @defaultValue `{}`
   */
  readonly intercept?: InterceptOptions | false
}

export interface ResolvedOptions {
  readonly profile: string
  readonly port: number
  readonly host: string | undefined
  readonly before: boolean
  readonly strict: boolean
  readonly intercept: InterceptOptions | false
}

export const DEFAULTS = Object.freeze({ port: 0, before: false, strict: true, intercept: Object.freeze({}) as InterceptOptions })

const KEYS = ['profile', 'port', 'host', 'before', 'strict', 'intercept'] as const

function optionsError(message: string, cause?: unknown): AppArmorError {
  return new AppArmorError(ErrorCodes.OPTIONS, `@apparmor-monkeys/express: ${message}`, { operation: 'options', cause })
}

/**
 * Validates the options and applies the defaults; never mutates the caller's object.
 * Throws AppArmorError `ERR_AA_OPTIONS` naming the first wrong option.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionsError(`options must be an object with at least { profile }; got ${describeValue(options)}`)
  }
  const o: Record<string, unknown> = { __proto__: null, ...(options as Record<string, unknown>) }
  for (const key of Object.keys(o)) {
    if ((KEYS as readonly string[]).includes(key)) continue
    throw optionsError(`unknown option ${JSON.stringify(key)}${didYouMean(key, KEYS)}; known: ${KEYS.join(', ')}`)
  }
  if (o['profile'] === undefined) throw optionsError('options.profile is required: the AppArmor profile to confine the process in')
  let profile: string
  try {
    profile = validateProfileName(o['profile'], 'options.profile')
  } catch (err) {
    throw optionsError(`options.profile: ${(err as Error).message}`, err)
  }
  const port = o['port'] ?? DEFAULTS.port
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw optionsError(`options.port must be an integer from 0 to 65535; got ${describeValue(port)}`)
  }
  const host = o['host']
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) {
    throw optionsError(`options.host must be a non-empty string; got ${describeValue(host)}`)
  }
  const before = o['before'] ?? DEFAULTS.before
  if (typeof before !== 'boolean') throw optionsError(`options.before must be a boolean; got ${describeValue(before)}`)
  const strict = o['strict'] ?? DEFAULTS.strict
  if (typeof strict !== 'boolean') throw optionsError(`options.strict must be a boolean; got ${describeValue(strict)}`)
  const intercept = o['intercept'] ?? DEFAULTS.intercept
  if (intercept !== false && (typeof intercept !== 'object' || intercept === null || Array.isArray(intercept))) {
    throw optionsError(`options.intercept must be install() options (an object) or false; got ${describeValue(intercept)}`)
  }
  return Object.freeze({ profile, port, host, before, strict, intercept: intercept as InterceptOptions | false })
}
