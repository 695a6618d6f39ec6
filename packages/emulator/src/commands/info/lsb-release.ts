/**
 * Debian 12's `lsb_release` (package lsb-release 12.0-1, a dash script over os-release):
 * -i -d -r -c -a -s in any combination. The script sources /etc/os-release (else
 * /usr/lib/os-release) as shell code, capitalises ID with cut and tr, prefers NAME when it is
 * ID in another case, and prints `No LSB modules are available.` on stderr only when stdout
 * is a terminal. Only os-release files made of plain assignments are read.
 */
import type { ChildContext, EmulatedCommand } from '../../types'
import { dpkgBuild, systemBinary, type BuildId } from './binaries'
import { dashTampered } from './env-guard'
import { gnuGetopt, type LongOption } from '../getopt'
import { allPrintableAscii, result } from '../result'
import type { SystemView } from './view'
import { pathElements } from '../../resolve'

export const LSB_RELEASE_VERIFIED_BUILDS: ReadonlySet<BuildId> = new Set(['lsb-release 12.0-1 all'])

const LONG_OPTIONS: readonly LongOption[] = [
  { name: 'help', arg: 'none', key: 'h' },
  { name: 'version', arg: 'none', key: 'v' },
  { name: 'id', arg: 'none', key: 'i' },
  { name: 'description', arg: 'none', key: 'd' },
  { name: 'release', arg: 'none', key: 'r' },
  { name: 'codename', arg: 'none', key: 'c' },
  { name: 'all', arg: 'none', key: 'a' },
  { name: 'short', arg: 'none', key: 's' },
]

/** External programs the script runs through PATH. */
const HELPERS = ['getopt', 'cut', 'tr']
const READ_VARS = ['ID', 'NAME', 'PRETTY_NAME', 'VERSION_ID', 'VERSION_CODENAME']

/** The assignments of an os-release file that is nothing but plain shell assignments. */
export function parseOsRelease(text: string): Map<string, string> | undefined {
  const vars = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (m === null) return undefined
    const raw = m[2]!
    let value: string
    let q: RegExpExecArray | null
    if ((q = /^"((?:[^"\\$`]|\\[\\"$`])*)"$/.exec(raw)) !== null) value = q[1]!.replace(/\\([\\"$`])/g, '$1')
    else if ((q = /^'([^']*)'$/.exec(raw)) !== null) value = q[1]!
    else if (/^[A-Za-z0-9_.,:/@%+=-]*$/.test(raw)) value = raw
    else return undefined
    vars.set(m[1]!, value)
  }
  return vars
}

const asciiUpper = (s: string) => s.replace(/[a-z]/g, (c) => c.toUpperCase())
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase())

/** The distributor ID the script computes from ID and NAME. */
export function distributorId(id: string, name: string | undefined): string {
  let out = asciiUpper(id.slice(0, 1)) + id.slice(1)
  if (name !== undefined && name !== 'x' && asciiLower(out) === asciiLower(name)) out = name
  return out
}

/** True when dash finds `name` on the child's PATH as the system binary. */
function resolvesToSystem(view: SystemView, ctx: ChildContext, name: string): boolean {
  const system = systemBinary(view, name)
  const target = system === undefined ? undefined : view.stat(system)
  if (target === undefined) return false
  for (const element of pathElements(ctx.env['PATH'] ?? '')) {
    const dir = element === '' ? ctx.cwd : element.startsWith('/') ? element : ctx.cwd.replace(/\/$/, '') + '/' + element
    const st = view.stat(dir.replace(/\/$/, '') + '/' + name)
    if (st === undefined || !st.isFile()) continue
    return st.dev === target.dev && st.ino === target.ino
  }
  return false
}

/** Debian lsb_release. */
export function createLsbRelease(view: SystemView): EmulatedCommand {
  return {
    name: 'lsb_release',
    run(args, io) {
      const { ctx } = io
      const env = ctx.env
      if (io.stdoutIsTTY !== false || ctx.env['PATH'] === undefined) return null
      // LSB_OS_RELEASE picks another file; GETOPT_COMPATIBLE changes getopt's output quoting.
      if (!allPrintableAscii(args) || dashTampered(view, env) || env['LSB_OS_RELEASE'] !== undefined || env['GETOPT_COMPATIBLE'] !== undefined) return null
      const bin = systemBinary(view, 'lsb_release')
      const build = bin === undefined ? undefined : dpkgBuild(view, 'lsb-release', bin)
      if (build === undefined || !LSB_RELEASE_VERIFIED_BUILDS.has(build) || view.stat('/bin/sh')?.isFile() !== true) return null
      if (!HELPERS.every((h) => resolvesToSystem(view, ctx, h))) return null
      const parsed = gnuGetopt(args, 'hvidrcas', LONG_OPTIONS, env)
      if (parsed === undefined) return null
      const show = new Set<string>()
      let short = false
      for (const { key } of parsed.options) {
        if (key === 'h') return null
        if (key === 'a') for (const k of 'idrc') show.add(k)
        else if (key === 's') short = true
        else if (key !== 'v') show.add(key)
      }
      const file = view.stat('/etc/os-release')?.isFile() ? '/etc/os-release' : view.stat('/usr/lib/os-release')?.isFile() ? '/usr/lib/os-release' : undefined
      const sourced = file === undefined ? new Map<string, string>() : view.parsed('os-release', file, (d) => parseOsRelease(d.toString('latin1')))
      if (sourced === undefined) return null
      // Variables the file does not set keep the values the child inherited.
      const get = (key: string): string | undefined => sourced.get(key) ?? env[key]
      for (const key of READ_VARS) {
        const v = get(key)
        if (v === undefined) continue
        // $(…) would strip trailing newlines; inherited values must have crossed as ASCII.
        if (v.includes('\n') || (!sourced.has(key) && !/^[\x01-\x7f]*$/.test(v))) return null
      }
      const line = (label: string, value: string | undefined) => {
        const v = value === undefined || value === '' ? 'n/a' : value
        return short ? v + '\n' : `${label}:\t${v}\n`
      }
      let out = ''
      if (show.has('i')) out += line('Distributor ID', distributorId(get('ID') ?? '', get('NAME')))
      if (show.has('d')) out += line('Description', get('PRETTY_NAME'))
      if (show.has('r')) out += line('Release', get('VERSION_ID'))
      if (show.has('c')) out += line('Codename', get('VERSION_CODENAME'))
      return result(out)
    },
  }
}
