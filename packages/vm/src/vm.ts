/**
 * Host side of the real-AppArmor VM: boots Debian's stock kernel under qemu (TCG) with the
 * host root read-only over virtio-9p, loads precompiled profiles and runs steps in one boot.
 * See README.md. Nothing happens on import.
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { VmError, VmErrorCodes } from './errors'
import { resolveOptions, type ResolvedOptions, type VmRunOptions } from './options'
import { guestDir, monorepoRoot, packageRoot, vmCacheDir } from './paths'

export type { ProfileMode, VmProfile, VmRunOptions, VmStep } from './options'

export interface VmStepResult {
  name: string
  /** Exit status, or null when it died of a signal (or could not be started: see stderr). */
  status: number | null
  signal: string | null
  stdout: string
  stderr: string
  /** The kernel's `apparmor=` records (DENIED, ALLOWED, AUDIT, STATUS…) printed while the step ran. */
  audit: string[]
  durationMs: number
  timedOut: boolean
  /** Set for a background step. */
  background?: true
}

export interface VmRunResult {
  steps: VmStepResult[]
  /** Every `apparmor=` record of the run in order (profile load, all steps, background steps' shutdown). */
  audit: string[]
  console: string
  bootMs: number
  totalMs: number
  profilesLoaded: string[]
  /** The host directory the guest's `$AAM_VM_OUT` wrote to; set when it is kept (`outDir` given or `keepOut`). */
  outDir?: string
}

const FEATURES_FILE = '/usr/share/apparmor-features/features'
const QEMU = 'qemu-system-x86_64'
/** Guest directories covered by a tmpfs: host files there are invisible inside the VM unless shared. */
const GUEST_TMPFS = ['/tmp', '/run', '/root', '/var/tmp']
const CONSOLE_TAIL_LINES = 60
const READY_MARK = 'AAM-GUEST-READY'

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
  /** Mounted by /init at its own path (`aa.repo`): the checkout, or the package directory. */
  base: string
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
  const base = fs.realpathSync(monorepoRoot() ?? packageRoot())
  if (/\s/.test(base)) missing.push(`a package path without whitespace (kernel command line words cannot hold it): ${JSON.stringify(base)}`)
  const node = fs.realpathSync(process.execPath)
  if (/\s/.test(node)) missing.push(`a node path without whitespace: ${JSON.stringify(node)}`)
  const hidden = GUEST_TMPFS.find((d) => isUnder(node, d) && !isUnder(node, base))
  if (hidden) missing.push(`node outside ${hidden} (a tmpfs in the guest hides ${node})`)
  const dir = vmCacheDir()
  const stamp = readStamp(path.join(dir, 'stamp'))
  const kver = stamp?.['kver']
  // vmlinux (PVH boot, no in-guest decompression) when setup could unpack it, else vmlinuz.
  const image = stamp?.['kernel']
  const kernel = kver && image ? path.join(dir, 'kernel', kver, image) : ''
  const initrd = path.join(dir, 'initramfs.cpio.gz')
  if (!stamp || !kernel || !fs.existsSync(kernel) || !fs.existsSync(initrd)) {
    missing.push(`the VM cache in ${dir} (run: npx apparmor-monkeys-vm setup)`)
  } else if (stamp['init'] !== sha256(path.join(guestDir(), 'init')) || stamp['setup'] !== sha256(path.join(guestDir(), 'setup.sh'))) {
    missing.push(`an up-to-date VM cache in ${dir} (this version's init or setup.sh differs: run: npx apparmor-monkeys-vm setup)`)
  }
  if (missing.length > 0 || !qemu) return { missing }
  return { layout: { base, kernel, initrd, node, qemu }, missing }
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
        reject(new VmError(VmErrorCodes.NOT_READY, `runVm: cannot run ${file}: ${err.message}`, { operation: 'runVm', cause: err }))
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

/**
 * Compiles the profiles on the host against the pinned kernel features: one binary per mode
 * (`-C` forces complain mode). Returns the binaries' names in `work`.
 */
async function compileProfiles(profiles: ResolvedOptions['profiles'], work: string): Promise<string[]> {
  if (profiles.length === 0) return []
  const parser = findExecutable('apparmor_parser', ['/usr/sbin', '/sbin'])
  if (!parser) throw new VmError(VmErrorCodes.NOT_READY, 'runVm: apparmor_parser not found (apt-get install apparmor, or run: npx apparmor-monkeys-vm setup)', { operation: 'runVm' })
  for (const p of profiles) {
    if (!fs.existsSync(p.path)) throw new VmError(VmErrorCodes.PROFILE, `runVm: profile file not found: ${p.path}`, { operation: 'runVm', profile: p.path })
  }
  const rendered = await Promise.all(profiles.map(async (p, i) => ({ mode: p.mode, file: await renderNode(p.path, work, i) })))
  const bins: string[] = []
  for (const mode of ['enforce', 'complain'] as const) {
    const files = rendered.filter((r) => r.mode === mode).map((r) => r.file)
    if (files.length === 0) continue
    // Without --kernel-features the parser compiles against an empty feature set and silently
    // drops network, unix, signal and ptrace rules.
    const args = ['-Q', '-K', '-S', '--abort-on-error', '--kernel-features', FEATURES_FILE, ...(mode === 'complain' ? ['-C'] : []), ...files]
    const r = await execFileBuffer(parser, args)
    if (r.code !== 0 || r.stdout.length === 0) {
      throw new VmError(VmErrorCodes.PROFILE, `runVm: apparmor_parser failed (status ${r.code}) compiling ${files.join(', ')}:\n${r.stderr.trim()}`, {
        operation: 'runVm',
        profile: files[0],
      })
    }
    const name = `profiles-${mode}.bin`
    await fs.promises.writeFile(path.join(work, name), r.stdout)
    bins.push(name)
  }
  return bins
}

/** qemu option values use ',' as separator; a literal comma is written ',,'. */
function qemuEscape(value: string): string {
  return value.replace(/,/g, ',,')
}

function consoleTail(text: string): string {
  if (text.trim() === '') return '(the console is empty: the kernel had not reached /init)'
  return text.split('\n').slice(-CONSOLE_TAIL_LINES).join('\n')
}

/** A 9p export and where the guest mounts it (guest.cjs reads these fields). */
interface Mount {
  kind: 'share' | 'overlay' | 'out'
  tag: string
  /** Host directory = guest mount point. */
  path: string
}

/**
 * The shares and overlays of a run: the directory runVm runs from and `shares`, minus those
 * already visible through another share or the base mount; each overlay gets its own export.
 */
function planMounts(o: ResolvedOptions, base: string, outDir: string): Mount[] {
  const mounts: Mount[] = []
  const covered = [base]
  // The calling directory is visible through the host root unless it lies under a guest tmpfs;
  // it is shared either way (never `/` itself, which is the host root).
  const cwd = process.cwd() === '/' ? [] : [process.cwd()]
  const shares = [...new Set([...cwd, ...o.shares].map((d) => (fs.existsSync(d) ? fs.realpathSync(d) : d)))].sort((a, b) => a.length - b.length)
  for (const dir of shares) {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new VmError(VmErrorCodes.OPTIONS, `runVm: a share must be an existing directory: ${dir}`, { operation: 'runVm' })
    }
    if (covered.some((c) => isUnder(dir, c))) continue
    covered.push(dir)
    mounts.push({ kind: 'share', tag: `aas${mounts.length}`, path: dir })
  }
  o.overlays.forEach((dir, i) => {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new VmError(VmErrorCodes.OPTIONS, `runVm: an overlay must be an existing directory: ${dir}`, { operation: 'runVm' })
    }
    mounts.push({ kind: 'overlay', tag: `aao${i}`, path: fs.realpathSync(dir) })
  })
  mounts.push({ kind: 'out', tag: 'aafiles', path: outDir })
  return mounts
}

interface BootResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  console: string
  readyMs: number | undefined
}

function boot(layout: VmLayout, work: string, mounts: Mount[], o: ResolvedOptions): Promise<BootResult> {
  const cmdline = [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    // No auditd: the kernel prints every record; complain-mode floods need room (README: "Audit floods").
    'audit_backlog_limit=65536',
    'log_buf_len=16M',
    `aa.cmd=${path.join(guestDir(), 'stage2.sh')}`,
    `aa.repo=${layout.base}`,
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
    '-virtfs', `local,path=${qemuEscape(layout.base)},mount_tag=aarepo,security_model=none,readonly=on,multidevs=remap`,
    '-virtfs', `local,path=${qemuEscape(work)},mount_tag=aaout,security_model=none`,
    ...mounts.flatMap((m) => [
      '-virtfs',
      `local,path=${qemuEscape(m.path)},mount_tag=${m.tag},security_model=none,multidevs=remap${m.kind === 'out' ? '' : ',readonly=on'}`,
    ]),
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
        new VmError(VmErrorCodes.TIMEOUT, `runVm: the VM did not finish within ${o.timeoutMs} ms (qemu killed); console tail:\n${consoleTail(text)}`, {
          operation: 'runVm',
          console: text,
        }),
      )
    }, o.timeoutMs)
    child.on('error', (err) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new VmError(VmErrorCodes.BOOT_FAILED, `runVm: cannot start ${layout.qemu}: ${err.message}`, { operation: 'runVm', cause: err }))
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

function collect(work: string, b: BootResult, o: ResolvedOptions): { steps: VmStepResult[]; profilesLoaded: string[]; audit: string[] } {
  const load = readJson<GuestLoad>(path.join(work, 'load.json'))
  if (load && !load.ok) {
    throw new VmError(VmErrorCodes.GUEST_SETUP, `runVm: setting up the guest failed: ${load.message}`, { operation: 'runVm', console: b.console })
  }
  // isa-debug-exit: qemu exits with 2*rc+1, so 1 means the guest driver returned 0.
  if (b.exitCode !== 1) {
    const rc = b.exitCode !== null && b.exitCode % 2 === 1 ? ` (guest driver exit status ${(b.exitCode - 1) / 2})` : ''
    let driverError = ''
    try {
      driverError = `\ndriver error: ${fs.readFileSync(path.join(work, 'driver-error.txt'), 'utf8')}`
    } catch {
      // none written
    }
    const how = b.signal ? `signal ${b.signal}` : `status ${b.exitCode}`
    throw new VmError(
      VmErrorCodes.BOOT_FAILED,
      `runVm: the guest run did not finish: qemu exited with ${how}${rc}` +
        `${b.exitCode === 0 ? ' (powered off without reporting: /init or stage 2 failed)' : ''}` +
        `${driverError}\nconsole tail:\n${consoleTail(b.console)}`,
      { operation: 'runVm', console: b.console },
    )
  }
  const fail = (what: string): never => {
    throw new VmError(VmErrorCodes.BOOT_FAILED, `runVm: ${what}; console tail:\n${consoleTail(b.console)}`, { operation: 'runVm', console: b.console })
  }
  if (!load) fail('the guest wrote no load.json')
  const steps = o.steps.map((s, i) => readJson<VmStepResult>(path.join(work, 'steps', `${i}.json`)) ?? fail(`no result for step ${i} (${s.name})`))
  const audit = readJson<string[]>(path.join(work, 'audit.json')) ?? fail('the guest wrote no audit.json')
  return { steps, profilesLoaded: (load as GuestLoad).profiles, audit }
}

/** Boots the VM once, loads `profiles`, runs `steps` in order and returns their results. */
export async function runVm(opts: VmRunOptions): Promise<VmRunResult> {
  const t0 = performance.now()
  const o = resolveOptions(opts)
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'aam-vm-'))
  const outDir = o.outDir ?? path.join(work, 'out')
  const keepOutDir = o.outDir !== undefined || o.keepOut
  let failed = true
  try {
    const profilesBin = await compileProfiles(o.profiles, work)
    const { layout, missing } = inspect()
    if (!layout) throw new VmError(VmErrorCodes.NOT_READY, `runVm: the VM cannot run here: missing: ${missing.join('; ')}`, { operation: 'runVm' })
    await fs.promises.mkdir(outDir, { recursive: true })
    // Steps may run as any uid: the guest checks the share's host mode.
    if (o.outDir === undefined) await fs.promises.chmod(outDir, 0o1777)
    const mounts = planMounts(o, layout.base, outDir)
    const baseEnv = {
      PATH: [path.dirname(layout.node), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
        .filter((d, i, a) => a.indexOf(d) === i)
        .join(':'),
      HOME: '/root',
      LANG: 'C.UTF-8',
      AAM_VM_OUT: outDir,
    }
    const manifest = { profilesBin, mounts, baseEnv, steps: o.steps }
    await fs.promises.writeFile(path.join(work, 'manifest.json'), JSON.stringify(manifest))
    const b = await boot(layout, work, mounts, o)
    const { steps, profilesLoaded, audit } = collect(work, b, o)
    failed = false
    const totalMs = performance.now() - t0
    return {
      steps,
      audit,
      console: b.console,
      bootMs: Math.round(b.readyMs ?? totalMs),
      totalMs: Math.round(totalMs),
      profilesLoaded,
      ...(keepOutDir ? { outDir } : {}),
    }
  } catch (err) {
    if (o.keepOut && err instanceof Error) err.message += `\n(work dir kept: ${work})`
    throw err
  } finally {
    if (!o.keepOut) await fs.promises.rm(work, { recursive: true, force: true })
    else if (!failed) process.stderr.write(`runVm: work dir kept: ${work}\n`)
  }
}
