import { confine, type AppArmorError, type ConfineReport } from '@apparmor-monkeys/core'
import { adapterError } from '@apparmor-monkeys/core/adapter'
import type { InterceptionState } from '@apparmor-monkeys/core'
import type { ConfineWhen, ResolvedOptions } from './options'

/** Where the confinement stands: not started, under way, done, or failed for good. */
export type ConfinementState = 'pending' | 'confining' | 'confined' | 'failed'

/** What `fastify.apparmor` exposes. */
export interface ApparmorMonkeysStatus {
  /** The profile the process changes into. */
  readonly profile: string
  readonly when: ConfineWhen
  readonly strict: boolean
  readonly state: ConfinementState
  /**
   * True once every thread that can run application I/O is in `profile` (with `strict: false`
   * the change may have been made while a thread stayed out: `state` is then `'confined'` and
   * this is false; the report names the thread).
   */
  readonly confined: boolean
  /** The verified report of `confine()` (every thread and its label), once confined. */
  readonly report: ConfineReport | null
  /** Why the confinement failed (its `code` is stable), once failed. */
  readonly error: AppArmorError | null
  /** Who set up the exec interception: this plugin, the register preload, or nobody. */
  readonly interception: InterceptionState
  /** A plain-data summary for a status route or a log line. */
  toJSON(): ApparmorMonkeysStatusJSON
}

export interface ApparmorMonkeysStatusJSON {
  profile: string
  when: ConfineWhen
  strict: boolean
  state: ConfinementState
  confined: boolean
  interception: InterceptionState
  report: ConfineReport | null
  error: { code: string; message: string } | null
}

/** Adds the adapter's context to a failure, keeping its stable code, details and cause. */
export function startupError(err: unknown, profile: string, when: ConfineWhen): AppArmorError {
  return adapterError(err, {
    prefix: `@apparmor-monkeys/fastify: the process could not be confined in AppArmor profile '${profile}' (when: '${when}'); startup aborted`,
    profile,
  })
}

/** Runs the confinement once and remembers its outcome. */
export class Confinement implements ApparmorMonkeysStatus {
  #state: ConfinementState = 'pending'
  #report: ConfineReport | null = null
  #error: AppArmorError | null = null
  #running: Promise<ConfineReport> | null = null

  constructor(
    private readonly options: ResolvedOptions,
    readonly interception: InterceptionState,
  ) {}

  get profile(): string {
    return this.options.profile
  }
  get when(): ConfineWhen {
    return this.options.when
  }
  get strict(): boolean {
    return this.options.strict
  }
  get state(): ConfinementState {
    return this.#state
  }
  get confined(): boolean {
    return this.#state === 'confined' && this.#report?.complete === true
  }
  get report(): ConfineReport | null {
    return this.#report
  }
  get error(): AppArmorError | null {
    return this.#error
  }

  /** Confines the process (once; later calls share the first outcome). Rejects with a coded AppArmorError. */
  run(): Promise<ConfineReport> {
    this.#running ??= this.#confine()
    return this.#running
  }

  /** Settles when a started confinement is over (never rejects). */
  settled(): Promise<void> {
    return this.#running === null ? Promise.resolve() : this.#running.then(noop, noop)
  }

  async #confine(): Promise<ConfineReport> {
    this.#state = 'confining'
    try {
      const report = await confine(this.options.profile, { strict: this.options.strict })
      this.#report = report
      this.#state = 'confined'
      return report
    } catch (err) {
      this.#error = startupError(err, this.options.profile, this.options.when)
      this.#state = 'failed'
      throw this.#error
    }
  }

  toJSON(): ApparmorMonkeysStatusJSON {
    return {
      profile: this.profile,
      when: this.when,
      strict: this.strict,
      state: this.#state,
      confined: this.confined,
      interception: this.interception,
      report: this.#report,
      error: this.#error === null ? null : { code: this.#error.code, message: this.#error.message },
    }
  }
}

function noop(): void {}
