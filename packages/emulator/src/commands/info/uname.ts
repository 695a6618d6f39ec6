/**
 * GNU coreutils `uname` with every option. The kernel fields (-s -n -r -v -m) are uname(2)
 * of this process, which the child shares (UTS namespace, personality). -p, -i and -o are
 * properties of how coreutils was built (Debian prints `unknown` for -p/-i, Fedora the
 * machine name), so they, and -a which depends on them, are answered only for builds whose
 * output was verified.
 */
import type { EmulatedCommand } from '../../types'
import { binaryHas, dpkgBuild, systemBinary, type BuildId } from './binaries'
import { loaderTampered } from './env-guard'
import { gnuGetopt, type LongOption } from '../getopt'
import { result } from '../result'
import type { SystemView } from './view'

/** What `uname -p`, `-i` and `-o` print, per verified package build. */
export interface BuildFacts {
  readonly processor: string
  readonly hardwarePlatform: string
  readonly operatingSystem: string
}

export const UNAME_VERIFIED_BUILDS: ReadonlyMap<BuildId, BuildFacts> = new Map([
  ['coreutils 9.1-1 amd64', { processor: 'unknown', hardwarePlatform: 'unknown', operatingSystem: 'GNU/Linux' }],
])

const LONG_OPTIONS: readonly LongOption[] = [
  { name: 'all', arg: 'none', key: 'a' },
  { name: 'kernel-name', arg: 'none', key: 's' },
  { name: 'sysname', arg: 'none', key: 's' },
  { name: 'nodename', arg: 'none', key: 'n' },
  { name: 'kernel-release', arg: 'none', key: 'r' },
  { name: 'release', arg: 'none', key: 'r' },
  { name: 'kernel-version', arg: 'none', key: 'v' },
  { name: 'machine', arg: 'none', key: 'm' },
  { name: 'processor', arg: 'none', key: 'p' },
  { name: 'hardware-platform', arg: 'none', key: 'i' },
  { name: 'operating-system', arg: 'none', key: 'o' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

const MARKERS = ['GNU coreutils\0', 'hardware-platform\0', 'operating-system\0']
const REPLACEMENT_CHAR = '\u00ef\u00bf\u00bd'

/** coreutils uname. */
export function createUname(view: SystemView): EmulatedCommand {
  return {
    name: 'uname',
    run(args, io) {
      if (loaderTampered(view, io.ctx.env) || !binaryHas(view, 'uname', MARKERS)) return null
      const parsed = gnuGetopt(args, 'asnrvmpio', LONG_OPTIONS, io.ctx.env)
      if (parsed === undefined || parsed.operands.length > 0) return null
      let all = false
      const want = new Set<string>()
      for (const { key } of parsed.options) {
        if (key === 'help' || key === 'version') return null
        if (key === 'a') all = true
        else want.add(key)
      }
      if (all) for (const k of 'snrvmpio') want.add(k)
      if (want.size === 0) want.add('s')
      const u = view.process.uname()
      if (u === undefined) return null
      let facts: BuildFacts | undefined
      if (want.has('p') || want.has('i') || want.has('o')) {
        const path = systemBinary(view, 'uname')
        const build = path === undefined ? undefined : dpkgBuild(view, 'coreutils', path)
        facts = build === undefined ? undefined : UNAME_VERIFIED_BUILDS.get(build)
        if (facts === undefined) return null
      }
      const fields: string[] = []
      if (want.has('s')) fields.push(u.sysname)
      if (want.has('n')) fields.push(u.nodename)
      if (want.has('r')) fields.push(u.release)
      if (want.has('v')) fields.push(u.version)
      if (want.has('m')) fields.push(u.machine)
      // With -a, -p and -i are left out when they would print `unknown`.
      if (want.has('p') && !(all && facts!.processor === 'unknown')) fields.push(facts!.processor)
      if (want.has('i') && !(all && facts!.hardwarePlatform === 'unknown')) fields.push(facts!.hardwarePlatform)
      if (want.has('o')) fields.push(facts!.operatingSystem)
      const line = fields.join(' ')
      if (line.includes(REPLACEMENT_CHAR)) return null
      return result(line + '\n')
    },
  }
}
