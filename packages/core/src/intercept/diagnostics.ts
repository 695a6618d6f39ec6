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
  /** Why: which rule applied, or `emulated`, or `unknown` (the default policy), or `fail-open` (not understood: see `detail`). */
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
  /**
   * For reason `fail-open`: what the interception did not understand (a native call's shape,
   * types only, or an internal failure). The call went to Node's original untouched.
   */
  readonly detail?: string
}

const channel = dc.channel(EXEC_CHANNEL)

export function hasSubscribers(): boolean {
  return channel.hasSubscribers
}

export function publish(event: ExecEvent): void {
  channel.publish(event)
}

const failOpenReported = new Set<string>()

/**
 * Reports a call the interception handed to Node's original because it did not understand it
 * (an unknown native call shape, or a failure of its own): once per layer and process, to the
 * first subscriber that hears it (the decision log is one). The event has decision
 * `passthrough`, reason `fail-open`, and says what was not understood in `detail`.
 */
export function reportFailOpen(api: ExecEvent['api'], detail: string): void {
  if (failOpenReported.has(api) || !channel.hasSubscribers) return
  failOpenReported.add(api)
  publish({ command: '', file: '', args: [], decision: 'passthrough', reason: 'fail-open', api, durationNs: 0, stack: callerStack(), detail })
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
/**
 * The name the package's single-file builds run under, whatever their path (scripts/bundle.mjs):
 * their frames are not the caller's either.
 */
const BUNDLE_FRAME = /[( ]@apparmor-monkeys\/core\/dist\//
const STACK_FRAMES = 5
const CAPTURE_LIMIT = 40

function isForeignFrame(line: string): boolean {
  return !line.includes('(node:') && !/^\s*at node:/.test(line) && !line.includes(PACKAGE_ROOT) && !BUNDLE_FRAME.test(line)
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
