/**
 * Whose permissions an in-process answer is computed with. The emulator reads files (and
 * resolves paths) as this process; an answer is exact only when the child's accesses would be
 * checked the same way. The kernel checks a file access with the effective (fs) uid and gid and
 * the supplementary groups; `ChildContext` carries the child's ids (spawn's uid/gid, which then
 * are its real and effective ids alike, else this process's real ids) and, when known, its
 * groups.
 */
import type { ChildContext } from './types'

/** The ids of this process that its file accesses are checked with. */
export interface ProcessIds {
  euid(): number
  egid(): number
  /** Supplementary groups, as getgroups(2) lists them. */
  groups(): readonly number[]
}

const LIVE: ProcessIds = {
  euid: () => process.geteuid?.() ?? -1,
  egid: () => process.getegid?.() ?? -1,
  groups: () => process.getgroups?.() ?? [],
}

/**
 * True when the child's file accesses would be checked exactly like this process's: its ids
 * equal this process's effective ids (a setuid-style process whose real and effective ids
 * differ is declined: the child's real ids are not its effective ones), and its supplementary
 * groups, when known, are this process's (its primary gid aside, which getgroups may or may not
 * list). Groups not given mean the child keeps this process's (spawn without uid/gid).
 */
export function sameCredentials(ctx: ChildContext, self: ProcessIds = LIVE): boolean {
  if (ctx.uid !== self.euid() || ctx.gid !== self.egid()) return false
  if (ctx.groups === undefined) return true
  const withoutGid = (l: readonly number[]) => [...new Set(l.filter((g) => g !== ctx.gid))].sort((a, b) => a - b)
  const mine = withoutGid(self.groups())
  const theirs = withoutGid(ctx.groups)
  return mine.length === theirs.length && mine.every((g, i) => g === theirs[i])
}
