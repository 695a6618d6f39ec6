/**
 * Debian's `which` (debianutils, a dash script): `[-a] NAME…` searched on the child's PATH
 * (split on `:`, an empty element meaning the working directory), names with a slash tested
 * as they are; a hit is a regular file the child may execute (`test -f && test -x`); exit 1
 * when any name is missing, nothing printed for it. The test is the PATH resolver's
 * (resolve.ts), with the child's uid, gid and groups: the policy and the emulator's own
 * lookups use the same rules.
 */
import type { EmulatedCommand } from '../../types'
import { dpkgBuild, systemBinary, type BuildId } from './binaries'
import { pathElements, testExecutableFile } from '../../resolve'
import { uniformIds } from './creds'
import { dashTampered } from './env-guard'
import { allPrintableAscii, result } from '../result'
import type { SystemView } from './view'

/** Builds of the script whose behaviour this reproduces. */
export const WHICH_VERIFIED_BUILDS: ReadonlySet<BuildId> = new Set(['debianutils 5.7-0.5~deb12u1 amd64'])

/** dash `getopts a` over the leading arguments: the names after the options, or undefined. */
function afterOptions(args: readonly string[]): { all: boolean; names: readonly string[] } | undefined {
  let all = false
  let i = 0
  for (; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      i++
      break
    }
    if (arg.length < 2 || arg[0] !== '-') break
    for (const ch of arg.slice(1)) {
      if (ch !== 'a') return undefined
      all = true
    }
  }
  return { all, names: args.slice(i) }
}

/** Debian which. */
export function createWhich(view: SystemView): EmulatedCommand {
  return {
    name: 'which',
    run(args, io) {
      const { ctx } = io
      const pathVar = ctx.env['PATH']
      if (pathVar === undefined || !allPrintableAscii([...args, pathVar])) return null
      if (dashTampered(view, ctx.env) || !uniformIds(view, ctx)) return null
      const bin = systemBinary(view, 'which')
      const real = bin === undefined ? undefined : view.realpath(bin)
      const build = real === undefined ? undefined : dpkgBuild(view, 'debianutils', real)
      if (build === undefined || !WHICH_VERIFIED_BUILDS.has(build) || view.stat('/bin/sh')?.isFile() !== true) return null
      const parsed = afterOptions(args)
      if (parsed === undefined) return null
      const creds = { uid: ctx.uid, gid: ctx.gid, groups: ctx.groups }
      const stat = (p: string) => view.stat(p)
      const realpath = (p: string) => view.realpath(p)
      let unknown = false
      const executable = (p: string): boolean => {
        // The kernel resolves `..` after each component: no lexical normalisation here.
        const abs = p.startsWith('/') ? p : ctx.cwd.replace(/\/$/, '') + '/' + p
        const ok = testExecutableFile(abs, creds, stat, realpath)
        if (ok === undefined) unknown = true
        return ok === true
      }
      const elements = pathElements(pathVar)
      let out = ''
      let status = parsed.names.length === 0 ? 1 : 0
      for (const name of parsed.names) {
        let found = false
        if (name.includes('/')) {
          if (executable(name)) {
            out += name + '\n'
            found = true
          }
        } else {
          for (const element of elements) {
            const candidate = (element === '' ? '.' : element) + '/' + name
            if (!executable(candidate)) continue
            out += candidate + '\n'
            found = true
            if (!parsed.all) break
          }
        }
        if (!found) status = 1
      }
      // Supplementary groups that are not known decided a test.
      if (unknown) return null
      return result(out, '', status)
    },
  }
}
