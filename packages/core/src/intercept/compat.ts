import type { AsyncSpawnOptions, AsyncStdio, NativeAsyncSpawn, ProcessHandle } from './async'
import type { NativeSyncSpawn, RawSyncResult, SyncSpawnOptions } from './sync'

/**
 * Everything the interception does differently between Node lines, in one place. Nothing
 * here reads a version string: each difference is recognised from what Node itself hands
 * over (the arguments of a native call, the bindings' exports, the flags Node accepts).
 *
 * - The async native call, `Process.prototype.spawn` of process_wrap: one options object
 *   (`{ file, args, cwd, envPairs, stdio, detached, uid, gid, … }`) on some lines, positional
 *   arguments `(file, args, cwd, envPairs, stdio, flags, uid, gid)` on others, with the flags
 *   as bits whose values the binding exports as `constants`. Each call is read by its own
 *   shape; the native function is only ever called again (to retire a handle) in the shape
 *   that call had, since the native side CHECKs its argument types and aborts the process on
 *   a mismatch.
 * - The sync native call, `spawn_sync.spawn`: one options object on every line so far.
 * - Anything else (another shape, a field of an unexpected type) is not understood: the call
 *   goes to Node's original untouched, so the kernel decides, and the first such call of each
 *   layer is reported once on the diagnostics channel (see `reportUnrecognised`).
 */

/** A normalized async request, and how to make native calls in the shape it came in. */
export interface AsyncRequest {
  /** The request as the decision and emulation read it; `stdio` is Node's own array. */
  readonly options: AsyncSpawnOptions
  /** Calls the native spawn with the original arguments. */
  call(native: NativeAsyncSpawn, handle: ProcessHandle): number
  /**
   * Makes the native call fail before anything is forked (an inherited fd of -1 is EINVAL in
   * libuv's stdio set-up), which leaves the handle initialized and inactive, as a failed
   * spawn does: Node's later `handle.close()` is then valid and frees it.
   */
  retire(native: NativeAsyncSpawn, handle: ProcessHandle): void
}

type Args = readonly unknown[]

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNullish = (v: unknown): v is null | undefined => v === undefined || v === null
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')
const isOptionalId = (v: unknown): v is number | null | undefined => isNullish(v) || (typeof v === 'number' && v === (v | 0))
const isStdio = (v: unknown): v is AsyncStdio[] => Array.isArray(v) && v.every((s) => isObject(s) && typeof s['type'] === 'string')
const isCwd = (v: unknown): v is string | null | undefined => isNullish(v) || typeof v === 'string'
const isEnvPairs = (v: unknown): v is string[] | undefined => v === undefined || isStringArray(v)

/** The retiring call in the options-object shape. */
const RETIRE_OPTIONS = Object.freeze({
  file: '/',
  args: Object.freeze(['/']),
  envPairs: Object.freeze([]),
  stdio: Object.freeze([Object.freeze({ type: 'fd', fd: -1 })]),
  detached: false,
  windowsHide: false,
  windowsVerbatimArguments: false,
})

const RETIRE_ARGS: Args = Object.freeze(['/', Object.freeze(['/']), undefined, Object.freeze([]), Object.freeze([Object.freeze({ type: 'fd', fd: -1 })]), 0, undefined, undefined])

function objectRequest(options: AsyncSpawnOptions): AsyncRequest {
  return {
    options,
    call: (native, handle) => Reflect.apply(native, handle, [options]) as number,
    retire: (native, handle) => {
      Reflect.apply(native, handle, [RETIRE_OPTIONS])
    },
  }
}

function positionalRequest(args: Args, bit: number | null): AsyncRequest {
  const flags = args[5] as number
  const options: AsyncSpawnOptions = {
    file: args[0] as string,
    args: args[1] as string[],
    cwd: args[2] as string | null | undefined,
    envPairs: args[3] as string[] | undefined,
    stdio: args[4] as AsyncStdio[],
    detached: bit === null ? flags !== 0 : (flags & bit) !== 0,
    ...(isNullish(args[6]) ? {} : { uid: args[6] as number }),
    ...(isNullish(args[7]) ? {} : { gid: args[7] as number }),
  }
  return {
    options,
    call: (native, handle) => Reflect.apply(native, handle, args) as number,
    retire: (native, handle) => {
      Reflect.apply(native, handle, RETIRE_ARGS)
    },
  }
}

/** The fields both native calls share in their options-object shape, each of the type Node passes. */
function isOptionsObject(o: Record<string, unknown>): boolean {
  return (
    typeof o['file'] === 'string' &&
    isStringArray(o['args']) &&
    isStdio(o['stdio']) &&
    isCwd(o['cwd']) &&
    isEnvPairs(o['envPairs']) &&
    (o['detached'] === undefined || typeof o['detached'] === 'boolean') &&
    isOptionalId(o['uid']) &&
    isOptionalId(o['gid'])
  )
}

/**
 * Reads one call of `Process.prototype.spawn`; null when its shape is not understood.
 * `detachedBit` is the binding's `constants.kProcessFlagDetached` (null when it could not be
 * read: then any flag counts as detached, which only ever makes a call not emulable).
 */
export function readAsyncCall(args: Args, detachedBit: number | null): AsyncRequest | null {
  if (args.length === 1 && isObject(args[0])) {
    return isOptionsObject(args[0]) ? objectRequest(args[0] as unknown as AsyncSpawnOptions) : null
  }
  if (
    args.length >= 6 &&
    args.length <= 8 &&
    typeof args[0] === 'string' &&
    isStringArray(args[1]) &&
    isCwd(args[2]) &&
    isEnvPairs(args[3]) &&
    isStdio(args[4]) &&
    typeof args[5] === 'number' &&
    Number.isInteger(args[5]) &&
    isOptionalId(args[6]) &&
    isOptionalId(args[7])
  ) {
    return positionalRequest(args, detachedBit)
  }
  return null
}

/** Reads one call of `spawn_sync.spawn`; null when its shape is not understood. */
export function readSyncCall(args: Args): SyncSpawnOptions | null {
  if (args.length !== 1 || !isObject(args[0])) return null
  const o = args[0]
  return isOptionsObject(o) && (o['maxBuffer'] === undefined || typeof o['maxBuffer'] === 'number') ? (o as unknown as SyncSpawnOptions) : null
}

/** Calls the native sync spawn with the original arguments. */
export function callSync(native: NativeSyncSpawn, self: unknown, args: Args): RawSyncResult {
  return Reflect.apply(native, self, args) as RawSyncResult
}

/** A short description of a call's shape (types only: never the values, which may hold secrets). */
export function describeCall(args: Args): string {
  const types = args.map((a) => (a === null ? 'null' : Array.isArray(a) ? 'array' : typeof a))
  return `${args.length} argument${args.length === 1 ? '' : 's'} (${types.join(', ')})`
}

/** Whether this process runs with --pending-deprecation (flag, NODE_OPTIONS or NODE_PENDING_DEPRECATION=1). */
export function pendingDeprecation(): boolean {
  return (
    process.execArgv.includes('--pending-deprecation') ||
    hasToken(process.env['NODE_OPTIONS'] ?? '', '--pending-deprecation') ||
    process.env['NODE_PENDING_DEPRECATION'] === '1'
  )
}

/**
 * Whether `word` occurs in `s` between whitespace (or the ends): what `/(^|\s)word(\s|$)/`
 * tests, without a regular expression (the preload runs this at every process start, and a
 * first regex run costs ~0.2 ms there).
 */
export function hasToken(s: string, word: string): boolean {
  for (let at = s.indexOf(word); at !== -1; at = s.indexOf(word, at + 1)) {
    const end = at + word.length
    if ((at === 0 || isSpace(s.charCodeAt(at - 1))) && (end === s.length || isSpace(s.charCodeAt(end)))) return true
  }
  return false
}

/** JavaScript's `\s`: WhiteSpace and LineTerminator code points. */
function isSpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  )
}

/**
 * `process.binding(name)` (deprecated, absent from @types/node). It throws ERR_ACCESS_DENIED
 * under the permission model. Under --pending-deprecation it prints DEP0111 once; with
 * --throw-deprecation as well, that warning would be thrown (asynchronously, killing the
 * process), so it is not called at all then. Callers treat a throw as "not available".
 */
export function binding(name: string): unknown {
  if (process.throwDeprecation && pendingDeprecation()) {
    throw Object.assign(new Error('--pending-deprecation with --throw-deprecation would make DEP0111 fatal'), { code: 'DEP0111' })
  }
  const bind = (process as unknown as { binding?: unknown }).binding
  if (typeof bind !== 'function') throw Object.assign(new Error('process.binding is not a function'), { code: 'ERR_NO_BINDING' })
  return Reflect.apply(bind, process, [name])
}

/** The detached bit of the positional spawn flags, from process_wrap's `constants`; null if absent. */
export function detachedFlagOf(processWrap: unknown): number | null {
  const value = (processWrap as { constants?: { kProcessFlagDetached?: unknown } } | null)?.constants?.kProcessFlagDetached
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null
}

/**
 * The flag that turns on Node's permission model on this line (`--permission`, or the older
 * `--experimental-permission`), from the flags this Node accepts; null when it has none.
 */
export function permissionFlag(): string | null {
  const flags = process.allowedNodeEnvironmentFlags
  if (flags.has('--permission')) return '--permission'
  if (flags.has('--experimental-permission')) return '--experimental-permission'
  return null
}
