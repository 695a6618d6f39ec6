/**
 * Audit records → rules, per profile. Pure: the records, the variables the profile file will
 * define, the rules the included abstractions already grant, and where the app lives go in;
 * sorted rule groups come out, so a re-learn of the same workload diffs cleanly.
 *
 * Generalisations (the only ones; each is named in the generated file's header):
 *   - `/proc/<digits>/` → `@{PROC}/@{pid}/`, `/proc/<pid>/task/<digits>/` → `…/task/@{tid}/`
 *     (a process's own procfs entries; `owner` when every access was to a file it owns);
 *   - a versioned package directory inside node_modules (`.pnpm/fastify@5.1.0/`,
 *     `.pnpm/@fastify+ajv-compiler@4.0.1_x@1/`) → `NAME@*` (the same package after an update);
 *   - everything below a `--data-dir` → `DIR/** rw` (plus the letters seen: k, l, m);
 *   - the directory of @apparmor-monkeys/core, once the profile read from it → `DIR/** r`: it reads
 *     parts of itself only when first needed (the interception's bundles, code caches, its hooks
 *     when no preload brought them), which one learning run need not have done.
 * Everything else is exactly the paths and permissions that were seen.
 */
import { fileCovered, type PolicyRules } from './policy'
import type { AuditRecord } from './records'

export interface ChildSpec {
  /** The child's profile name. */
  readonly name: string
  /** What names the child's program: a basename (`node`) or an absolute path. */
  readonly match: string
}

export interface RuleContext {
  /** The variables the profile file defines, longest value first wins: name → absolute directory or file. */
  readonly variables: ReadonlyArray<{ name: string; value: string }>
  /** Directories the app may write below (`DIR/** rw`). */
  readonly dataDirs: readonly string[]
  /** Directories of @apparmor-monkeys/core: read as a whole (`DIR/** r`) once any file below one was read. */
  readonly packageDirs?: readonly string[]
  /**
   * Of those, the ones granted even when this profile's records read nothing below them: the
   * process enters this profile with the package already loaded (NAME, changed into from
   * NAME-boot), and its first exec reads the interception's bundles in this profile.
   */
  readonly inheritedPackageDirs?: readonly string[]
  /** What the included abstractions already grant (records they cover are not repeated). */
  readonly covered: PolicyRules | null
  /** Children confined at exec time. */
  readonly children: readonly ChildSpec[]
  /** Profiles this one must be able to change into whatever the records say (NAME-boot → NAME). */
  readonly changeProfileTo?: readonly string[]
}

export type GroupId = 'app' | 'deps' | 'package' | 'data' | 'writes' | 'proc' | 'system' | 'network' | 'ipc' | 'capability' | 'exec' | 'change_profile' | 'unhandled'

export const GROUP_TITLES: Record<GroupId, string> = {
  app: "the application's own files (read-only; m where a native addon was mapped)",
  deps: 'its dependencies (read-only; m for native addons)',
  package: 'apparmor-monkeys itself (read-only, whole: it reads its interception bundles and code caches on first use)',
  data: 'the data directories (--data-dir): read and written below them',
  writes: 'other paths written (named one by one)',
  proc: "the process's own procfs entries",
  system: 'other system files read',
  network: 'network families and socket types used',
  ipc: 'signals and ptrace',
  capability: 'capabilities used',
  exec: 'programs executed',
  change_profile: 'profile changes',
  unhandled: 'records of kinds this generator does not turn into rules (left as comments)',
}

export const GROUP_ORDER: readonly GroupId[] = ['app', 'deps', 'package', 'data', 'writes', 'proc', 'system', 'network', 'ipc', 'capability', 'exec', 'change_profile', 'unhandled']

export interface RuleGroup {
  readonly id: GroupId
  /** Rule lines without indentation; lines starting with `#` are comments. */
  readonly rules: string[]
}

export interface LearnedProfile {
  readonly name: string
  readonly groups: RuleGroup[]
  /** Records of this profile that were read. */
  readonly records: number
  /** Records the included abstractions already cover. */
  readonly covered: number
  /** Records skipped: not a path (pipes, sockets, anonymous inodes), or a null-profile's. */
  readonly skipped: number
  /** Programs executed that were NOT granted (no --child names them). */
  readonly ungrantedExecs: string[]
  /** The package directories granted whole (`DIR/** r`). */
  readonly packageDirs: string[]
}

/** Kernel file-mask letters → rule letters (create, delete, setattr… are `w`). */
export function ruleLetters(mask: string | undefined): string {
  if (!mask) return ''
  const out = new Set<string>()
  for (const c of mask) {
    if ('r'.includes(c)) out.add('r')
    else if ('wcdtN'.includes(c)) out.add('w')
    else if (c === 'a') out.add('a')
    else if (c === 'm') out.add('m')
    else if (c === 'k') out.add('k')
    else if (c === 'l') out.add('l')
    else if (c === 'x') out.add('x')
  }
  if (out.has('w')) out.delete('a')
  return sortPerms([...out].join(''))
}

const PERM_ORDER = 'rwamlkx'
function sortPerms(perms: string): string {
  return [...new Set(perms)].sort((a, b) => PERM_ORDER.indexOf(a) - PERM_ORDER.indexOf(b)).join('')
}

/** `/proc/123/task/456/x` → `@{PROC}/@{pid}/task/@{tid}/x` (and the process's own entries only). */
export function generaliseProc(p: string): string | null {
  const m = /^\/proc\/(\d+)(\/task\/(\d+))?(\/.*)?$/.exec(p)
  if (!m) return p.startsWith('/proc/') ? `@{PROC}/${p.slice('/proc/'.length)}` : null
  return `@{PROC}/@{pid}${m[2] ? '/task/@{tid}' : ''}${m[4] ?? (p.endsWith('/') ? '/' : '')}`
}

/** A versioned package directory under node_modules/.pnpm (`fastify@5.1.0`) → `fastify@` and a star. */
export function generaliseVersions(p: string): string {
  return p.replace(/(\/node_modules\/\.pnpm\/)((?:@[^/@]+\+)?[^/@]+)@[^/]+(?=\/|$)/g, '$1$2@*')
}

/** Escapes AppArmor glob characters in a literal piece of path. */
function literal(p: string): string {
  return p.replace(/[*?[\]{}\\"]/g, (m) => `\\${m}`)
}

function isUnder(p: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir.slice(0, -1) : dir
  return p === d || p === `${d}/` || p.startsWith(`${d}/`)
}

/** A path or glob as a rule writes it: in quotes when it holds whitespace. */
function quoted(glob: string): string {
  return /\s/.test(glob) ? `"${glob}"` : glob
}

/** The path with a defined variable substituted for its value (the longest matching value). */
function withVariables(p: string, ctx: RuleContext): { glob: string; variable: string | null } {
  let best: { name: string; value: string } | null = null
  for (const v of ctx.variables) {
    if (isUnder(p, v.value) && (best === null || v.value.length > best.value.length)) best = v
  }
  const glob = generaliseVersions(literal(p))
  if (best === null) return { glob, variable: null }
  const prefix = literal(best.value.replace(/\/$/, ''))
  return { glob: `@{${best.name}}${glob.slice(prefix.length)}`, variable: best.name }
}

const NETWORK_OPS = new Set([
  'create',
  'bind',
  'connect',
  'listen',
  'accept',
  'sendmsg',
  'recvmsg',
  'getsockname',
  'getpeername',
  'getsockopt',
  'setsockopt',
  'shutdown',
  'sock_shutdown',
])

const FILE_OPS = new Set([
  'open',
  'file_mmap',
  'file_mprotect',
  'file_perm',
  'file_receive',
  'file_inherit',
  'file_lock',
  'mknod',
  'mkdir',
  'rmdir',
  'unlink',
  'rename_src',
  'rename_dest',
  'link',
  'symlink',
  'truncate',
  'chmod',
  'chown',
  'setattr',
  'getattr',
  'exec',
])

function childFor(binary: string, target: string | undefined, children: readonly ChildSpec[]): ChildSpec | undefined {
  return children.find(
    (c) => c.name === target || (c.match.includes('/') ? c.match === binary : c.match === binary.slice(binary.lastIndexOf('/') + 1)),
  )
}

/** Turns one profile's records into sorted rule groups. */
export function buildRules(name: string, records: readonly AuditRecord[], ctx: RuleContext): LearnedProfile {
  const files = new Map<string, { group: GroupId; perms: string; owned: boolean }>()
  const groups = new Map<GroupId, Set<string>>()
  const add = (g: GroupId, rule: string) => {
    let s = groups.get(g)
    if (!s) groups.set(g, (s = new Set()))
    s.add(rule)
  }
  const ungranted = new Set<string>()
  let covered = 0
  let skipped = 0
  let mine = 0
  for (const r of records) {
    if (r.profile !== name) {
      if (r.profile.startsWith(`${name}//`)) skipped++
      continue
    }
    mine++
    const op = r.operation
    if (op === 'exec' && r.info === 'change_profile onexec' && r.target) {
      // exec-time confinement: the kernel checked the change (onexec), not an exec permission
      add('change_profile', `change_profile -> ${r.target},`)
      continue
    }
    if (op === 'exec') {
      const binary = r.name ?? ''
      const child = childFor(binary, r.target, ctx.children)
      if (child) add('exec', `${literal(binary)} Px -> ${child.name},`)
      else if (binary) {
        ungranted.add(binary)
        add('exec', `# NOT granted: ${binary} was executed (as ${r.target ?? '?'}); name it with --child NAME=${binary.slice(binary.lastIndexOf('/') + 1)} or add "${literal(binary)} ix," by hand`)
      }
      continue
    }
    if (op === 'change_profile' || op === 'change_onexec') {
      const to = r.target ?? r.name
      if (to) add('change_profile', `change_profile -> ${to},`)
      continue
    }
    if (op === 'capable') {
      const cap = r.capname
      // an optional probe (Node 26: ipc_lock): refused, the kernel logs nothing and the caller carries on
      if (!cap || r.info?.includes('optional')) {
        skipped++
        continue
      }
      if (ctx.covered?.capabilities.has(cap)) covered++
      else add('capability', `capability ${cap},`)
      continue
    }
    if (op === 'signal') {
      const mask = (r.requested ?? '').split(/\s+/).filter(Boolean).sort().join(' ')
      add('ipc', `signal (${mask}) set=(${r.signal ?? ''}) peer=${r.peer ?? 'unconfined'},`)
      continue
    }
    if (op === 'ptrace') {
      const mask = (r.requested ?? '').split(/\s+/).filter(Boolean).sort().join(' ')
      add('ipc', `ptrace (${mask}) peer=${r.peer ?? 'unconfined'},`)
      continue
    }
    if (r.family !== undefined && (NETWORK_OPS.has(op) || r.sockType !== undefined)) {
      const family = r.family
      const type = r.sockType
      if (ctx.covered?.network.some((n) => (n.family === '*' || n.family === family) && (n.type === '*' || n.type === type))) covered++
      else add('network', type ? `network ${family} ${type},` : `network ${family},`)
      continue
    }
    if (FILE_OPS.has(op) || (r.name !== undefined && r.requested !== undefined && r.name.startsWith('/'))) {
      const p = r.name
      if (p === undefined || !p.startsWith('/') || r.info?.includes('disconnected')) {
        skipped++
        continue
      }
      const perms = ruleLetters(r.requested ?? r.denied)
      if (!perms) {
        skipped++
        continue
      }
      const owned = r.fsuid !== undefined && r.fsuid === r.ouid
      if (ctx.covered && fileCovered(ctx.covered, p, perms, owned)) {
        covered++
        continue
      }
      const key = p
      const prev = files.get(key)
      files.set(key, { group: 'system', perms: sortPerms((prev?.perms ?? '') + perms), owned: (prev?.owned ?? true) && owned })
      continue
    }
    add('unhandled', `# ${r.verdict} ${op}${r.name ? ` ${r.name}` : ''}${r.requested ? ` (${r.requested})` : ''}${r.info ? ` info="${r.info}"` : ''}`)
  }

  // Files: classify, generalise, merge.
  const fileRules = new Map<string, { group: GroupId; perms: string; owned: boolean }>()
  const dataPerms = new Map<string, string>()
  // A package directory that holds the app or a data directory is not granted whole: that
  // would grant the app's boot-only files too (an app developed inside the package's checkout).
  const granted = (ctx.packageDirs ?? []).filter((d) => !ctx.variables.some((v) => v.name === 'APP_DIR' && isUnder(v.value, d)) && !ctx.dataDirs.some((x) => isUnder(x, d)))
  const packages = new Set<string>((ctx.inheritedPackageDirs ?? []).filter((d) => granted.includes(d)))
  for (const [p, f] of files) {
    const pkg = f.perms === 'r' ? granted.find((d) => isUnder(p, d)) : undefined
    if (pkg !== undefined) {
      packages.add(pkg)
      continue
    }
    const data = ctx.dataDirs.find((d) => isUnder(p, d))
    if (data !== undefined) {
      const extra = f.perms.replace(/[rwa]/g, '')
      dataPerms.set(data, sortPerms((dataPerms.get(data) ?? 'rw') + extra))
      continue
    }
    let glob: string
    let group: GroupId
    const proc = generaliseProc(p)
    if (proc !== null) {
      glob = proc.startsWith('@{PROC}/@{pid}') ? proc : `@{PROC}/${literal(p.slice('/proc/'.length))}`
      group = 'proc'
    } else {
      const v = withVariables(p, ctx)
      glob = v.glob
      group = v.variable === 'APP_DIR' ? 'app' : v.variable === 'APP_DEPS' ? 'deps' : 'system'
    }
    if (/[wakl]/.test(f.perms)) group = 'writes'
    const prev = fileRules.get(glob)
    fileRules.set(glob, {
      group: prev && prev.group === 'writes' ? 'writes' : group,
      perms: sortPerms((prev?.perms ?? '') + f.perms),
      owned: (prev?.owned ?? true) && f.owned,
    })
  }
  for (const [glob, f] of fileRules) {
    const owner = f.group === 'proc' && f.owned ? 'owner ' : ''
    add(f.group, `${owner}${quoted(glob)} ${f.perms},`)
  }
  for (const dir of packages) add('package', `${quoted(`${withVariables(dir.replace(/\/$/, ''), ctx).glob}/**`)} r,`)
  for (const [dir, perms] of dataPerms) {
    const v = withVariables(dir.replace(/\/$/, ''), ctx).glob
    add('data', `${quoted(`${v}/`)} r,`)
    add('data', `${quoted(`${v}/**`)} ${perms},`)
  }
  for (const to of ctx.changeProfileTo ?? []) add('change_profile', `change_profile -> ${to},`)
  if (groups.get('change_profile')?.has(`change_profile -> ${name},`)) {
    add(
      'change_profile',
      `# change_profile -> ${name} (itself) puts the spawning thread's onexec back after a child was started confined; ` +
        'the kernel then lets that thread exec any program into this profile without an x rule (docs/profile.md)',
    )
  }

  const out: RuleGroup[] = []
  for (const id of GROUP_ORDER) {
    const s = groups.get(id)
    if (!s || s.size === 0) continue
    out.push({ id, rules: [...s].sort(compareRules) })
  }
  return { name, groups: out, records: mine, covered, skipped, ungrantedExecs: [...ungranted].sort(), packageDirs: [...packages].sort() }
}

/** Rules sorted by their path (the `owner ` prefix ignored), comments last. */
function compareRules(a: string, b: string): number {
  const key = (s: string) => (s.startsWith('#') ? `\uffff${s}` : s.replace(/^owner /, ''))
  const ka = key(a)
  const kb = key(b)
  return ka < kb ? -1 : ka > kb ? 1 : 0
}
