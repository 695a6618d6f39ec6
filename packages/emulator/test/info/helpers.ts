/**
 * Differential checks for the info commands: the system binary run for real (same argv[0],
 * env, cwd, uid) against the command's run(), compared byte for byte.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Test } from 'tap'
import { createInfoCommands, createSystemView, liveSystemView } from '../../src/commands/info/index'
import type { SystemView } from '../../src/commands/info/view'
import type { ChildContext, EmulatedCommand, EmulationResult } from '../../src/types'

export const BARE_ENV: Readonly<Record<string, string>> = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', HOME: '/root' }

export function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...BARE_ENV, ...extra }
}

export interface RealRun {
  readonly stdout: Buffer
  readonly stderr: Buffer
  readonly status: number | null
}

export interface RunOptions {
  readonly env?: Record<string, string>
  readonly cwd?: string
  /** Run the child with this uid and gid (spawn options, as the interception layer sees them). */
  readonly uid?: number
  /** The child's supplementary groups as the emulated side is told (spawn with a uid clears them). */
  readonly groups?: readonly number[]
  /** argv[0] for both sides (default: the command name). */
  readonly argv0?: string
  /**
   * Run the real command in a mount namespace where /etc/nsswitch.conf lists only `files`
   * (its ids set with setpriv, supplementary groups cleared); the emulated side reads the
   * same configuration through a fake root.
   */
  readonly filesOnlyNss?: boolean
}

const SYSTEM_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin']

export function systemPath(name: string): string {
  for (const d of SYSTEM_DIRS) if (fs.existsSync(path.join(d, name))) return path.join(d, name)
  throw new Error(`no system binary ${name}`)
}

let nssRoot: string | undefined

/** A fake root: the live system, but /etc/nsswitch.conf saying `files` for passwd and group. */
export function filesOnlyRoot(): string {
  if (nssRoot !== undefined) return nssRoot
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'am-info-nss-'))
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  for (const d of ['usr', 'sys', 'proc', 'var', 'bin', 'lib', 'lib64', 'run', 'sbin']) {
    if (fs.existsSync('/' + d)) fs.symlinkSync('/' + d, path.join(dir, d))
  }
  fs.mkdirSync(path.join(dir, 'etc'))
  for (const f of fs.readdirSync('/etc')) {
    if (f !== 'nsswitch.conf') fs.symlinkSync('/etc/' + f, path.join(dir, 'etc', f))
  }
  fs.writeFileSync(path.join(dir, 'etc', 'nsswitch.conf'), 'passwd: files\ngroup: files\n')
  nssRoot = dir
  return dir
}

export function runReal(cmd: string, args: readonly string[], o: RunOptions = {}): RealRun {
  const e = o.env ?? env()
  const cwd = o.cwd ?? '/tmp'
  const argv0 = o.argv0 ?? cmd
  let r
  if (o.filesOnlyNss === true) {
    // setpriv execs the name it is given (through PATH), so argv[0] is the command name.
    const script = 'mount --bind "$1" /etc/nsswitch.conf || exit 99; u=$2; shift 2; exec setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"'
    const conf = path.join(filesOnlyRoot(), 'etc/nsswitch.conf')
    r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', conf, String(o.uid ?? 0), cmd, ...args], { env: e, cwd })
  } else {
    r = spawnSync(systemPath(cmd), [...args], { env: e, cwd, argv0, uid: o.uid, gid: o.uid })
  }
  if (r.error !== undefined) throw r.error
  return { stdout: r.stdout, stderr: r.stderr, status: r.status }
}

const liveCommands = createInfoCommands(liveSystemView())
let nssCommands: readonly EmulatedCommand[] | undefined

function commandsFor(o: RunOptions): readonly EmulatedCommand[] {
  if (o.filesOnlyNss !== true) return liveCommands
  nssCommands ??= createInfoCommands(createSystemView({ root: filesOnlyRoot(), process: liveSystemView().process }))
  return nssCommands
}

export function command(name: string, commands: readonly EmulatedCommand[] = liveCommands): EmulatedCommand {
  const c = commands.find((x) => x.name === name)
  if (c === undefined) throw new Error(`no emulated ${name}`)
  return c
}

export function ctxFor(o: RunOptions): ChildContext {
  const uid = o.uid ?? process.getuid!()
  return {
    env: o.env ?? env(),
    cwd: o.cwd ?? '/tmp',
    uid,
    gid: o.uid ?? process.getgid!(),
    // setpriv --clear-groups in the namespace runs.
    ...(o.groups !== undefined ? { groups: o.groups } : o.filesOnlyNss === true ? { groups: [] } : {}),
  }
}

export function runEmulated(cmd: string, args: readonly string[], o: RunOptions = {}): EmulationResult | null {
  return command(cmd, commandsFor(o)).run(args, {
    ctx: ctxFor(o),
    stdin: Buffer.alloc(0),
    argv0: o.argv0 ?? cmd,
    stdoutIsTTY: false,
  })
}

function show(b: Buffer): string {
  return JSON.stringify(b.toString('latin1'))
}

/** The difference between a real run and an emulated one, or null. */
export function difference(real: RealRun, emu: EmulationResult): string | null {
  const d: string[] = []
  if (!real.stdout.equals(emu.stdout)) d.push(`stdout real ${show(real.stdout)} emulated ${show(emu.stdout)}`)
  if (!real.stderr.equals(emu.stderr)) d.push(`stderr real ${show(real.stderr)} emulated ${show(emu.stderr)}`)
  if (real.status !== emu.status) d.push(`status real ${real.status} emulated ${emu.status}`)
  return d.length === 0 ? null : d.join('; ')
}

export type Expect = 'answer' | 'null' | 'either'

export interface Tally {
  compared: number
  answered: number
  nulls: number
}

export function tally(): Tally {
  return { compared: 0, answered: 0, nulls: 0 }
}

/**
 * One differential case: an answer must equal the real run byte for byte; `expect` says
 * whether this machine must get an answer ('answer'), must be left to the kernel ('null'),
 * or may be either.
 */
export function check(t: Test, counts: Tally, cmd: string, args: readonly string[], o: RunOptions = {}, expect: Expect = 'answer'): void {
  const label = `${[o.argv0 ?? cmd, ...args].map((a) => JSON.stringify(a)).join(' ')}${o.env ? ' env=' + JSON.stringify(o.env) : ''}${o.uid !== undefined ? ' uid=' + o.uid : ''}${o.filesOnlyNss ? ' nss=files' : ''}`
  const emu = runEmulated(cmd, args, o)
  counts.compared++
  if (emu === null) {
    counts.nulls++
    if (expect === 'answer') t.fail(`${label}: not answered`)
    return
  }
  counts.answered++
  if (expect === 'null') {
    t.fail(`${label}: answered but must be left to the real program`)
    return
  }
  const real = runReal(cmd, args, o)
  const diff = difference(real, emu)
  if (diff !== null) t.fail(`${label}: ${diff}`)
}

/** Report the counts of a differential suite (and require it compared something). */
export function report(t: Test, name: string, counts: Tally): void {
  t.ok(counts.compared > 0, `${name}: ${counts.compared} cases, ${counts.answered} answered and equal, ${counts.nulls} left to the real program`)
}

export type { SystemView }

let nsOk: boolean | undefined

/** True when this process can make mount namespaces (root on Linux with unshare and setpriv). */
export function filesOnlyNssAvailable(): boolean {
  if (nsOk !== undefined) return nsOk
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /etc/hostname /etc/hostname && command -v setpriv'], { env: env() })
  nsOk = r.status === 0
  return nsOk
}

/** True when this process is root (spawn's uid option works). */
export const isRoot = process.getuid?.() === 0

/** Environment variants every locale-sensitive case runs under. */
export const LOCALE_ENVS: readonly Record<string, string>[] = [
  env(),
  env({ LANG: 'C.UTF-8' }),
  env({ LC_ALL: 'C' }),
  env({ LANG: 'C.UTF-8', LC_ALL: 'POSIX' }),
  env({ LANG: 'en_US.UTF-8' }),
  env({ LANG: 'de_DE.UTF-8', LANGUAGE: 'de' }),
  env({ LANG: 'C.utf8', LC_MESSAGES: 'xx_YY' }),
  env({ LANG: 'C.UTF-8', LC_TIME: 'nowhere' }),
]

/** Variants where translations would apply (LANGUAGE with a C.UTF-8 locale): never answered. */
export const TRANSLATED_ENV = env({ LANG: 'C.UTF-8', LANGUAGE: 'de' })
