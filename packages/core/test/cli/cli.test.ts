// The CLI's behaviour where AppArmor is absent (this host) and its usage errors; the
// real-profile paths run in the VM suite (test/kernel/guest/cli.test.ts).
import t from 'tap'
import * as path from 'node:path'
import * as fs from 'node:fs'
import { spawnSync } from 'node:child_process'

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli.js')
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
const hasAppArmor = fs.existsSync('/sys/module/apparmor/parameters/enabled')

t.test('usage errors exit 1 with the usage text', async (t) => {
  for (const args of [[], ['bogus'], ['exec'], ['exec', '-p', 'x'], ['exec', '--', 'true'], ['audit']]) {
    const r = cli(...args)
    t.equal(r.status, 1, args.join(' '))
    t.match(r.stderr, /usage:\n  apparmor-monkeys status/)
  }
  const bad = cli('status', '--pid', 'nope')
  t.equal(bad.status, 1)
  t.match(bad.stderr, /--pid must be a process id.*ERR_AA_OPTIONS/)
  const unknown = cli('status', '--bogus')
  t.equal(unknown.status, 1, 'an unknown option is a usage error')
  t.equal(unknown.stdout, '')
  t.match(unknown.stderr, /Unknown option '--bogus'\nusage:/)
})

t.test('--help and --version print to stdout and exit 0', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
  for (const args of [['--help'], ['-h'], ['audit', '--help'], ['exec', '-h']]) {
    const r = cli(...args)
    t.equal(r.status, 0, args.join(' '))
    t.equal(r.stderr, '')
    t.match(r.stdout, /^apparmor-monkeys: run Node services under AppArmor profiles\n\nusage:/)
    t.match(r.stdout, /--out FILE +keep the decision log/, '--out is documented')
  }
  for (const flag of ['--version', '-v']) {
    const r = cli(flag)
    t.equal(r.status, 0)
    t.equal(r.stdout, `${pkg.version}\n`)
    t.equal(r.stderr, '')
  }
})

t.test('without AppArmor: status says why and exits 2; exec refuses with exit 2 and runs nothing', { skip: hasAppArmor && 'this host has AppArmor' }, async (t) => {
  const s = cli('status')
  t.equal(s.status, 2)
  t.match(s.stdout, /^AppArmor: NOT enabled — this kernel has no AppArmor module\nwhat to do:\n  - /)
  t.match(s.stdout, /fails closed with ERR_AA_DISABLED/)
  const j = cli('status', '--json')
  t.match(JSON.parse(j.stdout), { enabled: { enabled: false, reason: 'module-absent', errno: 'ENOSYS' }, threads: [], hint: [String] })
  const e = cli('exec', '-p', 'web-worker', '--', process.execPath, '-e', 'console.log("ran")')
  t.equal(e.status, 2)
  t.equal(e.stdout, '')
  t.match(e.stderr, /^apparmor-monkeys: exec -p web-worker: nothing was started: AppArmor is not enabled.*\[ERR_AA_DISABLED\]/, 'named after the command typed')
})

t.test('audit: every exec attempt of the app and of its node children, with decision and stack; the status passes through', async (t) => {
  const app = path.join(__dirname, 'fixtures', 'audited-app.cjs')
  // tap injects its process-tracking loader into every child through NODE_OPTIONS: drop it
  const audit = (...args: string[]) => spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, CLI, 'audit', ...args, '--', process.execPath, app], { encoding: 'utf8' })
  const text = audit()
  t.equal(text.status, 3, 'the app exit status')
  t.match(text.stderr, /apparmor-monkeys audit: 4 exec attempt\(s\) \(\d+ emulate, \d+ passthrough\)/)
  t.match(text.stderr, /emulate\s+getconf GNU_LIBC_VERSION\n\s+at .*audited-app\.cjs:3/)
  t.match(text.stderr, /emulate\s+uname -s/)
  const json = audit('--json')
  // stdout holds the report and nothing else (the app's own stdout went to stderr): `| jq` works
  const lines = JSON.parse(json.stdout) as Array<{ pid: number; command: string; decision: string }>
  t.equal(json.status, 3)
  t.equal(lines.length, 4)
  t.equal(new Set(lines.map((l) => l.pid)).size, 2, 'the parent and its node child')
  t.same(lines.find((l) => l.command === 'getconf GNU_LIBC_VERSION')?.decision, 'emulate')
  t.same(lines.find((l) => l.command.includes(process.execPath))?.decision, 'passthrough')
})

t.test('status hints name what to do on a laptop, WSL or in a container', async (t) => {
  const { disabledHint } = require(path.resolve(__dirname, '..', '..', 'dist', 'cli.js')) as typeof import('../../src/cli')
  const absent = { enabled: false, reason: 'module-absent', errno: 'ENOSYS', message: '' } as const
  t.match(disabledHint(absent, { wsl: false, container: false }).join('\n'), /apparmor=1 security=apparmor.*apt install apparmor/)
  t.match(disabledHint(absent, { wsl: true, container: false }).join('\n'), /WSL 2: .*CONFIG_SECURITY_APPARMOR=y/)
  t.match(disabledHint(absent, { wsl: false, container: true }).join('\n'), /container: it uses the host's kernel/)
  t.match(disabledHint({ enabled: false, reason: 'disabled-at-boot', errno: 'ECANCELED', message: '' }, { wsl: false, container: false }).join('\n'), /remove apparmor=0/)
})

t.test('profile: usage errors, and what it says where AppArmor or the VM package is missing', async (t) => {
  const usage = cli('profile', '--name', 'svc', '--', 'node', 'x.js')
  t.equal(usage.status, 1)
  t.match(usage.stderr, /profile: --out DIR is required \[ERR_AA_OPTIONS\]\nusage:\n/)
  const unknown = cli('profile', '--name', 'svc', '--out', '/tmp/x', '--bogus', '--', 'true')
  t.equal(unknown.status, 1)
  t.match(unknown.stderr, /Unknown option '--bogus'.*\[ERR_AA_OPTIONS\]/)
  const help = cli('profile', '--help')
  t.equal(help.status, 0)
  t.match(help.stdout, /profile   Learn the AppArmor profiles of a Node app/)
  t.match(help.stdout, /--child NAME=MATCH/)
  if (!hasAppArmor) {
    const r = cli('profile', '--name', 'svc', '--out', '/tmp/aam-cli-profile', '--', 'true')
    t.equal(r.status, 2, 'AppArmor not enabled: exit 2')
    t.match(r.stderr, /profile: AppArmor is not enabled here .*; use --vm \[ERR_AA_DISABLED\]/)
    t.notOk(fs.existsSync('/tmp/aam-cli-profile'), 'nothing written')
  }
  let vmInstalled = true
  try {
    require.resolve('@apparmor-monkeys/vm')
  } catch {
    vmInstalled = false
  }
  if (!vmInstalled) {
    const r = cli('profile', '--vm', '--name', 'svc', '--out', '/tmp/aam-cli-profile', '--', 'true')
    t.equal(r.status, 1)
    t.match(r.stderr, /profile --vm: @apparmor-monkeys\/vm is not installed.*\[ERR_AA_VM_NOT_INSTALLED\]/)
  }
})
