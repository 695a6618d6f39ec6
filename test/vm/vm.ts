/**
 * Host side of the real-AppArmor test VM: boots Debian's stock kernel under qemu (TCG) with
 * the host root read-only over virtio-9p, loads precompiled profiles and runs steps in order in
 * one boot. See test/vm/README.md. Nothing happens on import.
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export interface VmStep {
  name: string
  argv: string[]
  env?: Record<string, string>
  cwd?: string
  timeoutSec?: number
}

export interface VmStepResult {
  name: string
  status: number | null
  signal: string | null
  stdout: string
  stderr: string
  audit: string[]
  durationMs: number
  timedOut: boolean
}

export interface VmRunOptions {
  profiles?: string[]
  steps: VmStep[]
  memMiB?: number
  smp?: number
  timeoutMs?: number
  keepOut?: boolean
}

export interface VmRunResult {
  steps: VmStepResult[]
  console: string
  bootMs: number
  totalMs: number
  profilesLoaded: string[]
}

const FEATURES_FILE = '/usr/share/apparmor-features/features'
const QEMU = 'qemu-system-x86_64'
/** Guest directories covered by a tmpfs: host files there are invisible inside the VM. */
const GUEST_TMPFS = ['/tmp', '/run', '/root', '/var/tmp']
const CONSOLE_TAIL_LINES = 60
const READY_MARK = 'AAM-GUEST-READY'

/** Every default of the harness, resolved when a run starts (env overrides included). */
function defaults(env: NodeJS.ProcessEnv = process.env) {
  const num = (name: string, fallback: number): number => {
    const v = env[name]
    if (v === undefined || v === '') return fallback
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(v)}`)
    return n
  }
  return {
    memMiB: 768,
    smp: 1,
    stepTimeoutSec: num('AAM_VM_STEP_TIMEOUT_SEC', 120),
    /** Allowance for boot, profile load and shutdown on top of the steps' own timeouts. */
    bootAllowanceMs: 60_000,
    /** Overrides the computed wall-clock limit of a run when set. */
    timeoutMs: env['AAM_VM_TIMEOUT_MS'] === undefined ? undefined : num('AAM_VM_TIMEOUT_MS', 1),
    keepOut: env['AAM_VM_KEEP'] === '1',
  }
}

/** A step as written to the guest's manifest (guest.cjs reads these fields). */
interface ResolvedStep {
  name: string
  argv: string[]
  timeoutSec: number
  env?: Record<string, string>
  cwd?: string
}

interface ResolvedOptions {
  profiles: string[]
  steps: ResolvedStep[]
  memMiB: number
  smp: number
  timeoutMs: number
  keepOut: boolean
}

function resolveOptions(opts: VmRunOptions): ResolvedOptions {
  const d = defaults()
  if (!Array.isArray(opts.steps)) throw new TypeError('runVm: steps must be an array')
  const steps = opts.steps.map((s, i): ResolvedStep => {
    if (typeof s.name !== 'string' || s.name === '') throw new TypeError(`runVm: steps[${i}].name must be a non-empty string`)
    if (!Array.isArray(s.argv) || s.argv.length === 0 || !s.argv.every((a) => typeof a === 'string')) {
      throw new TypeError(`runVm: steps[${i}].argv must be a non-empty string array`)
    }
    const timeoutSec = s.timeoutSec ?? d.stepTimeoutSec
    if (!(timeoutSec > 0)) throw new TypeError(`runVm: steps[${i}].timeoutSec must be positive`)
    if (s.cwd !== undefined && !path.isAbsolute(s.cwd)) throw new TypeError(`runVm: steps[${i}].cwd must be absolute`)
    return { name: s.name, argv: [...s.argv], timeoutSec, ...(s.env ? { env: { ...s.env } } : {}), ...(s.cwd ? { cwd: s.cwd } : {}) }
  })
  const memMiB = opts.memMiB ?? d.memMiB
  const smp = opts.smp ?? d.smp
  if (!Number.isInteger(memMiB) || memMiB < 256) throw new TypeError('runVm: memMiB must be an integer >= 256')
  if (!Number.isInteger(smp) || smp < 1) throw new TypeError('runVm: smp must be a positive integer')
  const stepBudgetMs = steps.reduce((sum, s) => sum + s.timeoutSec * 1000, 0)
  const timeoutMs = opts.timeoutMs ?? d.timeoutMs ?? d.bootAllowanceMs + stepBudgetMs
  if (!(timeoutMs > 0)) throw new TypeError('runVm: timeoutMs must be positive')
  return {
    profiles: (opts.profiles ?? []).map((p) => path.resolve(p)),
    steps,
    memMiB,
    smp,
    timeoutMs,
    keepOut: opts.keepOut ?? d.keepOut,
  }
}

/** The repository root: the nearest ancestor holding pnpm-workspace.yaml (works from src and dist). */
function repoRoot(): string {
  let dir = __dirname
  for (;;) {
    if (fs.existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`vm: no pnpm-workspace.yaml above ${__dirname}`)
    dir = up
  }
}

/** The cache setup.sh fills (same default and variable as setup.sh). */
function vmDir(root: string): string {
  return process.env['AAM_VM_DIR'] || path.join(root, '.cache', 'vm')
}

function findExecutable(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), ...extraDirs].filter(Boolean)
  for (const dir of dirs) {
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

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

function readStamp(file: string): Record<string, string> | undefined {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return out
}

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir + '/')
}

interface VmLayout {
  root: string
  kernel: string
  initrd: string
  node: string
  qemu: string
}

/** Checks everything a boot needs; returns the paths, or the list of what is missing. */
function inspect(): { layout?: VmLayout; missing: string[] } {
  const missing: string[] = []
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    missing.push(`an x86_64 Linux host (the guest runs the host's binaries; this is ${process.platform}/${process.arch})`)
  }
  const qemu = findExecutable(QEMU)
  if (!qemu) missing.push(`${QEMU} (apt-get install qemu-system-x86)`)
  if (!findExecutable('apparmor_parser', ['/usr/sbin', '/sbin'])) missing.push('apparmor_parser (apt-get install apparmor)')
  if (!fs.existsSync(FEATURES_FILE)) missing.push(`${FEATURES_FILE} (apt-get install apparmor)`)
  if (!fs.existsSync('/bin/busybox')) missing.push('/bin/busybox (apt-get install busybox-static)')
  let root: string
  try {
    root = repoRoot()
  } catch (err) {
    missing.push((err as Error).message)
    return { missing }
  }
  if (/\s/.test(root)) missing.push(`a repository path without whitespace (kernel command line words cannot hold it): ${JSON.stringify(root)}`)
  const node = fs.realpathSync(process.execPath)
  if (/\s/.test(node)) missing.push(`a node path without whitespace: ${JSON.stringify(node)}`)
  const hidden = GUEST_TMPFS.find((d) => isUnder(node, d) && !isUnder(node, root))
  if (hidden) missing.push(`node outside ${hidden} (a tmpfs in the guest hides ${node})`)
  const dir = vmDir(root)
  const stamp = readStamp(path.join(dir, 'stamp'))
  const kver = stamp?.['kver']
  // vmlinux (PVH boot, no in-guest decompression) when setup.sh could unpack it, else vmlinuz.
  const image = stamp?.['kernel']
  const kernel = kver && image ? path.join(dir, 'kernel', kver, image) : ''
  const initrd = path.join(dir, 'initramfs.cpio.gz')
  if (!stamp || !kernel || !fs.existsSync(kernel) || !fs.existsSync(initrd)) {
    missing.push(`the VM cache in ${dir} (run test/vm/setup.sh)`)
  } else if (
    stamp['init'] !== sha256(path.join(root, 'test', 'vm', 'init')) ||
    stamp['setup'] !== sha256(path.join(root, 'test', 'vm', 'setup.sh'))
  ) {
    missing.push(`an up-to-date VM cache in ${dir} (test/vm/init or setup.sh changed: run test/vm/setup.sh)`)
  }
  if (missing.length > 0 || !qemu) return { missing }
  return { layout: { root, kernel, initrd, node, qemu }, missing }
}

/** Says whether runVm can boot here, and if not, what is missing. No side effects. */
export function vmPrerequisites(): { ok: true } | { ok: false; reason: string } {
  const { missing } = inspect()
  if (missing.length === 0) return { ok: true }
  return { ok: false, reason: `missing: ${missing.join('; ')}` }
}

function execFileBuffer(file: string, args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new Error(`cannot run ${file}: ${err.message}`))
        return
      }
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr: stderr.toString('utf8') })
    })
  })
}

const NODE_VARIABLE = /^@\{NODE\}=.*$/m

/**
 * A profile file as it is compiled: its `@{NODE}=…` line, if it has one, names the node binary
 * the guest runs (this process's, resolved), so the same profiles hold on every Node line.
 * Such a file is compiled from a rendered copy in `outDir`; others are compiled as they are.
 */
async function renderNode(file: string, outDir: string, index: number): Promise<string> {
  const text = await fs.promises.readFile(file, 'utf8')
  if (!NODE_VARIABLE.test(text)) return file
  const node = fs.realpathSync(process.execPath)
  const copy = path.join(outDir, `${index}-${path.basename(file)}`)
  await fs.promises.writeFile(copy, text.replace(new RegExp(NODE_VARIABLE.source, 'gm'), `@{NODE}=${node}`))
  return copy
}

/** Compiles the profiles on the host into one binary (against the pinned kernel features). */
async function compileProfiles(sources: string[], outFile: string): Promise<void> {
  const parser = findExecutable('apparmor_parser', ['/usr/sbin', '/sbin'])
  if (!parser) throw new Error('runVm: apparmor_parser not found (apt-get install apparmor)')
  for (const f of sources) {
    if (!fs.existsSync(f)) throw new Error(`runVm: profile file not found: ${f}`)
  }
  const files = await Promise.all(sources.map((f, i) => renderNode(f, path.dirname(outFile), i)))
  // Without --kernel-features the parser compiles against an empty feature set and silently
  // drops network, unix, signal and ptrace rules.
  const args = ['-Q', '-K', '-S', '--abort-on-error', '--kernel-features', FEATURES_FILE, ...files]
  const r = await execFileBuffer(parser, args)
  if (r.code !== 0 || r.stdout.length === 0) {
    throw new Error(`runVm: apparmor_parser failed (status ${r.code}) compiling ${files.join(', ')}:\n${r.stderr.trim()}`)
  }
  await fs.promises.writeFile(outFile, r.stdout)
}

/** qemu option values use ',' as separator; a literal comma is written ',,'. */
function qemuEscape(value: string): string {
  return value.replace(/,/g, ',,')
}

function consoleTail(text: string): string {
  if (text.trim() === '') return '(the console is empty: the kernel had not reached /init)'
  return text.split('\n').slice(-CONSOLE_TAIL_LINES).join('\n')
}

interface BootResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  console: string
  readyMs: number | undefined
}

function boot(layout: VmLayout, out: string, o: ResolvedOptions): Promise<BootResult> {
  const cmdline = [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    'audit_backlog_limit=8192',
    'log_buf_len=4M',
    `aa.cmd=${layout.root}/test/vm/stage2.sh`,
    `aa.repo=${layout.root}`,
    `aa.node=${layout.node}`,
  ].join(' ')
  const args = [
    '-nodefaults',
    '-accel', 'tcg',
    '-smp', String(o.smp),
    '-m', String(o.memMiB),
    '-cpu', 'max',
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-no-reboot',
    '-nic', 'none',
    '-kernel', layout.kernel,
    '-initrd', layout.initrd,
    '-append', cmdline,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${qemuEscape(layout.root)},mount_tag=aarepo,security_model=none,readonly=on,multidevs=remap`,
    '-virtfs', `local,path=${qemuEscape(out)},mount_tag=aaout,security_model=none`,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ]
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(layout.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    let readyMs: number | undefined
    let settled = false
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8').replace(/\r\n/g, '\n')
      if (readyMs === undefined && text.includes(READY_MARK)) readyMs = performance.now() - started
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      child.kill('SIGKILL')
      reject(
        new Error(
          `runVm: the VM did not finish within ${o.timeoutMs} ms (qemu killed); console tail:\n${consoleTail(text)}`,
        ),
      )
    }, o.timeoutMs)
    child.on('error', (err) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new Error(`runVm: cannot start ${layout.qemu}: ${err.message}`))
    })
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer)
      if (settled) return
      settled = true
      resolve({ exitCode, signal, console: text, readyMs })
    })
  })
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T
  } catch {
    return undefined
  }
}

interface GuestLoad {
  ok: boolean
  message: string
  profiles: string[]
}

function collect(out: string, b: BootResult, o: ResolvedOptions): { steps: VmStepResult[]; profilesLoaded: string[] } {
  const load = readJson<GuestLoad>(path.join(out, 'load.json'))
  if (load && !load.ok) throw new Error(`runVm: loading the profiles in the guest failed: ${load.message}`)
  // isa-debug-exit: qemu exits with 2*rc+1, so 1 means the guest driver returned 0.
  if (b.exitCode !== 1) {
    const rc = b.exitCode !== null && b.exitCode % 2 === 1 ? ` (guest driver exit status ${(b.exitCode - 1) / 2})` : ''
    let driverError = ''
    try {
      driverError = `\ndriver error: ${fs.readFileSync(path.join(out, 'driver-error.txt'), 'utf8')}`
    } catch {
      // none written
    }
    const how = b.signal ? `signal ${b.signal}` : `status ${b.exitCode}`
    throw new Error(
      `runVm: the guest run did not finish: qemu exited with ${how}${rc}` +
        `${b.exitCode === 0 ? ' (powered off without reporting: /init or stage 2 failed)' : ''}` +
        `${driverError}\nconsole tail:\n${consoleTail(b.console)}`,
    )
  }
  if (!load) throw new Error(`runVm: the guest wrote no load.json; console tail:\n${consoleTail(b.console)}`)
  const steps = o.steps.map((s, i) => {
    const r = readJson<VmStepResult>(path.join(out, 'steps', `${i}.json`))
    if (!r) throw new Error(`runVm: no result for step ${i} (${s.name}); console tail:\n${consoleTail(b.console)}`)
    return r
  })
  return { steps, profilesLoaded: load.profiles }
}

/** Boots the VM once, loads `profiles`, runs `steps` in order and returns their results. */
export async function runVm(opts: VmRunOptions): Promise<VmRunResult> {
  const t0 = performance.now()
  const o = resolveOptions(opts)
  const out = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'aam-vm-'))
  let failed = true
  try {
    if (o.profiles.length > 0) await compileProfiles(o.profiles, path.join(out, 'profiles.bin'))
    const { layout, missing } = inspect()
    if (!layout) throw new Error(`runVm: the test VM cannot run here: missing: ${missing.join('; ')}`)
    const baseEnv = {
      PATH: [path.dirname(layout.node), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
        .filter((d, i, a) => a.indexOf(d) === i)
        .join(':'),
      HOME: '/root',
      LANG: 'C.UTF-8',
    }
    const manifest = {
      repo: layout.root,
      profilesBin: o.profiles.length > 0 ? 'profiles.bin' : null,
      baseEnv,
      steps: o.steps,
    }
    await fs.promises.writeFile(path.join(out, 'manifest.json'), JSON.stringify(manifest))
    const b = await boot(layout, out, o)
    const { steps, profilesLoaded } = collect(out, b, o)
    failed = false
    const totalMs = performance.now() - t0
    return { steps, console: b.console, bootMs: Math.round(b.readyMs ?? totalMs), totalMs: Math.round(totalMs), profilesLoaded }
  } catch (err) {
    if (o.keepOut && err instanceof Error) err.message += `\n(out dir kept: ${out})`
    throw err
  } finally {
    if (!o.keepOut) await fs.promises.rm(out, { recursive: true, force: true })
    else if (!failed) process.stderr.write(`runVm: out dir kept: ${out}\n`)
  }
}
