import { AppArmorError, ErrorCodes, validateProfileName } from '@apparmor-monkeys/core'
import { describeValue, didYouMean } from '@apparmor-monkeys/core'
import type { InterceptOptions } from '@apparmor-monkeys/core'

/** When the process changes into its profile. */
export type ConfineWhen = 'ready' | 'listen'

/** Options of `app.register(apparmorMonkeys, options)`. */
export interface ApparmorMonkeysOptions {
  /**
   * The AppArmor profile the whole process changes into (main thread, every libuv pool
   * thread, verified). It must be loaded, and the profile the process starts in must hold
   * `change_profile -> <profile>,`.
   */
  readonly profile: string
  /**
   * `'ready'`: confine in an `onReady` hook, before the server listens; a failure rejects
   * `ready()` / `listen()` and nothing is served. The profile must then allow the bind.
   * `'listen'`: confine once the server listens (the profile need not allow the bind);
   * requests wait until the process is confined; on failure the server is closed and the
   * error is thrown as an uncaught exception (the process exits non-zero).
   * @defaultValue `'ready'`
   */
  readonly when?: ConfineWhen
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
  readonly when: ConfineWhen
  readonly strict: boolean
  readonly intercept: InterceptOptions | false
}

export const DEFAULTS = Object.freeze({ when: 'ready' as ConfineWhen, strict: true, intercept: Object.freeze({}) as InterceptOptions })

const KEYS = ['profile', 'when', 'strict', 'intercept'] as const
/** Keys Fastify itself reads from register options; they reach the plugin and are not ours. */
const FASTIFY_KEYS = ['prefix', 'logLevel', 'logSerializers'] as const

function optionsError(message: string, cause?: unknown): AppArmorError {
  return new AppArmorError(ErrorCodes.OPTIONS, `@apparmor-monkeys/fastify: ${message}`, { operation: 'options', cause })
}

/**
 * Validates the register options and applies the defaults; never mutates the caller's object.
 * Throws AppArmorError `ERR_AA_OPTIONS` naming the first wrong option.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionsError(`options must be an object with at least { profile }; got ${describeValue(options)}`)
  }
  const o: Record<string, unknown> = { __proto__: null, ...(options as Record<string, unknown>) }
  for (const key of Object.keys(o)) {
    if ((KEYS as readonly string[]).includes(key) || (FASTIFY_KEYS as readonly string[]).includes(key)) continue
    throw optionsError(`unknown option ${JSON.stringify(key)}${didYouMean(key, KEYS)}; known: ${KEYS.join(', ')}`)
  }
  if (o['profile'] === undefined) throw optionsError('options.profile is required: the AppArmor profile to confine the process in')
  let profile: string
  try {
    profile = validateProfileName(o['profile'], 'options.profile')
  } catch (err) {
    throw optionsError(`options.profile: ${(err as Error).message}`, err)
  }
  const when = o['when'] ?? DEFAULTS.when
  if (when !== 'ready' && when !== 'listen') throw optionsError(`options.when must be 'ready' or 'listen'; got ${describeValue(when)}`)
  const strict = o['strict'] ?? DEFAULTS.strict
  if (typeof strict !== 'boolean') throw optionsError(`options.strict must be a boolean; got ${describeValue(strict)}`)
  const intercept = o['intercept'] ?? DEFAULTS.intercept
  if (intercept !== false && (typeof intercept !== 'object' || intercept === null || Array.isArray(intercept))) {
    throw optionsError(`options.intercept must be install() options (an object) or false; got ${describeValue(intercept)}`)
  }
  return Object.freeze({ profile, when, strict, intercept: intercept as InterceptOptions | false })
}
