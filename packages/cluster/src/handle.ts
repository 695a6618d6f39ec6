/**
 * The handle onWorkerFork() returns, in both roles. Kept apart from the primary's code
 * (primary.ts), which a worker never loads: applications often run one script in both roles,
 * and every file a worker loads adds to its start-up.
 */
import { EventEmitter } from 'node:events'
import { syncBuiltinESMExports } from 'node:module'
import type { Cluster, Worker } from 'node:cluster'
import type { AppArmorError, LabelMode } from '@apparmor-monkeys/core'
import type { ResolvedWorkerForkOptions } from './options'
import type { WorkerSelfCheck } from './worker'

/** One thread of a confirmed worker. */
export interface WorkerThread {
  readonly tid: number
  readonly label: string
  readonly mode: LabelMode | undefined
}

/** What the primary knows about a worker that confirmed its label. */
export interface WorkerConfirmation {
  readonly workerId: number
  readonly pid: number
  readonly profile: string
  /** Where the worker checked itself: the preload, or onWorkerFork() called in the worker. */
  readonly source: 'preload' | 'call'
  /** Every thread of the worker when it checked (before any application code ran). */
  readonly threads: readonly WorkerThread[]
  /** From the fork to the confirmation, in ms. */
  readonly elapsedMs: number
}

/** `data` of the AppArmorError `ERR_AA_NOT_CONFINED` that `'rejected'` carries. */
export interface RejectionData {
  readonly workerId: number
  readonly pid: number | undefined
  readonly profile: string
  /** What the worker reported, when it did. */
  readonly threads: readonly WorkerThread[]
  /** What was done: `'killed'`, or why the kill failed (the IPC channel is closed either way). */
  readonly stopped: string
}

export interface WorkerForkHandle extends EventEmitter {
  /** `'primary'`: this handle hooks cluster.fork(). `'worker'`: this process is a worker. */
  readonly role: 'primary' | 'worker'
  readonly profile: string
  readonly options: ResolvedWorkerForkOptions
  /** In a worker forked under onWorkerFork(): what its own check found. */
  readonly self: WorkerSelfCheck | undefined
  /** True while cluster.fork() is hooked by this handle. */
  readonly active: boolean
  /**
   * Stops confining new forks (cluster.fork() is put back when nothing wrapped it since).
   * Workers forked before keep being checked until they confirm or are stopped.
   */
  dispose(): void
  on(event: 'confirmed', listener: (worker: Worker, confirmation: WorkerConfirmation) => void): this
  on(event: 'rejected', listener: (worker: Worker, error: AppArmorError) => void): this
  once(event: 'confirmed', listener: (worker: Worker, confirmation: WorkerConfirmation) => void): this
  once(event: 'rejected', listener: (worker: Worker, error: AppArmorError) => void): this
}

// Kept on the cluster object, so two copies of this package share one registration.
export const REGISTRATION = Symbol.for('apparmor-monkeys.cluster.registration')

export interface Registration {
  readonly handle: Handle
  readonly cluster: Cluster
  readonly original: Cluster['fork']
  readonly wrapper: Cluster['fork']
  active: boolean
}

export type ClusterWithRegistration = Cluster & { [REGISTRATION]?: Registration }

export class Handle extends EventEmitter implements WorkerForkHandle {
  readonly role: 'primary' | 'worker'
  readonly profile: string
  readonly options: ResolvedWorkerForkOptions
  readonly self: WorkerSelfCheck | undefined
  #registration: Registration | undefined

  constructor(role: 'primary' | 'worker', profile: string, options: ResolvedWorkerForkOptions, self?: WorkerSelfCheck) {
    super()
    this.role = role
    this.profile = profile
    this.options = options
    this.self = self
  }

  attach(registration: Registration): void {
    this.#registration = registration
  }

  get active(): boolean {
    return this.#registration?.active === true
  }

  dispose(): void {
    const reg = this.#registration
    if (!reg || !reg.active) return
    reg.active = false
    const c = reg.cluster as ClusterWithRegistration
    if (c[REGISTRATION] === reg) delete c[REGISTRATION]
    // Put the original back only if nobody wrapped cluster.fork after us; otherwise our
    // wrapper stays in their chain and passes calls through (reg.active is false).
    if (c.fork === reg.wrapper) {
      c.fork = reg.original
      syncBuiltinESMExports()
    }
  }
}

/** The handle a worker gets: nothing is hooked. */
export function workerHandle(profile: string, o: ResolvedWorkerForkOptions, self: WorkerSelfCheck | undefined): WorkerForkHandle {
  return new Handle('worker', profile, o, self)
}
