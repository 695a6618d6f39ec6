import type * as Options from '../options'
import type { CommandRule, ConfineRule, InterceptOptions, ResolvedInterceptOptions, UnknownPolicy } from '../options'
import type { NativeAsyncSpawn, ProcessHandle } from './async'
import type { Engine } from './engine'
import type { LogSink } from './log'
import type * as Runtime from './runtime'
import type { Verdict } from './policy'
import type { NativeSyncSpawn } from './sync'
import { binding, detachedFlagOf, pendingDeprecation } from './compat'
import type { ApiLayerMode, RunDecided, SyncExports } from './sync-api'

/**
 * install() / uninstall() / status(): the patches that bring every way JS starts a process
 * to one decision point (Engine.decide). Two layers:
 *
 * - sync: `process.binding('spawn_sync').spawn` (spawnSync, execSync, execFileSync, including
 *   references taken before install and ESM named imports). The spawnSync/execSync/execFileSync
 *   exports are replaced too, from the first use of child_process on (sync-api.ts: a fast path
 *   that spares emulated answers Node's copy of process.env; its verdicts are handed down to
 *   the binding hook, which still runs the native call). When process.binding throws (Node's
 *   permission model), the replaced exports are the only sync layer (installed at once, ESM
 *   named exports synced); references taken before install are then not covered, and
 *   status() says so.
 * - async: `Process.prototype.spawn` of process_wrap (spawn, exec, execFile, fork, their
 *   promisified forms, cluster). Reached through `process.binding('process_wrap')`, or,
 *   when that is unavailable, through the handle of a ChildProcess: the same native prototype.
 *
 * A programmatic install covers the current thread's JavaScript realm; each worker thread has
 * its own `child_process`, covered when the register preload runs in it (see register.ts).
 */

export interface LayerStatus {
  readonly active: boolean
  /** What is patched. */
  readonly via: string | null
  /** What the layer covers, or why it is degraded / inactive. */
  readonly detail: string
}

export interface InterceptStatus {
  readonly installed: boolean
  readonly layers: {
    readonly sync: LayerStatus
    readonly async: LayerStatus
  }
  readonly policy: {
    readonly unknown: UnknownPolicy
    readonly allow: readonly string[]
    readonly deny: readonly string[]
    readonly confine: readonly { readonly match: string; readonly profile: string }[]
    readonly emulation: boolean
    readonly log: string | null
    /** Whether the decision log records full argv (off by default: argv can hold secrets). */
    readonly logArgv: boolean
  } | null
}

export interface InterceptHandle {
  /** The options in force (validated, defaults filled in). */
  readonly options: ResolvedInterceptOptions
  /** Same as the module's uninstall(). */
  uninstall(): void
  status(): InterceptStatus
}

interface Installed {
  /** The options in force; null until first needed when install() was called without options. */
  options: ResolvedInterceptOptions | null
  /** Created on the first request. */
  engine: Engine | null
  log: { sink: LogSink; unsubscribe: () => void } | null
  readonly restore: (() => void)[]
  readonly sync: LayerStatus
  readonly async: LayerStatus
}

let installed: Installed | null = null

let runtimeModule: typeof Runtime | undefined

/** The decision machinery, loaded on first use (the preload loads only this file and compat.js). */
function runtime(): typeof Runtime {
  runtimeModule ??= require('./runtime.js') as typeof Runtime
  return runtimeModule
}

/**
 * options.ts is loaded only when options are given: a preload without any configuration
 * patches at boot and takes the defaults from the runtime at the first request.
 */
function resolveOptions(options: InterceptOptions): ResolvedInterceptOptions {
  return (require('../options') as typeof Options).resolveInterceptOptions(options)
}

function optionsOf(state: Installed): ResolvedInterceptOptions {
  // The defaults, from the runtime the first request loads anyway (options.ts is built into it).
  state.options ??= runtime().defaultInterceptOptions
  return state.options
}

/** What to do about a runtime that cannot be loaded (the warning and the refusal say it). */
const RUNTIME_FIX = "Let the process read @apparmor-monkeys/core's directory (DIR/** r)."

/** Why the runtime could not be loaded, once it failed (it is not tried again). */
let runtimeFailure: { readonly error: unknown } | null = null

/**
 * The runtime for a request, or null when it cannot be loaded (a profile that does not let the
 * process read the package's own files, a damaged install). The interception is only an
 * optimisation in front of the kernel: the request is then handed to Node's original (a
 * warning says so, once), unless children are to be confined at exec time, which cannot be
 * done without it: that request is refused (AppArmorError ERR_AA_UNAVAILABLE), as confinement
 * fails closed.
 */
function requestRuntime(state: Installed): typeof Runtime | null {
  if (runtimeFailure === null) {
    try {
      return runtime()
    } catch (error) {
      runtimeFailure = { error }
      process.emitWarning(
        `the exec interception could not load its runtime (${loadError(error)}); processes are started as without it, and the kernel decides. ${RUNTIME_FIX}`,
        { code: 'APPARMOR_MONKEYS_NO_RUNTIME' },
      )
    }
  }
  if (addedRules.length > 0 || (state.options?.confine.length ?? 0) > 0) {
    const { AppArmorError, ErrorCodes } = require('../errors') as typeof import('../errors')
    throw new AppArmorError(
      ErrorCodes.UNAVAILABLE,
      `exec interception: its runtime could not be loaded (${loadError(runtimeFailure.error)}), so no child is started: a child matching a ` +
        `confine rule would run unconfined. ${RUNTIME_FIX}`,
      { operation: 'exec', cause: runtimeFailure.error },
    )
  }
  return null
}

/** The engine the hooks consult; null when uninstalled or without a runtime (the hooks then pass everything through). */
function currentEngine(): Engine | null {
  if (installed === null) return null
  if (installed.engine !== null) return installed.engine
  const rt = requestRuntime(installed)
  if (rt === null) return null
  installed.engine = new rt.Engine(effectiveOptions(installed))
  return installed.engine
}

function loadError(err: unknown): string {
  const e = err as { message?: unknown }
  return typeof e?.message === 'string' ? e.message : String(err)
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown }
  return typeof e.code === 'string' ? e.code : String(e.message ?? err)
}

/** Puts `hook` on `target[key]`; the returned function restores the original descriptor if the hook is still there. */
function patch(target: object, key: string, hook: unknown): () => void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key) as PropertyDescriptor
  Object.defineProperty(target, key, { ...descriptor, value: hook })
  return () => {
    if (Object.getOwnPropertyDescriptor(target, key)?.value === hook) Object.defineProperty(target, key, descriptor)
  }
}

/** A verdict made by the API layer, for the binding call the original function is about to make. */
let preDecided: Verdict | null = null

/**
 * The three replaced exports, as functions that build the real ones (sync-api.ts, in the
 * runtime) at their first call: a process that requires child_process and never starts a
 * child does not load the runtime (~8 ms and ~2 MiB on the machine the benchmarks run on).
 */
function lazyReplacements(original: SyncExports, mode: ApiLayerMode): SyncExports {
  let real: SyncExports | undefined
  const get = (): SyncExports => {
    if (real !== undefined) return real
    // Without a runtime (currentEngine() then refuses or returns null), the originals serve.
    if (currentEngine() === null && runtimeFailure !== null) return original
    return (real = runtime().syncApiReplacements(original, currentEngine, mode))
  }
  return {
    spawnSync: function spawnSync(this: unknown, ...args: unknown[]) {
      return Reflect.apply(get().spawnSync, this, args)
    } as SyncExports['spawnSync'],
    execSync: function execSync(this: unknown, ...args: unknown[]) {
      return Reflect.apply(get().execSync, this, args)
    } as SyncExports['execSync'],
    execFileSync: function execFileSync(this: unknown, ...args: unknown[]) {
      return Reflect.apply(get().execFileSync, this, args)
    } as SyncExports['execFileSync'],
  }
}

function replaceSyncExports(restore: (() => void)[], mode: ApiLayerMode): void {
  const cp = require('node:child_process') as SyncExports
  const original: SyncExports = { spawnSync: cp.spawnSync, execSync: cp.execSync, execFileSync: cp.execFileSync }
  const replacements = lazyReplacements(original, mode)
  const loader = cjsLoader()
  const syncBuiltinESMExports = (): void => loader.syncBuiltinESMExports?.()
  // Undone in reverse order: the ESM named exports are synced again after the exports are back.
  restore.push(() => syncBuiltinESMExports())
  for (const key of ['spawnSync', 'execSync', 'execFileSync'] as const) restore.push(patch(cp, key, replacements[key]))
  syncBuiltinESMExports()
}

function childProcessLoaded(): boolean {
  return (process as unknown as { moduleLoadList?: string[] }).moduleLoadList?.includes('NativeModule child_process') ?? true
}

type LoadFn = (request: unknown, ...rest: unknown[]) => unknown

interface CjsLoader {
  _load: LoadFn
  syncBuiltinESMExports?: () => void
}

/**
 * The CommonJS loader (Module). `module.constructor` is the loader Node already runs; requiring
 * `node:module` instead would load that builtin (and its ESM parts) into a process that may
 * never need them. Falls back to `node:module` when the shape is not the one expected.
 */
function cjsLoader(): CjsLoader {
  const ctor = (module as unknown as { constructor?: Partial<CjsLoader> }).constructor
  if (typeof ctor?._load === 'function' && typeof ctor.syncBuiltinESMExports === 'function') return ctor as CjsLoader
  return require('node:module') as unknown as CjsLoader
}

/**
 * Runs `then` right after the first `require()` of builtin `name` (bare or `node:`) returns,
 * before the caller sees the exports: `const { execSync } = require('child_process')` then
 * takes the replaced export. Wraps Module._load until then; the wrapper leaves as soon as it
 * has fired (or at uninstall), unless something wrapped Module._load after it, in which case
 * it stays in that chain and passes calls through.
 */
function onFirstRequire(name: string, then: () => void, restore: (() => void)[]): void {
  const Module = cjsLoader()
  const original = Module._load
  let pending = true
  const unhook = (): void => {
    pending = false
    if (Module._load === hook) Module._load = original
  }
  const hook: LoadFn = function _load(this: unknown, request: unknown, ...rest: unknown[]) {
    const exports = Reflect.apply(original, this, [request, ...rest])
    if (pending && (request === name || request === `node:${name}`)) {
      unhook()
      then()
    }
    return exports
  }
  Module._load = hook
  restore.push(unhook)
}

function installSync(restore: (() => void)[]): LayerStatus {
  let spawnSync: { spawn?: unknown } | undefined
  let failure: string | undefined
  try {
    spawnSync = binding('spawn_sync') as { spawn?: unknown }
  } catch (err) {
    failure = errorCode(err)
  }
  if (spawnSync !== undefined && typeof spawnSync.spawn === 'function') {
    const native = spawnSync.spawn as NativeSyncSpawn
    // The API fast path is added when child_process is first required (loading it at boot
    // would cost the preload ~3 ms), or at its first use when that comes first (an ESM import
    // does not go through require): a call that arrives here first is decided here.
    let exportsReplaced = false
    const throughBinding: RunDecided = (verdict, run) => {
      preDecided = verdict
      try {
        return run()
      } finally {
        preDecided = null
      }
    }
    const replaceExports = (): void => {
      if (exportsReplaced) return
      exportsReplaced = true
      replaceSyncExports(restore, { runDecided: throughBinding, handsDownDeny: true })
    }
    restore.push(
      patch(spawnSync, 'spawn', function spawn(this: unknown, ...args: unknown[]) {
        const engine = currentEngine()
        if (engine === null) return Reflect.apply(native, this, args)
        const verdict = preDecided
        preDecided = null
        // A verdict the API layer made (passthrough, confine or deny: it answers emulate
        // itself) applies to exactly this native call, made with Node's own arguments.
        if (verdict !== null) return runtime().applyHandedDown(engine, verdict, () => Reflect.apply(native, this, args))
        if (!exportsReplaced) replaceExports()
        return runtime().runSync(engine, this, args, native)
      }),
    )
    if (childProcessLoaded()) replaceExports()
    else onFirstRequire('child_process', replaceExports, restore)
    return {
      active: true,
      via: "process.binding('spawn_sync').spawn, and the child_process spawnSync/execSync/execFileSync exports",
      detail:
        'spawnSync, execSync, execFileSync, including references taken before install and ESM named imports; the replaced exports ' +
        '(from the first require or use of child_process on) only make emulated answers cheaper' +
        (pendingDeprecation() ? ' (--pending-deprecation: Node printed DEP0111 once for this process.binding call)' : ''),
    }
  }
  failure ??= 'spawn_sync.spawn is not a function'
  replaceSyncExports(restore, {
    handsDownDeny: false,
    runDecided: (verdict, run) => {
      const engine = currentEngine()
      return verdict.decision === 'confine' && engine !== null ? engine.options.execConfiner(verdict.profile as string, run) : run()
    },
  })
  return {
    active: true,
    via: 'child_process.spawnSync/execSync/execFileSync exports',
    detail: `process.binding('spawn_sync') is unavailable (${failure}); the exports are replaced and ESM named exports synced; references to them taken before install are NOT covered, and confinement wraps the whole call`,
  }
}

function installAsync(restore: (() => void)[]): LayerStatus {
  let proto: { spawn?: unknown } | undefined
  let via = "process.binding('process_wrap').Process.prototype.spawn"
  let failure: string | undefined
  let detachedBit: number | null = null
  /** A handle made only to reach the prototype: retired by the first call (which shows the call shape), then closed. */
  let probe: ProcessHandle | null = null
  try {
    const processWrap = binding('process_wrap') as { Process: { prototype: { spawn?: unknown } } }
    proto = processWrap.Process.prototype
    detachedBit = detachedFlagOf(processWrap)
  } catch (err) {
    failure = errorCode(err)
    const { ChildProcess } = require('node:child_process') as { ChildProcess: new () => { _handle: ProcessHandle } }
    probe = new ChildProcess()._handle
    proto = Object.getPrototypeOf(probe) as { spawn?: unknown }
    via = 'Process.prototype.spawn (reached through a ChildProcess handle)'
  }
  if (typeof proto?.spawn !== 'function') {
    // Not seen on any Node this supports; without it no async spawn could be decided: fail closed.
    const { AppArmorError, ErrorCodes } = require('../errors') as typeof import('../errors')
    throw new AppArmorError(ErrorCodes.UNAVAILABLE, `exec interception: the native Process.prototype.spawn was not found (${failure ?? 'no spawn function'})`, { operation: 'install' })
  }
  const native = proto.spawn as NativeAsyncSpawn
  restore.push(
    patch(proto, 'spawn', function spawn(this: ProcessHandle, ...args: unknown[]) {
      if (probe !== null) {
        const handle = probe
        probe = null
        const rt = installed === null ? null : requestRuntime(installed)
        if (rt !== null) rt.retireProbe(native, handle, args)
      }
      const engine = currentEngine()
      if (engine === null) return Reflect.apply(native, this, args)
      return runtime().runAsync(engine, native, this, args, detachedBit)
    }),
  )
  return {
    active: true,
    via,
    detail:
      'spawn, exec, execFile, fork, their promisified forms and cluster workers; native calls in a shape not understood are passed through (fail open)' +
      (failure === undefined ? '' : ` (process.binding: ${failure})`),
  }
}

function openLogSubscription(options: ResolvedInterceptOptions): Installed['log'] {
  if (options.log === null) return null
  const sink = runtime().openLog(options.log, { argv: options.logArgv })
  const unsubscribe = runtime().subscribe((event) => sink.write(event))
  return { sink, unsubscribe }
}

function closeLog(log: Installed['log']): void {
  if (log === null) return
  log.unsubscribe()
  log.sink.close()
}

function ruleText(rule: CommandRule): string {
  return typeof rule === 'string' ? rule : String(rule)
}

/** What is patched and the policy in force. */
export function status(): InterceptStatus {
  if (installed === null) {
    const off: LayerStatus = { active: false, via: null, detail: 'not installed' }
    return { installed: false, layers: { sync: off, async: off }, policy: null }
  }
  const o = effectiveOptions(installed)
  return {
    installed: true,
    layers: { sync: installed.sync, async: installed.async },
    policy: {
      unknown: o.unknown,
      allow: o.allow.map(ruleText),
      deny: o.deny.map(ruleText),
      confine: o.confine.map((r) => ({ match: ruleText(r.match), profile: r.profile })),
      emulation: o.emulate !== null,
      log: o.log,
      logArgv: o.logArgv,
    },
  }
}

/** Removes every patch (restoring the original functions exactly) and closes the log. No-op when not installed. */
export function uninstall(): void {
  if (installed === null) return
  const { restore, log } = installed
  installed = null
  for (const undo of restore.reverse()) undo()
  closeLog(log)
}

/**
 * Patches this realm so that every process start is decided by `options` (validated here;
 * AppArmorError ERR_AA_OPTIONS on a wrong option; omitted: the defaults). Installing again
 * while installed keeps the patches (nothing is wrapped twice) and replaces the options in force.
 */
export function install(options?: InterceptOptions): InterceptHandle {
  const resolved = options === undefined ? null : resolveOptions(options)
  const log = resolved === null ? null : openLogSubscription(resolved)
  if (installed !== null) {
    const previous = installed.log
    installed = { ...installed, options: resolved, engine: null, log }
    closeLog(previous)
  } else {
    const restore: (() => void)[] = []
    try {
      const sync = installSync(restore)
      const async = installAsync(restore)
      installed = { options: resolved, engine: null, log, restore, sync, async }
    } catch (err) {
      for (const undo of restore.reverse()) undo()
      closeLog(log)
      throw err
    }
  }
  const state = installed
  return {
    get options() {
      return optionsOf(state)
    },
    uninstall,
    status,
  }
}

// ---------------------------------------------------------------------------------------------
// Rules added to an installation somebody else made (addConfineRule)

/** Confine rules added with addConfineRule(), in the order they were added. */
let addedRules: readonly ConfineRule[] = []

/** The options in force plus the added confine rules (checked before the installation's own). */
function effectiveOptions(state: Installed): ResolvedInterceptOptions {
  const o = optionsOf(state)
  if (addedRules.length === 0) return o
  return Object.freeze({ ...o, confine: Object.freeze([...addedRules, ...o.confine]) })
}

/**
 * Adds an exec-time confine rule ("children matching `rule.match` start under `rule.profile`")
 * to the exec interception, whoever installed it (the register preload, an adapter, the app),
 * without touching the rest of its policy. The rule is checked before the installation's own
 * confine rules, and holds from the next request on, across later install() calls, until the
 * returned function removes it (idempotent). It applies only while the interception is
 * installed. Throws AppArmorError ERR_AA_OPTIONS for an invalid rule.
 */
export function addConfineRule(rule: ConfineRule): () => void {
  const [checked] = resolveOptions({ confine: [rule] }).confine as [ConfineRule]
  addedRules = Object.freeze([...addedRules, checked])
  if (installed !== null) installed.engine = null
  let removed = false
  return () => {
    if (removed) return
    removed = true
    addedRules = Object.freeze(addedRules.filter((r) => r !== checked))
    if (installed !== null) installed.engine = null
  }
}
