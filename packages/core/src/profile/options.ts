/**
 * The options of `apparmor-monkeys profile`, parsed, validated and defaulted in this one place.
 *
 *   profile --name NAME --out DIR [--vm] [--exercise 'CMD'] [--timeout S] [--grace S]
 *           [--ready tcp:PORT|http:URL|file:PATH] [--child NAME=<match>]… [--service 'CMD']…
 *           [--app-dir DIR] [--data-dir DIR]… -- CMD [ARGS…]
 */
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { AppArmorError, ErrorCodes } from '../errors'
import { validateProfileName } from '../kernel/validate'
import type { ChildSpec } from './rules'

export type ReadyProbe =
  | { readonly kind: 'label' }
  | { readonly kind: 'tcp'; readonly port: number }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'file'; readonly path: string }

export interface ProfileOptions {
  /** The runtime profile the app changes into; the boot profile is `NAME-boot`. */
  readonly name: string
  /** Where `NAME` (the profile file) is written. */
  readonly out: string
  /** Run everything inside the real-kernel VM (@apparmor-monkeys/vm). */
  readonly vm: boolean
  /** A shell command run (unconfined, same environment) once the app is ready. */
  readonly exercise: string | null
  /** Seconds each run (learn, verify) may take from start to the end of the exercise. */
  readonly timeoutSec: number
  /** How to know the app is ready. Default: its main thread's label became NAME. */
  readonly ready: ReadyProbe
  /** Seconds between SIGTERM and SIGKILL when the app is stopped (what a graceful stop does is learned too). */
  readonly graceSec: number
  readonly children: readonly ChildSpec[]
  /**
   * Shell commands started (unconfined, same environment) before the app in each run and
   * stopped after it: the services the app needs to become ready (Redis for a BullMQ worker).
   */
  readonly services: readonly string[]
  /** The application's directory (`@{APP_DIR}`). Default: the current directory. */
  readonly appDir: string
  readonly dataDirs: readonly string[]
  readonly command: readonly string[]
}

export const PROFILE_DEFAULTS = Object.freeze({ timeoutSec: 120, graceSec: 30, ready: Object.freeze({ kind: 'label' as const }) })

function usage(message: string, cause?: unknown): AppArmorError {
  return new AppArmorError(ErrorCodes.OPTIONS, `profile: ${message}`, { operation: 'profile', cause })
}

export function parseReady(v: string): ReadyProbe {
  const colon = v.indexOf(':')
  const kind = colon < 0 ? v : v.slice(0, colon)
  const rest = colon < 0 ? '' : v.slice(colon + 1)
  if (kind === 'label' && rest === '') return { kind: 'label' }
  if (kind === 'tcp') {
    const port = Number(rest)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(`--ready tcp:PORT needs a port from 1 to 65535, got ${JSON.stringify(rest)}`)
    return { kind: 'tcp', port }
  }
  if (kind === 'http') {
    try {
      const u = new URL(rest)
      if (u.protocol !== 'http:') throw new Error('not http')
    } catch {
      throw usage(`--ready http:URL needs an http:// URL, got ${JSON.stringify(rest)}`)
    }
    return { kind: 'http', url: rest }
  }
  if (kind === 'file' && rest !== '') return { kind: 'file', path: path.resolve(rest) }
  throw usage(`--ready must be tcp:PORT, http:URL, file:PATH or label, got ${JSON.stringify(v)}`)
}

function parseChild(v: string): ChildSpec {
  const eq = v.indexOf('=')
  if (eq <= 0 || eq === v.length - 1) throw usage(`--child must be NAME=<program name or absolute path>, got ${JSON.stringify(v)}`)
  const name = v.slice(0, eq)
  const match = v.slice(eq + 1)
  if (match.includes('/') && !path.isAbsolute(match)) throw usage(`--child ${name}=: a path must be absolute, got ${JSON.stringify(match)}`)
  try {
    validateProfileName(name, 'profile')
  } catch (err) {
    throw usage(`--child ${JSON.stringify(name)} is not a valid profile name`, err)
  }
  return { name, match }
}

/** A directory the profile names in rules and variables: no control character (a rule is one line). */
function rulePath(flag: string, dir: string): string {
  if (/[\x00-\x1f\x7f]/.test(dir)) throw usage(`${flag}: a profile cannot name a path with a control character (a newline would end the rule), got ${JSON.stringify(dir)}`)
  return dir
}

/** Parses the arguments after `profile`. Throws AppArmorError ERR_AA_OPTIONS on anything wrong. */
export function parseProfileArgs(args: readonly string[], cwd: string = process.cwd()): ProfileOptions {
  const dd = args.indexOf('--')
  const own = dd < 0 ? [...args] : args.slice(0, dd)
  const command = dd < 0 ? [] : args.slice(dd + 1)
  let values: Record<string, string | boolean | string[] | undefined>
  try {
    values = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        name: { type: 'string' },
        out: { type: 'string' },
        vm: { type: 'boolean' },
        exercise: { type: 'string' },
        timeout: { type: 'string' },
        grace: { type: 'string' },
        ready: { type: 'string' },
        child: { type: 'string', multiple: true },
        service: { type: 'string', multiple: true },
        'app-dir': { type: 'string' },
        'data-dir': { type: 'string', multiple: true },
      },
    }).values
  } catch (err) {
    throw usage((err as Error).message, err)
  }
  const name = values['name'] as string | undefined
  if (!name) throw usage('--name NAME is required')
  try {
    validateProfileName(name, 'profile')
  } catch (err) {
    throw usage(`--name ${JSON.stringify(name)} is not a valid profile name`, err)
  }
  if (name.includes('//') || name.endsWith('-boot')) throw usage(`--name ${JSON.stringify(name)}: give the runtime profile's name (NAME-boot is derived from it)`)
  const out = values['out'] as string | undefined
  if (!out) throw usage('--out DIR is required')
  if (command.length === 0) throw usage('the command to learn is missing: -- CMD [ARGS…]')
  let timeoutSec: number = PROFILE_DEFAULTS.timeoutSec
  if (values['timeout'] !== undefined) {
    timeoutSec = Number(values['timeout'])
    if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw usage(`--timeout must be a positive number of seconds, got ${JSON.stringify(values['timeout'])}`)
  }
  let graceSec: number = PROFILE_DEFAULTS.graceSec
  if (values['grace'] !== undefined) {
    graceSec = Number(values['grace'])
    if (!Number.isFinite(graceSec) || graceSec < 0) throw usage(`--grace must be a number of seconds (0 or more), got ${JSON.stringify(values['grace'])}`)
  }
  const children = ((values['child'] as string[] | undefined) ?? []).map(parseChild)
  const names = new Set([name, `${name}-boot`])
  for (const c of children) {
    if (names.has(c.name)) throw usage(`--child ${c.name}: the name is already used`)
    names.add(c.name)
  }
  const exercise = values['exercise'] as string | undefined
  return {
    name,
    out: path.resolve(cwd, out),
    vm: values['vm'] === true,
    exercise: exercise === undefined || exercise === '' ? null : exercise,
    timeoutSec,
    ready: values['ready'] === undefined ? PROFILE_DEFAULTS.ready : parseReady(values['ready'] as string),
    graceSec,
    children,
    services: ((values['service'] as string[] | undefined) ?? []).map((c) => {
      if (c.trim() === '') throw usage('--service needs a shell command, got an empty one')
      return c
    }),
    appDir: rulePath('--app-dir', path.resolve(cwd, (values['app-dir'] as string | undefined) ?? '.')),
    dataDirs: ((values['data-dir'] as string[] | undefined) ?? []).map((d) => rulePath('--data-dir', path.resolve(cwd, d))),
    command,
  }
}
