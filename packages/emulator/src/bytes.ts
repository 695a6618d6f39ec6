/**
 * Byte strings: the interpreter keeps every script, value and stream as a latin1 string (one
 * JS char per byte), so arbitrary bytes round-trip exactly. These helpers cross the boundary.
 */

const ASCII = /^[\x00-\x7f]*$/

/** A byte string as a path for `fs` (a Buffer when it holds non-ASCII bytes). */
export function toFsPath(p: string): string | Buffer {
  return ASCII.test(p) ? p : Buffer.from(p, 'latin1')
}

/** A JS (UTF-16) string as its UTF-8 bytes, one char per byte. */
export function utf8ToBytes(s: string): string {
  return ASCII.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1')
}

/**
 * A byte string decoded as UTF-8 for an API that takes JS strings, or null when the bytes are
 * not valid UTF-8 (they could not reach the program unchanged through such an API).
 */
export function bytesToUtf8(s: string): string | null {
  if (ASCII.test(s)) return s
  const b = Buffer.from(s, 'latin1')
  const u = b.toString('utf8')
  return Buffer.from(u, 'utf8').equals(b) ? u : null
}

export function isAscii(s: string): boolean {
  return ASCII.test(s)
}
