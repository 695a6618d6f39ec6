/**
 * /etc/ld.so.cache in glibc's `glibc-ld.so.cache1.1` format (the only format glibc ≥ 2.32
 * writes). Files in the old libc5 format, or with both, are not parsed (`undefined`).
 */

export const LD_SO_CACHE = '/etc/ld.so.cache'

const MAGIC = 'glibc-ld.so.cache1.1'
const HEADER_SIZE = 48
const ENTRY_SIZE = 24
const EXTENSION_MAGIC = 0xeaa42174
const TAG_GENERATOR = 0
const TAG_GLIBC_HWCAPS = 1
/** Bit 62 of an entry's hwcap: the low 32 bits index the glibc-hwcaps subdirectories. */
const HWCAP_EXTENSION = 1n << 62n
/** ISA level bits (upper half) that the extension check ignores. */
const HWCAP_ISA_LEVEL_MASK = (1n << 10n) - 1n

export interface CacheEntry {
  readonly key: string
  readonly value: string
  readonly flags: number
  readonly hwcap: bigint
  /** glibc-hwcaps subdirectory name, for entries found in one. */
  readonly hwcapsName: string | undefined
}

export interface LdCache {
  readonly entries: readonly CacheEntry[]
  /** The generator extension ("ldconfig (Debian GLIBC …) stable release version …"). */
  readonly generator: string | undefined
}

function cString(data: Buffer, off: number): string | undefined {
  if (off >= data.length) return undefined
  const end = data.indexOf(0, off)
  if (end < 0) return undefined
  return data.toString('latin1', off, end)
}

/** Parse a little-endian new-format cache; undefined for anything else or any inconsistency. */
interface LdCacheLayout {
  readonly nlibs: number
  readonly generator: string | undefined
  readonly hwcaps: { base: number; size: number } | undefined
}

/** The header and extensions of a cache file, checked; undefined for an unusable file. */
function layout(data: Buffer): LdCacheLayout | undefined {
  if (data.length < HEADER_SIZE) return undefined
  if (data.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined
  const nlibs = data.readUInt32LE(20)
  const flags = data.readUInt8(28)
  // Byte 28 records the endianness ldconfig wrote (2 = little endian); 0 means unknown.
  if (flags !== 0 && (flags & 3) !== 2) return undefined
  const extensionOffset = data.readUInt32LE(32)
  if (HEADER_SIZE + nlibs * ENTRY_SIZE > data.length) return undefined

  let generator: string | undefined
  let hwcaps: { base: number; size: number } | undefined
  if (extensionOffset !== 0) {
    if (extensionOffset % 4 !== 0 || extensionOffset + 8 > data.length) return undefined
    if (data.readUInt32LE(extensionOffset) !== EXTENSION_MAGIC) return undefined
    const count = data.readUInt32LE(extensionOffset + 4)
    if (extensionOffset + 8 + count * 16 > data.length) return undefined
    for (let i = 0; i < count; i++) {
      const s = extensionOffset + 8 + i * 16
      const tag = data.readUInt32LE(s)
      const offset = data.readUInt32LE(s + 8)
      const size = data.readUInt32LE(s + 12)
      if (offset + size > data.length) return undefined
      if (tag === TAG_GENERATOR) generator = data.toString('latin1', offset, offset + size)
      else if (tag === TAG_GLIBC_HWCAPS) hwcaps = size > 0 && offset % 4 === 0 && size % 4 === 0 ? { base: offset, size } : undefined
    }
  }
  return { nlibs, generator, hwcaps }
}

function entryAt(data: Buffer, cache: LdCacheLayout, i: number): CacheEntry | undefined {
  const e = HEADER_SIZE + i * ENTRY_SIZE
  const entryFlags = data.readInt32LE(e)
  const key = cString(data, data.readUInt32LE(e + 4))
  const value = cString(data, data.readUInt32LE(e + 8))
  const hwcap = data.readBigUInt64LE(e + 16)
  if (key === undefined || value === undefined) return undefined
  let hwcapsName: string | undefined
  const upper = (hwcap >> 32n) & ~HWCAP_ISA_LEVEL_MASK
  const { hwcaps } = cache
  if (upper === HWCAP_EXTENSION >> 32n && hwcaps !== undefined) {
    const index = Number(hwcap & 0xffffffffn)
    if (index < hwcaps.size / 4) hwcapsName = cString(data, data.readUInt32LE(hwcaps.base + index * 4))
  }
  return { key, value, flags: entryFlags, hwcap, hwcapsName }
}

export function parseLdCache(data: Buffer): LdCache | undefined {
  const cache = layout(data)
  if (cache === undefined) return undefined
  const entries: CacheEntry[] = []
  for (let i = 0; i < cache.nlibs; i++) {
    const entry = entryAt(data, cache, i)
    if (entry === undefined) return undefined
    entries.push(entry)
  }
  return { entries, generator: cache.generator }
}

/** Whether this machine stores a Uint32Array's elements little-endian (as the cache's fields are). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * The entry table's words (six 32-bit words an entry: flags, key, value, osversion, hwcap),
 * as a typed array over the file's bytes (a copy when they are not 4-aligned in memory).
 */
function entryWords(data: Buffer, nlibs: number): Uint32Array {
  const start = data.byteOffset + HEADER_SIZE
  const length = (nlibs * ENTRY_SIZE) / 4
  if (start % 4 === 0) return new Uint32Array(data.buffer, start, length)
  return new Uint32Array(Uint8Array.prototype.slice.call(data, HEADER_SIZE, HEADER_SIZE + nlibs * ENTRY_SIZE).buffer)
}

/**
 * The entries of one library name, under the same validity rules as parseLdCache (undefined
 * when it would reject the file), without building the other entries: for the lookups made
 * at a process's first exec (glibc's, for glibcFacts).
 *
 * parseLdCache rejects a file when a key or value offset does not start a NUL-terminated
 * string inside it, that is when an offset lies past the file's last NUL byte. The scan over
 * every entry is kept to a few typed-array reads per entry: a first exec runs it once, and a
 * loop that calls Buffer methods thousands of times gets optimised by V8 on the spot (measured:
 * +3 MiB of peak RSS and a few ms for the optimising compiler, more than the scan itself).
 */
export function ldCacheEntriesFor(data: Buffer, name: string): CacheEntry[] | undefined {
  const cache = layout(data)
  if (cache === undefined) return undefined
  const lastNul = data.lastIndexOf(0)
  const wanted = Buffer.from(name + '\0', 'latin1')
  // Entries whose key is the name (byte by byte: no Buffer method per entry); any invalid
  // offset rejects the file.
  const named = (key: number): boolean => {
    if (key + wanted.length > data.length) return false
    for (let j = 0; j < wanted.length; j++) if (data[key + j] !== wanted[j]) return false
    return true
  }
  const candidates: number[] = []
  if (LITTLE_ENDIAN) {
    const words = entryWords(data, cache.nlibs)
    for (let i = 0, w = 1; i < cache.nlibs; i++, w += 6) {
      const key = words[w]!
      if (key > lastNul || words[w + 1]! > lastNul) return undefined
      if (named(key)) candidates.push(i)
    }
  } else {
    for (let i = 0; i < cache.nlibs; i++) {
      const e = HEADER_SIZE + i * ENTRY_SIZE
      const key = data.readUInt32LE(e + 4)
      if (key > lastNul || data.readUInt32LE(e + 8) > lastNul) return undefined
      if (named(key)) candidates.push(i)
    }
  }
  const out: CacheEntry[] = []
  for (const i of candidates) {
    const entry = entryAt(data, cache, i)
    if (entry === undefined) return undefined
    out.push(entry)
  }
  return out
}

const FLAG_TYPE_MASK = 0x00ff
const FLAG_REQUIRED_MASK = 0xff00
const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0000, 'libc4'],
  [0x0001, 'ELF'],
  [0x0002, 'libc5'],
  [0x0003, 'libc6'],
])
/** glibc 2.36 elf/cache.c print_entry: the ABI suffixes of FLAG_REQUIRED_MASK. */
const REQUIRED_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0000, ''],
  [0x0100, ',64bit'], // sparc
  [0x0200, ',IA-64'],
  [0x0300, ',x86-64'],
  [0x0400, ',64bit'], // s390
  [0x0500, ',64bit'], // powerpc
  [0x0600, ',N32'],
  [0x0700, ',64bit'], // mips n64
  [0x0800, ',x32'],
  [0x0900, ',hard-float'],
  [0x0a00, ',AArch64'],
  [0x0b00, ',soft-float'],
  [0x0c00, ',nan2008'],
  [0x0d00, ',N32,nan2008'],
  [0x0e00, ',64bit,nan2008'],
  [0x0f00, ',soft-float'], // riscv
  [0x1000, ',double-float'],
])

/**
 * The `(libc6,x86-64)` description of an entry as `ldconfig -p` prints it, or undefined for
 * flags glibc would print as `unknown` or as a raw number (not reproduced).
 */
export function describeEntry(entry: CacheEntry): string | undefined {
  const type = TYPE_NAMES.get(entry.flags & FLAG_TYPE_MASK)
  const required = REQUIRED_NAMES.get(entry.flags & FLAG_REQUIRED_MASK)
  if (type === undefined || required === undefined || (entry.flags & ~0xffff) !== 0) return undefined
  let hw = ''
  if (entry.hwcapsName !== undefined) hw = `, hwcap: "${entry.hwcapsName}"`
  else if (entry.hwcap !== 0n) hw = ', hwcap: 0x' + entry.hwcap.toString(16).padStart(16, '0')
  return type + required + hw
}

/** Cache flags of a 64-bit libc6 library for a Node `process.arch`, where known. */
export function libc6FlagsFor(arch: string): number | undefined {
  switch (arch) {
    case 'x64':
      return 0x0303
    case 'arm64':
      return 0x0a03
    default:
      return undefined
  }
}
