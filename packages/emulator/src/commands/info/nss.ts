/**
 * User and group lookups as glibc's NSS would answer them, decided only where the files say
 * it all: /etc/nsswitch.conf must put `files` first (a hit in /etc/passwd is then final) or
 * list nothing but `files` (then a miss and an enumeration are final too), nscd must not be
 * there to answer from its cache, and /etc/passwd and /etc/group must be in canonical form
 * (no comments, blank lines, `+`/`-` compat entries or odd numbers), so printing an entry
 * gives back its line.
 */
import type { SystemView } from './view'

export interface PasswdEntry {
  readonly name: string
  readonly passwd: string
  readonly uid: number
  readonly gid: number
  readonly gecos: string
  readonly dir: string
  readonly shell: string
  /** The line as getent prints it (without the newline). */
  readonly line: string
}

export interface GroupEntry {
  readonly name: string
  readonly passwd: string
  readonly gid: number
  readonly members: readonly string[]
  readonly line: string
}

/** A lookup that missed: the program sees NULL (errno untouched by `files`). */
export const NOT_FOUND = 'not found' as const
/** The answer of a lookup; `undefined` when it cannot be decided from the files. */
export type Lookup<T> = T | typeof NOT_FOUND | undefined

type Database = 'passwd' | 'group' | 'initgroups'

/** The service list of each database line, as written (actions in brackets kept as tokens). */
export type NssConfig = ReadonlyMap<string, readonly string[] | null>

export function parseNsswitch(text: string): NssConfig {
  const out = new Map<string, readonly string[] | null>()
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim()
    if (line === '') continue
    const m = /^([A-Za-z0-9_]+)[ \t]*:[ \t]*(.*)$/.exec(line)
    if (m === null) continue
    const db = m[1]!
    const services = m[2]!.split(/[ \t]+/).filter((s) => s !== '')
    // A database listed twice is not decided here.
    out.set(db, out.has(db) ? null : services)
  }
  return out
}

const NSSWITCH = '/etc/nsswitch.conf'
/** glibc's _PATH_NSCDSOCKET; lstat follows /var/run when it links to /run. */
const NSCD_SOCKET = '/var/run/nscd/socket'

/** Where nss-systemd finds userdb services (varlink sockets) and drop-in user/group records. */
const SYSTEMD_USERDB_DIRS = ['/run/systemd/userdb', '/etc/userdb', '/run/userdb', '/run/host/userdb', '/usr/local/lib/userdb', '/usr/lib/userdb']
/** The records nss-systemd synthesizes. */
const SYSTEMD_NAMES = new Set(['root', 'nobody', 'nogroup'])
const SYSTEMD_IDS = new Set([0, 65534])

const PASSWD_LINE = /^([^:\n+\-#\s][^:\n]*):([^:\n]*):(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9}):([^:\n]*):([^:\n]*):([^:\n]*)$/
const GROUP_LINE = /^([^:\n+\-#\s][^:\n]*):([^:\n]*):(0|[1-9][0-9]{0,9}):((?:[^:,\s]+)(?:,[^:,\s]+)*)?$/
const UINT32_MAX = 0xffffffff

function fileLines(data: Buffer): string[] | undefined {
  const text = data.toString('latin1')
  if (text === '') return []
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

export function parsePasswd(data: Buffer): PasswdEntry[] | undefined {
  const lines = fileLines(data)
  if (lines === undefined) return undefined
  const out: PasswdEntry[] = []
  for (const line of lines) {
    const m = PASSWD_LINE.exec(line)
    if (m === null) return undefined
    const uid = Number(m[3])
    const gid = Number(m[4])
    if (uid > UINT32_MAX || gid > UINT32_MAX) return undefined
    out.push({ name: m[1]!, passwd: m[2]!, uid, gid, gecos: m[5]!, dir: m[6]!, shell: m[7]!, line })
  }
  return out
}

export function parseGroup(data: Buffer): GroupEntry[] | undefined {
  const lines = fileLines(data)
  if (lines === undefined) return undefined
  const out: GroupEntry[] = []
  for (const line of lines) {
    const m = GROUP_LINE.exec(line)
    if (m === null) return undefined
    const gid = Number(m[3])
    if (gid > UINT32_MAX) return undefined
    out.push({ name: m[1]!, passwd: m[2]!, gid, members: m[4] === undefined ? [] : m[4].split(','), line })
  }
  return out
}

/** How far the `files` answers of one database go. */
interface Reach {
  /** A hit in the file is what the program gets. */
  readonly hits: boolean
  /** A miss in the file (and an enumeration of it) is what the program gets. */
  readonly misses: boolean
}

const NOWHERE: Reach = { hits: false, misses: false }

/**
 * The user/group databases as a child would query them. Make one per run: the files are
 * checked for changes once, when first needed, and reused for every lookup of that run.
 */
export class NssView {
  private configMemo: NssConfig | undefined | null = null
  private nscdMemo: boolean | null = null
  private passwdMemo: PasswdEntry[] | undefined | null = null
  private groupMemo: GroupEntry[] | undefined | null = null

  private systemdMemo: boolean | null = null

  /**
   * `env`: the child's environment; given, a `files systemd` configuration is answered where
   * nss-systemd provably has nothing to add (see systemdEmpty()).
   */
  constructor(
    private readonly view: SystemView,
    private readonly env?: Readonly<Record<string, string | undefined>>,
  ) {}

  /**
   * True when nss-systemd (systemd 252) can answer nothing beyond its synthesized records
   * (root and nobody/nogroup, ids 0 and 65534): no userdb service sockets under
   * /run/systemd/userdb (PID 1's dynamic users among them), no drop-in record directories,
   * and none of its environment switches set.
   */
  private systemdEmpty(): boolean {
    if (this.systemdMemo === null) {
      const env = this.env
      this.systemdMemo =
        env !== undefined &&
        !Object.keys(env).some((k) => k.startsWith('SYSTEMD_') && env[k] !== undefined) &&
        SYSTEMD_USERDB_DIRS.every((d) => this.view.lstat(d) === undefined)
    }
    return this.systemdMemo
  }

  private config(): NssConfig | undefined {
    if (this.configMemo === null) {
      this.configMemo = this.view.parsed('nsswitch', NSSWITCH, (data) => parseNsswitch(data.toString('latin1')))
    }
    return this.configMemo
  }

  private nscdPresent(): boolean {
    if (this.nscdMemo === null) this.nscdMemo = this.view.lstat(NSCD_SOCKET) !== undefined
    return this.nscdMemo
  }

  private reach(db: Database): Reach {
    const config = this.config()
    if (config === undefined || this.nscdPresent()) return NOWHERE
    const services = config.get(db)
    if (services === undefined || services === null) return NOWHERE
    const onlyFiles = services.length === 1 && services[0] === 'files'
    const filesFirst = services[0] === 'files' && !(services[1] ?? '').startsWith('[')
    // Debian's default `files systemd`: a miss in the files is final when nss-systemd has
    // nothing (find() still refuses the records it synthesizes).
    const filesThenEmptySystemd = services.length === 2 && services[0] === 'files' && services[1] === 'systemd' && this.systemdEmpty()
    return { hits: filesFirst, misses: onlyFiles || filesThenEmptySystemd }
  }

  /** Enumeration (getent passwd) is answered only when `files` is the one service. */
  private onlyFiles(db: Database): boolean {
    const config = this.config()
    if (config === undefined || this.nscdPresent()) return false
    const services = config.get(db)
    return services !== undefined && services !== null && services.length === 1 && services[0] === 'files'
  }

  /** The service list glibc's getgrouplist walks (initgroups, else group), if only `files`. */
  private groupListFromFilesOnly(): boolean {
    const config = this.config()
    if (config === undefined || this.nscdPresent()) return false
    const initgroups = config.get('initgroups')
    const services = initgroups !== undefined ? initgroups : config.get('group')
    return services !== undefined && services !== null && services.length === 1 && services[0] === 'files'
  }

  private passwd(): PasswdEntry[] | undefined {
    if (this.passwdMemo === null) this.passwdMemo = this.view.parsed('passwd', '/etc/passwd', parsePasswd)
    return this.passwdMemo
  }

  private group(): GroupEntry[] | undefined {
    if (this.groupMemo === null) this.groupMemo = this.view.parsed('group', '/etc/group', parseGroup)
    return this.groupMemo
  }

  /** `synthesized`: nss-systemd would make this record up itself (a miss in the files is then no answer). */
  private find<T>(db: 'passwd' | 'group', entries: T[] | undefined, match: (e: T) => boolean, synthesized: boolean): Lookup<T> {
    const reach = this.reach(db)
    if (!reach.hits || entries === undefined) return undefined
    const hit = entries.find(match)
    if (hit !== undefined) return hit
    if (synthesized && this.config()?.get(db)?.includes('systemd')) return undefined
    return reach.misses ? NOT_FOUND : undefined
  }

  getpwnam(name: string): Lookup<PasswdEntry> {
    return this.find('passwd', this.passwd(), (e) => e.name === name, SYSTEMD_NAMES.has(name))
  }

  getpwuid(uid: number): Lookup<PasswdEntry> {
    return this.find('passwd', this.passwd(), (e) => e.uid === uid, SYSTEMD_IDS.has(uid))
  }

  getgrnam(name: string): Lookup<GroupEntry> {
    return this.find('group', this.group(), (e) => e.name === name, SYSTEMD_NAMES.has(name))
  }

  getgrgid(gid: number): Lookup<GroupEntry> {
    return this.find('group', this.group(), (e) => e.gid === gid, SYSTEMD_IDS.has(gid))
  }

  /** Every passwd entry in file order (getent passwd), when `files` is the only source. */
  allPasswd(): readonly PasswdEntry[] | undefined {
    return this.onlyFiles('passwd') ? this.passwd() : undefined
  }


  allGroups(): readonly GroupEntry[] | undefined {
    return this.onlyFiles('group') ? this.group() : undefined
  }

  /**
   * getgrouplist(user, group): `group` first, then every other group listing `user` as a
   * member, in file order (glibc's files module; duplicates across lines are kept).
   */
  getgrouplist(user: string, group: number): number[] | undefined {
    if (!this.groupListFromFilesOnly()) return undefined
    const groups = this.group()
    if (groups === undefined) return undefined
    const out = [group]
    for (const g of groups) if (g.gid !== group && g.members.includes(user)) out.push(g.gid)
    return out
  }
}
