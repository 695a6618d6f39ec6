import { core } from './core'
import { validatedByPrimary } from './worker'

/**
 * "Start the worker in this profile". A description handed to onWorkerFork(), not a change:
 * nothing happens until a worker is forked, and then the change is made at exec time (the
 * worker is in `profile` from its first instruction, before any of its threads exists).
 */
export interface ChangeProfileHook {
  readonly kind: 'changeProfile'
  readonly profile: string
}

/** The hooks onWorkerFork() accepts. */
export type WorkerForkHook = ChangeProfileHook

/**
 * Describes an exec-time change into `profile` for onWorkerFork(). The name is validated
 * now (AppArmorError `ERR_AA_INVALID_NAME`); whether the profile is loaded and permitted is
 * checked when onWorkerFork() registers it. Unlike core's changeProfile(), this changes
 * nothing in the calling process.
 */
export function changeProfile(profile: string): ChangeProfileHook {
  // In a worker its primary forked for this very name, the name was validated there.
  const name = validatedByPrimary(profile) ? profile : core().validateProfileName(profile, 'changeProfile')
  return Object.freeze({ kind: 'changeProfile', profile: name })
}

/** Validates a hook object (it may come from plain JS). */
export function checkHook(hook: unknown): WorkerForkHook {
  if (typeof hook !== 'object' || hook === null || (hook as { kind?: unknown }).kind !== 'changeProfile') {
    const { AppArmorError, ErrorCodes } = core()
    throw new AppArmorError(
      ErrorCodes.OPTIONS,
      "onWorkerFork: the first argument must be a hook such as changeProfile('web-worker')",
      { operation: 'onWorkerFork' },
    )
  }
  return changeProfile((hook as { profile?: unknown }).profile as string)
}
