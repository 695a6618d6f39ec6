/**
 * Building results. Command code works on byte strings (latin1: one JS char per byte); the
 * bytes reach the child's stdout/stderr unchanged.
 */
import type { EmulationResult } from '../types'

const EMPTY = Buffer.alloc(0)

function bytes(s: string): Buffer {
  return s === '' ? EMPTY : Buffer.from(s, 'latin1')
}

/** A finished run: stdout, stderr and the status, the strings as byte strings (the one result() of every command). */
export function result(stdout: string, stderr = '', status = 0): EmulationResult {
  return { stdout: bytes(stdout), stderr: bytes(stderr), status }
}

/** A run that printed only to stderr. */
export function failure(stderr: string, status: number): EmulationResult {
  return { stdout: EMPTY, stderr: bytes(stderr), status }
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/**
 * True when every string is plain printable ASCII. Arguments and environment values outside
 * that range are not answered in process: how they were encoded on their way to the child is
 * not part of the contract, and no command here needs them.
 */
export function allPrintableAscii(values: readonly string[]): boolean {
  for (const v of values) if (!PRINTABLE_ASCII.test(v)) return false
  return true
}

export function isPrintableAscii(s: string): boolean {
  return PRINTABLE_ASCII.test(s)
}
