// The apparmor-monkeys-vm CLI as a user runs it (dist/cli.js in a child process): usage, help,
// setup --check, the coded exits before any boot, and one real boot (the CLI calls runVm()):
// `run --profile cat.aa -- cat allowed secret` prints what cat printed, the DENIED line on
// stderr, and exits with cat's status.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { skipOrFail } from '../../../test/support/require-vm'
import { EXIT } from '../src/cli'
import { vmPrerequisites } from '../src/index'

const CLI = path.resolve(__dirname, '..', 'dist', 'cli.js')
const fixtures = path.join(__dirname, 'fixtures')
const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 600_000 })
const noVm = skipOrFail(vmPrerequisites())

t.test('usage errors exit 64 with the usage text; --help and --version on stdout', async (t) => {
  for (const args of [[], ['bogus'], ['run'], ['run', '--bogus', '--', 'true'], ['run', '--env', 'novalue', '--', 'true'], ['run', '--timeout', '0', '--', 'true'], ['run', '--uid', 'x', '--', 'true'], ['setup', '--nope']]) {
    const r = cli(args)
    t.equal(r.status, EXIT.USAGE, args.join(' '))
    t.equal(r.stdout, '')
    t.match(r.stderr, /usage:\n  apparmor-monkeys-vm setup/)
  }
  const help = cli(['run', '--help'])
  t.equal(help.status, 0)
  t.equal(help.stderr, '')
  t.match(help.stdout, /^apparmor-monkeys-vm: run a command on a real AppArmor kernel[\s\S]*--complain FILE[\s\S]*exit status:/)
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  const v = cli(['--version'])
  t.equal(v.stdout, `${pkg.version}\n`)
  t.equal(v.status, 0)
})

t.test('setup --check: 3 and what is missing for an empty cache; run without a VM: 69 and ERR_AA_VM_NOT_READY', async (t) => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-vm-empty-'))
  t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }))
  const env = { ...process.env, AAM_VM_DIR: path.join(empty, 'vm') }
  const check = cli(['setup', '--check'], env)
  t.equal(check.status, EXIT.NOT_SET_UP, check.stderr)
  t.match(check.stderr, new RegExp(`missing: VM cache in ${path.join(empty, 'vm')} is absent or stale`))
  t.notOk(fs.existsSync(path.join(empty, 'vm')), '--check writes nothing')
  const run = cli(['run', '--', 'true'], env)
  t.equal(run.status, EXIT.UNAVAILABLE, run.stderr)
  t.match(run.stderr, /the VM cannot run here: missing: .*the VM cache in .*apparmor-monkeys-vm setup.*\[ERR_AA_VM_NOT_READY\]/)
})

t.test('a profile that does not compile: 65 and ERR_AA_VM_PROFILE, before any boot', async (t) => {
  const dir = t.testdir({ 'bad.aa': 'profile aam-bad {\n  /** rr x,\n}\n' })
  const r = cli(['run', '--profile', path.join(dir, 'bad.aa'), '--', 'true'])
  t.equal(r.status, EXIT.PROFILE, r.stderr)
  t.match(r.stderr, /apparmor_parser failed[\s\S]*\[ERR_AA_VM_PROFILE\]/)
})

t.test('one boot: cat confined by a profile attached to it prints the allowed file, is denied the secret, and its status is the exit status', { skip: noVm }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-vm-cli-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'allowed.txt'), 'public\n')
  fs.writeFileSync(path.join(dir, 'secret.txt'), 's3cret\n')
  const r = cli(['run', '--profile', path.join(fixtures, 'cat.aa'), '--share', dir, '--cwd', dir, '--', 'cat', 'allowed.txt', 'secret.txt'])
  t.equal(r.status, 1, `cat's own status: ${r.stderr}`)
  t.equal(r.stdout, 'public\n', "the command's stdout, nothing else")
  t.match(r.stderr, /^cat: secret\.txt: Permission denied$/m, "the command's stderr")
  const denied = r.stderr.split('\n').filter((l) => l.startsWith('[vm] audit: ') && l.includes('apparmor="DENIED"'))
  t.equal(denied.length, 1, r.stderr)
  t.match(denied[0], /profile="aam-cli-cat".*name=".*\/secret\.txt".*requested_mask="r"/)
  t.notOk(r.stderr.includes('allowed.txt"'), 'the allowed read is not audited')
  t.notOk(r.stderr.includes('profile_load'), "only the command's records, not the profile load's")
})
