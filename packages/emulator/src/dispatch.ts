/**
 * The dispatcher: answers a `/bin/sh -c` line or a direct exec in process, byte for byte as the
 * real run would, or declines with a reason (then the real command runs). The loader guard is
 * applied here once for every path; the shell reader and interpreter are loaded only for shell
 * lines, and each program only when a request names it (commands/table.ts).
 */
import type { EmulatedCommand, EmulationRequest, EmulationResult } from './types'
import { commandRegistry, dispatch } from './commands'
import { PRELOAD_FILE, loaderVarsSet, preloadListed } from './commands/info/env-guard'
import { withinExecLimits } from './exec-limits'
import { inRequest } from './request'
import { EXECVP_DEFAULT_PATH, enterableDir, isSystemBinary, lookupCommand } from './resolve'
import type { List } from './shell/ast'
import { Unsupported } from './shell/bail'

/** Why a request was not answered in process (the real command then runs). */
export interface Declined {
  readonly declined: true
  readonly reason: string
}

/** How many parsed scripts are kept (least recently used go first). */
const SCRIPT_CACHE_SIZE = 512
/** Scripts longer than this are parsed every time rather than cached. */
const SCRIPT_CACHE_MAX_LENGTH = 8192

/** Parse results by script text; an Unsupported records a script outside the supported subset. */
const scripts = new Map<string, List | Unsupported>()

/** The live system view (for the preload list), required on the first request. */
let liveView: import('./commands/info/view').SystemView | undefined

/** The interpreter, required on the first shell line (a cached require still costs a resolve per call). */
let shellRun: typeof import('./shell/run') | undefined

function declined(reason: string): Declined {
  return { declined: true, reason }
}

function parsed(script: string): List | Unsupported {
  const hit = scripts.get(script)
  if (hit !== undefined) {
    scripts.delete(script)
    scripts.set(script, hit)
    return hit
  }
  const { parseScript } = require('./shell/parse') as typeof import('./shell/parse')
  const { utf8ToBytes } = require('./bytes') as typeof import('./bytes')
  let list: List | Unsupported
  try {
    list = parseScript(utf8ToBytes(script))
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e
    list = e
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
  const r = lookupCommand(shell, ctx.env.PATH ?? EXECVP_DEFAULT_PATH, ctx.cwd, ctx)
  return r.kind === 'found' && isSystemBinary(r.real, 'dash')
}

/** Runs a `-c` script with dash; `arg0` is the shell's argv[0] (its `$0` and its messages' prefix). */
function runShell(shell: string, arg0: string, script: string, req: EmulationRequest): EmulationResult | Declined {
  if (script.includes('\0')) return declined('the script contains a NUL byte')
  if (!isDash(shell, req)) return declined(`${shell} is not the system's dash`)
  const list = parsed(script)
  if (list instanceof Unsupported) return declined(`shell: ${list.reason}`)
  shellRun ??= require('./shell/run') as typeof import('./shell/run')
  const r = shellRun.runScript(list, { arg0, ctx: req.ctx, registry: commandRegistry, ...(req.stdoutIsTTY === undefined ? {} : { stdoutIsTTY: req.stdoutIsTTY }) })
  return r instanceof Unsupported ? declined(`shell: ${r.reason}`) : r
}

function runExec(file: string, args: readonly string[], req: EmulationRequest): EmulationResult | Declined {
  const { ctx } = req
  // `sh -c script` as a direct exec is the same request as a shell line (`uniq -c FILE` is not).
  if (args.length === 2 && args[0] === '-c' && isDash(file, req)) return runShell(file, req.kind === 'exec' && req.argv0 !== undefined ? req.argv0 : file, args[1]!, req)
  const base = file.slice(file.lastIndexOf('/') + 1)
  if (!commandRegistry.has(base)) return declined(`${base}: not a program the emulator answers`)
  const r = lookupCommand(file, ctx.env.PATH ?? EXECVP_DEFAULT_PATH, ctx.cwd, ctx)
  if (r.kind !== 'found') return declined(`${file}: ${r.kind} on the child's PATH`)
  if (!isSystemBinary(r.real, base)) return declined(`${file}: resolves to ${r.real}, not the system's ${base}`)
  const program = commandRegistry.get(base) as EmulatedCommand
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
  if (result === null) return declined(`${base}: this invocation is not answered byte-exactly`)
  // The caller's stdin is unknown here, and messages carry argv[0]: answer neither.
  if (stdinRead) return declined(`${base}: reads stdin, which is not known here`)
  if (file !== program.name && result.stderr.length > 0) return declined(`${base}: a message that names argv[0] ${file}`)
  return result
}

/**
 * Answers a request in process, or declines with a reason. Synchronous and side-effect free.
 * An unexpected failure inside an emulated program is a decline too: the real command then
 * answers, which is always correct.
 */
export function answer(req: EmulationRequest): EmulationResult | Declined {
  try {
    return inRequest(() => {
      // The loader guard, once for every path: the child's environment (and each environment
      // a shell line gives a program, see dispatch()), this process's own (what spawn passes on
      // when no env is given, and what a caller's env copy came from), and the system-wide
      // preload list. Each is looked at once per request (request.ts).
      if (loaderVarsSet(req.ctx.env)) return declined("the loader guard: the child's environment sets a dynamic loader variable")
      if (loaderVarsSet(process.env)) return declined("the loader guard: this process's environment sets a dynamic loader variable")
      liveView ??= (require('./commands/info/view') as typeof import('./commands/info/view')).liveSystemView()
      if (preloadListed(liveView)) return declined(`the loader guard: ${PRELOAD_FILE} exists`)
      // A child left in a removed directory would answer otherwise (dash's "getcwd() failed",
      // globbing that sees no `.` and `..`).
      if (req.ctx.cwd[0] !== '/' || !enterableDir(req.ctx.cwd)) return declined('the working directory is not an absolute path to a directory that can be entered')
      const argv = req.kind === 'shell' ? [req.shell, '-c', req.script] : [req.argv0 ?? req.file, ...req.args]
      if (!withinExecLimits(argv, req.ctx.env)) return declined('the arguments and environment may exceed what exec accepts (E2BIG)')
      if (req.kind === 'shell') return runShell(req.shell, req.shell, req.script, req)
      return runExec(req.file, req.args, req)
    })
  } catch (e) {
    return declined(`an emulated program failed: ${e instanceof Error ? e.message : String(e)}`)
  }
}

/** `answer()` without the reason: the result, or null. */
export function emulate(req: EmulationRequest): EmulationResult | null {
  const r = answer(req)
  return 'declined' in r ? null : r
}

/** Whether `name` is in the command table (loads no program). */
export function answersFor(name: string): boolean {
  return commandRegistry.has(name)
}
