/**
 * @apparmor-monkeys/bullmq: a BullMQ Worker that is confined before its first job, and
 * sandboxed processor children that start in their own AppArmor profile from their first
 * instruction (the analogue of celery's worker_process_init). Importing this module has no
 * side effect.
 */
export { startConfinedWorker } from './worker'
export type { ConfinedWorker, WorkerClass, WorkerConfinement, WorkerLike } from './worker'
export type { ConfineWorkerOptions } from './options'
export { processorConfineRule, sandboxMainFile } from './sandbox'
export type { InterceptionState } from './interception'
