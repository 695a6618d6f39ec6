/** The credentials a child runs with. */
import type { ChildContext } from '../../types'
import type { SystemView } from './view'

/**
 * The child's supplementary groups: what the interception layer says, else the parent's when
 * the child keeps the parent's uid and gid, else none when the parent is root (libuv calls
 * setgroups(0, NULL) before switching ids). Undefined when none of these applies.
 */
export function childGroups(view: SystemView, ctx: ChildContext): readonly number[] | undefined {
  if (ctx.groups !== undefined) return ctx.groups
  const p = view.process
  if (ctx.uid === p.uid() && ctx.gid === p.gid()) return p.groups()
  if (p.uid() === 0) return []
  return undefined
}

/**
 * True when the child's effective ids equal its real ones (the ids in ChildContext): always
 * after spawn's uid/gid options, and when this process itself runs with equal pairs.
 */
export function uniformIds(view: SystemView, ctx: ChildContext): boolean {
  const p = view.process
  if (ctx.uid !== p.uid() || ctx.gid !== p.gid()) return true
  return p.euid() === p.uid() && p.egid() === p.gid()
}
