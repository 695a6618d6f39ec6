import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { dpkgBuild, systemBinary } from '../../src/commands/info/binaries'
import { HOSTNAME_VERIFIED_BUILDS } from '../../src/commands/info/hostname'
import { LSB_RELEASE_VERIFIED_BUILDS } from '../../src/commands/info/lsb-release'
import { LSCPU_VERIFIED_BUILDS } from '../../src/commands/info/lscpu'
import { NPROC_VERIFIED_BUILDS } from '../../src/commands/info/nproc'
import { liveSystemView } from '../../src/commands/info/view'
import { command, check, ctxFor, env, isRoot, report, tally, type Expect } from './helpers'

const view = liveSystemView()
function verified(name: string, pkg: string, builds: ReadonlySet<string>): Expect {
  const bin = systemBinary(view, name)
  return bin !== undefined && builds.has(dpkgBuild(view, pkg, bin) ?? '') ? 'answer' : 'null'
}
const hostnameShort = verified('hostname', 'hostname', HOSTNAME_VERIFIED_BUILDS)
const lsb = verified('lsb_release', 'lsb-release', LSB_RELEASE_VERIFIED_BUILDS)
const lscpu = verified('lscpu', 'util-linux', LSCPU_VERIFIED_BUILDS)
const nproc = verified('nproc', 'coreutils', NPROC_VERIFIED_BUILDS)

t.test('hostname', async (t) => {
  const counts = tally()
  check(t, counts, 'hostname', [])
  check(t, counts, 'hostname', [], { argv0: '/usr/bin/hostname' })
  check(t, counts, 'hostname', ['-s'], {}, hostnameShort)
  check(t, counts, 'hostname', ['--short'], {}, hostnameShort)
  // Name resolution, other program names (argv[0]) and anything that could set the name.
  for (const args of [['-f'], ['-i'], ['-d'], ['-a'], ['-A'], ['-y'], ['-V'], ['-x'], ['-s', '-s']]) check(t, counts, 'hostname', args, {}, 'null')
  for (const argv0 of ['dnsdomainname', 'domainname']) check(t, counts, 'hostname', [], { argv0 }, 'null')
  t.equal(command('hostname').run(['newname'], { ctx: ctxFor({}), stdin: Buffer.alloc(0), argv0: 'hostname' }), null, 'setting the name is never answered')
  report(t, 'hostname', counts)
})

t.test('lsb_release', async (t) => {
  const counts = tally()
  const flags = ['-i', '-d', '-r', '-c', '-a', '-s']
  for (let mask = 0; mask < 1 << flags.length; mask++) {
    const args = flags.filter((_, i) => mask & (1 << i))
    check(t, counts, 'lsb_release', args, {}, lsb)
    if (args.length > 1) check(t, counts, 'lsb_release', ['-' + args.map((a) => a[1]).join('')], {}, lsb)
  }
  for (const args of [['--all'], ['--short', '--id'], ['--desc'], ['--de'], ['-v'], ['foo'], ['-i', 'foo'], ['--'], ['--release', '-d'], ['-a', '--short']]) {
    check(t, counts, 'lsb_release', args, {}, lsb)
  }
  check(t, counts, 'lsb_release', ['-a'], { env: env({ LANG: 'C.UTF-8' }) }, lsb)
  check(t, counts, 'lsb_release', ['-a'], { env: env({ VERSION_CODENAME: 'inherited', NAME: 'x' }) }, lsb)
  for (const args of [['-x'], ['-h'], ['--help'], ['--id=x']]) check(t, counts, 'lsb_release', args, {}, 'null')
  check(t, counts, 'lsb_release', ['-a'], { env: env({ LSB_OS_RELEASE: '/etc/os-release' }) }, 'null')
  check(t, counts, 'lsb_release', ['-a'], { env: env({ PATH: '/nowhere' }) }, 'null')
  // On a terminal the script adds "No LSB modules are available." on stderr.
  const tty = command('lsb_release').run(['-a'], { ctx: ctxFor({}), stdin: Buffer.alloc(0), argv0: 'lsb_release', stdoutIsTTY: true })
  t.equal(tty, null, 'stdout on a terminal is left to the real program')
  report(t, 'lsb_release', counts)
})

t.test('lscpu -p, ldconfig -p, nproc', async (t) => {
  const counts = tally()
  for (const e of [env(), env({ LANG: 'C.UTF-8' }), env({ LC_ALL: 'nowhere' })]) {
    check(t, counts, 'lscpu', ['-p'], { env: e }, lscpu)
    check(t, counts, 'lscpu', ['--parse'], { env: e }, lscpu)
    check(t, counts, 'ldconfig', ['-p'], { env: e })
    check(t, counts, 'ldconfig', ['--print-cache'], { env: e })
  }
  for (const args of [['-p=CPU,CORE'], ['-e'], [], ['-p', '-a'], ['--parse=CPU']]) check(t, counts, 'lscpu', args, {}, 'null')
  for (const args of [[], ['-v'], ['-p', '-C', '/etc/ld.so.cache'], ['-N']]) check(t, counts, 'ldconfig', args, {}, 'null')
  const OMP = ['', '1', '4', '0', '3,2', ' 3', '3 ', 'x', '+3', '99999999999999999999', '2 ,1']
  for (const threads of OMP) {
    for (const limit of ['', '1', '0', '3']) {
      const extra: Record<string, string> = {}
      if (threads !== '') extra['OMP_NUM_THREADS'] = threads
      if (limit !== '') extra['OMP_THREAD_LIMIT'] = limit
      check(t, counts, 'nproc', [], { env: env(extra) }, nproc)
      check(t, counts, 'nproc', ['--all'], { env: env(extra) }, nproc)
    }
  }
  for (const args of [['--ignore=1'], ['--ignore', '5'], ['--all', '--ignore=1'], ['--ig=0'], ['--a']]) check(t, counts, 'nproc', args, {}, nproc)
  for (const args of [['--ignore=x'], ['--ignore=-1'], ['foo'], ['--help']]) check(t, counts, 'nproc', args, {}, 'null')
  report(t, 'lscpu/ldconfig/nproc', counts)
})

const FIXTURE = path.join(__dirname, 'fixtures', 'compare.js')
const DIST = path.join(__dirname, '../../dist/commands/info/index.js')

interface FixtureResult {
  argv: string[]
  answered: boolean
  equal: boolean
  real: unknown
  emulated: unknown
}

function runFixture(t: Test, prefix: readonly string[], cases: readonly string[][]): FixtureResult[] {
  const r = spawnSync(prefix[0]!, [...prefix.slice(1), process.execPath, FIXTURE, JSON.stringify(cases)], { encoding: 'utf8' })
  t.equal(r.status, 0, `${prefix.join(' ')}: fixture ran (${r.stderr.slice(0, 300)})`)
  return r.status === 0 ? (JSON.parse(r.stdout) as FixtureResult[]) : []
}

type Test = Parameters<Parameters<typeof t.test>[1]>[0]

t.test('nproc and getconf with another CPU affinity (taskset)', { skip: !fs.existsSync(DIST) && 'build dist first' }, async (t) => {
  const cpus = (fs.readFileSync('/sys/devices/system/cpu/online', 'latin1').trim().match(/\d+/g) ?? []).map(Number)
  const last = Math.max(...cpus)
  for (const results of [runFixture(t, ['taskset', '-c', String(last)], [['nproc'], ['nproc', '--all'], ['getconf', '_NPROCESSORS_ONLN'], ['getconf', '_NPROCESSORS_CONF']])]) {
    for (const r of results) {
      if (r.argv[0] === 'nproc' && nproc === 'null') t.notOk(r.answered, `${r.argv.join(' ')} left to the real program`)
      else t.ok(r.answered && r.equal, `${r.argv.join(' ')} under taskset: ${JSON.stringify(r.real)} vs ${JSON.stringify(r.emulated)}`)
    }
  }
})

t.test('hostname and uname -n in a UTS namespace with a dotted name', { skip: (!isRoot || !fs.existsSync(DIST)) && 'needs root and dist' }, async (t) => {
  const results = runFixture(t, ['unshare', '-u', 'sh', '-c', 'hostname host.example.test && exec "$@"', 'sh'], [['hostname'], ['hostname', '-s'], ['uname', '-n'], ['uname', '-a']])
  t.equal(results.length, 4)
  for (const r of results) {
    if (!r.answered) t.ok(r.argv.join(' ') === 'hostname -s' ? hostnameShort === 'null' : false, `${r.argv.join(' ')} answered`)
    else t.ok(r.equal, `${r.argv.join(' ')}: ${JSON.stringify(r.real)} vs ${JSON.stringify(r.emulated)}`)
  }
  t.ok(results.some((r) => JSON.stringify(r.real).includes('host.example.test')), 'the namespace name was seen')
})
