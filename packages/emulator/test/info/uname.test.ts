import t from 'tap'
import { dpkgBuild, systemBinary } from '../../src/commands/info/binaries'
import { UNAME_VERIFIED_BUILDS } from '../../src/commands/info/uname'
import { liveSystemView } from '../../src/commands/info/view'
import { prng } from '../harness'
import { check, env, report, tally, type Expect } from './helpers'

const FLAGS = ['s', 'n', 'r', 'v', 'm', 'p', 'i', 'o']
const LONG: Record<string, string> = {
  s: '--kernel-name',
  n: '--nodename',
  r: '--kernel-release',
  v: '--kernel-version',
  m: '--machine',
  p: '--processor',
  i: '--hardware-platform',
  o: '--operating-system',
}

const view = liveSystemView()
const bin = systemBinary(view, 'uname')
const verified = bin !== undefined && UNAME_VERIFIED_BUILDS.has(dpkgBuild(view, 'coreutils', bin) ?? '')
/** -p, -i, -o and -a are answered only on verified coreutils builds. */
const expectFor = (flags: string): Expect => (/[pioa]/.test(flags) && !verified ? 'null' : 'answer')

t.test('uname: every subset of the eight flags, clustered', async (t) => {
  const counts = tally()
  for (let mask = 0; mask < 1 << FLAGS.length; mask++) {
    const flags = FLAGS.filter((_, i) => mask & (1 << i)).join('')
    check(t, counts, 'uname', flags === '' ? [] : ['-' + flags], {}, expectFor(flags))
  }
  report(t, 'uname subsets', counts)
})

t.test('uname: shuffled, repeated, separate and long flags, with -a', async (t) => {
  const counts = tally()
  const rand = prng(0x756e616d)
  for (let n = 0; n < 120; n++) {
    const picked = FLAGS.filter(() => rand() < 0.4)
    if (rand() < 0.2) picked.push('a')
    if (rand() < 0.3 && picked.length > 0) picked.push(picked[0]!)
    picked.sort(() => rand() - 0.5)
    const args = picked.map((f) => (f !== 'a' && rand() < 0.4 ? LONG[f]! : rand() < 0.1 && f === 'a' ? '--all' : '-' + f))
    check(t, counts, 'uname', args, {}, expectFor(picked.join('')))
  }
  for (const args of [['-a'], ['--all'], ['-a', '-p'], ['-ap'], ['-sa'], ['--sysname'], ['--release'], ['--s'], ['--kernel-n'], ['--', '-s'].slice(0, 1)]) {
    check(t, counts, 'uname', args, {}, expectFor(args.join('').replace(/--all/, 'a')))
  }
  check(t, counts, 'uname', ['-m'], { env: env({ LANG: 'C.UTF-8' }) })
  check(t, counts, 'uname', ['-snrvm'], { env: env({ LC_ALL: 'nowhere' }) })
  report(t, 'uname mixed', counts)
})

t.test('uname: errors, help and operands are left to the real program', async (t) => {
  const counts = tally()
  for (const args of [['-x'], ['foo'], ['-s', 'foo'], ['--ker'], ['--help'], ['--version'], ['--machine=x']]) {
    check(t, counts, 'uname', args, {}, 'null')
  }
  check(t, counts, 'uname', ['-m'], { env: env({ LD_LIBRARY_PATH: '/nowhere' }) }, 'null')
  report(t, 'uname refusals', counts)
})
