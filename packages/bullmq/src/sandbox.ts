import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ForkOptions } from 'node:child_process'
import { AppArmorError, ErrorCodes } from '@apparmor-monkeys/core'
import type { ConfineRule } from './interception'

/**
 * Sandboxed processors. BullMQ forks `<bullmq>/dist/{cjs,esm}/classes/main.js` for each child
 * (Child.init: `fork(mainFile, [], { execArgv, stdio: 'pipe', ...workerForkOptions })`) after
 * an `await`, so no synchronous onexec window around a BullMQ call can cover the fork. The
 * confinement is applied by core's exec interception instead, at the native spawn call, for
 * every spawn whose command line holds that exact file (a confine rule).
 *
 * Each child also loads a small preload (processor-check.ts) that verifies, before BullMQ's
 * child code runs, that every thread of the child is in the processor profile, and refuses to
 * start otherwise (fail closed even if the interception was replaced after this adapter set it up).
 */

/** The environment variable that tells the child preload what to verify (JSON: ProcessorCheck). */
export const CHECK_ENV = 'APPARMOR_BULLMQ_PROCESSOR'

export interface ProcessorCheck {
  /** The profile every thread of the child must be in. */
  readonly profile: string
  /** The IPC serialization BullMQ's channel uses: the preload reports a refusal over it only when 'json'. */
  readonly ipc: 'json' | 'advanced'
  /** The exact NODE_OPTIONS fragment the parent appended (removed again by the preload, so grandchildren do not inherit it). */
  readonly nodeOption: string
}

/** The preload's compiled file (next to this one). */
export function checkPreloadPath(): string {
  return path.join(__dirname, 'processor-check.js')
}

/**
 * The file BullMQ forks for this Worker's sandboxed processors, as BullMQ itself resolved it
 * (the Worker constructor stats it and stores it on its child pool; BullMQ 5 and 6 alike).
 */
export function sandboxMainFile(worker: object): string {
  const pool = (worker as { childPool?: { opts?: { mainFile?: unknown } } }).childPool
  const mainFile = pool?.opts?.mainFile
  if (typeof mainFile !== 'string' || !path.isAbsolute(mainFile) || !fs.statSync(mainFile, { throwIfNoEntry: false })?.isFile()) {
    throw new AppArmorError(
      ErrorCodes.UNSUPPORTED,
      "startConfinedWorker: this BullMQ version does not expose the sandbox's child entry file (Worker#childPool.opts.mainFile); " +
        'processor children cannot be confined. Supported: bullmq 5 and 6',
      { operation: 'startConfinedWorker' },
    )
  }
  return mainFile
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/

/** How the interception shows one argv word in a command line (POSIX sh quoting, as core's policy does). */
function shellWord(word: string): string {
  return SAFE_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/**
 * The confine rule "a process started with `mainFile` as one of its words starts in
 * `profile`". Matched against the command line core's interception builds from the argv
 * (`<node> <execArgv…> <mainFile>` for BullMQ's fork): the file must be a whole word.
 */
export function processorConfineRule(mainFile: string, profile: string): ConfineRule {
  return Object.freeze({ match: new RegExp(`(?:^| )${escapeRegExp(shellWord(mainFile))}(?: |$)`), profile })
}

/** `--require <file>` as a NODE_OPTIONS fragment (Node's NODE_OPTIONS parser honours double quotes and backslashes). */
function requireOption(file: string): string {
  return /[\s"\\]/.test(file) ? `--require "${file.replace(/(["\\])/g, '\\$1')}"` : `--require ${file}`
}

/**
 * BullMQ's workerForkOptions with the child preload added, merged with the user's (never
 * replaced): BullMQ spreads these options over its own, so setting `execArgv` would drop the
 * execArgv BullMQ computes; the preload therefore travels in the environment. `env` is a
 * getter, read by BullMQ's Object.assign at each fork: the child gets the user's `env` if one
 * was given, else the worker's environment at that moment (what fork does without `env`),
 * plus NODE_OPTIONS (the user's value first) and the check variable.
 */
export function mergeForkOptions(user: ForkOptions | undefined, profile: string): ForkOptions {
  const nodeOption = requireOption(checkPreloadPath())
  const check: ProcessorCheck = { profile, ipc: user?.serialization === 'advanced' ? 'advanced' : 'json', nodeOption }
  const merged: ForkOptions = { ...user }
  Object.defineProperty(merged, 'env', {
    enumerable: true,
    configurable: true,
    get(): NodeJS.ProcessEnv {
      const base = user?.env ?? process.env
      const previous = base['NODE_OPTIONS']
      return {
        ...base,
        NODE_OPTIONS: previous ? `${previous} ${nodeOption}` : nodeOption,
        [CHECK_ENV]: JSON.stringify(check),
      }
    },
  })
  return merged
}
