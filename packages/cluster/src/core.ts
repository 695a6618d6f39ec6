/**
 * @apparmor-monkeys/core, loaded at first use. The worker role of this package runs without
 * it in a worker forked under onWorkerFork() (the primary validated the profile name; the
 * worker's check reads procfs itself), and every file a worker loads delays its start: core's
 * entry, with its package resolution, cost each worker ~70 ms under the TCG test VM
 * (bench/cluster.mjs). The primary's code (primary.ts) imports core directly.
 */
import type * as Core from '@apparmor-monkeys/core'

export function core(): typeof Core {
  return require('@apparmor-monkeys/core') as typeof Core
}
