/**
 * The options of runVm, typed and defaulted here and nowhere else (environment overrides
 * included). Nothing happens on import.
 */
import * as path from 'node:path'
import { VmError, VmErrorCodes } from './errors'

export type ProfileMode = 'enforce' | 'complain'

/** A profile source file; a plain string is loaded in enforce mode. */
export type VmProfile = string | { path: string; mode?: ProfileMode }

export interface VmStep {
  name: string
  argv: string[]
  /** Added to the base environment (PATH with node's directory first, HOME=/root, LANG=C.UTF-8, AAM_VM_OUT). */
  env?: Record<string, string>
  /** Absolute guest path; default: the directory runVm was called from (shared at its own path). */
  cwd?: string
  /**
   * SIGKILL after this many seconds (default 120, `AAM_VM_STEP_TIMEOUT_SEC`; a background step
   * has no limit of its own by default: the end of the run stops it).
   */
  timeoutSec?: number
  /** Run as this user id (default 0, root). */
  uid?: number
  /** Run as this group id (default: `uid`'s value when `uid` is set, else 0). */
  gid?: number
  /**
   * Start it and go on with the next step at once; it runs until it exits, its `timeoutSec`
   * passes (SIGKILL), or the last step is done (SIGTERM to its process group, SIGKILL 2 s later).
   */
  background?: boolean
}

export interface VmRunOptions {
  /** AppArmor profile files, compiled on the host and loaded before the first step. */
  profiles?: VmProfile[]
  steps: VmStep[]
  /** Host directories mounted read-only at their own absolute path in the guest. */
  shares?: string[]
  /** Host directories made writable at their own path in the guest (overlayfs, tmpfs upper): writes never reach the host. */
  overlays?: string[]
  /** The host directory the guest's `$AAM_VM_OUT` writes to (created if missing, kept). Default: a temporary one. */
  outDir?: string
  /** Guest memory (default 768). */
  memMiB?: number
  /** Guest CPUs (default 1: faster than 2 under TCG on a 2-core host). */
  smp?: number
  /** Wall-clock limit of the whole run (default 60 s + the foreground steps' timeouts; `AAM_VM_TIMEOUT_MS`). */
  timeoutMs?: number
  /** Keep the run's working directory and out dir (default false; `AAM_VM_KEEP=1`). */
  keepOut?: boolean
}

/** Every default, resolved when a run starts (env overrides included). */
export function defaults(env: NodeJS.ProcessEnv = process.env) {
  const num = (name: string, fallback: number): number => {
    const v = env[name]
    if (v === undefined || v === '') return fallback
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new VmError(VmErrorCodes.OPTIONS, `${name} must be a positive number, got ${JSON.stringify(v)}`, { operation: 'runVm' })
    return n
  }
  return {
    memMiB: 768,
    smp: 1,
    stepTimeoutSec: num('AAM_VM_STEP_TIMEOUT_SEC', 120),
    /** Allowance for boot, profile load and shutdown on top of the steps' own timeouts. */
    bootAllowanceMs: 60_000,
    /** Overrides the computed wall-clock limit of a run when set. */
    timeoutMs: env['AAM_VM_TIMEOUT_MS'] === undefined ? undefined : num('AAM_VM_TIMEOUT_MS', 1),
    keepOut: env['AAM_VM_KEEP'] === '1',
    /** At most this many 9p shares plus overlays (PCI slots). */
    maxMounts: 20,
  }
}

/** A step as written to the guest's manifest (guest.cjs reads these fields). */
export interface ResolvedStep {
  name: string
  argv: string[]
  /** null: no limit of its own (a background step by default). */
  timeoutSec: number | null
  env?: Record<string, string>
  cwd: string
  uid?: number
  gid?: number
  background: boolean
}

export interface ResolvedOptions {
  profiles: { path: string; mode: ProfileMode }[]
  steps: ResolvedStep[]
  shares: string[]
  overlays: string[]
  outDir: string | undefined
  memMiB: number
  smp: number
  timeoutMs: number
  keepOut: boolean
}

function fail(message: string): never {
  throw new VmError(VmErrorCodes.OPTIONS, `runVm: ${message}`, { operation: 'runVm' })
}

/** Absolute host directories, each usable in a qemu option and a mount option. */
function dirs(list: unknown, what: string): string[] {
  if (list === undefined) return []
  if (!Array.isArray(list)) fail(`${what} must be an array of directories`)
  return list.map((d: unknown, i) => {
    if (typeof d !== 'string' || d === '') fail(`${what}[${i}] must be a non-empty string`)
    const abs = path.resolve(d)
    if (/[\s,:\\]/.test(abs) || abs === '/') fail(`${what}[${i}] cannot be shared: ${JSON.stringify(abs)} (no '/', whitespace, ',', ':' or '\\')`)
    return abs
  })
}

const isId = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32 - 1

export function resolveOptions(opts: VmRunOptions, cwd: string = process.cwd()): ResolvedOptions {
  if (typeof opts !== 'object' || opts === null) fail('options must be an object')
  const d = defaults()
  if (!Array.isArray(opts.steps)) fail('steps must be an array')
  const steps = opts.steps.map((s, i): ResolvedStep => {
    if (typeof s !== 'object' || s === null) fail(`steps[${i}] must be an object`)
    if (typeof s.name !== 'string' || s.name === '') fail(`steps[${i}].name must be a non-empty string`)
    if (!Array.isArray(s.argv) || s.argv.length === 0 || !s.argv.every((a) => typeof a === 'string')) {
      fail(`steps[${i}].argv must be a non-empty string array`)
    }
    const timeoutSec = s.timeoutSec ?? (s.background === true ? null : d.stepTimeoutSec)
    if (timeoutSec !== null && (typeof timeoutSec !== 'number' || !(timeoutSec > 0))) fail(`steps[${i}].timeoutSec must be positive`)
    if (s.cwd !== undefined && (typeof s.cwd !== 'string' || !path.isAbsolute(s.cwd))) fail(`steps[${i}].cwd must be absolute`)
    if (s.env !== undefined && (typeof s.env !== 'object' || s.env === null || !Object.values(s.env).every((v) => typeof v === 'string'))) {
      fail(`steps[${i}].env must map names to strings`)
    }
    if (s.uid !== undefined && !isId(s.uid)) fail(`steps[${i}].uid must be a non-negative integer`)
    if (s.gid !== undefined && !isId(s.gid)) fail(`steps[${i}].gid must be a non-negative integer`)
    const gid = s.gid ?? s.uid
    return {
      name: s.name,
      argv: [...s.argv],
      timeoutSec,
      ...(s.env ? { env: { ...s.env } } : {}),
      cwd: s.cwd ?? cwd,
      ...(s.uid !== undefined ? { uid: s.uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
      background: s.background === true,
    }
  })
  const memMiB = opts.memMiB ?? d.memMiB
  const smp = opts.smp ?? d.smp
  if (!Number.isInteger(memMiB) || memMiB < 256) fail('memMiB must be an integer >= 256')
  if (!Number.isInteger(smp) || smp < 1) fail('smp must be a positive integer')
  const stepBudgetMs = steps.reduce((sum, s) => sum + (s.background || s.timeoutSec === null ? 0 : s.timeoutSec * 1000), 0)
  const timeoutMs = opts.timeoutMs ?? d.timeoutMs ?? d.bootAllowanceMs + stepBudgetMs
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) fail('timeoutMs must be positive')
  const profiles = (opts.profiles ?? []).map((p, i) => {
    const entry = typeof p === 'string' ? { path: p } : p
    if (typeof entry !== 'object' || entry === null || typeof entry.path !== 'string' || entry.path === '') fail(`profiles[${i}] must be a file or { path, mode }`)
    const mode = entry.mode ?? 'enforce'
    if (mode !== 'enforce' && mode !== 'complain') fail(`profiles[${i}].mode must be 'enforce' or 'complain'`)
    return { path: path.resolve(entry.path), mode }
  })
  const shares = dirs(opts.shares, 'shares')
  const overlays = dirs(opts.overlays, 'overlays')
  if (shares.length + overlays.length > d.maxMounts) fail(`at most ${d.maxMounts} shares and overlays together`)
  if (opts.outDir !== undefined) dirs([opts.outDir], 'outDir')
  return {
    profiles,
    steps,
    shares,
    overlays,
    outDir: opts.outDir === undefined ? undefined : path.resolve(opts.outDir),
    memMiB,
    smp,
    timeoutMs,
    keepOut: opts.keepOut ?? d.keepOut,
  }
}
