import { readOptions } from '@apparmor-monkeys/core/adapter'
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

/**
 * Validates the register options and applies the defaults; never mutates the caller's object.
 * Throws AppArmorError `ERR_AA_OPTIONS` naming the first wrong option.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  const o = readOptions('@apparmor-monkeys/fastify', options, { known: KEYS, ignore: FASTIFY_KEYS, shape: 'an object with at least { profile }' })
  o.required('profile', 'the AppArmor profile to confine the process in')
  return Object.freeze({
    profile: o.profile('profile'),
    when: o.oneOf<ConfineWhen>('when', ['ready', 'listen'], DEFAULTS.when),
    strict: o.boolean('strict', DEFAULTS.strict),
    intercept: o.object<InterceptOptions | false>('intercept', DEFAULTS.intercept, 'install() options (an object) or false', true),
  })
}
