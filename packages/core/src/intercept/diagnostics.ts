import * as dc from 'node:diagnostics_channel'
import * as path from 'node:path'
import type { Decision } from '../options'
import type { DecisionReason } from './policy'

/**
 * Every decision is published on the diagnostics channel `apparmor-monkeys:exec` (only when
 * it has subscribers: otherwise nothing is built). Subscribe with `subscribe(fn)` or with
 * `diagnostics_channel.subscribe(EXEC_CHANNEL, fn)`.
 */
export const EXEC_CHANNEL = 'apparmor-monkeys:exec'

export interface ExecEvent {
  /** The shell line, or the argv (file first) joined and quoted as a shell would show it. */
  readonly command: string
  /** The file that would be exec'd (`/bin/sh` for shell lines). */
  readonly file: string
  /** Its arguments, argv[0] excluded (`['-c', line]` for shell lines). */
  readonly args: readonly string[]
  readonly decision: Decision
  /** Why: which rule applied, or `emulated`, or `unknown` (the default policy). */
  readonly reason: DecisionReason
  /** The profile of a `confine` decision. */
  readonly profile?: string
  /** Which native funnel saw the request: `spawnSync` (sync APIs) or `spawn` (async APIs, fork). */
  readonly api: 'spawnSync' | 'spawn'
  /** Time spent deciding (emulation included), in nanoseconds. The real spawn is not counted. */
  readonly durationNs: number
  /** The caller: the first frames outside Node's internals and this package, one per line. */
  readonly stack: string
  /** Set when the emulator threw (the request was then decided as if it could not answer). */
  readonly emulatorError?: string
}

const channel = dc.channel(EXEC_CHANNEL)

export function hasSubscribers(): boolean {
  return channel.hasSubscribers
}

export function publish(event: ExecEvent): void {
  channel.publish(event)
}

/** Calls `fn` with every decision until the returned function is called. */
export function subscribe(fn: (event: ExecEvent) => void): () => void {
  const listener = (message: unknown): void => fn(message as ExecEvent)
  dc.subscribe(EXEC_CHANNEL, listener)
  return () => {
    dc.unsubscribe(EXEC_CHANNEL, listener)
  }
}

/** This package's compiled root (dist/ or src/): its frames are not the caller's. */
const PACKAGE_ROOT = path.dirname(__dirname) + path.sep
const STACK_FRAMES = 5
const CAPTURE_LIMIT = 40

function isForeignFrame(line: string): boolean {
  return !line.includes('(node:') && !/^\s*at node:/.test(line) && !line.includes(PACKAGE_ROOT)
}

/** A short stack of the code that asked for the process. */
export function callerStack(): string {
  const holder: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  try {
    Error.stackTraceLimit = CAPTURE_LIMIT
  } catch {
    // a frozen Error (--frozen-intrinsics): keep the default depth
  }
  Error.captureStackTrace(holder, callerStack)
  try {
    Error.stackTraceLimit = limit
  } catch {
    // as above
  }
  const lines = (holder.stack ?? '').split('\n').slice(1)
  const frames: string[] = []
  for (const line of lines) {
    if (!isForeignFrame(line)) continue
    frames.push(line.trim())
    if (frames.length === STACK_FRAMES) break
  }
  return frames.join('\n')
}
