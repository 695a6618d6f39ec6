import * as fs from 'node:fs'
import { availableParallelism } from 'node:os'
import { Procfs } from '../kernel/procfs'

/**
 * Facts about Node's own threads that the runtime confinement needs: the size of libuv's
 * threadpool, how many runtime threads Node starts before any user code, and whether
 * io_uring is on. libuv reads its environment once, at start-up, so the process's initial
 * environment (/proc/self/environ) is what counts, not today's `process.env`.
 */

let initialEnv: Map<string, string> | undefined

/** The environment the process was started with. */
export function startupEnv(): Map<string, string> {
  if (initialEnv) return initialEnv
  const env = new Map<string, string>()
  // A file mounted over environ could hide UV_USE_IO_URING or UV_THREADPOOL_SIZE and so make a
  // runtime change look complete: it must be procfs's (ERR_AA_FAKE_PROCFS otherwise).
  new Procfs().assertProcfs(['/proc', '/proc/self/environ'], { operation: 'confine' })
  try {
    for (const kv of fs.readFileSync('/proc/self/environ', 'latin1').split('\0')) {
      const eq = kv.indexOf('=')
      if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1))
    }
  } catch {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.set(k, v)
  }
  initialEnv = env
  return env
}

/** C's atoi: leading whitespace, an optional sign, digits; anything else is 0. */
function atoi(s: string): number {
  const m = /^[\t\n\v\f\r ]*([+-]?\d+)/.exec(s)
  return m?.[1] ? Number.parseInt(m[1], 10) : 0
}

/** libuv's threadpool size: atoi(UV_THREADPOOL_SIZE), 0 → 1, capped at 1024 (negative wraps → 1024); default 4. */
export function threadpoolSize(env: Map<string, string> = startupEnv()): number {
  const v = env.get('UV_THREADPOOL_SIZE')
  if (v === undefined) return 4
  const n = atoi(v)
  if (n === 0) return 1
  if (n < 0 || n > 1024) return 1024
  return n
}

/** True when libuv was told to use io_uring (UV_USE_IO_URING set to a non-zero number). */
export function ioUringEnabled(env: Map<string, string> = startupEnv()): boolean {
  const v = env.get('UV_USE_IO_URING')
  return v !== undefined && atoi(v) !== 0
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? ''
    if (a === flag) value = args[i + 1]
    else if (a.startsWith(`${flag}=`)) value = a.slice(flag.length + 1)
  }
  return value
}

/**
 * How many threads Node 20 starts besides the main thread before user code: the platform's
 * delayed-task scheduler, the V8 platform workers (`--v8-pool-size`, default 4; 0 means
 * "available parallelism − 1", at least 1) and the SIGUSR1 watchdog.
 */
export function runtimeThreadCount(): number {
  const fromOptions = (startupEnv().get('NODE_OPTIONS') ?? '').split(/\s+/).filter(Boolean)
  const raw = flagValue([...fromOptions, ...process.execArgv], '--v8-pool-size')
  let v8 = raw === undefined ? 4 : atoi(raw)
  if (v8 < 1) v8 = Math.max(1, availableParallelism() - 1)
  return v8 + 2
}

/** The syscall number of read(2) on this architecture, as /proc/<tid>/syscall prints it. */
export function readSyscallNumber(): number | undefined {
  switch (process.arch) {
    case 'x64':
      return 0
    case 'arm64':
    case 'riscv64':
    case 'loong64':
      return 63
    case 'ia32':
    case 'arm':
      return 3
    default:
      return undefined
  }
}
