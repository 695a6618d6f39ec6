import { describeValue, readOptions } from '@apparmor-monkeys/core/adapter'
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

/**
 * Validates the options and applies the defaults; never mutates the caller's object.
 * Throws AppArmorError `ERR_AA_OPTIONS` naming the first wrong option.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  const o = readOptions('@apparmor-monkeys/express', options, { known: KEYS, shape: 'an object with at least { profile }' })
  o.required('profile', 'the AppArmor profile to confine the process in')
  const profile = o.profile('profile')
  const port = o.integer('port', 0, 65535, DEFAULTS.port)
  const host = o.values['host']
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) {
    throw o.error(`options.host must be a non-empty string; got ${describeValue(host)}`)
  }
  return Object.freeze({
    profile,
    port,
    host,
    before: o.boolean('before', DEFAULTS.before),
    strict: o.boolean('strict', DEFAULTS.strict),
    intercept: o.object<InterceptOptions | false>('intercept', DEFAULTS.intercept, 'install() options (an object) or false', true),
  })
}
