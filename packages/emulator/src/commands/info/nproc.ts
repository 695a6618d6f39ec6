/**
 * GNU coreutils `nproc` [--all] [--ignore=N] (coreutils 9.1 with its gnulib nproc.c): the
 * CPUs in the spawning thread's affinity mask (the child inherits it), capped or replaced by
 * OMP_THREAD_LIMIT / OMP_NUM_THREADS; `--all` is glibc's _SC_NPROCESSORS_CONF (the `possible`
 * list), raised to the affinity count when it is 1 or 2. Later coreutils also read cgroup CPU
 * quotas, so only verified builds are answered.
 */
import type { EmulatedCommand } from '../../types'
import { dpkgBuild, systemBinary, type BuildId } from './binaries'
import { glibcCpuCount, parseCpuList, possibleCpus } from './cpulist'
import { loaderTampered } from './env-guard'
import { gnuGetopt, type LongOption } from '../getopt'
import { glibcBetween, glibcFacts } from './libc'
import { result } from '../result'
import type { SystemView } from './view'

export const NPROC_VERIFIED_BUILDS: ReadonlySet<BuildId> = new Set(['coreutils 9.1-1 amd64'])
const ULONG_MAX = (1n << 64n) - 1n
/** sched_getaffinity() is called with a 1024-CPU set. */
const CPU_SETSIZE = 1024

const LONG_OPTIONS: readonly LongOption[] = [
  { name: 'all', arg: 'none', key: 'all' },
  { name: 'ignore', arg: 'required', key: 'ignore' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

/** gnulib parse_omp_threads: 0 when unset or malformed. */
export function parseOmpThreads(value: string | undefined): bigint {
  if (value === undefined) return 0n
  const m = /^[ \t\n\v\f\r]*([0-9]+)[ \t\n\v\f\r]*(,.*)?$/s.exec(value)
  if (m === null) return 0n
  const v = BigInt(m[1]!)
  return v > ULONG_MAX ? ULONG_MAX : v
}

/** CPUs in the calling thread's affinity mask, as CPU_COUNT of a 1024-CPU set sees them. */
function affinityCount(view: SystemView): bigint | undefined {
  const status = view.readText('/proc/thread-self/status')
  const line = status === undefined ? null : /^Cpus_allowed_list:\t([^\n]*)$/m.exec(status)
  const cpus = line === null ? undefined : parseCpuList(line[1]!)
  if (cpus === undefined || cpus.length === 0) return undefined
  // With CPUs beyond the set size the kernel rejects the call (EINVAL): not reproduced.
  const possible = possibleCpus(view)
  const all = possible === undefined ? undefined : parseCpuList(possible)
  if (all === undefined || all.some((c) => c >= CPU_SETSIZE)) return undefined
  return BigInt(cpus.length)
}

function configured(view: SystemView): bigint | undefined {
  const facts = glibcFacts(view)
  if (facts === undefined || !glibcBetween(facts, [2, 36], [2, 41])) return undefined
  const text = possibleCpus(view)
  const n = text === undefined ? undefined : glibcCpuCount(text)
  if (n === undefined || n === 0) return undefined
  let nprocs = BigInt(n)
  if (nprocs === 1n || nprocs === 2n) {
    const current = affinityCount(view)
    if (current === undefined) return undefined
    if (current > nprocs) nprocs = current
  }
  return nprocs
}

/** coreutils nproc. */
export function createNproc(view: SystemView): EmulatedCommand {
  return {
    name: 'nproc',
    run(args, io) {
      const env = io.ctx.env
      if (loaderTampered(view, env)) return null
      const parsed = gnuGetopt(args, '', LONG_OPTIONS, env)
      if (parsed === undefined || parsed.operands.length > 0) return null
      let all = false
      let ignore = 0n
      for (const { key, value } of parsed.options) {
        if (key === 'help' || key === 'version') return null
        if (key === 'all') all = true
        if (key === 'ignore') {
          if (value === undefined || !/^[0-9]+$/.test(value)) return null
          ignore = BigInt(value)
          if (ignore > ULONG_MAX) return null
        }
      }
      const bin = systemBinary(view, 'nproc')
      const build = bin === undefined ? undefined : dpkgBuild(view, 'coreutils', bin)
      if (build === undefined || !NPROC_VERIFIED_BUILDS.has(build)) return null
      let n: bigint | undefined
      if (all) {
        n = configured(view)
      } else {
        const threads = parseOmpThreads(env['OMP_NUM_THREADS'])
        let limit = parseOmpThreads(env['OMP_THREAD_LIMIT'])
        if (limit === 0n) limit = ULONG_MAX
        if (threads !== 0n) n = threads < limit ? threads : limit
        else {
          const current = affinityCount(view)
          n = current === undefined ? undefined : current < limit ? current : limit
        }
      }
      if (n === undefined) return null
      n = ignore < n ? n - ignore : 1n
      return result(n.toString() + '\n')
    },
  }
}
