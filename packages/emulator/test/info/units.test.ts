import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { glibcCpuCount, parseCpuList, parseCpuMask } from '../../src/commands/info/cpulist'
import { numericKey } from '../../src/commands/info/getent'
import { bannerVersionInWindows, glibcBannerVersion, muslLoader, rodataBannerVersion } from '../../src/commands/info/libc'
import { printAssignment } from '../../src/commands/info/locale'
import { explodeLocaleName, localeCandidates, normalizeCodeset } from '../../src/commands/info/locale-resolve'
import { distributorId, parseOsRelease } from '../../src/commands/info/lsb-release'
import { parseOmpThreads } from '../../src/commands/info/nproc'
import { parseAuxv, parseStatusIds } from '../../src/commands/info/view'

t.test('CPU lists and masks', async (t) => {
  t.same(parseCpuList('0-2,5\n'), [0, 1, 2, 5])
  t.equal(parseCpuList('0-2,'), undefined)
  t.equal(glibcCpuCount('0-3,8-9\n'), 6)
  t.equal(glibcCpuCount('3-1,4\n'), 1, 'a reversed range counts nothing')
  t.equal(glibcCpuCount('\n'), undefined)
  t.same([...(parseCpuMask('00000000,00000003\n') ?? [])], [0, 1])
  t.same([...(parseCpuMask('1,00000000') ?? [])], [32])
})

t.test('locale names', async (t) => {
  t.equal(normalizeCodeset('UTF-8'), 'utf8')
  t.equal(normalizeCodeset('8859-1'), 'iso88591')
  t.same(localeCandidates('C.UTF-8'), ['C.UTF-8', 'C.utf8', 'C'])
  t.same(localeCandidates('C.utf8@euro'), ['C.utf8@euro', 'C@euro', 'C.utf8', 'C'])
  t.same(localeCandidates('de_DE.UTF-8'), ['de_DE.UTF-8', 'de_DE.utf8', 'de_DE', 'de.UTF-8', 'de.utf8', 'de'])
  t.same(localeCandidates('_x'), ['_x'], 'no language: the name as it is')
  t.equal(explodeLocaleName('C.').codeset, '')
  t.equal(printAssignment('LANG', 'a b$"`\\\'~', false), 'LANG=a\\ b\\$\\"\\`\\\\\\\'\\~\n')
  t.equal(printAssignment('LC_CTYPE', 'a b$"`\\', true), 'LC_CTYPE="a b\\$\\"\\`\\\\"\n')
})

t.test('small parsers', async (t) => {
  t.equal(numericKey('00'), 0)
  t.equal(numericKey(' +7'), 7)
  t.equal(numericKey('-1'), 4294967295)
  t.equal(numericKey('4294967296'), 0)
  t.equal(numericKey('18446744073709551616'), 4294967295, 'strtoul saturates')
  t.equal(numericKey('1a'), undefined)
  t.equal(parseOmpThreads(' 3 '), 3n)
  t.equal(parseOmpThreads('3,2'), 3n)
  t.equal(parseOmpThreads('+3'), 0n)
  t.equal(parseOmpThreads('99999999999999999999'), (1n << 64n) - 1n)
  t.same(parseOsRelease('# c\nID=debian\nNAME="Debian \\"GNU\\""\nX=\'a b\'\n'), new Map([['ID', 'debian'], ['NAME', 'Debian "GNU"'], ['X', 'a b']]))
  t.equal(parseOsRelease('ID=$(id)\n'), undefined)
  t.equal(parseOsRelease('ID=a b\n'), undefined)
  t.equal(distributorId('debian', 'Debian GNU/Linux'), 'Debian')
  t.equal(distributorId('arch', 'Arch'), 'Arch')
  t.equal(distributorId('opensuse', 'openSUSE'), 'openSUSE', 'NAME wins when it is ID in another case')
  t.equal(distributorId('', undefined), '')
  t.equal(glibcBannerVersion(Buffer.from('\0GNU C Library (Ubuntu GLIBC 2.35-0ubuntu3) stable release version 2.35.\nCopyright')), '2.35')
  t.equal(glibcBannerVersion(Buffer.from('GNU C Library without a version')), undefined)
  t.equal(muslLoader(Buffer.from('musl libc (aarch64)\nVersion %s\nDynamic Program Loader\nUsage: %s [options] [--] pathname%s\n\0\x001.2.4\0'))?.arch, 'aarch64')
  t.same(parseStatusIds('Uid:\t5\t5\t5\t5\nGid:\t6\t6\t6\t6\nGroups:\t6 7 \n'), { uid: 5, gid: 6, groups: [6, 7] })
  const aux = Buffer.alloc(48)
  aux.writeBigUInt64LE(6n, 0)
  aux.writeBigUInt64LE(4096n, 8)
  aux.writeBigUInt64LE(17n, 16)
  aux.writeBigUInt64LE(100n, 24)
  t.same(parseAuxv(aux), new Map([[6, 4096n], [17, 100n]]))
})

/** A minimal ELF64 little-endian file: sections null, .text, .rodata, .shstrtab. */
function elf64(rodata: Buffer, cls = 2): Buffer {
  const names = Buffer.from('\0.text\0.rodata\0.shstrtab\0', 'latin1')
  const text = Buffer.from('GNU C Library (decoy) stable release version 1.0.\n\0', 'latin1')
  const textOff = 64
  const rodataOff = textOff + text.length
  const namesOff = rodataOff + rodata.length
  const shoff = namesOff + names.length
  const sh = Buffer.alloc(4 * 64)
  const section = (i: number, name: number, offset: number, size: number) => {
    sh.writeUInt32LE(name, i * 64)
    sh.writeBigUInt64LE(BigInt(offset), i * 64 + 0x18)
    sh.writeBigUInt64LE(BigInt(size), i * 64 + 0x20)
  }
  section(1, 1, textOff, text.length)
  section(2, 7, rodataOff, rodata.length)
  section(3, 15, namesOff, names.length)
  const eh = Buffer.alloc(64)
  eh.write('\x7fELF', 0, 'latin1')
  eh[4] = cls
  eh[5] = 1
  eh.writeBigUInt64LE(BigInt(shoff), 0x28)
  eh.writeUInt16LE(64, 0x3a)
  eh.writeUInt16LE(4, 0x3c)
  eh.writeUInt16LE(3, 0x3e)
  return Buffer.concat([eh, text, rodata, names, sh])
}

t.test('rodataBannerVersion: the banner in the .rodata section alone, where glibc keeps it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-elf-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const banner = Buffer.from('x\0GNU C Library (Test GLIBC 2.41-1) stable release version 2.41.\nCopyright\0', 'latin1')
  const write = (name: string, data: Buffer) => {
    const f = path.join(dir, name)
    fs.writeFileSync(f, data)
    return f
  }
  t.equal(rodataBannerVersion(write('libc.so.6', elf64(banner))), '2.41', 'the banner in .rodata, not the decoy in .text')
  t.equal(rodataBannerVersion(write('no-banner', elf64(Buffer.from('x\0nothing here\0')))), undefined, 'no banner in .rodata: the caller reads the whole file')
  t.equal(rodataBannerVersion(write('elf32', elf64(banner, 1))), undefined, 'ELF32: not read this way (the caller reads the whole file)')
  t.equal(rodataBannerVersion(write('text', Buffer.from('GNU C Library … release version 2.41.\n'))), undefined, 'not an ELF file')
  t.equal(rodataBannerVersion(write('short', elf64(banner).subarray(0, 200))), undefined, 'a truncated file')
  t.equal(rodataBannerVersion(path.join(dir, 'missing')), undefined, 'a missing file')
})

t.test('bannerVersionInWindows answers as glibcBannerVersion of the whole, or says it cannot tell', async (t) => {
  // Pieces that make banners, near-banners, and long runs without a NUL or a newline.
  const pieces = [
    'GNU C Library (Test) stable release version 2.41.\n',
    'GNU C Library (Test) stable release version 2.39.1.\n',
    'GNU C Library ',
    ' release version ',
    '2.3',
    '.',
    '\n',
    '\0',
    'x',
    'x'.repeat(300),
    'y'.repeat(700),
  ]
  let seed = 7
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  const whole = (data: Buffer) => (buf: Buffer, length: number, position: number) => data.copy(buf, 0, position, position + length)
  const seen = { version: 0, none: 0, undecided: 0 }
  const wrong: string[] = []
  for (let i = 0; i < 4000; i++) {
    const parts: string[] = []
    for (let n = 1 + rand(40); n > 0; n--) parts.push(pieces[rand(pieces.length)]!)
    const data = Buffer.from(parts.join(''), 'latin1')
    const expected = glibcBannerVersion(data)
    const step = [16, 64, 333, 4096][rand(4)]!
    const got = bannerVersionInWindows(whole(data), data.length, step)
    if (got === null) seen.undecided++
    else {
      if (got === undefined) seen.none++
      else seen.version++
      if (got !== expected) wrong.push(JSON.stringify({ data: data.toString('latin1'), step, got, expected }))
    }
  }
  t.same(wrong.slice(0, 3), [], 'never a different answer')
  t.ok(seen.version > 100 && seen.none > 100, `both outcomes exercised (${JSON.stringify(seen)})`)
  t.ok(seen.undecided < 400, 'undecided only for text that runs past a window without a newline')
  // A short read, and the real library's .rodata (read whole and in windows).
  t.equal(bannerVersionInWindows(() => 0, 10), null, 'a short read: cannot tell')
  const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6'].find((f) => fs.existsSync(f))
  if (libc !== undefined) {
    const real = rodataBannerVersion(libc)
    t.match(real, /^\d+\.\d+/, `${libc}: a version from its .rodata`)
    t.equal(real, glibcBannerVersion(fs.readFileSync(libc)), 'the same as the first banner of the whole file')
  }
})
