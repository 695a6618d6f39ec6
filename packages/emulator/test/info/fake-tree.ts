/** Fake system trees for unit tests of the info commands (not a test file itself). */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { createSystemView, type ProcessFacts, type SystemView } from '../../src/commands/info/view'

export type Entry = string | Buffer | { readonly link: string } | { readonly dir: true } | { readonly data: string | Buffer; readonly mode: number }

/** Create a tree under a new temporary directory; removed at process exit. */
export function fakeTree(entries: Readonly<Record<string, Entry>>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'am-info-tree-'))
  process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }))
  for (const [p, e] of Object.entries(entries)) {
    const full = path.join(root, p)
    fs.mkdirSync(path.dirname(full), { recursive: true })
    if (typeof e === 'string' || Buffer.isBuffer(e)) fs.writeFileSync(full, e)
    else if ('link' in e) fs.symlinkSync(e.link, full)
    else if ('dir' in e) fs.mkdirSync(full, { recursive: true })
    else fs.writeFileSync(full, e.data, { mode: e.mode })
  }
  return root
}

export function fakeView(entries: Readonly<Record<string, Entry>>, facts: Partial<ProcessFacts> = {}): SystemView {
  return createSystemView({ root: fakeTree(entries), process: facts })
}

/** A 64-bit little-endian auxv image. */
export function auxv(pairs: readonly [number, number][]): Buffer {
  const b = Buffer.alloc((pairs.length + 1) * 16)
  pairs.forEach(([type, value], i) => {
    b.writeBigUInt64LE(BigInt(type), i * 16)
    b.writeBigUInt64LE(BigInt(value), i * 16 + 8)
  })
  return b
}

export interface CacheEntrySpec {
  readonly key: string
  readonly value: string
  readonly flags: number
  readonly hwcap?: bigint
}

/** A glibc-ld.so.cache1.1 file with optional generator and glibc-hwcaps extensions. */
export function ldSoCache(entries: readonly CacheEntrySpec[], generator?: string, hwcaps: readonly string[] = []): Buffer {
  const header = 48
  const table = header + entries.length * 24
  const strings: Buffer[] = []
  let strOff = table
  const offsets = new Map<string, number>()
  const intern = (s: string) => {
    const known = offsets.get(s)
    if (known !== undefined) return known
    offsets.set(s, strOff)
    const b = Buffer.from(s + '\0', 'latin1')
    strings.push(b)
    strOff += b.length
    return strOff - b.length
  }
  const rows = entries.map((e) => ({ e, key: intern(e.key), value: intern(e.value) }))
  const hwcapNames = hwcaps.map(intern)
  const genOff = generator === undefined ? 0 : intern(generator)
  let body = Buffer.concat([Buffer.alloc(table), ...strings])
  // Extension section, 4-byte aligned.
  const pad = (4 - (body.length % 4)) % 4
  body = Buffer.concat([body, Buffer.alloc(pad)])
  const hwcapArrayOff = body.length
  const hwcapArray = Buffer.alloc(hwcapNames.length * 4)
  hwcapNames.forEach((o, i) => hwcapArray.writeUInt32LE(o, i * 4))
  body = Buffer.concat([body, hwcapArray])
  const sections: [number, number, number][] = []
  if (generator !== undefined) sections.push([0, genOff, Buffer.byteLength(generator, 'latin1')])
  if (hwcapNames.length > 0) sections.push([1, hwcapArrayOff, hwcapArray.length])
  const extOff = sections.length === 0 ? 0 : body.length
  if (sections.length > 0) {
    const ext = Buffer.alloc(8 + sections.length * 16)
    ext.writeUInt32LE(0xeaa42174, 0)
    ext.writeUInt32LE(sections.length, 4)
    sections.forEach(([tag, off, size], i) => {
      ext.writeUInt32LE(tag, 8 + i * 16)
      ext.writeUInt32LE(off, 8 + i * 16 + 8)
      ext.writeUInt32LE(size, 8 + i * 16 + 12)
    })
    body = Buffer.concat([body, ext])
  }
  body.write('glibc-ld.so.cache1.1', 0, 'latin1')
  body.writeUInt32LE(entries.length, 20)
  body.writeUInt32LE(strOff - table, 24)
  body.writeUInt8(2, 28)
  body.writeUInt32LE(extOff, 32)
  rows.forEach(({ e, key, value }, i) => {
    const o = header + i * 24
    body.writeInt32LE(e.flags, o)
    body.writeUInt32LE(key, o + 4)
    body.writeUInt32LE(value, o + 8)
    body.writeBigUInt64LE(e.hwcap ?? 0n, o + 16)
  })
  return body
}

/** An LC_CTYPE file carrying just the codeset item glibc reads for nl_langinfo(CODESET). */
export function lcCtype(codeset: string): Buffer {
  const n = 15
  const head = Buffer.alloc(8 + n * 4)
  head.writeUInt32LE(0x20090720, 0)
  head.writeUInt32LE(n, 4)
  const strOff = head.length
  for (let i = 0; i < n; i++) head.writeUInt32LE(strOff, 8 + i * 4)
  return Buffer.concat([head, Buffer.from(codeset + '\0', 'latin1')])
}
