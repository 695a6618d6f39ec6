/**
 * Shared pieces of the text tools: the locale gate (src/locale.ts), file reading with the
 * errors GNU tools report, file-name quoting in messages, and results as byte strings.
 */
import * as fs from 'node:fs'
import { sameCredentials } from '../../creds'
import { isAscii, toFsPath } from '../../bytes'
import { walkPath } from '../../path'
export { result } from '../result'
import type { ChildContext, CommandIO } from '../../types'

export { textLocale, type TextLocale } from '../../locale'

export type ReadResult =
  | { readonly ok: true; readonly data: string }
  | { readonly ok: false; readonly error: 'ENOENT' | 'EACCES' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' }

export const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
}

const { O_RDONLY, O_NONBLOCK, O_NOCTTY, O_NOFOLLOW } = fs.constants

/**
 * Reads a file operand (a byte string) as a byte string. Null when the answer could differ
 * from the real tool's (a FIFO, a device, an unexpected error, other credentials).
 */
export function readFileOperand(name: string, ctx: ChildContext): ReadResult | null {
  if (!sameCredentials(ctx)) return null
  // The kernel's walk, not a lexical one (symlinks, `..`, trailing slashes); process-relative
  // files (/proc/self, /dev/stdin, …) are refused there.
  const w = walkPath(name, ctx.cwd)
  if (w === null) return null
  if (!w.ok) return { ok: false, error: w.error }
  const p = toFsPath(w.path)
  let fd: number
  try {
    fd = fs.openSync(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EACCES') return { ok: false, error: code }
    return null
  }
  try {
    const st = fs.fstatSync(fd)
    if (st.dev !== w.st.dev || st.ino !== w.st.ino) return null
    if (st.isDirectory()) return { ok: false, error: 'EISDIR' }
    if (st.isCharacterDevice() && st.rdev === NULL_RDEV) return { ok: true, data: '' }
    if (!st.isFile()) return null
    return { ok: true, data: fs.readFileSync(fd).toString('latin1') }
  } catch {
    return null
  } finally {
    fs.closeSync(fd)
  }
}

/** /dev/null is char device 1:3. */
const NULL_RDEV = (1 << 8) | 3

/** The size `stat` reports for a regular file operand (wc's column width uses it). */
export function fileSize(name: string, ctx: ChildContext): number | null {
  const w = walkPath(name, ctx.cwd)
  if (w === null || !w.ok) return null
  return w.st.isFile() ? w.st.size : -1
}

/** The piped stdin as a byte string (bails through the shell when it is the caller's). */
export function stdinText(io: CommandIO): string {
  return io.stdin.toString('latin1')
}

/**
 * The file operands of cut and wc, read the way they read them, in order: `-` is stdin (empty
 * after its first use); an unreadable file adds `tool: name: error` to stderr and sets status
 * 1, and the tool goes on with the others. null: an operand cannot be answered exactly (a
 * directory, a name whose quoting was not checked, a read that could not be mirrored).
 */
export function readOperands(
  tool: string,
  names: readonly string[],
  io: CommandIO,
): { readonly files: readonly { readonly name: string; readonly data: string }[]; readonly err: string; readonly status: number } | null {
  const files: { name: string; data: string }[] = []
  let err = ''
  let stdinUsed = false
  for (const name of names) {
    if (name === '-') {
      files.push({ name, data: stdinUsed ? '' : stdinText(io) })
      stdinUsed = true
      continue
    }
    const r = readFileOperand(name, io.ctx)
    if (r === null || (!r.ok && r.error === 'EISDIR')) return null
    if (r.ok) {
      files.push({ name, data: r.data })
      continue
    }
    const q = quotef(name)
    if (q === null) return null
    err += `${tool}: ${q}: ${STRERROR[r.error]}\n`
  }
  return { files, err, status: err === '' ? 0 : 1 }
}

/** Names coreutils prints bare (checked: `#` and `~` only need quoting in front). */
const BARE_NAME = /^[A-Za-z0-9%+,./@_-][A-Za-z0-9%+,./@_#~-]*$/
/** Names it single-quotes: the characters above plus ones checked to force quoting. */
const QUOTED_NAME = /^[A-Za-z0-9%+,./@_#~ !:=^-]+$/

/**
 * A file name as coreutils' `quotef` (shell-escape style) prints it, or null for names whose
 * quoting was not checked against the real tools.
 */
export function quotef(name: string): string | null {
  if (BARE_NAME.test(name)) return name
  return QUOTED_NAME.test(name) ? `'${name}'` : null
}

/** A file name printed as is (grep, sed): only printable ASCII is answered. */
export function rawName(name: string): string | null {
  return /^[\x20-\x7e]+$/.test(name) ? name : null
}

/** coreutils' `quoteaf`: always single-quoted (null for names needing other quoting). */
export function quoteaf(name: string): string | null {
  return /^[^'\\\x00-\x1f\x7f-\xff]*$/.test(name) ? `'${name}'` : null
}

/** Parses a decimal count (GNU xstrtoumax without suffixes); null for anything else. */
export function parseCount(s: string): number | null {
  if (!/^[0-9]+$/.test(s) || s.length > 15) return null
  return Number(s)
}

/** Splits input into lines; `last` tells whether the final line had its newline. */
export function splitLines(data: string): { lines: string[]; terminated: boolean } {
  if (data === '') return { lines: [], terminated: true }
  const terminated = data.endsWith('\n')
  const lines = (terminated ? data.slice(0, -1) : data).split('\n')
  return { lines, terminated }
}
