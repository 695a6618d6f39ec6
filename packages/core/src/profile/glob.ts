/**
 * AppArmor's path globs, as apparmor_parser reads them (parser_regex.c, apparmor.d(5)):
 *
 *   `*`      any characters except `/`; right after a `/` it needs at least one (`/dir/*` does
 *            not match `/dir/`)
 *   `**`     any characters, `/` included; right after a `/` at least one that is not `/`
 *   `?`      one character except `/`
 *   `[ab]`, `[a-z]`, `[^ab]`  one character of (not of) the class
 *   `{a,b}`  alternation (nested, empty members allowed: `{,32,64}`)
 *   `@{VAR}` a variable's values (an alternation of them), expanded before anything else
 *   `\x`     the character x itself
 *
 * Repeated slashes collapse, as the parser collapses them (`@{PROC}/@{pid}` is `/proc/1`).
 * Used to decide whether an access the kernel logged is already covered by an included
 * abstraction, and whether a generated rule is no wider than what was seen.
 */

/** A variable table: name (without `@{}`) → its values (each may hold globs and variables). */
export type Variables = ReadonlyMap<string, readonly string[]>

const MAX_EXPANSIONS = 20_000
const MAX_DEPTH = 16

/** Replaces every `@{name}` with `{v1,v2,…}` (recursively). An unknown variable throws. */
export function expandVariables(glob: string, vars: Variables, depth = 0): string {
  if (depth > MAX_DEPTH) throw new Error(`variable expansion too deep in ${glob}`)
  if (!glob.includes('@{')) return glob
  return glob.replace(/@\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const values = vars.get(name)
    if (values === undefined) throw new Error(`unknown variable @{${name}}`)
    const expanded = values.map((v) => expandVariables(v, vars, depth + 1))
    return expanded.length === 1 ? expanded[0]! : `{${expanded.join(',')}}`
  })
}

/** Index of the `]` closing the class opened at `open`, or -1 (a `]` first in the class is literal). */
function classEnd(s: string, open: number): number {
  let i = open + 1
  if (s[i] === '^') i++
  if (s[i] === ']') i++
  for (; i < s.length; i++) {
    if (s[i] === '\\') i++
    else if (s[i] === ']') return i
  }
  return -1
}

/** Expands `{a,b}` alternations into brace-free globs (classes and escapes kept as they are). */
export function expandBraces(glob: string): string[] {
  let results = ['']
  let i = 0
  while (i < glob.length) {
    const c = glob[i]!
    if (c === '\\' && i + 1 < glob.length) {
      results = results.map((r) => r + c + glob[i + 1])
      i += 2
    } else if (c === '[') {
      const end = classEnd(glob, i)
      const piece = end < 0 ? '\\[' : glob.slice(i, end + 1)
      results = results.map((r) => r + piece)
      i = end < 0 ? i + 1 : end + 1
    } else if (c === '{') {
      // find the matching close and the top-level commas
      let depth = 0
      const members: string[] = []
      let start = i + 1
      let j = i
      for (; j < glob.length; j++) {
        const d = glob[j]!
        if (d === '\\') j++
        else if (d === '[') {
          const end = classEnd(glob, j)
          if (end > 0) j = end
        } else if (d === '{') depth++
        else if (d === '}') {
          depth--
          if (depth === 0) break
        } else if (d === ',' && depth === 1) {
          members.push(glob.slice(start, j))
          start = j + 1
        }
      }
      if (j >= glob.length) throw new Error(`unbalanced { in ${glob}`)
      members.push(glob.slice(start, j))
      const alternatives = members.flatMap((m) => expandBraces(m))
      const next: string[] = []
      for (const r of results) for (const a of alternatives) next.push(r + a)
      if (next.length > MAX_EXPANSIONS) throw new Error(`too many alternatives in ${glob}`)
      results = next
      i = j + 1
    } else {
      results = results.map((r) => r + c)
      i++
    }
  }
  return results
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c
}

/** One brace-free glob as a regular expression source (no anchors). */
function toRegExpSource(glob: string): string {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    const afterSlash = i > 0 && glob[i - 1] === '/'
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegExp(glob[++i]!)
    } else if (c === '*') {
      if (glob[i + 1] === '*') {
        while (glob[i + 1] === '*') i++
        out += afterSlash ? '[^/\\x00][^\\x00]*' : '[^\\x00]*'
      } else {
        out += afterSlash ? '[^/\\x00][^/\\x00]*' : '[^/\\x00]*'
      }
    } else if (c === '?') {
      out += '[^/\\x00]'
    } else if (c === '[') {
      const end = classEnd(glob, i)
      if (end < 0) {
        out += '\\['
        continue
      }
      let body = glob.slice(i + 1, end)
      const negate = body.startsWith('^')
      if (negate) body = body.slice(1)
      const inner = body.replace(/\\(.)/g, '$1').replace(/[\\\]^]/g, (m) => `\\${m}`)
      out += negate ? `[^/\\x00${inner}]` : `[${inner}]`
      i = end
    } else {
      out += escapeRegExp(c)
    }
  }
  return out
}

const cache = new Map<string, RegExp>()

/** The glob (variables and alternations expanded, slashes collapsed) as one anchored RegExp. */
export function globToRegExp(glob: string, vars: Variables = new Map()): RegExp {
  const key = glob
  const hit = vars.size === 0 ? cache.get(key) : undefined
  if (hit) return hit
  const alternatives = expandBraces(expandVariables(glob, vars)).map((g) => g.replace(/\/{2,}/g, '/'))
  const re = new RegExp(`^(?:${[...new Set(alternatives)].map(toRegExpSource).join('|')})$`)
  if (vars.size === 0) cache.set(key, re)
  return re
}

/** Does the AppArmor glob match this (absolute, normalised) path? */
export function globMatches(glob: string, file: string, vars: Variables = new Map()): boolean {
  return globToRegExp(glob, vars).test(file)
}

/** Quotes a literal path for use in a rule: glob characters escaped, quoted when it holds spaces. */
export function quotePath(p: string): string {
  const escaped = p.replace(/[*?[\]{}\\"]/g, (m) => `\\${m}`)
  return /[\s,#]/.test(escaped) ? `"${escaped}"` : escaped
}
