/**
 * What execve accepts (the kernel's fs/exec.c): the argument and environment strings, each
 * with its NUL, plus one pointer for each, within the argument space, which is a quarter of the
 * stack limit but never less than 32 pages (ARG_MAX). Above it the real exec fails with E2BIG
 * (`spawnSync /bin/sh E2BIG`, or dash's "Argument list too long"). The stack limit is not
 * known here, so the guaranteed minimum is used: an exec within it never fails that way, and
 * anything bigger is left to the real command.
 */
import type { ChildContext } from './types'

/** The argument space every exec has (32 pages of 4 KiB). */
export const MIN_ARG_SPACE = 32 * 4096
const POINTER = 8

/**
 * Whether an exec of `argv` with `env` fits in MIN_ARG_SPACE. `argv` holds JavaScript strings
 * (UTF-8 on the wire) or, with `byteStrings`, one character per byte (the shell's words).
 */
export function withinExecLimits(argv: readonly string[], env: ChildContext['env'], byteStrings = false): boolean {
  // A cheap upper bound first (a UTF-16 unit is at most 3 bytes of UTF-8): usually enough.
  let bound = 0
  let count = argv.length
  for (const a of argv) bound += (byteStrings ? a.length : a.length * 3) + 1
  for (const k in env) {
    const v = env[k]
    if (v === undefined) continue
    count++
    bound += (k.length + v.length) * 3 + 2
  }
  if (bound + count * POINTER <= MIN_ARG_SPACE) return true
  let bytes = 0
  for (const a of argv) bytes += (byteStrings ? a.length : Buffer.byteLength(a)) + 1
  for (const k in env) {
    const v = env[k]
    if (v !== undefined) bytes += Buffer.byteLength(k) + Buffer.byteLength(v) + 2
  }
  return bytes + count * POINTER <= MIN_ARG_SPACE
}
