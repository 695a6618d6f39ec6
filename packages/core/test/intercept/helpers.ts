// Shared by the intercept tests: fixtures run in child processes against the built dist/.
import { type SpawnSyncOptions, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

export const DIST = path.resolve(__dirname, '..', '..', 'dist')
export const FIXTURES = path.join(__dirname, 'fixtures')
export const REGISTER = path.join(DIST, 'register.js')
/** The ESM entry (`--import @apparmor-monkeys/core/register`). */
export const REGISTER_ESM = path.join(DIST, 'register.mjs')

/**
 * A copy of the built package (its dist/ and package.json) in `dir`, as an install at another
 * path than the one it was built at; without node_modules, so only what dist/ holds resolves.
 */
export function copyPackage(dir: string): void {
  fs.cpSync(DIST, path.join(dir, 'dist'), { recursive: true })
  fs.copyFileSync(path.join(DIST, '..', 'package.json'), path.join(dir, 'package.json'))
}

export interface FixtureRun {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment of a fixture: ours without the test runner's loaders or our own variables. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', AAM_DIST: DIST }
  for (const key of Object.keys(env)) if (key.startsWith('APPARMOR_MONKEYS_')) delete env[key]
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

/**
 * Runs node. The test runner rewrites the environment of every process the test spawns to
 * preload its coverage loader (which patches child_process itself and calls process.binding);
 * `env -u NODE_OPTIONS` drops that before node starts, so fixtures run as an application would.
 */
export function node(args: readonly string[], options: SpawnSyncOptions & { env?: NodeJS.ProcessEnv } = {}): FixtureRun {
  const env = options.env ?? cleanEnv()
  const nodeOptions = env['NODE_OPTIONS'] ? [`NODE_OPTIONS=${env['NODE_OPTIONS']}`] : []
  const r = spawnSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', ...nodeOptions, process.execPath, ...args], { encoding: 'utf8', timeout: 60_000, ...options, env })
  return { status: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) }
}

/** Runs a fixture that writes its JSON result to the file given as its last argument. */
export function jsonFixture<T>(dir: string, fixture: string, args: readonly string[] = [], options: { env?: NodeJS.ProcessEnv; execArgv?: readonly string[] } = {}): { result: T; run: FixtureRun } {
  const out = path.join(dir, `${path.basename(fixture)}.json`)
  const run = node([...(options.execArgv ?? []), path.join(FIXTURES, fixture), ...args, out], options.env ? { env: options.env } : {})
  if (!fs.existsSync(out)) throw new Error(`${fixture} wrote no result (status ${run.status}):\n${run.stderr}`)
  return { result: JSON.parse(fs.readFileSync(out, 'utf8')) as T, run }
}

/** A shell script that appends a line to `marker` when it runs. */
export function markerScript(dir: string, name = 'target.sh'): { file: string; marker: string } {
  const file = path.join(dir, name)
  const marker = path.join(dir, `${name}.ran`)
  fs.writeFileSync(file, `#!/bin/sh\necho ran >> '${marker}'\n`, { mode: 0o755 })
  return { file, marker }
}
