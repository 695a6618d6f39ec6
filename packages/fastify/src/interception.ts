import { install, status as interceptStatus, uninstall } from '@apparmor-monkeys/core'
import type { InterceptOptions } from '@apparmor-monkeys/core'

export type { InterceptOptions }

/**
 * Who set up the exec interception for this process:
 * - `'installed'`: this plugin (removed again when the last instance that installed it closes);
 * - `'already-installed'`: someone else first, usually the register preload
 *   (`node --require @apparmor-monkeys/core/register`); its configuration stays in force;
 * - `'off'`: nobody (`intercept: false` and no preload): shell-outs reach the kernel.
 */
export type InterceptionState = 'installed' | 'already-installed' | 'off'

export interface InterceptionLease {
  readonly state: InterceptionState
  /** Gives the lease back; the last holder of a plugin-made install uninstalls it. */
  release(): void
}

// Instances of this plugin that hold the install they made (so closing one of two apps in a
// process does not pull the interception from under the other).
let holders = 0

/** Installs the interception unless it already is (asks core's status()); validates `options` eagerly. */
export function acquireInterception(options: InterceptOptions | false): InterceptionLease {
  if (holders === 0 && interceptStatus().installed) return { state: 'already-installed', release: noop }
  if (options === false) return { state: holders > 0 ? 'already-installed' : 'off', release: noop }
  if (holders === 0) install(options)
  holders++
  let released = false
  return {
    state: 'installed',
    release() {
      if (released) return
      released = true
      holders--
      if (holders === 0) uninstall()
    },
  }
}

function noop(): void {}
