/**
 * Renders a profile file: header comments, `abi`, `include <tunables/global>`, the variables,
 * then each profile with its includes and its rule groups (one comment line per group).
 * The output depends only on its input (no dates, no pids), so re-learning diffs cleanly.
 */
import { GROUP_TITLES, type RuleGroup } from './rules'

export interface ProfileSpec {
  readonly name: string
  /** e.g. `complain` for a learning profile. */
  readonly flags?: readonly string[]
  /** Comment lines placed above the profile. */
  readonly comment?: readonly string[]
  readonly includes: readonly string[]
  readonly groups: readonly RuleGroup[]
}

export interface ProfileFile {
  readonly header: readonly string[]
  /** A variable may have several values (an alternation); each is quoted when it needs it. */
  readonly variables: ReadonlyArray<{ name: string; values: readonly string[]; comment?: string }>
  readonly profiles: readonly ProfileSpec[]
}

function quoteValue(v: string): string {
  return /[\s"#,]/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v
}

export function renderProfileFile(file: ProfileFile): string {
  const out: string[] = []
  for (const h of file.header) out.push(h === '' ? '#' : `# ${h}`)
  out.push('abi <abi/3.0>,', 'include <tunables/global>', '')
  for (const v of file.variables) {
    if (v.comment) out.push(`# ${v.comment}`)
    out.push(`@{${v.name}}=${v.values.map(quoteValue).join(' ')}`)
  }
  if (file.variables.length > 0) out.push('')
  for (const p of file.profiles) {
    for (const c of p.comment ?? []) out.push(c === '' ? '#' : `# ${c}`)
    const flags = p.flags && p.flags.length > 0 ? ` flags=(${p.flags.join(', ')})` : ''
    out.push(`profile ${p.name}${flags} {`)
    for (const inc of p.includes) out.push(`  include <${inc}>`)
    for (const g of p.groups) {
      out.push('', `  # ${GROUP_TITLES[g.id]}`)
      for (const r of g.rules) out.push(`  ${r}`)
    }
    out.push('}', '')
  }
  return out.join('\n')
}
