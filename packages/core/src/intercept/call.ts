import * as path from 'node:path'
import type { ChildContext, EmulationRequest } from '../emulate/types'

/**
 * One request to start a process, as it reaches a native spawn funnel: the already
 * normalized `file`, `args` (with argv[0] first), `envPairs` and options that Node hands to
 * `spawn_sync.spawn` or `Process.prototype.spawn`.
 */
export interface SpawnCall {
  /** Which funnel: the synchronous one (spawnSync/execSync/execFileSync) or the async one. */
  readonly api: 'spawnSync' | 'spawn'
  readonly file: string
  /** argv, argv[0] included. */
  readonly argv: readonly string[]
  readonly envPairs: readonly string[] | undefined
  readonly cwd: string | null | undefined
}

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

/** The child's environment, from the `KEY=value` pairs Node built (options.env ?? process.env). */
export function envFromPairs(envPairs: readonly string[] | undefined): Record<string, string> {
  if (envPairs === undefined) return { ...(process.env as Record<string, string>) }
  const env: Record<string, string> = {}
  for (const pair of envPairs) {
    const eq = pair.indexOf('=')
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return env
}

/** The value of one variable of the child's environment, without building the whole record. */
export function envValue(envPairs: readonly string[] | undefined, name: string): string | undefined {
  if (envPairs === undefined) return process.env[name]
  const prefix = `${name}=`
  for (const pair of envPairs) if (pair.startsWith(prefix)) return pair.slice(prefix.length)
  return undefined
}

/** The child's context: its env, its cwd (resolved against ours), our real uid/gid. */
export function contextOf(call: SpawnCall): ChildContext {
  return {
    env: envFromPairs(call.envPairs),
    cwd: call.cwd === undefined || call.cwd === null ? process.cwd() : path.resolve(call.cwd),
    uid: process.getuid ? process.getuid() : 0,
    gid: process.getgid ? process.getgid() : 0,
  }
}

/** The emulator's view of a call. */
export function emulationRequest(shape: CallShape, ctx: ChildContext): EmulationRequest {
  return shape.kind === 'shell'
    ? { kind: 'shell', shell: shape.shell, script: shape.script, ctx }
    : { kind: 'exec', file: shape.file, args: shape.args, ctx }
}
