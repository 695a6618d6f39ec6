/**
 * `lscpu -p` (util-linux 2.38.1, compatible parsable format) on x86: one line per online CPU
 * with logical core, socket, NUMA node and cache ids, computed from sysfs the way lscpu does:
 * cores and sockets are numbered by first appearance of each distinct thread_siblings /
 * core_siblings mask, nodes by node number, caches by their sysfs `id` (or lscpu's own
 * numbering when there is none), cache columns sorted by name. Hybrid CPU types, s390 and
 * SPARC layouts, and `-p=LIST` are left to the real program.
 */
import type { EmulatedCommand } from '../../types'
import { dpkgBuild, systemBinary, type BuildId } from './binaries'
import { parseCpuList, parseCpuMask, possibleCpus } from './cpulist'
import { loaderTampered } from './env-guard'
import { LocaleSession } from './locale-resolve'
import { result } from '../result'
import type { SystemView } from './view'

export const LSCPU_VERIFIED_BUILDS: ReadonlySet<BuildId> = new Set(['util-linux 2.38.1-5+deb12u3 amd64'])
const SYS_CPU = '/sys/devices/system/cpu'
const SYS_NODE = '/sys/devices/system/node'
const HEADER =
  '# The following is the parsable format, which can be fed to other\n' +
  '# programs. Each different item in every column has an unique ID\n' +
  '# starting usually from zero.\n'

interface Cache {
  readonly name: string
  readonly type: string
  readonly level: number
  readonly id: number
  readonly shared: Set<number>
}

/** The keys that split /proc/cpuinfo into several CPU types in lscpu. */
const TYPE_KEYS = ['vendor_id', 'vendor', 'CPU implementer', 'model', 'cpu model', 'CPU part', 'model name', 'cpu', 'stepping', 'CPU variant']

/** True when every processor block of /proc/cpuinfo describes the same CPU type. */
export function singleCpuType(cpuinfo: string): boolean {
  let seen: string | undefined
  for (const block of cpuinfo.split(/\n[ \t]*\n/)) {
    if (!/^processor\s*:/m.test(block)) continue
    const fields = new Map<string, string>()
    for (const line of block.split('\n')) {
      const m = /^([^:]*?)\s*:\s?(.*)$/.exec(line)
      if (m !== null) fields.set(m[1]!, m[2]!.trimEnd())
    }
    const key = TYPE_KEYS.map((k) => fields.get(k) ?? '\0').join('\n')
    if (seen === undefined) seen = key
    else if (seen !== key) return false
  }
  return seen !== undefined
}

/** Index of the first set containing `cpu`, as lscpu's cpuset_ary_isset finds it. */
function indexOf(sets: readonly Set<number>[], cpu: number): number {
  return sets.findIndex((s) => s.has(cpu))
}

function addUnique(sets: Set<number>[], set: Set<number>): void {
  const same = (a: Set<number>, b: Set<number>) => {
    if (a.size !== b.size) return false
    let equal = true
    a.forEach((c) => (equal &&= b.has(c)))
    return equal
  }
  if (!sets.some((s) => same(s, set))) sets.push(set)
}

/** The rows lscpu -p prints, or undefined when some input is outside what is reproduced. */
export function lscpuParsable(view: SystemView): string | undefined {
  const read = (p: string) => view.readText(p)
  const possible = parseCpuList(possibleCpus(view) ?? '')
  if (possible === undefined || possible.length === 0) return undefined
  const presentText = read(SYS_CPU + '/present')
  const onlineText = read(SYS_CPU + '/online')
  const present = presentText === undefined ? undefined : parseCpuList(presentText)
  const online = onlineText === undefined ? undefined : parseCpuList(onlineText)
  if ((presentText !== undefined && present === undefined) || (onlineText !== undefined && online === undefined)) return undefined
  const cpuinfo = read('/proc/cpuinfo')
  if (cpuinfo === undefined || !singleCpuType(cpuinfo)) return undefined
  if (view.lstat('/proc/sysinfo') !== undefined) return undefined

  // Topology: cores and sockets in order of first appearance.
  const cores: Set<number>[] = []
  const sockets: Set<number>[] = []
  for (const cpu of possible) {
    const topo = `${SYS_CPU}/cpu${cpu}/topology/`
    if (view.lstat(topo + 'thread_siblings') === undefined) continue
    const thread = parseCpuMask(read(topo + 'thread_siblings') ?? '')
    const core = parseCpuMask(read(topo + 'core_siblings') ?? '')
    if (thread === undefined || core === undefined) return undefined
    // book/drawer siblings only exist on s390.
    if (view.lstat(topo + 'book_siblings') !== undefined || view.lstat(topo + 'drawer_siblings') !== undefined) return undefined
    addUnique(cores, thread)
    addUnique(sockets, core)
  }

  // NUMA nodes, sorted by number.
  const nodes: { num: number; cpus: Set<number> }[] = []
  for (const d of view.readdir(SYS_NODE) ?? []) {
    if (!d.isDirectory() || !/^node[0-9]+$/.test(d.name)) continue
    const cpus = parseCpuMask(read(`${SYS_NODE}/${d.name}/cpumap`) ?? '')
    if (cpus === undefined) return undefined
    nodes.push({ num: Number(d.name.slice(4)), cpus })
  }
  nodes.sort((a, b) => a.num - b.num)

  // Caches, in discovery order, then stably sorted by name.
  const caches: Cache[] = []
  for (const cpu of possible) {
    const base = `${SYS_CPU}/cpu${cpu}/cache/index`
    let n = 0
    while (view.lstat(base + n) !== undefined) n++
    if (n === 0 && view.lstat(`${SYS_CPU}/cpu${cpu}/l1_icache_size`) !== undefined) return undefined
    for (let i = 0; i < n; i++) {
      const idText = read(`${base}${i}/id`)
      const levelText = read(`${base}${i}/level`)
      const typeText = read(`${base}${i}/type`)
      if (levelText === undefined || typeText === undefined) continue
      if (!/^[0-9]+\n?$/.test(levelText) || (idText !== undefined && !/^[0-9]+\n?$/.test(idText))) return undefined
      const level = Number(levelText.trim())
      const type = typeText.replace(/\n$/, '')
      let id = idText === undefined ? -1 : Number(idText.trim())
      if (id === -1) {
        // mk_cache_id: the number of earlier caches of this kind that do not hold the CPU.
        id = 0
        for (const c of caches) {
          if (c.level !== level || c.type !== type) continue
          if (c.shared.has(cpu)) break
          id++
        }
      }
      if (caches.some((c) => c.id === id && c.level === level && c.type === type)) continue
      const shared = parseCpuMask(read(`${base}${i}/shared_cpu_map`) ?? '')
      if (shared === undefined) return undefined
      const suffix = type === 'Data' ? 'd' : type === 'Instruction' ? 'i' : ''
      caches.push({ name: `L${level}${suffix}`, type, level, id, shared })
    }
  }
  const sorted = caches.map((c, i) => ({ c, i })).sort((a, b) => (a.c.name < b.c.name ? -1 : a.c.name > b.c.name ? 1 : a.i - b.i)).map((x) => x.c)
  const names = sorted.map((c) => c.name).filter((n, i, all) => all.indexOf(n) === i)

  let out = HEADER + '# CPU,Core,Socket,Node'
  if (names.length > 0) out += ',,' + names.join(',')
  out += '\n'
  for (const cpu of possible) {
    if (online !== undefined && !online.includes(cpu)) continue
    if (present !== undefined && !present.includes(cpu)) continue
    const core = indexOf(cores, cpu)
    const socket = indexOf(sockets, cpu)
    const node = nodes.find((n) => n.cpus.has(cpu))
    let row = `${cpu},${core < 0 ? '' : core},${socket < 0 ? '' : socket},${node === undefined ? '' : node.num}`
    if (names.length > 0) {
      const ids: number[] = []
      for (const name of names) {
        const holding = sorted.filter((c) => c.name === name && c.shared.has(cpu))
        if (holding.length > 1) return undefined
        if (holding.length === 1) ids.push(holding[0]!.id)
      }
      row += ',,' + ids.join(',')
    }
    out += row + '\n'
  }
  return out
}

/** util-linux lscpu -p. */
export function createLscpu(view: SystemView): EmulatedCommand {
  return {
    name: 'lscpu',
    run(args, io) {
      if (args.length !== 1 || (args[0] !== '-p' && args[0] !== '--parse')) return null
      const env = io.ctx.env
      if (loaderTampered(view, env)) return null
      const u = view.process.uname()
      if (u === undefined || u.machine !== 'x86_64') return null
      const bin = systemBinary(view, 'lscpu')
      const build = bin === undefined ? undefined : dpkgBuild(view, 'util-linux', bin)
      if (build === undefined || !LSCPU_VERIFIED_BUILDS.has(build)) return null
      // The header lines are translatable.
      if (!new LocaleSession(view, env).untranslatedAfterSetlocaleAll()) return null
      const text = lscpuParsable(view)
      return text === undefined ? null : result(text)
    },
  }
}
