/**
 * GNU coreutils `id` (9.1 semantics): -u -g -G with -n -r -z, the default format, and users
 * given by name or number. The current process answers from the child's uid/gid and
 * supplementary groups; a named user's groups come from getgrouplist() over /etc/group.
 * -Z, SELinux/SMACK systems and every lookup NSS could answer from elsewhere are left to the
 * real program.
 */
import type { CommandIO, EmulatedCommand, EmulationResult } from '../../types'
import { binaryHas } from './binaries'
import { childGroups, uniformIds } from './creds'
import { loaderTampered } from './env-guard'
import { gnuGetopt, type LongOption } from '../getopt'
import { coreutilsDiagnostics, invocationName, type DiagnosticsLocale } from './messages'
import { NOT_FOUND, NssView, type Lookup, type PasswdEntry } from './nss'
import { result } from '../result'
import type { SystemView } from './view'

const LONG_OPTIONS: readonly LongOption[] = [
  { name: 'context', arg: 'none', key: 'Z' },
  { name: 'group', arg: 'none', key: 'g' },
  { name: 'groups', arg: 'none', key: 'G' },
  { name: 'name', arg: 'none', key: 'n' },
  { name: 'real', arg: 'none', key: 'r' },
  { name: 'user', arg: 'none', key: 'u' },
  { name: 'zero', arg: 'none', key: 'z' },
  { name: 'help', arg: 'none', key: 'help' },
  { name: 'version', arg: 'none', key: 'version' },
]

const MARKERS = ['GNU coreutils\0', '%s: no such user', 'cannot print "only" of more than one choice']
const SECURITY_FS = ['/sys/fs/selinux', '/sys/fs/smackfs']
const MAX_UID = 0xffffffff

/** Thrown inside one run when a step cannot be answered exactly. */
class Undecidable {}
const UNDECIDABLE = new Undecidable()

function need<T>(v: T | undefined): T {
  if (v === undefined) throw UNDECIDABLE
  return v
}

/** gnulib xstrtoul(spec, NULL, 10, …, "") as parse_user_spec uses it for a numeric user. */
function numericUid(spec: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*\+?([0-9]+)$/.exec(spec)
  if (m === null) return undefined
  const n = Number(m[1])
  if (!Number.isSafeInteger(n) || n >= MAX_UID) return undefined
  return n
}

interface Options {
  user: boolean
  group: boolean
  groupList: boolean
  name: boolean
  real: boolean
  zero: boolean
}

class IdRun {
  out = ''
  err = ''
  ok = true
  private diag: DiagnosticsLocale | undefined | null = null

  constructor(
    private readonly view: SystemView,
    private readonly nss: NssView,
    private readonly io: CommandIO,
    private readonly opts: Options,
  ) {}

  /** The untranslated-messages locale, or undecidable. */
  private diagnostics(): DiagnosticsLocale {
    if (this.diag === null) this.diag = coreutilsDiagnostics(this.view, this.io)
    return need(this.diag)
  }

  error(message: string): void {
    this.diagnostics()
    this.err += `${need(invocationName(this.io))}: ${message}\n`
  }

  quote(s: string): string {
    return need(this.diagnostics().quote(s))
  }

  private found<T>(lookup: Lookup<T>): T | undefined {
    return need(lookup) === NOT_FOUND ? undefined : (lookup as T)
  }

  private printUser(uid: number): void {
    if (this.opts.name) {
      const pw = this.found(this.nss.getpwuid(uid))
      if (pw === undefined) {
        this.error(`cannot find name for user ID ${uid}`)
        this.ok = false
        this.out += String(uid)
      } else {
        this.out += pw.name
      }
      return
    }
    this.out += String(uid)
  }

  private printGroup(gid: number, useName: boolean): void {
    if (useName) {
      const gr = this.found(this.nss.getgrgid(gid))
      if (gr === undefined) {
        this.error(`cannot find name for group ID ${gid}`)
        this.ok = false
        this.out += String(gid)
      } else {
        this.out += gr.name
      }
      return
    }
    this.out += String(gid)
  }

  /** coreutils xgetgroups (gnulib mgetgroups). */
  private groups(username: string | undefined, gid: number): readonly number[] {
    if (username !== undefined) return need(this.nss.getgrouplist(username, gid))
    const list = [gid, ...need(childGroups(this.view, this.io.ctx))]
    // mgetgroups drops copies of the first entry and adjacent duplicates.
    const out = [list[0]!]
    for (const g of list.slice(1)) if (g !== out[0] && g !== out[out.length - 1]) out.push(g)
    return out
  }

  private printGroupList(username: string | undefined, ruid: number, rgid: number, egid: number): void {
    const delim = this.opts.zero ? '\0' : ' '
    let pwd: PasswdEntry | undefined
    if (username !== undefined) {
      pwd = this.found(this.nss.getpwuid(ruid))
      if (pwd === undefined) this.ok = false
    }
    this.printGroup(rgid, this.opts.name)
    if (egid !== rgid) {
      this.out += delim
      this.printGroup(egid, this.opts.name)
    }
    for (const g of this.groups(username, pwd !== undefined ? pwd.gid : egid)) {
      if (g !== rgid && g !== egid) {
        this.out += delim
        this.printGroup(g, this.opts.name)
      }
    }
  }

  private withName(id: number, lookup: Lookup<{ name: string }>): string {
    const e = this.found(lookup)
    return e === undefined ? String(id) : `${id}(${e.name})`
  }

  private printFullInfo(username: string | undefined, ruid: number, rgid: number, euid: number, egid: number): void {
    // The labels are translatable: only answered when messages are untranslated.
    this.diagnostics()
    let pwd = this.found(this.nss.getpwuid(ruid))
    this.out += 'uid=' + (pwd === undefined ? String(ruid) : `${ruid}(${pwd.name})`)
    this.out += ' gid=' + this.withName(rgid, this.nss.getgrgid(rgid))
    if (euid !== ruid) {
      pwd = this.found(this.nss.getpwuid(euid))
      this.out += ' euid=' + (pwd === undefined ? String(euid) : `${euid}(${pwd.name})`)
    }
    if (egid !== rgid) this.out += ' egid=' + this.withName(egid, this.nss.getgrgid(egid))
    if (username !== undefined && pwd === undefined) throw UNDECIDABLE
    const primary = username !== undefined ? pwd!.gid : egid
    const groups = this.groups(username, primary)
    if (groups.length > 0) this.out += ' groups='
    this.out += groups.map((g) => this.withName(g, this.nss.getgrgid(g))).join(',')
  }

  /** One record; a child's real and effective ids are the same, so -r changes nothing. */
  printStuff(username: string | undefined, ruid: number, rgid: number, multiple: boolean): void {
    const { user, group, groupList, zero } = this.opts
    if (user) this.printUser(ruid)
    else if (group) this.printGroup(rgid, this.opts.name)
    else if (groupList) this.printGroupList(username, ruid, rgid, rgid)
    else this.printFullInfo(username, ruid, rgid, ruid, rgid)
    if (zero && groupList && multiple) this.out += '\0\0'
    else this.out += zero ? '\0' : '\n'
  }

  /** The user of an operand, as parse_user_spec() and getpwnam()/getpwuid() find it. */
  userOf(spec: string): PasswdEntry | undefined {
    if (spec === '') throw UNDECIDABLE
    if (spec[0] !== '+') {
      const byName = this.found(this.nss.getpwnam(spec))
      if (byName !== undefined) return byName
    }
    const uid = numericUid(spec)
    if (uid === undefined) return undefined
    return this.found(this.nss.getpwuid(uid))
  }
}

/** coreutils id. */
export function createId(view: SystemView): EmulatedCommand {

  function die(run: IdRun, message: string): EmulationResult {
    run.error(message)
    return result('', run.err, 1)
  }

  return {
    name: 'id',
    run(args, io) {
      const env = io.ctx.env
      if (loaderTampered(view, env) || !binaryHas(view, 'id', MARKERS)) return null
      if (!uniformIds(view, io.ctx)) return null
      const parsed = gnuGetopt(args, 'agnruzGZ', LONG_OPTIONS, env)
      if (parsed === undefined) return null
      const opts: Options = { user: false, group: false, groupList: false, name: false, real: false, zero: false }
      for (const { key } of parsed.options) {
        if (key === 'Z' || key === 'help' || key === 'version') return null
        if (key === 'u') opts.user = true
        else if (key === 'g') opts.group = true
        else if (key === 'G') opts.groupList = true
        else if (key === 'n') opts.name = true
        else if (key === 'r') opts.real = true
        else if (key === 'z') opts.zero = true
      }
      const run = new IdRun(view, new NssView(view, env), io, opts)
      try {
        if (Number(opts.user) + Number(opts.group) + Number(opts.groupList) > 1) {
          return die(run, 'cannot print "only" of more than one choice')
        }
        const defaultFormat = !(opts.user || opts.group || opts.groupList)
        if (defaultFormat && (opts.real || opts.name)) return die(run, 'cannot print only names or real IDs in default format')
        if (defaultFormat && opts.zero) return die(run, 'option --zero not permitted in default format')
        const users = parsed.operands
        // On SELinux/SMACK systems the default format of the process ends with its context.
        if (users.length === 0 && defaultFormat && env['POSIXLY_CORRECT'] === undefined && SECURITY_FS.some((p) => view.lstat(p) !== undefined)) {
          return null
        }
        if (users.length === 0) {
          run.printStuff(undefined, io.ctx.uid, io.ctx.gid, false)
        } else {
          for (const spec of users) {
            const pwd = run.userOf(spec)
            if (pwd === undefined) {
              run.error(`${run.quote(spec)}: no such user`)
              run.ok = false
              continue
            }
            run.printStuff(pwd.name, pwd.uid, pwd.gid, users.length > 1)
          }
        }
        return result(run.out, run.err, run.ok ? 0 : 1)
      } catch (e) {
        if (e === UNDECIDABLE) return null
        throw e
      }
    },
  }
}
