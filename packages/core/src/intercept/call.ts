import * as path from 'node:path'
import type * as Tty from 'node:tty'
import type { ChildContext, EmulationRequest } from '@apparmor-monkeys/emulator'

/**
 * One request to start a process: the normalized `file` and argv (argv[0] first) that Node
 * hands to `spawn_sync.spawn` or `Process.prototype.spawn`, or that the API layer computes
 * the same way.
 */
export interface SpawnCall {
  /** Which funnel: the synchronous one (spawnSync/execSync/execFileSync) or the async one. */
  readonly api: 'spawnSync' | 'spawn'
  readonly file: string
  /** argv, argv[0] included. */
  readonly argv: readonly string[]
  /**
   * The child's environment: the `KEY=value` pairs Node built (native layers), or the env
   * object of the call (`options.env || process.env`, API layer: not copied unless used).
   */
  readonly env: readonly string[] | EnvObject
  readonly cwd: string | null | undefined
  /**
   * Whether the child's stdout would be a terminal, when the layer knows its stdio (see
   * `stdoutIsTTY()`). Absent: unknown, and programs whose output depends on it
   * (`lsb_release`) are not answered.
   */
  readonly stdoutIsTTY?: boolean
  /** spawn's `uid`/`gid` options, when given: the child's ids (path rules resolve with them). */
  readonly uid?: number
  readonly gid?: number
}

/** spawn's `uid`/`gid` options as SpawnCall fields (absent when not given). */
export function idsOf(options: { readonly uid?: number | undefined; readonly gid?: number | undefined }): { uid?: number; gid?: number } {
  return { ...(typeof options.uid === 'number' ? { uid: options.uid } : {}), ...(typeof options.gid === 'number' ? { gid: options.gid } : {}) }
}

/**
 * The credentials the child execs with: spawn's uid/gid when given (libuv then drops the
 * supplementary groups with setgroups(0), which only root may do), else ours (effective ids,
 * what exec checks, and our groups).
 */
export function execCredentials(call: SpawnCall): { uid: number; gid: number; groups: readonly number[] } {
  if (process.geteuid === undefined || process.getegid === undefined || process.getgroups === undefined) return { uid: 0, gid: 0, groups: [] }
  const euid = process.geteuid()
  if (call.uid === undefined && call.gid === undefined) return { uid: euid, gid: process.getegid(), groups: process.getgroups() }
  return { uid: call.uid ?? euid, gid: call.gid ?? process.getegid(), groups: euid === 0 ? [] : process.getgroups() }
}

/**
 * Whether a child's stdout (its stdio[1] as the layers see it) is a terminal: a pipe, an
 * ignored stream (/dev/null) or none is not; an inherited or given fd is one when isatty()
 * says so (node:tty, which loads the net stack, is required only then). Anything else (a stream handle, an unknown type) is not known: undefined, and
 * programs whose output depends on it are not answered.
 */
export function stdoutIsTTY(stdio1: { readonly type: string; readonly fd?: number } | undefined): boolean | undefined {
  if (stdio1 === undefined || stdio1.type === 'pipe' || stdio1.type === 'overlapped' || stdio1.type === 'ignore') return false
  if ((stdio1.type === 'inherit' || stdio1.type === 'fd') && typeof stdio1.fd === 'number') return (require('node:tty') as typeof Tty).isatty(stdio1.fd)
  return undefined
}

export type EnvObject = Readonly<Record<string, unknown>>

/** The shells whose `-c <script>` form is a shell request (the emulator decides what it supports). */
const SHELLS = new Set(['sh', 'dash', 'bash', 'ash'])

export type CallShape =
  | { readonly kind: 'shell'; readonly shell: string; readonly script: string }
  | { readonly kind: 'exec'; readonly file: string; readonly args: readonly string[] }

/**
 * `sh -c <script>` (exactly: argv[0], `-c`, the script, nothing after it, with argv[0] the
 * file itself) is a shell request, whether it came from `exec`, `shell: true` or a direct
 * exec of a shell. Anything else is a direct exec of `file` with `argv[1..]`.
 */
export function shapeOf(call: SpawnCall): CallShape {
  const { file, argv } = call
  if (argv.length === 3 && argv[1] === '-c' && argv[0] === file && SHELLS.has(path.basename(file))) {
    return { kind: 'shell', shell: file, script: argv[2] as string }
  }
  return { kind: 'exec', file, args: argv.slice(1) }
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/

/** One word as a POSIX shell would need it quoted to mean the same. */
export function shellQuote(word: string): string {
  if (SAFE_WORD.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** The command line: the script for shell requests, the quoted argv (file first) otherwise. */
export function commandLine(shape: CallShape): string {
  if (shape.kind === 'shell') return shape.script
  let line = shellQuote(shape.file)
  for (const arg of shape.args) line += ` ${shellQuote(arg)}`
  return line
}

/**
 * The child's environment as a record. Pairs are parsed; process.env itself is handed over as
 * is (the emulator only reads it); another object is copied the way Node builds the child's
 * environment (every enumerable key, inherited ones included, values as strings, undefined
 * dropped, NODE_V8_COVERAGE always propagated).
 */
export function childEnv(env: SpawnCall['env']): Readonly<Record<string, string | undefined>> {
  if (Array.isArray(env)) {
    const record: Record<string, string> = {}
    for (const pair of env as readonly string[]) {
      const eq = pair.indexOf('=')
      if (eq > 0) record[pair.slice(0, eq)] = pair.slice(eq + 1)
    }
    return record
  }
  if (env === process.env) return process.env
  const record: Record<string, string> = {}
  for (const key in env as EnvObject) {
    const value = (env as EnvObject)[key]
    if (value !== undefined) record[key] = String(value)
  }
  const coverage = process.env['NODE_V8_COVERAGE']
  if (coverage !== undefined && !('NODE_V8_COVERAGE' in record)) record['NODE_V8_COVERAGE'] = coverage
  return record
}

/** The value of one variable of the child's environment, without building the whole record. */
export function envValue(env: SpawnCall['env'], name: string): string | undefined {
  if (Array.isArray(env)) {
    const prefix = `${name}=`
    for (const pair of env as readonly string[]) if (pair.startsWith(prefix)) return pair.slice(prefix.length)
    return undefined
  }
  return childEnv(env)[name]
}

/** The child's context: its env, its cwd (resolved against ours), our real uid/gid. */
export function contextOf(call: SpawnCall): ChildContext {
  return {
    env: childEnv(call.env),
    cwd: call.cwd === undefined || call.cwd === null ? process.cwd() : path.resolve(call.cwd),
    uid: process.getuid ? process.getuid() : 0,
    gid: process.getgid ? process.getgid() : 0,
  }
}

/**
 * The emulator's view of a call: with argv[0] of a direct exec (messages start with it) and,
 * when known, whether the child's stdout is a terminal.
 */
export function emulationRequest(shape: CallShape, ctx: ChildContext, call?: SpawnCall): EmulationRequest {
  const tty = call?.stdoutIsTTY === undefined ? {} : { stdoutIsTTY: call.stdoutIsTTY }
  return shape.kind === 'shell'
    ? { kind: 'shell', shell: shape.shell, script: shape.script, ctx, ...tty }
    : { kind: 'exec', file: shape.file, args: shape.args, ctx, ...(call === undefined ? {} : { argv0: call.argv[0] }), ...tty }
}
