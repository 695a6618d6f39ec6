// The main job, end to end: boot a real AppArmor kernel (Debian's stock kernel under qemu),
// load the profiles of examples/fastify-app, run the app confined by @apparmor-monkeys/fastify,
// talk HTTP to it, and print what matters: the label of every thread, a forbidden read refused
// through sync and async fs, the boot-time shell-out answered in-process, and the kernel's
// audit log next to the one of the same app run without apparmor-monkeys.
//
// npm run demo                 (= sh scripts/setup.sh --vm && node scripts/demo.mjs)
// npm run demo -- --node 26    the same with another supported Node line (scripts/nodes.mjs)
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// --node LINE: run this same script with that line's binary (the VM runs the binary it is given).
const argv = process.argv.slice(2)
const nodeAt = argv.findIndex((a) => a === '--node' || a.startsWith('--node='))
if (nodeAt !== -1) {
  const [line, width] = argv[nodeAt] === '--node' ? [argv[nodeAt + 1], 2] : [argv[nodeAt].slice('--node='.length), 1]
  const { nodeFor } = await import('./nodes.mjs')
  const rest = [...argv.slice(0, nodeAt), ...argv.slice(nodeAt + width)]
  const r = spawnSync(nodeFor(line).path, [fileURLToPath(import.meta.url), ...rest], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
const { runVm, vmPrerequisites } = require(path.join(root, 'packages/vm/dist/index.js'))
const { renderProfile } = require(path.join(root, 'test/dist/adapters/profiles.js'))

const tty = process.stdout.isTTY && !process.env.NO_COLOR
const paint = (code) => (s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : String(s))
const bold = paint('1')
const dim = paint('2')
const red = paint('31')
const green = paint('32')
const yellow = paint('33')

function heading(n, text) {
  console.log(`\n${bold(`${n}. ${text}`)}`)
}

/** An audit record without the noise: operation, profile, name / target. */
function shortAudit(line) {
  const field = (k) => line.match(new RegExp(`${k}="([^"]*)"`))?.[1]
  const name = field('name') ?? ''
  const rel = name.startsWith(root) ? `<repo>${name.slice(root.length)}` : name
  return `${field('apparmor')} ${field('operation')} ${rel} (profile ${field('profile')})`
}

function printAudit(label, run) {
  const denied = run.audit.filter((l) => l.includes('apparmor="DENIED"'))
  const counts = new Map()
  for (const l of denied) counts.set(shortAudit(l), (counts.get(shortAudit(l)) ?? 0) + 1)
  console.log(`   ${bold(label)}: ${denied.length} DENIED line(s)`)
  for (const [text, n] of counts) console.log(`     ${n}× ${text}`)
}

const pre = vmPrerequisites()
if (!pre.ok) {
  console.error(`demo: the AppArmor VM is not ready: ${pre.reason}\n(run: sh scripts/setup.sh --vm, as root or with sudo)`)
  process.exit(1)
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-demo-'))
const profiles = [renderProfile('fastify-app', dir), renderProfile('fastify-app', dir, { file: 'fastify-app-single' })]
console.log(bold('apparmor-monkeys demo: examples/fastify-app on a real AppArmor kernel'))
console.log(dim('booting Debian\'s stock kernel under qemu (TCG) and loading examples/fastify-app/apparmor/* (about a minute in all)...'))
let r
try {
  r = await runVm({
    profiles,
    steps: [{ name: 'demo', argv: [process.execPath, path.join(root, 'test/dist/adapters/guest/demo-run.js')], timeoutSec: 240 }],
  })
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
const step = r.steps[0]
if (step.status !== 0) {
  console.error(red(`demo: the guest run failed (status ${step.status}):\n${step.stderr}\n${step.stdout}`))
  process.exit(1)
}
const { with: on, without: off } = JSON.parse(step.stdout)
console.log(dim(`kernel up in ${(r.bootMs / 1000).toFixed(1)} s; profiles loaded: ${r.profilesLoaded.join(', ')}`))

heading(1, 'Start-up: aa-exec -p fastify-app-boot -- node examples/fastify-app/server.js')
const report = on.labels.status.report
console.log(
  `   @apparmor-monkeys/fastify changed the process into ${green('fastify-app')} in onReady, before listen: ` +
    `main thread + libuv pool (${report.pool}), verified, in ${Math.round(report.durationMs)} ms`,
)

heading(2, "Every thread's label (/proc/<pid>/task/*/attr/apparmor/current, read by the app itself)")
const roles = new Map(report.threads.map((t) => [t.tid, t.role]))
for (const t of on.labels.threads) {
  const role = roles.get(t.tid) ?? 'pool'
  const label = t.label.startsWith('fastify-app (') ? green(t.label) : yellow(t.label)
  console.log(`   tid ${String(t.tid).padEnd(5)} ${role.padEnd(8)} ${label}`)
}
console.log(dim("   (runtime: Node's own threads, V8 platform workers, the delayed-task scheduler and the signal watchdog."))
console.log(dim('    They cannot be changed from JavaScript and run no application I/O; confine() names them in its report.)'))

heading(3, 'Requests over loopback (the app is confined in fastify-app)')
for (const x of on.exchanges) {
  const status = x.status >= 400 ? red(x.status) : green(x.status)
  console.log(`   ${`${x.method} ${x.path}`.padEnd(36)} ${status}  ${x.summary}`)
}
const refused = on.exchanges.filter((x) => x.path.startsWith('/api/reload-secrets'))
console.log(
  `   ${refused.every((x) => x.status === 403) ? green('✓') : red('✗')} the secrets file, read at boot, is refused at request time through sync fs (main thread) and async fs (a pool thread)`,
)

heading(4, 'Shell-outs at boot, answered in-process (the decision log of the exec interception)')
if (on.decisions.length === 0) console.log('   (none logged)')
for (const d of on.decisions) {
  console.log(`   ${d.api} /bin/sh -c ${JSON.stringify(d.command)}`)
  console.log(
    `     → ${d.decision === 'emulate' ? green(d.decision) : yellow(d.decision)} (${d.reason}, ${(d.durationNs / 1e6).toFixed(1)} ms in the VM, ` +
      "the emulator's first load included): node-machine-id got the real machine id, and no process was started",
  )
}

heading(5, 'The kernel audit log: the same app, the same requests')
printAudit('with apparmor-monkeys (fastify-app-boot → fastify-app)', on)
printAudit('without it (one profile for its whole life: fastify-app-single)', off)
const execDenials = (run) => run.audit.filter((l) => l.includes('apparmor="DENIED"') && l.includes('operation="exec"')).length
const offSecrets = off.exchanges.filter((x) => x.path.startsWith('/api/reload-secrets'))
const offHealth = off.exchanges.find((x) => x.path === '/api/health')
console.log(`   with:    ${execDenials(on)} exec denial(s); every DENIED line is a request handler touching the secrets: a real signal`)
console.log(
  `   without: ${execDenials(off)} exec denial(s) (node-machine-id's shell: noise, and the app lost its instance id: ${offHealth?.summary}); ` +
    `the secrets stay readable by any handler (${offSecrets.map((x) => x.status).join(', ')})`,
)

const ok =
  on.exitCode === 0 &&
  off.exitCode === 0 &&
  refused.every((x) => x.status === 403) &&
  execDenials(on) === 0 &&
  on.decisions.some((d) => d.decision === 'emulate')
console.log(`\n${ok ? green('demo finished') : red('demo finished with unexpected results')} ${dim(`(total ${(r.totalMs / 1000).toFixed(1)} s)`)}`)
process.exit(ok ? 0 : 1)
