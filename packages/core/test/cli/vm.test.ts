// `apparmor-monkeys vm …` delegates to @apparmor-monkeys/vm when it is installed (here: the
// workspace's), and says what to install, with a stable code and exit 69, when it is not (a
// copy of core's dist outside the workspace, where no vm package can be resolved).
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'

const CORE = path.resolve(__dirname, '..', '..')
const run = (cli: string, args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env })

t.test('vm --help, vm --version and vm setup --check are the vm package’s', async (t) => {
  const cli = path.join(CORE, 'dist', 'cli.js')
  const help = run(cli, ['vm', '--help'])
  t.equal(help.status, 0, help.stderr)
  t.match(help.stdout, /^apparmor-monkeys-vm: run a command on a real AppArmor kernel/)
  const vmPkg = JSON.parse(fs.readFileSync(path.join(CORE, '..', 'vm', 'package.json'), 'utf8')) as { version: string }
  t.equal(run(cli, ['vm', '--version']).stdout, `${vmPkg.version}\n`)
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-core-vm-'))
  t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }))
  const check = run(cli, ['vm', 'setup', '--check'], { ...process.env, AAM_VM_DIR: empty })
  t.equal(check.status, 3, 'not set up: exit 3')
  t.match(check.stderr, /missing: VM cache in .* is absent or stale/)
  const usage = run(cli, ['vm', 'nope'])
  t.equal(usage.status, 64)
  t.match(usage.stderr, /unknown command 'nope'\nusage:\n  apparmor-monkeys-vm setup/)
  t.match(run(cli, ['--help']).stdout, /vm setup\|run/, "core's help names the vm command")
})

t.test('without @apparmor-monkeys/vm: ERR_AA_VM_NOT_INSTALLED, exit 69, what to install', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-core-novm-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const copy = path.join(dir, 'node_modules', '@apparmor-monkeys', 'core')
  fs.mkdirSync(copy, { recursive: true })
  fs.cpSync(path.join(CORE, 'dist'), path.join(copy, 'dist'), { recursive: true })
  fs.copyFileSync(path.join(CORE, 'package.json'), path.join(copy, 'package.json'))
  const r = run(path.join(copy, 'dist', 'cli.js'), ['vm', 'run', '--', 'true'])
  t.equal(r.status, 69, r.stderr)
  t.equal(r.stdout, '')
  t.match(r.stderr, /^apparmor-monkeys: vm: @apparmor-monkeys\/vm is not installed; install it next to @apparmor-monkeys\/core \(npm install --save-dev @apparmor-monkeys\/vm\), then run: npx apparmor-monkeys vm setup \[ERR_AA_VM_NOT_INSTALLED\]\n$/)
})
