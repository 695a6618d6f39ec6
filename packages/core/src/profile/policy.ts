/**
 * A small reader of AppArmor policy text: enough of it to know what an included abstraction
 * already allows (file rules, network and capability rules, following `include`s) and the
 * variables `tunables/global` defines. It does not validate anything: apparmor_parser does.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { globToRegExp, type Variables } from './glob'

export interface FileRule {
  readonly glob: string
  /** Permission letters: r w a l k m, x for any exec mode. */
  readonly perms: string
  readonly owner: boolean
  readonly regexp: RegExp
}

export interface PolicyRules {
  readonly files: FileRule[]
  /** `family type` pairs (`*` when not named) of network rules. */
  readonly network: Array<{ family: string; type: string }>
  readonly capabilities: Set<string>
  /** The files that were read, in order. */
  readonly sources: string[]
}

/** Where `include <x>` is looked up: the package's own profiles first, then the system's. */
export function defaultSearchPath(): string[] {
  return [path.resolve(__dirname, '..', '..', 'profiles'), '/etc/apparmor.d']
}

function resolveInclude(spec: string, searchPath: readonly string[], from: string): string | undefined {
  if (spec.startsWith('"')) {
    const p = spec.slice(1, -1)
    return path.isAbsolute(p) ? p : path.join(path.dirname(from), p)
  }
  const name = spec.slice(1, -1)
  for (const dir of searchPath) {
    const p = path.join(dir, name)
    if (fs.existsSync(p)) return p
  }
  return undefined
}

/** Strips comments (a `#` not in a quote, except `#include`) and joins the text into statements. */
function statements(text: string): string[] {
  const out: string[] = []
  for (let line of text.split('\n')) {
    line = line.trim()
    if (line.startsWith('#include')) line = line.slice(1)
    else {
      let inQuote = false
      for (let i = 0; i < line.length; i++) {
        if (line[i] === '"') inQuote = !inQuote
        else if (line[i] === '#' && !inQuote) {
          line = line.slice(0, i).trim()
          break
        }
      }
    }
    if (line) out.push(line)
  }
  return out
}

/** Reads the variable definitions of a tunables file (and its includes). */
export function readVariables(file: string, searchPath: readonly string[] = defaultSearchPath(), vars = new Map<string, string[]>()): Map<string, string[]> {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return vars
  }
  for (const st of statements(text)) {
    const inc = /^include\s+(if\s+exists\s+)?(<[^>]+>|"[^"]+")/.exec(st)
    if (inc) {
      const target = resolveInclude(inc[2]!, searchPath, file)
      if (target) for (const f of listFiles(target)) readVariables(f, searchPath, vars)
      continue
    }
    const def = /^@\{([A-Za-z0-9_]+)\}\s*(\+?=)\s*(.*)$/.exec(st)
    if (def) {
      const values = def[3]!.split(/\s+/).filter(Boolean).map((v) => v.replace(/^"(.*)"$/, '$1'))
      const name = def[1]!
      if (def[2] === '+=') vars.set(name, [...(vars.get(name) ?? []), ...values])
      else vars.set(name, values)
    }
  }
  return vars
}

function listFiles(target: string): string[] {
  try {
    if (fs.statSync(target).isDirectory()) {
      return fs
        .readdirSync(target)
        .filter((n) => !n.startsWith('.') && !n.endsWith('~'))
        .sort()
        .map((n) => path.join(target, n))
    }
  } catch {
    return []
  }
  return [target]
}

const FILE_RULE = /^(?:audit\s+)?(deny\s+)?(owner\s+)?(?:file\s+)?("[^"]+"|[/@][^\s]*)\s+([rwaklmixpucPUCx]+)\s*(?:->\s*\S+\s*)?,$/

/** The rules of a policy file and of everything it includes (each file read once). */
export function readRules(file: string, vars: Variables, searchPath: readonly string[] = defaultSearchPath()): PolicyRules {
  const rules: PolicyRules = { files: [], network: [], capabilities: new Set(), sources: [] }
  const visit = (f: string) => {
    if (rules.sources.includes(f)) return
    let text: string
    try {
      text = fs.readFileSync(f, 'utf8')
    } catch {
      return
    }
    rules.sources.push(f)
    for (const st of statements(text)) {
      const inc = /^include\s+(if\s+exists\s+)?(<[^>]+>|"[^"]+")/.exec(st)
      if (inc) {
        const target = resolveInclude(inc[2]!, searchPath, f)
        if (target) for (const g of listFiles(target)) visit(g)
        continue
      }
      const fm = FILE_RULE.exec(st)
      if (fm) {
        if (fm[1]) continue // deny rules grant nothing
        const glob = fm[3]!.replace(/^"(.*)"$/, '$1')
        let regexp: RegExp
        try {
          regexp = globToRegExp(glob, vars)
        } catch {
          continue // an unknown variable: the rule cannot be matched here
        }
        const perms = fm[4]!.replace(/[iupcPUC]/g, '').replace(/x+/g, 'x')
        rules.files.push({ glob, perms, owner: fm[2] !== undefined, regexp })
        continue
      }
      const net = /^(?:audit\s+)?network(?:\s+(\w+))?(?:\s+(\w+))?\s*,$/.exec(st)
      if (net) {
        rules.network.push({ family: net[1] ?? '*', type: net[2] ?? '*' })
        continue
      }
      const cap = /^(?:audit\s+)?capability\s+([\w\s]+),$/.exec(st)
      if (cap) for (const c of cap[1]!.trim().split(/\s+/)) rules.capabilities.add(c)
    }
  }
  visit(file)
  return rules
}

/** Is every letter of `perms` granted for `file` by these rules (owner rules only when `owned`)? */
export function fileCovered(rules: PolicyRules, file: string, perms: string, owned: boolean): boolean {
  let missing = new Set(perms)
  for (const rule of rules.files) {
    if (rule.owner && !owned) continue
    if (!rule.regexp.test(file)) continue
    missing = new Set([...missing].filter((p) => !rule.perms.includes(p) && !(p === 'a' && rule.perms.includes('w'))))
    if (missing.size === 0) return true
  }
  return missing.size === 0
}
