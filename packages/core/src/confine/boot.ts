import { isMainThread } from 'node:worker_threads'
import { confine, confineSync, type ConfineReport } from './runtime'
import { asCall, kernel } from '../kernel'
import { runtimeThreadCount } from './threads'

/**
 * Confinement at boot, for the register preload (`APPARMOR_MONKEYS_PROFILE`). From a
 * `--require` preload no pool exists yet: one synchronous change of the main thread covers
 * every thread created later, and this returns the report. From an `--import` preload the ESM
 * loader has already started the pool: this returns a promise (the ESM entry awaits it before
 * the application loads). Either way a failure is thrown: the preload fails closed.
 */
export function confineAtBoot(profile: string): ConfineReport | Promise<ConfineReport> {
  if (!isMainThread) return confineSync(profile)
  const threads = asCall('confine', profile, () => kernel().threadLabels({ operation: 'confine', name: profile }).length)
  return threads - 1 <= asCall('confine', profile, runtimeThreadCount) ? confineSync(profile) : confine(profile)
}
