/**
 * Differential harness: run a line for real with /bin/sh (same env and cwd) and through
 * emulate(), and compare stdout, stderr and status byte for byte.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ChildContext, EmulationResult } from '../src/types'
import { emulate } from '../src/index'
import { commandRegistry } from '../src/commands/index'
import { lookupInPath } from '../src/resolve'

export interface Real {
  readonly stdout: Buffer
  readonly stderr: Buffer
  readonly status: number | null
}

export function runReal(script: string, ctx: ChildContext): Real {
  const r = spawnSync('/bin/sh', ['-c', script], {
    cwd: ctx.cwd,
    env: ctx.env as NodeJS.ProcessEnv,
    input: '',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.error !== undefined) throw r.error
  return { stdout: r.stdout, stderr: r.stderr, status: r.status }
}

export function runEmulated(script: string, ctx: ChildContext): EmulationResult | null {
  return emulate({ kind: 'shell', shell: '/bin/sh', script, ctx })
}

/** Each argv (an informational command and its arguments) is answered as a direct exec. */
export function answered(argvs: readonly (readonly string[])[], ctx: ChildContext): boolean {
  return argvs.every((a) => commandRegistry.has(a[0]!) && emulate({ kind: 'exec', file: a[0]!, args: a.slice(1), ctx }) !== null)
}

/** Some program in `names` exists on the child's PATH (so the real one must run). */
export function presentOnPath(names: readonly string[], ctx: ChildContext): boolean {
  return names.some((n) => lookupInPath(n, ctx.env.PATH ?? '', ctx.cwd, ctx).kind !== 'missing')
}

export function show(b: Buffer | null | undefined): string {
  return b === null || b === undefined ? 'null' : JSON.stringify(b.toString('latin1'))
}

/** A difference between the real run and the emulation, or null when they agree. */
export function difference(real: Real, emu: EmulationResult): string | null {
  const diffs: string[] = []
  if (!real.stdout.equals(emu.stdout)) diffs.push(`stdout real ${show(real.stdout)} emulated ${show(emu.stdout)}`)
  if (!real.stderr.equals(emu.stderr)) diffs.push(`stderr real ${show(real.stderr)} emulated ${show(emu.stderr)}`)
  if (real.status !== emu.status) diffs.push(`status real ${real.status} emulated ${emu.status}`)
  return diffs.length === 0 ? null : diffs.join('; ')
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A test tree under `root`: `files` (path → content; parent directories are made) and
 * `links` (path → symlink target, made after the files). Returns `root`.
 */
export function makeTree(root: string, files: Record<string, string>, links: Record<string, string> = {}): string {
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true })
    fs.writeFileSync(path.join(root, p), content)
  }
  for (const [p, target] of Object.entries(links)) fs.symlinkSync(target, path.join(root, p))
  return root
}
