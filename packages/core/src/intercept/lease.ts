import { install, status, uninstall } from './install'
import type { InterceptOptions } from '../options'

/**
 * Shared ownership of the exec interception for adapters (Fastify, Express): one process may
 * hold several apps or servers, and closing one must not pull the interception from under the
 * others, nor remove an installation somebody else (the register preload) made.
 *
 * - `'installed'`: an adapter installed it; the last holder's release uninstalls it;
 * - `'already-installed'`: somebody else installed it first (usually the register preload);
 *   their configuration stays in force and releasing does nothing;
 * - `'off'`: nobody (`false` given and nothing installed): shell-outs reach the kernel.
 */
export type InterceptionState = 'installed' | 'already-installed' | 'off'

export interface InterceptionLease {
  readonly state: InterceptionState
  /** Gives the lease back (idempotent); the last holder of an adapter-made install uninstalls it. */
  release(): void
}

// Leases held on an installation made through this function.
let holders = 0

const noop = (): void => {}

/** Installs the interception unless it already is; `false` asks for none. Options are validated eagerly. */
export function leaseInterception(options: InterceptOptions | false): InterceptionLease {
  if (holders === 0 && status().installed) return { state: 'already-installed', release: noop }
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
