/**
 * The emulator's one entry: answer a `/bin/sh -c` line or a direct exec in process, byte for
 * byte as the real run would, or return null (then the real command runs).
 */
import type { EmulatedCommand, EmulationRequest, EmulationResult } from './types'
import * as fs from 'node:fs'
import { commandRegistry, dispatch } from './commands'
import { PRELOAD_FILE, loaderVarsSet } from './commands/info/env-guard'
import { EXECVP_DEFAULT_PATH, isSystemBinary, lookupCommand } from './resolve'
import type { List } from './shell/ast'
import { Unsupported } from './shell/bail'
import { utf8ToBytes } from './shell/bytes'
import { parseScript } from './shell/parse'
import { runScript } from './shell/run'

export type { ChildContext, CommandIO, EmulatedCommand, EmulationRequest, EmulationResult } from './types'

/** How many parsed scripts are kept (least recently used go first). */
const SCRIPT_CACHE_SIZE = 512
/** Scripts longer than this are parsed every time rather than cached. */
const SCRIPT_CACHE_MAX_LENGTH = 8192

/** Parse results by script text; `null` records a script outside the supported subset. */
const scripts = new Map<string, List | null>()

function parsed(script: string): List | null {
  const hit = scripts.get(script)
  if (hit !== undefined) {
    scripts.delete(script)
    scripts.set(script, hit)
    return hit
  }
  let list: List | null
  try {
    list = parseScript(utf8ToBytes(script))
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e
    list = null
  }
  if (script.length <= SCRIPT_CACHE_MAX_LENGTH) {
    if (scripts.size >= SCRIPT_CACHE_SIZE) {
      const oldest = scripts.keys().next().value
      if (oldest !== undefined) scripts.delete(oldest)
    }
    scripts.set(script, list)
  }
  return list
}

/** True when `shell` (as the child would exec it) is dash. */
function isDash(shell: string, req: EmulationRequest): boolean {
  const { ctx } = req
  const r = lookupCommand(shell, ctx.env.PATH ?? EXECVP_DEFAULT_PATH, ctx.cwd, ctx.uid, ctx.gid)
  return r.kind === 'found' && isSystemBinary(r.real, 'dash')
}

function runShell(shell: string, script: string, req: EmulationRequest): EmulationResult | null {
  if (script.includes('\0')) return null
  if (!isDash(shell, req)) return null
  const list = parsed(script)
  if (list === null) return null
  return runScript(list, { arg0: shell, ctx: req.ctx, registry: commandRegistry, ...(req.stdoutIsTTY === undefined ? {} : { stdoutIsTTY: req.stdoutIsTTY }) })
}

function runExec(file: string, args: readonly string[], req: EmulationRequest): EmulationResult | null {
  const { ctx } = req
  // `sh -c script` as a direct exec is the same request as a shell line.
  if (args.length === 2 && args[0] === '-c') return runShell(file, args[1]!, req)
  const base = file.slice(file.lastIndexOf('/') + 1)
  const program: EmulatedCommand | undefined = commandRegistry.get(base)
  if (program === undefined) return null
  const r = lookupCommand(file, ctx.env.PATH ?? EXECVP_DEFAULT_PATH, ctx.cwd, ctx.uid, ctx.gid)
  if (r.kind !== 'found' || !isSystemBinary(r.real, program.name)) return null
  let stdinRead = false
  const result = dispatch(program, args, {
    ctx,
    ...(req.kind === 'exec' && req.argv0 !== undefined ? { argv0: req.argv0 } : {}),
    ...(req.stdoutIsTTY === undefined ? {} : { stdoutIsTTY: req.stdoutIsTTY }),
    get stdin(): Buffer {
      stdinRead = true
      return Buffer.alloc(0)
    },
  })
  // The caller's stdin is unknown here, and messages carry argv[0]: answer neither.
  if (result === null || stdinRead || (file !== program.name && result.stderr.length > 0)) return null
  return result
}

/**
 * Answers a request in process, or returns null when any part of it cannot be answered
 * byte-exactly (then the caller runs the real command). Synchronous and side-effect free.
 * An unexpected failure inside an emulated program also yields null: the real command
 * then answers, which is always correct.
 */
export function emulate(req: EmulationRequest): EmulationResult | null {
  try {
    // The loader guard, once for every path: the child's environment (again for each program
    // a shell line runs, see dispatch()), this process's own (what spawn passes on when no env
    // is given, and what a caller's env copy came from), and the system-wide preload list.
    if (loaderVarsSet(req.ctx.env) || loaderVarsSet(process.env) || fs.existsSync(PRELOAD_FILE)) return null
    if (req.kind === 'shell') return runShell(req.shell, req.script, req)
    return runExec(req.file, req.args, req)
  } catch {
    return null
  }
}
