import t from 'tap'
import { check, env, filesOnlyNssAvailable, isRoot, report, tally, type RunOptions } from './helpers'

/**
 * id, whoami and getent. This machine's nsswitch.conf may list more than `files` (Debian 12:
 * `files systemd`): then hits in /etc/passwd and /etc/group are answered and misses are left
 * to the real program. The negative paths are compared in a mount namespace whose
 * nsswitch.conf lists only `files`.
 */

const live = (() => {
  const text = require('node:fs').readFileSync('/etc/nsswitch.conf', 'latin1') as string
  const line = (db: string) => new RegExp(`^${db}:[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim()
  const fs = require('node:fs') as typeof import('node:fs')
  // Debian's `files systemd` with nss-systemd holding nothing (no userdb services or drop-ins,
  // no SYSTEMD_* switches): a miss in the files is final, except for what it synthesizes.
  const systemdEmpty =
    line('passwd') === 'files systemd' && line('group') === 'files systemd' &&
    !Object.keys(process.env).some((k) => k.startsWith('SYSTEMD_')) &&
    ['/run/systemd/userdb', '/etc/userdb', '/run/userdb', '/run/host/userdb', '/usr/local/lib/userdb', '/usr/lib/userdb'].every((d) => !fs.existsSync(d))
  return { filesOnly: line('passwd') === 'files' && line('group') === 'files', systemdEmpty }
})()
const miss = live.filesOnly || live.systemdEmpty ? 'answer' : 'null'
/** getent is only answered over `files` alone. */
const filesMiss = live.filesOnly ? 'answer' : 'null'

const ID_OPTIONS = [[], ['-u'], ['-g'], ['-G'], ['-un'], ['-gn'], ['-Gn'], ['-ur'], ['-Gr'], ['-uz'], ['-Gz'], ['-Gnz'], ['-a'], ['--user'], ['--groups', '--name'], ['-u', '--real', '--name']]
const ID_ERRORS = [['-n'], ['-r'], ['-ug'], ['-z'], ['-Gu'], ['--zero']]

t.test('id and whoami for the current process and named users (this nsswitch.conf)', async (t) => {
  const counts = tally()
  for (const e of [env(), env({ LANG: 'C.UTF-8' }), env({ LC_ALL: 'C' })]) {
    for (const args of ID_OPTIONS) check(t, counts, 'id', args, { env: e })
    for (const args of ID_ERRORS) check(t, counts, 'id', args, { env: e })
    check(t, counts, 'whoami', [], { env: e })
    check(t, counts, 'whoami', ['--'], { env: e })
    for (const user of ['root', '0', 'daemon', '+1']) {
      // A number is first looked up as a name (getpwnam("0") misses), unless it starts with +.
      const lookup = user === '0' ? miss : 'answer'
      for (const opt of ['-u', '-un', '-g', '-gn']) check(t, counts, 'id', [opt, user], { env: e }, lookup)
      // The groups of a named user come from getgrouplist over every group source.
      check(t, counts, 'id', [user], { env: e }, live.filesOnly ? 'answer' : 'null')
    }
    check(t, counts, 'id', ['-u', 'root', 'daemon'], { env: e })
    check(t, counts, 'id', ['nosuch'], { env: e }, miss)
    check(t, counts, 'id', ['-un', '4242'], { env: e }, miss)
  }
  for (const args of [['-Z'], ['--help'], ['--version'], ['-x'], ['']]) check(t, counts, 'id', args, {}, 'null')
  for (const args of [['x'], ['--help'], ['-a']]) check(t, counts, 'whoami', args, {}, 'null')
  report(t, 'id/whoami', counts)
})

t.test('getent passwd and group (this nsswitch.conf)', async (t) => {
  const counts = tally()
  for (const db of ['passwd', 'group']) {
    for (const key of ['root', '0', '00', '+0', ' 0', 'daemon', '1', '4294967296']) check(t, counts, 'getent', [db, key])
    check(t, counts, 'getent', [db, 'root', '0', 'daemon'])
    check(t, counts, 'getent', [db], {}, filesMiss)
    check(t, counts, 'getent', [db, 'nosuch'], {}, filesMiss)
    check(t, counts, 'getent', [db, 'root', 'nosuch'], {}, filesMiss)
    check(t, counts, 'getent', [db, ''], {}, filesMiss)
    check(t, counts, 'getent', [db, '-s', 'files', 'root'], {}, 'null')
  }
  for (const args of [[], ['hosts'], ['shadow', 'root'], ['-s', 'files', 'passwd'], ['nosuchdb']]) check(t, counts, 'getent', args, {}, 'null')
  report(t, 'getent', counts)
})

t.test('other uids through spawn options (libuv drops the supplementary groups)', { skip: !isRoot && 'needs root' }, async (t) => {
  const counts = tally()
  const daemon: RunOptions = { uid: 1 }
  for (const args of ID_OPTIONS) check(t, counts, 'id', args, daemon)
  check(t, counts, 'whoami', [], daemon)
  const unknown: RunOptions = { uid: 4242 }
  for (const args of [['-u'], ['-g'], ['-G'], ['-Gz']]) check(t, counts, 'id', args, unknown)
  check(t, counts, 'whoami', [], unknown, miss)
  check(t, counts, 'id', [], unknown, miss)
  check(t, counts, 'id', ['-un'], unknown, miss)
  report(t, 'spawn uid', counts)
})

t.test('nsswitch.conf with only `files`: misses, enumerations and named users', { skip: !filesOnlyNssAvailable() && 'needs mount namespaces (root)' }, async (t) => {
  const counts = tally()
  for (const e of [env(), env({ LANG: 'C.UTF-8' })]) {
    for (const uid of [0, 1, 4242]) {
      const o: RunOptions = { filesOnlyNss: true, uid, env: e }
      check(t, counts, 'whoami', [], o)
      for (const args of [[], ['-u'], ['-un'], ['-gn'], ['-Gn'], ['-G'], ['-Gnz']]) check(t, counts, 'id', args, o)
    }
    const o: RunOptions = { filesOnlyNss: true, env: e }
    for (const user of ['root', 'daemon', 'nosuch', '4242', '0', '+0', ' 1', 'postgres', 'ssl-cert', '4294967295', '99999999999']) {
      check(t, counts, 'id', [user], o)
      check(t, counts, 'id', ['-Gn', user], o)
    }
    check(t, counts, 'id', ['-Gz', 'root', 'nosuch', 'daemon'], o)
    check(t, counts, 'id', ['-un', 'nosuch', '4242'], o)
  }
  const o: RunOptions = { filesOnlyNss: true }
  for (const db of ['passwd', 'group']) {
    check(t, counts, 'getent', [db], o)
    for (const key of ['nosuch', '', '4242', 'root', '0', '18446744073709551616', ' 0', '4294967296']) check(t, counts, 'getent', [db, key], o)
    check(t, counts, 'getent', [db, 'root', 'nosuch', 'daemon'], o)
  }
  report(t, 'files-only nss', counts)
})
