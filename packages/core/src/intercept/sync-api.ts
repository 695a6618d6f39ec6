import * as util from 'node:util'
import type { EmulationResult } from '../emulate/types'
import type { Engine } from './engine'
import { type RawSyncResult, type SyncSpawnOptions, type SyncStdio, deniedSyncResult, emulatedSyncResult, syncCall, syncEmulability } from './sync'

/**
 * The fallback for the synchronous APIs when `process.binding` is unavailable (Node's
 * permission model): `spawnSync`, `execSync` and `execFileSync` of the `child_process`
 * exports are replaced. Calls that pass through (or are confined) run the original function
 * with the original arguments, so Node validates and reports them itself. For `deny` and
 * `emulate`, this module rebuilds what Node's own code builds from the binding's raw result
 * (the post-processing of internal spawnSync and checkExecSyncError), from the same raw
 * result the binding hook would return. Calls with arguments of unusual shapes are passed
 * through untouched. References to the three functions taken before install are not covered.
 */

type SpawnSyncFn = (file: string, args?: readonly string[], options?: object) => unknown
type ExecSyncFn = (command: string, options?: object) => unknown
type ExecFileSyncFn = (file: string, args?: readonly string[], options?: object) => unknown

export interface SyncExports {
  spawnSync: SpawnSyncFn
  execSync: ExecSyncFn
  execFileSync: ExecFileSyncFn
}

type Opts = Record<string, unknown>

interface Normalized {
  readonly options: SyncSpawnOptions
  readonly encoding: string | undefined
  /** `options.stdio` was truthy (execSync/execFileSync then do not copy stderr to ours). */
  readonly stdioGiven: boolean
  /** False when stdio holds something this module does not model: never emulated. */
  readonly stdioKnown: boolean
}

const errnoException = (util as unknown as { _errnoException: (err: number, syscall: string) => NodeJS.ErrnoException })._errnoException

function isPlainOptions(value: unknown): value is Opts | undefined {
  return value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value))
}

function stdioEntries(stdio: unknown, input: Buffer | undefined): SyncStdio[] | null {
  const list: unknown[] =
    stdio === undefined || stdio === null ? ['pipe', 'pipe', 'pipe'] : typeof stdio === 'string' ? [stdio, stdio, stdio] : Array.isArray(stdio) ? [...stdio] : []
  if (list.length === 0) return null
  while (list.length < 3) list.push(undefined)
  const out: SyncStdio[] = []
  for (let i = 0; i < list.length; i++) {
    let s = list[i]
    if (s === null || s === undefined) s = i < 3 ? 'pipe' : 'ignore'
    if (s === 'pipe' || s === 'overlapped') out.push(i === 0 && input !== undefined ? { type: 'pipe', readable: true, writable: false, input } : { type: 'pipe', readable: i === 0, writable: i !== 0 })
    else if (s === 'ignore') out.push({ type: 'ignore' })
    else if (s === 'inherit') out.push({ type: 'inherit', fd: i })
    else if (typeof s === 'number') out.push({ type: 'fd', fd: s })
    else if (typeof s === 'object' && typeof (s as { fd?: unknown }).fd === 'number') out.push({ type: 'fd', fd: (s as { fd: number }).fd })
    else return null
  }
  return out
}

/** spawnSync's normalization (normalizeSpawnArguments + the sync options), for well-formed calls. */
function normalize(file: unknown, args: unknown, rawOptions: unknown): Normalized | null {
  if (typeof file !== 'string' || file.length === 0) return null
  let list: string[]
  let options: Opts | undefined
  if (Array.isArray(args)) {
    if (!args.every((a) => typeof a === 'string')) return null
    list = [...(args as string[])]
    options = rawOptions as Opts | undefined
  } else if (args === undefined || args === null) {
    list = []
    options = rawOptions as Opts | undefined
  } else if (typeof args === 'object') {
    list = []
    options = args as Opts
  } else return null
  if (!isPlainOptions(options)) return null
  const o: Opts = options ?? {}
  let exe = file
  const shell = o['shell']
  if (shell) {
    if (typeof shell !== 'string' && shell !== true) return null
    const command = [file, ...list].join(' ')
    exe = typeof shell === 'string' ? shell : '/bin/sh'
    list = ['-c', command]
  }
  const argv0 = o['argv0']
  if (argv0 !== undefined && typeof argv0 !== 'string') return null
  const env = (o['env'] as Record<string, unknown> | undefined) || process.env
  const envPairs: string[] = []
  for (const key in env) {
    const value = env[key]
    if (value !== undefined) envPairs.push(`${key}=${String(value)}`)
  }
  const encoding = typeof o['encoding'] === 'string' ? (o['encoding'] as string) : undefined
  const rawInput = o['input']
  let input: Buffer | undefined
  if (typeof rawInput === 'string') input = Buffer.from(rawInput, (encoding ?? 'utf8') as BufferEncoding)
  else if (ArrayBuffer.isView(rawInput)) input = Buffer.from(rawInput.buffer, rawInput.byteOffset, rawInput.byteLength)
  else if (rawInput !== undefined && rawInput !== null) return null
  const stdio = stdioEntries(o['stdio'], input)
  const cwd = o['cwd']
  if (cwd !== undefined && cwd !== null && typeof cwd !== 'string') return null
  const maxBuffer = o['maxBuffer']
  const spawnOptions: SyncSpawnOptions = {
    file: exe,
    args: [typeof argv0 === 'string' ? argv0 : exe, ...list],
    envPairs,
    ...(typeof cwd === 'string' ? { cwd } : {}),
    stdio: stdio ?? [],
    ...(o['detached'] === true ? { detached: true } : {}),
    ...(typeof o['uid'] === 'number' ? { uid: o['uid'] as number } : {}),
    ...(typeof o['gid'] === 'number' ? { gid: o['gid'] as number } : {}),
    maxBuffer: typeof maxBuffer === 'number' ? maxBuffer : 1024 * 1024,
  }
  return { options: spawnOptions, encoding, stdioGiven: Boolean(o['stdio']), stdioKnown: stdio !== null }
}

/** What internal spawnSync builds from the raw result. */
function finish(raw: RawSyncResult, n: Normalized): Record<string, unknown> {
  const result: Record<string, unknown> = { ...raw }
  const encoding = n.encoding
  const output = raw.output === null ? null : raw.output.map((b) => (b !== null && encoding !== undefined && encoding !== 'buffer' ? b.toString(encoding as BufferEncoding) : b))
  result['output'] = output
  result['stdout'] = output && output[1]
  result['stderr'] = output && output[2]
  if (raw.error !== undefined) {
    const err = errnoException(raw.error, `spawnSync ${n.options.file}`) as NodeJS.ErrnoException & { spawnargs?: string[] }
    err.path = n.options.file
    err.spawnargs = n.options.args.slice(1)
    result['error'] = err
  }
  return result
}

/** What checkExecSyncError builds (the error execSync/execFileSync throw), or undefined. */
function execSyncError(ret: Record<string, unknown>, args: readonly string[] | undefined, cmd: string | undefined): Error | undefined {
  if (ret['error']) {
    const err = ret['error'] as Error
    Object.assign(err, ret)
    return err
  }
  if (ret['status'] !== 0) {
    let msg = `Command failed: ${cmd || (args ?? []).join(' ')}`
    const stderr = ret['stderr'] as Buffer | string | null
    if (stderr && stderr.length > 0) msg += `\n${stderr.toString()}`
    return Object.assign(new Error(msg), ret)
  }
  return undefined
}

/** The raw result for a deny or emulate verdict, or null when the original must run. */
function decideRaw(engine: Engine, n: Normalized, runOriginal: () => unknown): { raw: RawSyncResult } | { value: unknown } {
  const verdict = engine.decide(syncCall(n.options), n.stdioKnown && syncEmulability(n.options))
  switch (verdict.decision) {
    case 'emulate':
      return { raw: emulatedSyncResult(n.options, verdict.result as EmulationResult) }
    case 'deny':
      return { raw: deniedSyncResult() }
    case 'confine':
      return { value: engine.options.execConfiner(verdict.profile as string, runOriginal) }
    default:
      return { value: runOriginal() }
  }
}

/** The replacements for the three exports, bound to the originals and the current engine. */
export function syncApiReplacements(original: SyncExports, currentEngine: () => Engine | null): SyncExports {
  return {
    spawnSync: function spawnSync(this: unknown, ...callArgs: unknown[]) {
      const engine = currentEngine()
      const run = (): unknown => Reflect.apply(original.spawnSync, this, callArgs)
      const n = engine === null ? null : normalize(callArgs[0], callArgs[1], callArgs[2])
      if (engine === null || n === null) return run()
      const d = decideRaw(engine, n, run)
      return 'value' in d ? d.value : finish(d.raw, n)
    } as SpawnSyncFn,

    execSync: function execSync(this: unknown, ...callArgs: unknown[]) {
      const engine = currentEngine()
      const run = (): unknown => Reflect.apply(original.execSync, this, callArgs)
      const [command, options] = callArgs
      if (engine === null || typeof command !== 'string' || !isPlainOptions(options)) return run()
      const shell = options?.['shell']
      const n = normalize(command, undefined, { ...options, shell: typeof shell === 'string' ? shell : true })
      if (n === null) return run()
      const d = decideRaw(engine, n, run)
      if ('value' in d) return d.value
      const ret = finish(d.raw, n)
      if (!n.stdioGiven && ret['stderr']) process.stderr.write(ret['stderr'] as Buffer)
      const err = execSyncError(ret, undefined, command)
      if (err) throw err
      return ret['stdout']
    } as ExecSyncFn,

    execFileSync: function execFileSync(this: unknown, ...callArgs: unknown[]) {
      const engine = currentEngine()
      const run = (): unknown => Reflect.apply(original.execFileSync, this, callArgs)
      const [file, args, options] = callArgs
      if (engine === null || typeof file !== 'string') return run()
      // normalizeExecFileArgs: (file, args?, options?) with args optional.
      let userArgs: readonly unknown[]
      let opts: unknown
      if (Array.isArray(args)) [userArgs, opts] = [args, options]
      else if (args === undefined || args === null) [userArgs, opts] = [[], options]
      else if (typeof args === 'object') [userArgs, opts] = [[], args]
      else return run()
      if (!isPlainOptions(opts)) return run()
      const n = normalize(file, userArgs, opts)
      if (n === null) return run()
      const d = decideRaw(engine, n, run)
      if ('value' in d) return d.value
      const ret = finish(d.raw, n)
      if (!n.stdioGiven && ret['stderr']) process.stderr.write(ret['stderr'] as Buffer)
      const argv0 = opts?.['argv0']
      const errArgs = [typeof argv0 === 'string' && argv0 ? argv0 : file, ...(userArgs as string[])]
      const err = execSyncError(ret, errArgs, undefined)
      if (err) throw err
      return ret['stdout']
    } as ExecFileSyncFn,
  }
}
