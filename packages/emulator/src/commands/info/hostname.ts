/**
 * Debian's `hostname` (package hostname) without arguments, and `-s`/`--short`: the uname(2)
 * node name, cut at the first dot for -s. Every other option resolves names (DNS, /etc/hosts)
 * or sets the name, and is left to the real program. The program also changes behaviour with
 * its name (`dnsdomainname`, `nisdomainname`…), so an explicit argv[0] must say `hostname`.
 */
import type { EmulatedCommand } from '../../types'
import { binaryHas, dpkgBuild, systemBinary, type BuildId } from './binaries'
import { loaderTampered } from './env-guard'
import { result } from '../result'
import type { SystemView } from './view'

/** Builds whose `hostname -s` was verified to cut the node name at its first dot. */
export const HOSTNAME_VERIFIED_BUILDS: ReadonlySet<BuildId> = new Set(['hostname 3.23+nmu1 amd64'])

const MARKERS = ['hostname %s\n', 'display formatted name']
const REPLACEMENT_CHAR = '\u00ef\u00bf\u00bd'

/** Debian hostname. */
export function createHostname(view: SystemView): EmulatedCommand {
  return {
    name: 'hostname',
    run(args, io) {
      // The registry dispatches on the base name of argv[0]: without an explicit argv[0] the
      // program runs under its own name.
      const argv0 = io.argv0
      if (argv0 !== undefined && argv0.slice(argv0.lastIndexOf('/') + 1) !== 'hostname') return null
      if (loaderTampered(view, io.ctx.env) || !binaryHas(view, 'hostname', MARKERS)) return null
      const short = args.length === 1 && (args[0] === '-s' || args[0] === '--short')
      if (args.length > 0 && !short) return null
      if (short) {
        const path = systemBinary(view, 'hostname')
        const build = path === undefined ? undefined : dpkgBuild(view, 'hostname', path)
        if (build === undefined || !HOSTNAME_VERIFIED_BUILDS.has(build)) return null
      }
      const node = view.process.uname()?.nodename
      if (node === undefined || node.includes(REPLACEMENT_CHAR)) return null
      const dot = node.indexOf('.')
      return result((short && dot >= 0 ? node.slice(0, dot) : node) + '\n')
    },
  }
}
