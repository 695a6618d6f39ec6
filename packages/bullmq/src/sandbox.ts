import * as fs from 'node:fs'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
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
 * Each child also loads a small preload (processor-check.ts, `--import` in its execArgv) that verifies, before BullMQ's
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

/**
 * The execArgv BullMQ would give the child when the user gives none: the worker's own
 * execArgv, where BullMQ replaces each `--inspect*` flag by one on a free port (an async
 * search this synchronous option cannot make): those flags are left out instead, so a child
 * never competes for the worker's debugger port.
 */
function defaultExecArgv(): string[] {
  return process.execArgv.filter((arg) => !arg.includes('--inspect'))
}

/**
 * BullMQ's workerForkOptions with the child check added, merged with the user's (never
 * replaced): the user's execArgv (or, without one, what BullMQ would pass) followed by
 * `--import <check>`, and the user's env (or the worker's environment at fork time, what
 * fork uses without `env`) plus the check variable.
 *
 * Why execArgv and not NODE_OPTIONS: a child exec'd from a CONFINED worker into another
 * profile gets AT_SECURE from AppArmor (secure exec, as for setuid), and node then ignores
 * NODE_OPTIONS entirely (measured in the VM: AT_SECURE=1, the NODE_OPTIONS preload did not
 * run); command-line flags are unaffected. `--import`, not `--require`: a `--require` preload
 * makes node read the package.json of the child's working directory (and of each directory
 * above it until one exists) to try a self-reference, which the processor profile would have
 * to allow; an `--import` of a file URL reads only the check's own package scope. Both run
 * before the main module. `env` is a getter: BullMQ's Object.assign reads it at each fork.
 */
export function mergeForkOptions(user: ForkOptions | undefined, profile: string): ForkOptions {
  const check: ProcessorCheck = { profile, ipc: user?.serialization === 'advanced' ? 'advanced' : 'json' }
  const merged: ForkOptions = { ...user, execArgv: [...(user?.execArgv ?? defaultExecArgv()), '--import', pathToFileURL(checkPreloadPath()).href] }
  Object.defineProperty(merged, 'env', {
    enumerable: true,
    configurable: true,
    get(): NodeJS.ProcessEnv {
      return { ...(user?.env ?? process.env), [CHECK_ENV]: JSON.stringify(check) }
    },
  })
  return merged
}
