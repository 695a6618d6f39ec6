/**
 * Starts an example app in a profile the way `apparmor-monkeys profile` starts it (`aa-exec -p
 * PROFILE -- CMD`, the spec's cwd and environment) and waits until it is ready: its port
 * accepts connections (`tcp:PORT`), or its main thread's label became the runtime profile (the
 * command's default probe). Guest side (inside the AppArmor VM). No side effects on import.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { accepts, type Exit } from '../../adapters/guest/app'
import type { ExampleSpec } from '../examples'

export interface Started {
  readonly pid: number
  output(): string
  /** SIGTERM, then the exit (SIGKILL after 10 s). */
  stop(): Promise<Exit>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The label of a process's main thread (`name (mode)`), '' when it cannot be read. */
export function label(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/attr/current`, 'utf8').replace(/\0|\n/g, '')
  } catch {
    return ''
  }
}

/** `spec.argv` with `node` as this process's node binary. */
export function nodeArgv(argv: readonly string[]): string[] {
  return argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : a))
}

export async function startExample(spec: ExampleSpec, profile: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Started> {
  const child = spawn('aa-exec', ['-p', profile, '--', ...nodeArgv(spec.argv)], { cwd: spec.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: '' })))
  let gone = false
  void exited.then(() => (gone = true))
  const pid = child.pid as number
  const port = /^tcp:(\d+)$/.exec(spec.ready)?.[1]
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (port ? await accepts(Number(port)) : label(pid).startsWith(`${spec.name} `)) break
    if (gone || Date.now() > deadline) {
      if (!gone) child.kill('SIGKILL')
      const e = await exited
      throw new Error(`${spec.example} not ready (${spec.ready || `label ${spec.name}`}; status ${e.code ?? e.signal}):\n${out}`)
    }
    await sleep(50)
  }
  return {
    pid,
    output: () => out,
    async stop() {
      if (!gone) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const e = await exited
      clearTimeout(timer)
      return e
    },
  }
}
