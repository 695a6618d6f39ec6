import type * as Util from 'node:util'
import type * as Os from 'node:os'
import type { EmulationResult } from '@apparmor-monkeys/emulator'
import { type EnvObject, type SpawnCall, idsOf, stdoutIsTTY } from './call'
import type { Engine } from './engine'
import type { Verdict } from './policy'
import { type RawSyncResult, type SyncSpawnOptions, type SyncStdio, deniedSyncResult, emulatedSyncResult, syncEmulability } from './sync'

/**
 * The API layer of the synchronous calls: `spawnSync`, `execSync` and `execFileSync` of the
 * `child_process` exports are replaced.
 *
 * - With the binding layer active, this is the fast path: Node's own normalization copies the
 *   whole of process.env into `KEY=value` pairs at every call (tens of µs), which an emulated
 *   answer does not need. The decision is made here; calls that pass through or are confined
 *   run the original function with the original arguments, and the binding hook applies the
 *   verdict already made (confinement still wraps exactly the native call). References taken
 *   before install still reach the binding hook.
 * - Without it (Node's permission model), this layer is the only sync one: confinement then
 *   wraps the original call, and references taken before install are not covered.
 *
 * For `deny` and `emulate`, this module rebuilds what Node's own code builds from the
 * binding's raw result (the post-processing of internal spawnSync and checkExecSyncError),
 * from the same raw result the binding hook returns. A call whose arguments Node would reject
 * (or that this module does not model) runs the original function untouched.
 */

type SpawnSyncFn = (file: string, args?: readonly string[], options?: object) => unknown
type ExecSyncFn = (command: string, options?: object) => unknown
type ExecFileSyncFn = (file: string, args?: readonly string[], options?: object) => unknown

export interface SyncExports {
  spawnSync: SpawnSyncFn
  execSync: ExecSyncFn
  execFileSync: ExecFileSyncFn
}

/**
 * Runs the original function for a verdict made by this layer: passthrough and confine always,
 * deny only where `handsDownDeny` is true (the binding hook then answers the native call).
 */
export type RunDecided = <T>(verdict: Verdict, run: () => T) => T

/** How this layer sits: on top of the binding hook, or alone (Node's permission model). */
export interface ApiLayerMode {
  readonly runDecided: RunDecided
  /**
   * True when a deny verdict can be handed to the binding hook: Node's own code then builds
   * the error, which is exact on every line by construction. False when this layer is alone,
   * and rebuilds it (see `nullOutput`).
   */
  readonly handsDownDeny: boolean
}

type Opts = Record<string, unknown>

interface Normalized {
  readonly options: SyncSpawnOptions
  readonly env: EnvObject
  readonly encoding: string | undefined
  /** `options.stdio` was truthy (execSync/execFileSync then do not copy stderr to ours). */
  readonly stdioGiven: boolean
}

// node:os and node:util are required when first needed (a killSignal given, a failed spawn):
// an answered first exec needs neither, and each builtin a process first requires costs it ~0.5 ms.
const signals = (): typeof Os.constants.signals => (require('node:os') as typeof Os).constants.signals
const errnoException = (err: number, syscall: string): NodeJS.ErrnoException =>
  (require('node:util') as unknown as { _errnoException: (err: number, syscall: string) => NodeJS.ErrnoException })._errnoException(err, syscall)

const hasNul = (s: string): boolean => s.includes('\0')
const isNullish = (v: unknown): v is null | undefined => v === undefined || v === null
const isInt32 = (v: unknown): boolean => typeof v === 'number' && v === (v | 0)
const optionalBoolean = (v: unknown): boolean => isNullish(v) || typeof v === 'boolean'
const optionalString = (v: unknown): boolean => isNullish(v) || (typeof v === 'string' && !hasNul(v))
const validSignal = (v: unknown): boolean =>
  isNullish(v) || (typeof v === 'string' && Object.hasOwn(signals(), v)) || (typeof v === 'number' && Object.values(signals()).includes(v))

/**
 * An options object read here exactly as Node reads it: undefined, or a plain object (its
 * prototype Object.prototype or null) of data properties. Node works from a spread copy (own
 * properties only, each getter run once); an inherited option or a getter would be read
 * differently here, or twice, so such calls go to Node's original untouched.
 */
function isPlainOptions(value: unknown): value is Opts | undefined {
  if (value === undefined) return true
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  const descriptors = Object.getOwnPropertyDescriptors(value)
  for (const key in descriptors) if (!('value' in descriptors[key]!)) return false
  return true
}

function stdioEntries(stdio: unknown, input: Buffer | undefined): SyncStdio[] | null {
  const list: unknown[] = isNullish(stdio) ? ['pipe', 'pipe', 'pipe'] : typeof stdio === 'string' ? [stdio, stdio, stdio] : Array.isArray(stdio) ? [...stdio] : []
  if (list.length === 0) return null
  while (list.length < 3) list.push(undefined)
  const out: SyncStdio[] = []
  for (let i = 0; i < list.length; i++) {
    let s = list[i]
    if (isNullish(s)) s = i < 3 ? 'pipe' : 'ignore'
    if (s === 'pipe') out.push(i === 0 && input !== undefined ? { type: 'pipe', readable: true, writable: false, input } : { type: 'pipe', readable: i === 0, writable: i !== 0 })
    else if (s === 'ignore') out.push({ type: 'ignore' })
    else if (s === 'inherit') out.push({ type: 'inherit', fd: i })
    else if (typeof s === 'number') out.push({ type: 'fd', fd: s })
    else if (typeof s === 'object' && s !== null && typeof (s as { fd?: unknown }).fd === 'number') out.push({ type: 'fd', fd: (s as { fd: number }).fd })
    else return null
  }
  return out
}

/**
 * spawnSync's normalization (normalizeSpawnArguments and the sync options) for the calls Node
 * accepts; null for anything it would reject or that is not modelled here.
 */
function normalize(file: unknown, args: unknown, rawOptions: unknown): Normalized | null {
  if (typeof file !== 'string' || file.length === 0 || hasNul(file)) return null
  let list: string[]
  let options: unknown
  if (Array.isArray(args)) {
    if (!args.every((a) => typeof a === 'string' && !hasNul(a))) return null
    list = [...(args as string[])]
    options = rawOptions
  } else if (isNullish(args)) {
    list = []
    options = rawOptions
  } else if (typeof args === 'object') {
    list = []
    options = args
  } else return null
  if (!isPlainOptions(options)) return null
  const o: Opts = options ?? {}
  const { shell, argv0, cwd, env, input: rawInput, maxBuffer, timeout } = o
  if (!isNullish(shell) && typeof shell !== 'boolean' && (typeof shell !== 'string' || hasNul(shell))) return null
  if (!optionalString(argv0) || !optionalString(cwd) || !optionalBoolean(o['detached'])) return null
  if (!optionalBoolean(o['windowsHide']) || !optionalBoolean(o['windowsVerbatimArguments'])) return null
  if ((!isNullish(o['uid']) && !isInt32(o['uid'])) || (!isNullish(o['gid']) && !isInt32(o['gid']))) return null
  if (!isNullish(timeout) && !(Number.isInteger(timeout) && (timeout as number) >= 0)) return null
  if (!isNullish(maxBuffer) && !(typeof maxBuffer === 'number' && maxBuffer >= 0)) return null
  if (!validSignal(o['killSignal'])) return null
  if (env && typeof env !== 'object') return null
  let exe = file
  if (shell) {
    const command = [file, ...list].join(' ')
    exe = typeof shell === 'string' ? shell : '/bin/sh'
    list = ['-c', command]
  }
  // Node converts the output when `encoding` is truthy and not 'buffer' (an unknown one throws
  // after the child ran): only the encodings Buffer knows are modelled.
  const rawEncoding = o['encoding']
  if (rawEncoding && rawEncoding !== 'buffer' && !(typeof rawEncoding === 'string' && Buffer.isEncoding(rawEncoding))) return null
  if (rawEncoding === 'buffer' && typeof rawInput === 'string') return null
  const encoding = rawEncoding && rawEncoding !== 'buffer' ? (rawEncoding as string) : undefined
  let input: Buffer | undefined
  if (typeof rawInput === 'string') input = Buffer.from(rawInput, (encoding ?? 'utf8') as BufferEncoding)
  else if (ArrayBuffer.isView(rawInput)) input = Buffer.from(rawInput.buffer, rawInput.byteOffset, rawInput.byteLength)
  else if (!isNullish(rawInput)) return null
  const stdio = stdioEntries(o['stdio'], input)
  if (stdio === null) return null
  const childEnvObject = (env || process.env) as EnvObject
  if (childEnvObject !== process.env) {
    for (const key in childEnvObject) {
      const value = childEnvObject[key]
      // Node builds `${key}=${value}`, which throws for a Symbol.
      if (hasNul(key) || typeof value === 'symbol' || (value !== undefined && hasNul(String(value)))) return null
    }
  }
  return {
    options: {
      file: exe,
      args: [typeof argv0 === 'string' ? argv0 : exe, ...list],
      ...(typeof cwd === 'string' ? { cwd } : {}),
      stdio,
      ...(o['detached'] === true ? { detached: true } : {}),
      ...(typeof o['uid'] === 'number' ? { uid: o['uid'] as number } : {}),
      ...(typeof o['gid'] === 'number' ? { gid: o['gid'] as number } : {}),
      maxBuffer: typeof maxBuffer === 'number' ? maxBuffer : 1024 * 1024,
    },
    env: childEnvObject,
    encoding,
    stdioGiven: Boolean(o['stdio']),
  }
}

function apiCall(n: Normalized): SpawnCall {
  return { api: 'spawnSync', file: n.options.file, argv: n.options.args, env: n.env, cwd: n.options.cwd, stdoutIsTTY: stdoutIsTTY(n.options.stdio[1]), ...idsOf(n.options) }
}

let nullOutputSeen: { value: null | undefined } | undefined

/**
 * What internal spawnSync sets `stdout`/`stderr` to when the binding returned no output (a
 * spawn that failed): `null` on some lines, `undefined` on others. Observed once, from Node
 * itself: a spawnSync of a path that does not exist (it forks, and the exec fails with
 * ENOENT, which the kernel answers before any LSM hook, so no audit record). Only needed
 * where this layer is alone and denies a call, which is rare.
 */
function nullOutput(original: SyncExports): null | undefined {
  if (nullOutputSeen === undefined) {
    const r = original.spawnSync('/nonexistent/apparmor-monkeys-probe', [], { stdio: 'ignore' }) as { stdout?: null }
    nullOutputSeen = { value: r.stdout === null ? null : undefined }
  }
  return nullOutputSeen.value
}

/** What internal spawnSync builds from the raw result. */
function finish(raw: RawSyncResult, n: Normalized, original: SyncExports): Record<string, unknown> {
  const result: Record<string, unknown> = { ...raw }
  const encoding = n.encoding
  const output = raw.output === null ? null : raw.output.map((b) => (b !== null && encoding !== undefined && encoding !== 'buffer' ? b.toString(encoding as BufferEncoding) : b))
  result['output'] = output
  result['stdout'] = output === null ? nullOutput(original) : output[1]
  result['stderr'] = output === null ? nullOutput(original) : output[2]
  if (raw.error !== undefined) {
    const err = errnoException(raw.error, `spawnSync ${n.options.file}`) as NodeJS.ErrnoException & { spawnargs?: string[] }
    err.path = n.options.file
    err.spawnargs = n.options.args.slice(1)
    result['error'] = err
  }
  return result
}

/**
 * execSync/execFileSync copy the child's stderr to ours when `stdio` is not given. Node writes
 * even an empty Buffer (a zero-byte write(2) on fd 2: ~4 µs, an eighth of an emulated call);
 * an emulated answer with no stderr skips it, which writes the same bytes: none.
 */
function copyStderr(ret: Record<string, unknown>, n: Normalized): void {
  const stderr = ret['stderr'] as Buffer | string | null
  if (!n.stdioGiven && stderr && stderr.length > 0) process.stderr.write(stderr)
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

/** The raw result of an emulate verdict (or a deny this layer answers); otherwise the value of the original call. */
function decideRaw(engine: Engine, n: Normalized, run: () => unknown, mode: ApiLayerMode): { raw: RawSyncResult } | { value: unknown } {
  const verdict = engine.decide(apiCall(n), syncEmulability(n.options))
  if (verdict.decision === 'emulate') return { raw: emulatedSyncResult(n.options, verdict.result as EmulationResult) }
  if (verdict.decision === 'deny' && !mode.handsDownDeny) return { raw: deniedSyncResult() }
  return { value: mode.runDecided(verdict, run) }
}

/** The replacements for the three exports, bound to the originals and the current engine. */
export function syncApiReplacements(original: SyncExports, currentEngine: () => Engine | null, mode: ApiLayerMode): SyncExports {
  return {
    spawnSync: function spawnSync(this: unknown, ...callArgs: unknown[]) {
      const engine = currentEngine()
      const run = (): unknown => Reflect.apply(original.spawnSync, this, callArgs)
      const n = engine === null ? null : normalize(callArgs[0], callArgs[1], callArgs[2])
      if (engine === null || n === null) return run()
      const d = decideRaw(engine, n, run, mode)
      return 'value' in d ? d.value : finish(d.raw, n, original)
    } as SpawnSyncFn,

    execSync: function execSync(this: unknown, ...callArgs: unknown[]) {
      const engine = currentEngine()
      const run = (): unknown => Reflect.apply(original.execSync, this, callArgs)
      const [command, options] = callArgs
      if (engine === null || typeof command !== 'string' || !isPlainOptions(options)) return run()
      // normalizeExecArgs: a copy of the options with shell defaulting to true.
      const shell = options?.['shell']
      const n = normalize(command, undefined, { ...options, shell: typeof shell === 'string' ? shell : true })
      if (n === null) return run()
      const d = decideRaw(engine, n, run, mode)
      if ('value' in d) return d.value
      const ret = finish(d.raw, n, original)
      copyStderr(ret, n)
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
      else if (isNullish(args)) [userArgs, opts] = [[], options]
      else if (typeof args === 'object') [userArgs, opts] = [[], args]
      else return run()
      if (!isPlainOptions(opts)) return run()
      const n = normalize(file, userArgs, opts)
      if (n === null) return run()
      const d = decideRaw(engine, n, run, mode)
      if ('value' in d) return d.value
      const ret = finish(d.raw, n, original)
      copyStderr(ret, n)
      const argv0 = opts?.['argv0']
      const errArgs = [typeof argv0 === 'string' && argv0 ? argv0 : file, ...(userArgs as string[])]
      const err = execSyncError(ret, errArgs, undefined)
      if (err) throw err
      return ret['stdout']
    } as ExecFileSyncFn,
  }
}
