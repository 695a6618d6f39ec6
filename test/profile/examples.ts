/**
 * The example apps as `apparmor-monkeys profile` learns them: the command line each README
 * gives, the names of the profiles (`NAME-boot`, `NAME`, the children), the ready probe and
 * the exercise. Shared by the fixture recorder (record.ts), the guest runner
 * (guest/run-example.ts) and the kernel suite (profile.test.ts). No side effects on import.
 */
import * as path from 'node:path'
import { repoRoot } from '../adapters/profiles'

export { repoRoot }

export type ExampleName = 'fastify-app' | 'express-app' | 'cluster-app' | 'bullmq-worker'

export interface ExampleSpec {
  /** The folder under examples/. */
  example: ExampleName
  /** `--name`: the process starts in `${name}-boot` and changes into `name`. */
  name: string
  /** `--child NAME=<match>`: profiles the app's children start in at exec time. */
  children: { name: string; match: string }[]
  /** The command after `--`, run in `cwd` (`node` is the node binary running the suite). */
  argv: string[]
  /** Where the app is started (the BullMQ worker from `/`, as under systemd). */
  cwd: string
  /** Extra environment of the app and the exercise (both, as `profile` runs them). */
  env: Record<string, string>
  /** `--ready`. */
  ready: string
  /** `--exercise`, run in the example's folder. */
  exercise: string
  /** The app needs a redis-server (started before the app, stopped after it). */
  redis: boolean
  /** `--service CMD`: what the command starts before the app (unconfined) and stops after it. */
  services: string[]
  /**
   * A known failure of `apparmor-monkeys profile` on this example, named precisely: the kernel
   * suite marks the checks it breaks as TODO (they still run and print), until the command is
   * fixed. Remove it then.
   */
  knownIssue?: string
}

export function exampleDir(example: ExampleName): string {
  return path.join(repoRoot(), 'examples', example)
}

export function exampleSpecs(): ExampleSpec[] {
  return [
    {
      example: 'fastify-app',
      name: 'fastify-app',
      children: [],
      argv: ['node', 'server.js'],
      cwd: exampleDir('fastify-app'),
      env: {},
      ready: 'tcp:3000',
      exercise: 'node exercise.mjs',
      redis: false,
      services: [],
    },
    {
      example: 'express-app',
      name: 'express-app',
      children: [],
      argv: ['node', '--require', '@apparmor-monkeys/core/register', 'server.js'],
      cwd: exampleDir('express-app'),
      env: {},
      // it listens before it confines: wait for the label (the command's default probe)
      ready: '',
      exercise: 'node exercise.mjs',
      redis: false,
      services: [],
    },
    {
      example: 'cluster-app',
      // The primary never changes profile: it runs in cluster-primary-boot for its whole life.
      name: 'cluster-primary',
      children: [{ name: 'web-worker', match: 'node' }],
      argv: ['node', 'server.js'],
      cwd: exampleDir('cluster-app'),
      // learning: the workers' profile is in complain mode, which onWorkerFork refuses by default
      env: { WORKER_ALLOW_COMPLAIN: '1' },
      ready: 'tcp:8080',
      exercise: 'node exercise.mjs',
      redis: false,
      services: [],
    },
    {
      example: 'bullmq-worker',
      name: 'bullmq-worker',
      children: [{ name: 'bullmq-processor', match: 'node' }],
      argv: ['node', path.join(exampleDir('bullmq-worker'), 'worker.js')],
      cwd: '/',
      env: {},
      ready: '',
      exercise: `node ${path.join(exampleDir('bullmq-worker'), 'exercise.mjs')}`,
      redis: true,
      services: ["redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no"],
    },
  ]
}

export function exampleSpec(example: string): ExampleSpec {
  const spec = exampleSpecs().find((s) => s.example === example)
  if (!spec) throw new Error(`unknown example ${JSON.stringify(example)}`)
  return spec
}

/** Every profile name `profile` learns for `spec`, boot first. */
export function profileNames(spec: Pick<ExampleSpec, 'name' | 'children'>): string[] {
  return [`${spec.name}-boot`, spec.name, ...spec.children.map((c) => c.name)]
}

/**
 * Learning profiles as bare as AppArmor allows, in complain mode: every access of the run is
 * logged as ALLOWED (nothing is covered by a rule, not even abstractions/base), so the records
 * show everything Node and the app do. The boot profile holds the one transition the contract
 * names (`change_profile -> NAME`); nothing else.
 */
export function bareComplainProfiles(spec: Pick<ExampleSpec, 'name' | 'children'>): string {
  const [boot, runtime, ...children] = profileNames(spec)
  const lines = ['abi <abi/3.0>,', 'include <tunables/global>', '']
  lines.push(`profile ${boot} flags=(complain) {`, `  change_profile -> ${runtime},`, '}', '')
  for (const name of [runtime, ...children]) lines.push(`profile ${name} flags=(complain) {`, '}', '')
  return lines.join('\n')
}
