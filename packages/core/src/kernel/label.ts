/**
 * Parsing of the labels the kernel prints in `attr/current` and `attr/exec`
 * (libapparmor's `aa_splitcon`): `unconfined`, `name (mode)`, `:ns:name (mode)`,
 * stacks `a//&b (mode)`, hats `profile//hat (mode)`.
 */

/** The mode the kernel prints after a label. `enforce` and `complain` are the documented ones. */
export type LabelMode = 'enforce' | 'complain' | 'kill' | 'unconfined' | 'user' | 'mixed' | '-' | (string & {})

export interface Label {
  /** The label without the mode, e.g. `web-worker`, `a//&b`, `:ns:p`, `p//hat`, or `unconfined`. */
  readonly label: string
  /** The mode, or `undefined` for `unconfined` (which has none). */
  readonly mode: LabelMode | undefined
  /** True for the unconfined label. */
  readonly unconfined: boolean
  /** The members of a stack (`a//&b` → `['a', 'b']`); one element when not stacked. */
  readonly stack: readonly string[]
  /** The namespace of a `:ns:name` label, if any. */
  readonly namespace: string | undefined
  /** The string exactly as read, without its trailing newline. */
  readonly raw: string
}

/** Parses what `attr/current` (or `attr/exec`) holds. One trailing newline is ignored. */
export function parseLabel(text: string): Label {
  const raw = text.endsWith('\n') ? text.slice(0, -1) : text
  let label = raw
  let mode: string | undefined
  if (raw !== 'unconfined' && raw.endsWith(')')) {
    const open = raw.lastIndexOf(' (')
    if (open > 0) {
      label = raw.slice(0, open)
      mode = raw.slice(open + 2, -1)
    }
  }
  let namespace: string | undefined
  if (label.startsWith(':')) {
    const end = label.indexOf(':', 1)
    if (end > 0) namespace = label.slice(1, end)
  }
  return {
    label,
    mode,
    unconfined: label === 'unconfined',
    stack: label.split('//&'),
    namespace,
    raw,
  }
}

/** The profile part of a hat label (`p//hat` → `p`); other labels are returned unchanged. */
export function hatParent(label: string): string {
  if (label.includes('//&')) return label
  const at = label.indexOf('//')
  return at < 0 ? label : label.slice(0, at)
}
