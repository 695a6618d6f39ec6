/**
 * glibc's `getconf VAR` for GNU_LIBC_VERSION, GNU_LIBPTHREAD_VERSION, CLK_TCK, PAGESIZE,
 * PAGE_SIZE, _NPROCESSORS_ONLN, _NPROCESSORS_CONF and LONG_BIT, plus its usage error and the
 * "Unrecognized variable" error for names its table cannot hold.
 *
 * Sources: the glibc mapped into this process (version), the auxiliary vector (AT_PAGESZ,
 * AT_CLKTCK: kernel constants every process gets), sysfs CPU lists read the way glibc
 * 2.36–2.41 reads them, and the ELF class of the getconf binary (LONG_BIT).
 */
import type { CommandIO, EmulatedCommand, EmulationResult } from '../../types'
import { systemBinary } from './binaries'
import { glibcCpuCount, possibleCpus } from './cpulist'
import { loaderTampered } from './env-guard'
import { glibcBetween, glibcFacts } from './libc'
import { LocaleSession } from './locale-resolve'
import { invocationName, shortProgramName } from './messages'
import { failure, result } from '../result'
import type { SystemView } from './view'

const AT_PAGESZ = 6
const AT_CLKTCK = 17
const ELFCLASS32 = 1
const ELFCLASS64 = 2

const USAGE_1 = 'Usage: %s [-v specification] variable_name [pathname]\n'
const USAGE_2 = '       %s -a [pathname]\n'
const UNRECOGNIZED = "Unrecognized variable `%s'"
const MARKERS = [USAGE_1, USAGE_2, UNRECOGNIZED, 'GNU_LIBC_VERSION\0', 'libc.so.6\0']

type Variable =
  | 'GNU_LIBC_VERSION'
  | 'GNU_LIBPTHREAD_VERSION'
  | 'CLK_TCK'
  | 'PAGESIZE'
  | 'PAGE_SIZE'
  | '_NPROCESSORS_ONLN'
  | '_NPROCESSORS_CONF'
  | 'LONG_BIT'

const VARIABLES: ReadonlySet<string> = new Set<Variable>([
  'GNU_LIBC_VERSION',
  'GNU_LIBPTHREAD_VERSION',
  'CLK_TCK',
  'PAGESIZE',
  'PAGE_SIZE',
  '_NPROCESSORS_ONLN',
  '_NPROCESSORS_CONF',
  'LONG_BIT',
])

interface GetconfBinary {
  readonly longBit: number
  /** Whether `<name>\0` occurs in the file (every table name is such a string). */
  holds(name: string): boolean
}

/** The glibc getconf binary, if that is what the system has (identified once per file identity). */
function getconfBinary(view: SystemView): GetconfBinary | undefined {
  const path = systemBinary(view, 'getconf')
  return path === undefined ? undefined : view.parsed('getconf binary', path, identifyGetconf)
}

function identifyGetconf(data: Buffer): GetconfBinary | undefined {
  if (data.length < 5 || data.toString('latin1', 0, 4) !== '\x7fELF') return undefined
  if (!MARKERS.every((m) => data.includes(m, 0, 'latin1'))) return undefined
  const cls = data[4]
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) return undefined
  const memo = new Map<string, boolean>()
  return {
    longBit: cls === ELFCLASS64 ? 64 : 32,
    holds(name: string) {
      let found = memo.get(name)
      if (found === undefined) {
        found = data.includes(name + '\0', 0, 'latin1')
        if (memo.size < 1024) memo.set(name, found)
      }
      return found
    },
  }
}

function cpuCount(view: SystemView, file: 'online' | 'possible'): number | undefined {
  const facts = glibcFacts(view)
  if (facts === undefined || !glibcBetween(facts, [2, 36], [2, 41])) return undefined
  // `online` changes with CPU hotplug and is read each time; `possible` is fixed at boot.
  const text = file === 'possible' ? possibleCpus(view) : view.readText('/sys/devices/system/cpu/online')
  const n = text === undefined ? undefined : glibcCpuCount(text)
  // 0 sends glibc to its /proc/stat and sched_getaffinity fallbacks: not reproduced.
  return n === undefined || n === 0 ? undefined : n
}

function value(view: SystemView, name: Variable, longBit: number): string | undefined {
  switch (name) {
    case 'GNU_LIBC_VERSION': {
      const facts = glibcFacts(view)
      return facts && 'glibc ' + facts.version
    }
    case 'GNU_LIBPTHREAD_VERSION': {
      const facts = glibcFacts(view)
      return facts && 'NPTL ' + facts.version
    }
    case 'CLK_TCK': {
      const v = view.process.auxv()?.get(AT_CLKTCK)
      return v === undefined || v === 0n ? undefined : v.toString()
    }
    case 'PAGESIZE':
    case 'PAGE_SIZE': {
      const v = view.process.auxv()?.get(AT_PAGESZ)
      return v === undefined || v === 0n ? undefined : v.toString()
    }
    case '_NPROCESSORS_ONLN':
      return cpuCount(view, 'online')?.toString()
    case '_NPROCESSORS_CONF':
      return cpuCount(view, 'possible')?.toString()
    case 'LONG_BIT':
      return String(longBit)
  }
}

function untranslated(view: SystemView, io: CommandIO): boolean {
  // getconf sets LC_CTYPE and LC_MESSAGES one at a time.
  const locale = new LocaleSession(view, io.ctx.env)
  return locale.untranslated(locale.afterSetlocaleOne('LC_MESSAGES'))
}

function usage(view: SystemView, io: CommandIO): EmulationResult | null {
  const prog = shortProgramName(io)
  if (prog === undefined || !untranslated(view, io)) return null
  return failure(USAGE_1.replace('%s', prog) + USAGE_2.replace('%s', prog), 2)
}

/** getconf as glibc builds it. */
export function createGetconf(view: SystemView): EmulatedCommand {
  return {
    name: 'getconf',
    run(args, io) {
      if (loaderTampered(view, io.ctx.env)) return null
      const bin = getconfBinary(view)
      if (bin === undefined || glibcFacts(view) === undefined) return null
      const first = args[0]
      // --version, --help, -v SPEC (may exec a helper) and -a are left to the real program.
      if (first !== undefined && (first === '--version' || first === '--help' || first.startsWith('-v') || first === '-a')) {
        return null
      }
      const ai = first === '--' ? 1 : 0
      const n = args.length - ai
      if (n < 1 || n > 2) return usage(view, io)
      const name = args[ai]!
      // A `_POSIX_<name>` entry earlier in the table would answer instead.
      if (VARIABLES.has(name) && !bin.holds('_POSIX_' + name)) {
        if (n === 2) return usage(view, io)
        const v = value(view, name as Variable, bin.longBit)
        return v === undefined ? null : result(v + '\n')
      }
      // Unrecognized only when neither <name> nor _POSIX_<name> can be in the table.
      if (!/^[\x20-\x7e]*$/.test(name) || bin.holds(name) || bin.holds('_POSIX_' + name)) return null
      const prog = invocationName(io)
      if (prog === undefined || !untranslated(view, io)) return null
      return failure(`${prog}: ${UNRECOGNIZED.replace('%s', name)}\n`, 2)
    },
  }
}
