import t from 'tap'
import * as fs from 'node:fs'
import { createHash } from 'node:crypto'
import { dpkgBuild } from '../../src/commands/info/binaries'
import { createGetconf } from '../../src/commands/info/getconf'
import { createGetent } from '../../src/commands/info/getent'
import { createId } from '../../src/commands/info/id'
import { createLdconfig, printCache } from '../../src/commands/info/ldconfig'
import { ldCacheEntriesFor, parseLdCache } from '../../src/commands/info/ldcache'
import { createLdd, parseGlibcLdd } from '../../src/commands/info/ldd'
import { createLocale } from '../../src/commands/info/locale'
import { lscpuParsable } from '../../src/commands/info/lscpu'
import { createUname } from '../../src/commands/info/uname'
import { createWhoami } from '../../src/commands/info/whoami'
import type { SystemView } from '../../src/commands/info/view'
import type { ChildContext, EmulatedCommand, EmulationResult } from '../../src/types'
import { auxv, fakeView, lcCtype, ldSoCache, type Entry } from './fake-tree'

const ENV = { PATH: '/usr/bin:/bin' }

function run(cmd: EmulatedCommand, args: string[], o: { env?: Record<string, string>; uid?: number; groups?: number[]; argv0?: string } = {}): EmulationResult | null {
  const ctx: ChildContext = { env: o.env ?? ENV, cwd: '/', uid: o.uid ?? 0, gid: o.uid ?? 0, ...(o.groups ? { groups: o.groups } : {}) }
  return cmd.run(args, { ctx, stdin: Buffer.alloc(0), argv0: o.argv0 ?? cmd.name, stdoutIsTTY: false })
}

function text(r: EmulationResult | null): [string, string, number] | null {
  return r === null ? null : [r.stdout.toString('latin1'), r.stderr.toString('latin1'), r.status]
}

const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6'
const GETCONF_BIN =
  '\x7fELF\x02\x01\x01\0' +
  'Usage: %s [-v specification] variable_name [pathname]\n\0       %s -a [pathname]\n\0' +
  "Unrecognized variable `%s'\0GNU_LIBC_VERSION\0GNU_LIBPTHREAD_VERSION\0PAGESIZE\0PAGE_SIZE\0CLK_TCK\0LONG_BIT\0_NPROCESSORS_ONLN\0_NPROCESSORS_CONF\0_POSIX_VERSION\0libc.so.6\0"

function glibcSystem(version: string, extra: Record<string, Entry> = {}): Record<string, Entry> {
  return {
    'usr/bin/getconf': GETCONF_BIN,
    [LIBC.slice(1)]: `\0GNU C Library (Fake 1) stable release version ${version}.\nCopyright\0`,
    'etc/ld.so.cache': ldSoCache([{ key: 'libc.so.6', value: LIBC, flags: 0x0303 }], 'ldconfig (Fake)'),
    'proc/self/auxv': auxv([[6, 16384], [17, 250]]),
    'sys/devices/system/cpu/online': '0-3,8-9\n',
    'sys/devices/system/cpu/possible': '0-15\n',
    ...extra,
  }
}

t.test('getconf on fake glibc systems', { skip: process.arch !== 'x64' && 'cache flags are for x86-64' }, async (t) => {
  const view = fakeView(glibcSystem('2.39'))
  const getconf = createGetconf(view)
  t.same(text(run(getconf, ['GNU_LIBC_VERSION'])), ['glibc 2.39\n', '', 0])
  t.same(text(run(getconf, ['GNU_LIBPTHREAD_VERSION'])), ['NPTL 2.39\n', '', 0])
  t.same(text(run(getconf, ['PAGESIZE'])), ['16384\n', '', 0], 'page size from AT_PAGESZ')
  t.same(text(run(getconf, ['CLK_TCK'])), ['250\n', '', 0], 'ticks from AT_CLKTCK, not a constant')
  t.same(text(run(getconf, ['_NPROCESSORS_ONLN'])), ['6\n', '', 0], 'online ranges summed')
  t.same(text(run(getconf, ['_NPROCESSORS_CONF'])), ['16\n', '', 0], 'possible list')
  t.same(text(run(getconf, ['LONG_BIT'])), ['64\n', '', 0])
  t.same(text(run(getconf, ['NOPE'], { argv0: '/x/getconf' })), ['', "/x/getconf: Unrecognized variable `NOPE'\n", 2])
  t.same(text(run(getconf, [], { argv0: '/x/getconf' })), ['', 'Usage: getconf [-v specification] variable_name [pathname]\n       getconf -a [pathname]\n', 2])
  t.equal(run(getconf, ['VERSION']), null, 'matches _POSIX_VERSION in the table: not claimed unknown')
  const noArgv0 = getconf.run(['NOPE'], { ctx: { env: ENV, cwd: '/', uid: 0, gid: 0 }, stdin: Buffer.alloc(0) })
  t.equal(noArgv0, null, 'error text needs argv[0]')
  t.same(text(getconf.run(['PAGESIZE'], { ctx: { env: ENV, cwd: '/', uid: 0, gid: 0 }, stdin: Buffer.alloc(0) })), ['16384\n', '', 0], 'values do not')

  const older = createGetconf(fakeView(glibcSystem('2.35')))
  t.same(text(run(older, ['GNU_LIBC_VERSION'])), ['glibc 2.35\n', '', 0])
  t.equal(run(older, ['_NPROCESSORS_ONLN']), null, 'CPU counting outside the verified glibc range')

  const noAuxv = createGetconf(fakeView(glibcSystem('2.36', { 'proc/self/auxv': auxv([]) })))
  t.equal(run(noAuxv, ['CLK_TCK']), null, 'no AT_CLKTCK: glibc would fall back, not reproduced')
  const offline = createGetconf(fakeView(glibcSystem('2.36', { 'sys/devices/system/cpu/online': '\n' })))
  t.equal(run(offline, ['_NPROCESSORS_ONLN']), null, 'an empty list sends glibc to its fallbacks')

  const noCache = createGetconf(fakeView(glibcSystem('2.36', { 'etc/ld.so.cache': Buffer.alloc(0) })))
  t.equal(run(noCache, ['GNU_LIBC_VERSION']), null, 'no usable ld.so.cache (musl has none): declined')
  const missing = createGetconf(fakeView(glibcSystem('2.36', { 'etc/ld.so.cache': ldSoCache([{ key: 'libc.so.6', value: '/opt/other/libc.so.6', flags: 0x0303 }], 'ldconfig (Fake)') })))
  t.equal(run(missing, ['GNU_LIBC_VERSION']), null, 'the cache names a library that is not there')
  const hwcaps = createGetconf(
    fakeView(glibcSystem('2.36', { 'etc/ld.so.cache': ldSoCache([{ key: 'libc.so.6', value: LIBC, flags: 0x0303 }, { key: 'libc.so.6', value: '/usr/lib/glibc-hwcaps/x86-64-v3/libc.so.6', flags: 0x0303, hwcap: (1n << 62n) | 0n }], 'ldconfig (Fake)', ['x86-64-v3']) })),
  )
  t.equal(run(hwcaps, ['GNU_LIBC_VERSION']), null, 'a glibc-hwcaps build of libc.so.6 in the cache (ld.so may pick it): declined')
  const notGlibcGetconf = createGetconf(fakeView(glibcSystem('2.36', { 'usr/bin/getconf': '\x7fELF\x02 other getconf' })))
  t.equal(run(notGlibcGetconf, ['PAGESIZE']), null, 'a getconf that is not glibc’s')
  const elf32 = createGetconf(fakeView(glibcSystem('2.36', { 'usr/bin/getconf': GETCONF_BIN.replace('\x02', '\x01') })))
  t.same(text(run(elf32, ['LONG_BIT'])), ['32\n', '', 0], 'LONG_BIT follows the ELF class of getconf')
})

t.test('getconf after a glibc upgrade while the process runs', { skip: process.arch !== 'x64' && 'cache flags are for x86-64' }, async (t) => {
  // A package upgrade puts a new file (a new inode) at the path the cache names, and a child
  // would load that one: the version read before must not be reused for it.
  const entries = glibcSystem('2.36')
  const view = fakeView(entries)
  const getconf = createGetconf(view)
  t.same(text(run(getconf, ['GNU_LIBC_VERSION'])), ['glibc 2.36\n', '', 0])
  const file = view.hostPath(LIBC)
  fs.writeFileSync(`${file}.new`, '\0GNU C Library (Fake 2) stable release version 2.37.\nCopyright\0')
  fs.renameSync(`${file}.new`, file)
  t.same(text(run(getconf, ['GNU_LIBC_VERSION'])), ['glibc 2.37\n', '', 0], 'the new file is read (it said 2.36, the version read before, until this fix)')

  // ldconfig rewrites the cache (rename): it is parsed again; a cache naming another file declines.
  const view2 = fakeView(glibcSystem('2.36', { 'opt/libc.so.6': '\0GNU C Library (Fake 3) stable release version 2.38.\nCopyright\0' }))
  const getconf2 = createGetconf(view2)
  t.same(text(run(getconf2, ['GNU_LIBC_VERSION'])), ['glibc 2.36\n', '', 0])
  const cache = view2.hostPath('/etc/ld.so.cache')
  fs.writeFileSync(`${cache}.new`, ldSoCache([{ key: 'libc.so.6', value: '/opt/libc.so.6', flags: 0x0303 }], 'ldconfig (Fake)'))
  fs.renameSync(`${cache}.new`, cache)
  t.same(text(run(getconf2, ['GNU_LIBC_VERSION'])), ['glibc 2.38\n', '', 0], 'the cache now hands out another library: its version')
})

t.test('getconf after its own binary is replaced while the process runs', async (t) => {
  // The binary is identified per file identity: a package upgrade (a new inode at the path)
  // that installs another getconf is seen at the next call, not after a restart.
  const view = fakeView(glibcSystem('2.36'))
  const getconf = createGetconf(view)
  t.same(text(run(getconf, ['LONG_BIT'])), ['64\n', '', 0])
  const file = view.hostPath('/usr/bin/getconf')
  fs.writeFileSync(`${file}.new`, GETCONF_BIN.replace('\x02', '\x01'))
  fs.renameSync(`${file}.new`, file)
  t.same(text(run(getconf, ['LONG_BIT'])), ['32\n', '', 0], 'the new build is read (a 32-bit getconf)')
  fs.writeFileSync(`${file}.new`, '\x7fELF\x02 other getconf')
  fs.renameSync(`${file}.new`, file)
  t.equal(run(getconf, ['LONG_BIT']), null, 'a getconf that is not glibc’s any more: declined')
})

const MUSL_LOADER =
  '\x7fELF\0\0musl libc (x86_64)\nVersion %s\nDynamic Program Loader\nUsage: %s [options] [--] pathname%s\n\0\0' + 'x\x001.2.3\0y\0'
const ALPINE_LDD = '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n'

t.test('ldd on a musl system (Alpine wrapper)', async (t) => {
  const ldd = createLdd(fakeView({ 'usr/bin/ldd': ALPINE_LDD, 'bin/sh': 'sh', 'lib/ld-musl-x86_64.so.1': MUSL_LOADER }))
  const expected = 'musl libc (x86_64)\nVersion 1.2.3\nDynamic Program Loader\nUsage: /lib/ld-musl-x86_64.so.1 [options] [--] pathname\n'
  t.same(text(run(ldd, ['--version'])), ['', expected, 1], 'notes §4a byte for byte')
  t.same(text(run(ldd, [])), ['', expected, 1])
  t.equal(run(ldd, ['/bin/ls']), null, 'listing a program is real work')
  t.equal(run(ldd, ['--version'], { env: { ...ENV, LD_PRELOAD: 'x' } }), null)
  const twoVersions = createLdd(fakeView({ 'usr/bin/ldd': ALPINE_LDD, 'bin/sh': 'sh', 'lib/ld-musl-x86_64.so.1': MUSL_LOADER + '\x002.0.0\0' }))
  t.equal(run(twoVersions, ['--version']), null, 'the version string must be unique in the loader')
  const withDashes = createLdd(fakeView({ 'usr/bin/ldd': ALPINE_LDD.replace('--list', '--list --'), 'bin/sh': 'sh', 'lib/ld-musl-x86_64.so.1': MUSL_LOADER }))
  t.equal(run(withDashes, ['--version']), null, 'another wrapper (would try to load "--version")')
  const noLoader = createLdd(fakeView({ 'usr/bin/ldd': ALPINE_LDD, 'bin/sh': 'sh' }))
  t.equal(run(noLoader, ['--version']), null)
})

const GLIBC_LDD = `#! /bin/bash
TEXTDOMAIN=libc
while test $# -gt 0; do
  case "$1" in
  --vers | --versi | --versio | --version)
    echo 'ldd (Fake GLIBC 9.9-1) 9.9'
    printf $"Copyright (C) %s Free Software Foundation, Inc.
Line two.
" "2031"
    printf $"Written by %s and %s.
" "A" "B"
    exit 0
    ;;
  esac
done
`

t.test('ldd --version from a glibc ldd script', async (t) => {
  const parsed = parseGlibcLdd(GLIBC_LDD)
  t.same(parsed?.spellings, ['--vers', '--versi', '--versio', '--version'])
  const tree = { 'usr/bin/ldd': GLIBC_LDD, 'bin/bash': 'bash', 'usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES': 'x', 'usr/lib/locale/C.utf8/LC_CTYPE': lcCtype('UTF-8') }
  const ldd = createLdd(fakeView(tree))
  const out = 'ldd (Fake GLIBC 9.9-1) 9.9\nCopyright (C) 2031 Free Software Foundation, Inc.\nLine two.\nWritten by A and B.\n'
  t.same(text(run(ldd, ['--version'])), [out, '', 0], 'texts taken from the script')
  t.same(text(run(ldd, ['--versi'])), [out, '', 0])
  t.same(text(run(ldd, ['--version'], { env: { ...ENV, LANG: 'C.UTF-8' } })), [out, '', 0], 'C.UTF-8 has no catalogs')
  t.equal(run(ldd, ['--version'], { env: { ...ENV, LANG: 'C.UTF-8', LANGUAGE: 'de' } }), null, 'LANGUAGE applies outside C')
  t.equal(run(ldd, ['--version'], { env: { ...ENV, LC_ALL: 'xx' } }), null, 'bash warns about LC_ALL')
  t.equal(run(ldd, ['--ver']), null, 'spelling not in the case pattern')
  t.equal(parseGlibcLdd(GLIBC_LDD.replace('"2031"', '"$(date +%Y)"')), undefined, 'expansions are not evaluated')
  t.equal(parseGlibcLdd(GLIBC_LDD.replace('%s Free', '%d Free')), undefined, 'printf formats other than %s')
  t.equal(parseGlibcLdd(GLIBC_LDD.replace('#! /bin/bash', '#!/bin/zsh')), undefined)
})

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n'
const GROUP = 'root:x:0:\ndaemon:x:1:\nusers:x:100:alice\nalice:x:1000:\nstaff:x:50:bob,alice\n'

function nssTree(nsswitch: string | undefined, extra: Record<string, Entry> = {}): Record<string, Entry> {
  const coreutils = 'GNU coreutils\0cannot find name for user ID %lu\0%s: no such user\0cannot print "only" of more than one choice\0'
  return {
    'etc/passwd': PASSWD,
    'etc/group': GROUP,
    ...(nsswitch === undefined ? {} : { 'etc/nsswitch.conf': nsswitch }),
    'usr/bin/id': coreutils,
    'usr/bin/whoami': coreutils,
    'usr/bin/getent': 'Unknown database: %s\n\0passwd\0group\0',
    ...extra,
  }
}

t.test('user and group lookups by nsswitch.conf', async (t) => {
  const filesOnly = fakeView(nssTree('passwd: files\ngroup:  files  # comment\n'))
  const getent = createGetent(filesOnly)
  t.same(text(run(getent, ['passwd', 'alice', '0', 'nosuch'])), ['alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\nroot:x:0:0:root:/root:/bin/bash\n', '', 2])
  t.same(text(run(getent, ['group'])), [GROUP, '', 0], 'enumeration in file order')
  t.same(text(run(getent, ['group', '4294967346'])), ['staff:x:50:bob,alice\n', '', 0], 'ids wrap to 32 bits like strtoul → gid_t')
  const id = createId(filesOnly)
  t.same(text(run(id, ['alice'])), ['uid=1000(alice) gid=1000(alice) groups=1000(alice),100(users),50(staff)\n', '', 0], 'getgrouplist order')
  t.same(text(run(id, ['-Gn', 'alice'])), ['alice users staff\n', '', 0])
  t.same(text(run(id, [], { uid: 1000, groups: [1000, 100, 50] })), ['uid=1000(alice) gid=1000(alice) groups=1000(alice),100(users),50(staff)\n', '', 0])
  t.same(text(run(id, [], { uid: 4242, groups: [] })), ['uid=4242 gid=4242 groups=4242\n', '', 0])
  t.same(text(run(id, ['-un'], { uid: 4242, groups: [] })), ['4242\n', 'id: cannot find name for user ID 4242\n', 1])
  t.same(text(run(id, ['nosuch', 'root'])), ['uid=0(root) gid=0(root) groups=0(root)\n', "id: 'nosuch': no such user\n", 1])
  t.same(text(run(createWhoami(filesOnly), [], { uid: 4242 })), ['', 'whoami: cannot find name for user ID 4242\n', 1])

  // nss-systemd with a userdb service (PID 1's dynamic users): a miss in the files is not final.
  const withSystemd = fakeView(nssTree('passwd: files systemd\ngroup: files systemd\n', { 'run/systemd/userdb/io.systemd.DynamicUser': '' }))
  t.same(text(run(createGetent(withSystemd), ['passwd', 'root'])), ['root:x:0:0:root:/root:/bin/bash\n', '', 0], 'a hit in files is final')
  t.equal(run(createGetent(withSystemd), ['passwd', 'nosuch']), null, 'a miss goes on to systemd')
  t.equal(run(createGetent(withSystemd), ['passwd']), null, 'enumeration includes systemd')
  t.equal(run(createId(withSystemd), ['alice']), null, 'getgrouplist continues after files')
  t.same(text(run(createId(withSystemd), ['-un', 'alice'])), ['alice\n', '', 0])
  t.equal(run(createWhoami(withSystemd), [], { uid: 4242 }), null)
  t.equal(run(createId(withSystemd), ['-un', '4242']), null)

  // nss-systemd holding nothing (no userdb services, no drop-ins): a miss is final, except for
  // the records it synthesizes (root, nobody, ids 0 and 65534).
  const emptySystemd = fakeView(nssTree('passwd: files systemd\ngroup: files systemd\n'))
  t.same(text(run(createWhoami(emptySystemd), [], { uid: 4242 })), ['', 'whoami: cannot find name for user ID 4242\n', 1])
  t.same(text(run(createId(emptySystemd), ['-un', '4242'])), ['', "id: '4242': no such user\n", 1], 'the username package as a uid without an entry')
  t.equal(run(createId(emptySystemd), ['-un', 'nobody']), null, 'synthesized by nss-systemd')
  t.equal(run(createId(emptySystemd), ['-un', '65534']), null, 'synthesized by nss-systemd')
  t.equal(run(createGetent(emptySystemd), ['passwd']), null, 'enumeration stays files-only')
  t.equal(run(createWhoami(emptySystemd), [], { uid: 4242, env: { PATH: '/usr/bin:/bin', SYSTEMD_BYPASS_USERDB: 'x' } }), null, 'a SYSTEMD_* switch')

  const initgroupsFiles = fakeView(nssTree('passwd: files systemd\ngroup: files systemd\ninitgroups: files\n'))
  t.same(text(run(createId(initgroupsFiles), ['-G', 'alice'])), ['1000 100 50\n', '', 0], 'an initgroups line decides getgrouplist')

  for (const [name, conf] of [
    ['sss first', 'passwd: sss files\ngroup: sss files\n'],
    ['an action after files', 'passwd: files [NOTFOUND=return] db\ngroup: files\n'],
    ['no passwd line (build default)', 'group: files\n'],
    ['passwd listed twice', 'passwd: files\npasswd: files\ngroup: files\n'],
  ] as const) {
    t.equal(run(createGetent(fakeView(nssTree(conf))), ['passwd', 'root']), null, name)
  }
  t.equal(run(createGetent(fakeView(nssTree(undefined))), ['passwd', 'root']), null, 'no nsswitch.conf')
  const nscd = fakeView(nssTree('passwd: files\ngroup: files\n', { 'var/run/nscd/socket': '' }))
  t.equal(run(createGetent(nscd), ['passwd', 'root']), null, 'nscd could answer from its cache')
  for (const [name, passwd] of [
    ['a comment', '# users\n' + PASSWD],
    ['a blank line', PASSWD + '\n'],
    ['a NIS compat entry', PASSWD + '+@admins::::::\n'],
    ['a uid with a leading zero', PASSWD.replace(':1000:1000:', ':01000:1000:')],
    ['leading white space', ' ' + PASSWD],
  ] as const) {
    const v = fakeView(nssTree('passwd: files\ngroup: files\n', { 'etc/passwd': passwd }))
    t.equal(run(createGetent(v), ['passwd', 'root']), null, `passwd with ${name}`)
  }
  const firstWins = fakeView(nssTree('passwd: files\ngroup: files\n', { 'etc/passwd': PASSWD + 'root:y:0:0:second:/:/bin/sh\n' }))
  t.same(text(run(createGetent(firstWins), ['passwd', 'root'])), ['root:x:0:0:root:/root:/bin/bash\n', '', 0], 'the first entry wins')
  const selinux = fakeView(nssTree('passwd: files\ngroup: files\n', { 'sys/fs/selinux/enforce': '1' }))
  t.equal(run(createId(selinux), []), null, 'SELinux adds context=… to the default format')
  t.same(text(run(createId(selinux), ['-u'])), ['0\n', '', 0])
})

t.test('ldconfig -p from a cache file', async (t) => {
  const entries = [
    { key: 'libz.so.1', value: '/lib/x86_64-linux-gnu/libz.so.1', flags: 0x0303 },
    { key: 'libfoo.so', value: '/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so', flags: 0x0303, hwcap: (1n << 62n) | 0n },
    { key: 'libbar.so', value: '/usr/libx32/libbar.so', flags: 0x0803, hwcap: 0x10n },
    { key: 'libc.so.6', value: '/lib/libc.so.6', flags: 0x0003 },
  ]
  const cache = parseLdCache(ldSoCache(entries, 'ldconfig (Fake GLIBC 9.9) stable release version 9.9', ['x86-64-v3']))
  t.ok(cache)
  t.equal(
    printCache(cache!, '/etc/ld.so.cache'),
    "4 libs found in cache `/etc/ld.so.cache'\n" +
      '\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1\n' +
      '\tlibfoo.so (libc6,x86-64, hwcap: "x86-64-v3") => /lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so\n' +
      '\tlibbar.so (libc6,x32, hwcap: 0x0000000000000010) => /usr/libx32/libbar.so\n' +
      '\tlibc.so.6 (libc6) => /lib/libc.so.6\n' +
      'Cache generated by: ldconfig (Fake GLIBC 9.9) stable release version 9.9\n',
  )
  t.equal(printCache(parseLdCache(ldSoCache([{ key: 'a', value: '/a', flags: 0x0309 }]))!, '/x'), undefined, 'unknown type: glibc prints "unknown"')
  t.equal(parseLdCache(Buffer.from('ld.so-1.7.0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0')), undefined, 'old format')
  const badEndian = ldSoCache(entries.slice(0, 1))
  badEndian.writeUInt8(3, 28)
  t.equal(parseLdCache(badEndian), undefined, 'big-endian cache')
  // The lookup of one name builds the same entries as the full parse, and rejects what it rejects.
  const file = ldSoCache(entries, 'ldconfig (Fake GLIBC 9.9) stable release version 9.9', ['x86-64-v3'])
  for (const name of ['libc.so.6', 'libfoo.so', 'libz.so.1', 'libz.so'])
    t.same(ldCacheEntriesFor(file, name), cache!.entries.filter((e) => e.key === name), `ldCacheEntriesFor(${name})`)
  t.equal(ldCacheEntriesFor(badEndian, 'libz.so.1'), undefined, 'lookup: big-endian cache')
  const unterminated = Buffer.from(file.subarray(0, file.lastIndexOf(0)))
  t.equal(parseLdCache(unterminated), undefined, 'a cache cut before its last NUL: rejected')
  t.equal(ldCacheEntriesFor(unterminated, 'libc.so.6'), undefined, 'lookup: rejected as well, whichever entry is asked for')
  const ldconfig = createLdconfig(fakeView({ 'usr/sbin/ldconfig': "%d libs found in cache `%s'\n\0Cache generated by: \0glibc-ld.so.cache1.1\0", 'etc/ld.so.cache': ldSoCache(entries.slice(0, 1)) }))
  t.same(text(run(ldconfig, ['-p'])), ["1 libs found in cache `/etc/ld.so.cache'\n\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1\n", '', 0], 'no generator line without the extension')
  t.equal(run(ldconfig, []), null, 'rebuilding the cache is never answered')
})

t.test('locale on fake locale trees', async (t) => {
  const locale = (extra: Record<string, Entry>) =>
    createLocale(
      fakeView({
        'usr/bin/locale': 'LANGUAGE=%s\n\0Cannot set %s to default locale\0locale.alias\0',
        'usr/lib/locale/C.utf8/LC_CTYPE': lcCtype('UTF-8'),
        'usr/lib/locale/C.utf8/LC_IDENTIFICATION': 'x',
        'usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES': 'x',
        'usr/lib/locale/C.utf8/LC_COLLATE': 'x',
        'usr/share/locale/locale.alias': '# aliases\nczech\tcs_CZ.ISO-8859-2\nsmart C.utf8\n',
        ...extra,
      }),
    )
  const base = locale({})
  t.same(text(run(base, ['-a'])), ['C\nC.utf8\nPOSIX\nsmart\n', '', 0], 'aliases of installed locales are listed')
  const all = ['LC_NUMERIC', 'LC_TIME', 'LC_MONETARY', 'LC_PAPER', 'LC_NAME', 'LC_ADDRESS', 'LC_TELEPHONE', 'LC_MEASUREMENT']
  const full: Record<string, Entry> = {}
  for (const c of all) full[`usr/lib/locale/C.utf8/${c}`] = 'x'
  const complete = locale(full)
  const r = text(run(complete, [], { env: { ...ENV, LANG: 'C.UTF-8' } }))
  t.equal(r?.[1], '', 'C.UTF-8 loads from C.utf8 (normalized codeset)')
  const partial = text(run(base, [], { env: { ...ENV, LANG: 'C.UTF-8' } }))
  t.equal(partial?.[1], 'locale: Cannot set LC_ALL to default locale: No such file or directory\n', 'a locale missing categories fails LC_ALL only')
  t.equal(run(base, [], { env: { ...ENV, LANG: 'smart' } }), null, 'aliases are not resolved here')
  t.equal(run(locale({ 'usr/lib/locale/locale-archive': 'x' }), [], { env: { ...ENV, LANG: 'en_US.UTF-8' } }), null, 'a locale archive')
  t.same(text(run(locale({ 'usr/lib/locale/locale-archive': 'x' }), [], { env: { ...ENV, LANG: 'C' } }))?.[2], 0, 'C needs no files')
  t.equal(run(base, [], { env: { ...ENV, LANG: 'de_DE.ISO-8859-1' } }), null, 'codesets other than UTF-8')
})

t.test('uname on a fake tree without a verified build', async (t) => {
  const view: SystemView = fakeView({
    'usr/bin/uname': 'GNU coreutils\0hardware-platform\0operating-system\0',
    'proc/sys/kernel/ostype': 'Linux\n',
    'proc/sys/kernel/hostname': 'box.example\n',
    'proc/sys/kernel/osrelease': '9.9.9-test\n',
    'proc/sys/kernel/version': '#1 SMP\n',
    'proc/sys/kernel/arch': 'riscv64\n',
  })
  const uname = createUname(view)
  t.same(text(run(uname, ['-snrvm'])), ['Linux box.example 9.9.9-test #1 SMP riscv64\n', '', 0])
  t.same(text(run(uname, [])), ['Linux\n', '', 0])
  t.equal(run(uname, ['-p']), null, '-p is a property of the build')
  t.equal(run(uname, ['-a']), null, '-a includes -p, -i and -o')
  t.equal(run(uname, ['-o']), null)
})

t.test('lscpu -p topology numbering', async (t) => {
  const cpu = (n: number, core: string, pkg: string, caches: [string, number, string, string | undefined][]) => {
    const e: Record<string, Entry> = {
      [`sys/devices/system/cpu/cpu${n}/topology/thread_siblings`]: core + '\n',
      [`sys/devices/system/cpu/cpu${n}/topology/core_siblings`]: pkg + '\n',
    }
    caches.forEach(([type, level, map, id], i) => {
      const d = `sys/devices/system/cpu/cpu${n}/cache/index${i}/`
      e[d + 'type'] = type + '\n'
      e[d + 'level'] = level + '\n'
      e[d + 'shared_cpu_map'] = map + '\n'
      if (id !== undefined) e[d + 'id'] = id + '\n'
    })
    return e
  }
  // Sockets {0-4} and {5-7}; cores {0,4} {1} {2} {3} {5,6} {7}; L1/L2 per core without sysfs
  // ids (lscpu numbers them), L3 per socket with ids 7 and 3; CPU 7 offline.
  const caches = (core: string, pkg: string, l3: string): [string, number, string, string | undefined][] => [
    ['Data', 1, core, undefined],
    ['Instruction', 1, core, undefined],
    ['Unified', 2, core, undefined],
    ['Unified', 3, pkg, l3],
  ]
  const threads = ['11', '02', '04', '08', '11', '60', '60', '80']
  const entries: Record<string, Entry> = {
    'sys/devices/system/cpu/possible': '0-7\n',
    'sys/devices/system/cpu/present': '0-7\n',
    'sys/devices/system/cpu/online': '0-6\n',
    'proc/cpuinfo': 'processor\t: 0\nvendor_id\t: Fake\nmodel\t\t: 1\nmodel name\t: Fake CPU\nstepping\t: 1\n\nprocessor\t: 1\nvendor_id\t: Fake\nmodel\t\t: 1\nmodel name\t: Fake CPU\nstepping\t: 1\n\n',
    'sys/devices/system/node/node1/cpumap': 'e0\n',
    'sys/devices/system/node/node0/cpumap': '1f\n',
  }
  threads.forEach((thread, n) => {
    const pkg = n < 5 ? '1f' : 'e0'
    Object.assign(entries, cpu(n, thread, pkg, caches(thread, pkg, n < 5 ? '7' : '3')))
  })
  t.equal(
    lscpuParsable(fakeView(entries)),
    '# The following is the parsable format, which can be fed to other\n# programs. Each different item in every column has an unique ID\n# starting usually from zero.\n' +
      '# CPU,Core,Socket,Node,,L1d,L1i,L2,L3\n' +
      '0,0,0,0,,0,0,0,7\n' +
      '1,1,0,0,,1,1,1,7\n' +
      '2,2,0,0,,2,2,2,7\n' +
      '3,3,0,0,,3,3,3,7\n' +
      '4,0,0,0,,0,0,0,7\n' +
      '5,4,1,1,,4,4,4,3\n' +
      '6,4,1,1,,4,4,4,3\n',
    'cores/sockets by first appearance, nodes by number, cache ids from sysfs or counted, offline CPU 7 skipped',
  )
  const hybrid = fakeView({
    'sys/devices/system/cpu/possible': '0-1\n',
    'proc/cpuinfo': 'processor\t: 0\nmodel name\t: Big\n\nprocessor\t: 1\nmodel name\t: Little\n',
  })
  t.equal(lscpuParsable(hybrid), undefined, 'several CPU types')
})

t.test('verified builds: an unmodified dpkg file of the verified version', async (t) => {
  const body = 'binary'
  const md5 = createHash('md5').update(body).digest('hex')
  const status = 'Package: coreutils\nStatus: install ok installed\nVersion: 9.1-1\nArchitecture: amd64\n\nPackage: other\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n'
  const v = fakeView({ 'usr/bin/uname': body, 'var/lib/dpkg/status': status, 'var/lib/dpkg/info/coreutils.md5sums': `${md5}  bin/uname\n` })
  t.equal(dpkgBuild(v, 'coreutils', '/usr/bin/uname'), 'coreutils 9.1-1 amd64', 'merged-/usr name recorded as bin/uname')
  const modified = fakeView({ 'usr/bin/uname': body + '!', 'var/lib/dpkg/status': status, 'var/lib/dpkg/info/coreutils.md5sums': `${md5}  bin/uname\n` })
  t.equal(dpkgBuild(modified, 'coreutils', '/usr/bin/uname'), undefined, 'a modified file is not that build')
  t.equal(dpkgBuild(v, 'other', '/usr/bin/uname'), undefined, 'a package that is not installed')
})
