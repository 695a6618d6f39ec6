/**
 * The interpreter: evaluates a parsed script the way dash would, with every external command
 * answered by an emulated program. Output goes to sinks (byte strings); pipeline stages run
 * one after the other, and anything whose visible result could depend on the real processes'
 * timing (two concurrent writers to one stream, a writer that a consumer might cut off with
 * SIGPIPE, two readers of one pipe, a read of the caller's own stdin) raises `Unsupported`.
 */
import * as fs from 'node:fs'
import type { ChildContext, CommandIO, EmulatedCommand, EmulationResult } from '../types'
import { sameCredentials } from '../creds'
import { DASH_DEFAULT_PATH, isSystemBinary, lookupCommand } from '../resolve'
import { walkPath } from '../path'
import { type CommandRegistry, dispatch } from '../commands'
import type { AndOr, Command, List, Pipeline, Redir, SimpleCommand } from './ast'
import { ExitUnwind, Unsupported, bail } from './bail'
import { DASH_BUILTINS, DASH_KEYWORDS, DASH_SPECIAL_BUILTINS } from './builtins'
import { withinExecLimits } from '../exec-limits'
import { bytesToUtf8, toFsPath, utf8ToBytes } from '../bytes'
import { expandToString, expandWord } from './expand'
import type { ExpandHost } from './expand'
import { childEnvironment } from './env'
import type { Env, ShellVar } from './env'
import { echoBuiltin, printfBuiltin } from './printf'

/** Where a file descriptor writes. */
export class Sink {
  private parts: string[] = []
  written = false

  constructor(readonly discard = false) {}

  write(s: string): void {
    if (s === '' || this.discard) return
    this.parts.push(s)
    this.written = true
  }

  text(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')]
    return this.parts[0] ?? ''
  }
}

/** Where a command's stdin comes from. */
type Input =
  /** The caller's stdin: unknown to us. */
  | { readonly kind: 'outer' }
  /** /dev/null. */
  | { readonly kind: 'null' }
  /** A pipe from an earlier stage, or a regular file (`< file`). */
  | { readonly kind: 'pipe' | 'file'; readonly data: string; taken: boolean; drained: boolean }

interface Fds {
  readonly in: Input
  readonly out: Sink
  readonly err: Sink
}

const NULL_INPUT: Input = { kind: 'null' }
const EMPTY = Buffer.alloc(0)

/** The programs an emulated command line may run, by the name it is found under. */
export type Registry = Pick<CommandRegistry, 'get' | 'has'>

/**
 * Commands that read all of their stdin before exiting (when they read it at all), so a
 * producer feeding them never meets SIGPIPE.
 */
function drainsInput(name: string, args: readonly string[]): boolean {
  switch (name) {
    case 'cat': case 'tail': case 'sort': case 'wc': case 'tr': case 'uniq': case 'cut': case 'sed':
      return true
    case 'grep': case 'egrep':
      for (const a of args) {
        if (a === '--') break
        if (/^-[^-]*[qlLm]/.test(a) || /^--(quiet|silent|max-count|files-with|files-without)/.test(a)) return false
      }
      return true
    default:
      return false
  }
}

/** Shell variables we refuse to read: their dash values are not derivable exactly here. */
const OPAQUE_PARAMS = new Set(['$', '!', '-', 'LINENO', 'PPID', 'PS1', 'PS2', 'PS4', 'OPTIND', 'PWD', 'OLDPWD'])

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** dash sets IFS to its default at startup; it stays exported when it was inherited. */
const DEFAULT_IFS_VAR = { value: ' \t\n', exported: true } as const
const DEFAULT_IFS_LOCAL = { value: ' \t\n', exported: false } as const

type Var = ShellVar

export interface RunOptions {
  /** `$0`: the shell as it was invoked; dash prefixes its messages with it. */
  readonly arg0: string
  readonly ctx: ChildContext
  readonly registry: Registry
  /** Whether the shell's own stdout is a terminal (absent: unknown). */
  readonly stdoutIsTTY?: boolean
}

class Shell implements ExpandHost {
  /** Shell-level changes over the inherited environment (absent = as inherited). */
  private vars: Map<string, Var>
  private status = 0
  private subStatus = -1
  private fds: Fds
  private childEnv: Env | null = null
  readonly cwd: string

  /** The shell's own stdout and stderr. */
  private readonly topOut: Sink
  private readonly topErr: Sink

  constructor(private readonly opts: RunOptions, fds: Fds) {
    this.vars = new Map()
    this.fds = fds
    this.topOut = fds.out
    this.topErr = fds.err
    this.cwd = opts.ctx.cwd
  }

  // ------------------------------------------------------------ variables

  private lookup(name: string): Var | undefined {
    const v = this.vars.get(name)
    if (v !== undefined) return v
    if (name === 'IFS') return this.opts.ctx.env.IFS === undefined ? DEFAULT_IFS_LOCAL : DEFAULT_IFS_VAR
    const e = this.opts.ctx.env[name]
    if (e === undefined) return name === 'PATH' ? { value: DASH_DEFAULT_PATH, exported: false } : undefined
    return { value: utf8ToBytes(e), exported: true }
  }

  param(name: string): string | undefined {
    if (name === '?') return String(this.status)
    if (name === '#') return '0'
    if (name === '0') return utf8ToBytes(this.opts.arg0)
    if (name === '@' || name === '*' || (name.length === 1 && name >= '1' && name <= '9')) return undefined
    if (OPAQUE_PARAMS.has(name)) bail(`parameter ${name}`)
    return this.lookup(name)?.value
  }

  setVar(name: string, value: string): void {
    const old = this.lookup(name)
    this.vars.set(name, { value, exported: old?.exported ?? false })
    this.childEnv = null
  }

  private exportVar(name: string, value: string | undefined): void {
    const v = value ?? this.lookup(name)?.value
    this.vars.set(name, { value: v, exported: true })
    this.childEnv = null
  }

  private unsetVar(name: string): void {
    this.vars.set(name, { value: undefined, exported: false })
    this.childEnv = null
  }

  /** The environment dash would pass to a program (its exported variables, plus PWD). */
  private environment(extra: readonly [string, string][]): Env {
    if (extra.length === 0 && this.childEnv !== null) return this.childEnv
    const env = childEnvironment(this.opts.ctx.env, this.vars, extra, this.cwd, toUtf8)
    if (extra.length === 0) this.childEnv = env
    return env
  }

  // ------------------------------------------------------------ evaluation

  run(list: List): number {
    try {
      this.evalList(list)
    } catch (e) {
      if (e instanceof ExitUnwind) return e.status
      throw e
    }
    return this.status
  }

  private evalList(list: List): void {
    for (const item of list) this.evalAndOr(item)
  }

  private evalAndOr(a: AndOr): void {
    this.evalPipeline(a.head)
    for (const t of a.tail) {
      if ((t.op === '&&') === (this.status === 0)) this.evalPipeline(t.p)
    }
  }

  private evalPipeline(p: Pipeline): void {
    if (p.cmds.length === 1) {
      this.evalCommand(p.cmds[0]!)
    } else {
      this.evalStages(p.cmds)
    }
    if (p.bang) this.status = this.status === 0 ? 1 : 0
  }

  private evalStages(cmds: readonly Command[]): void {
    const outer = this.fds
    const n = cmds.length
    const captures: Map<Sink, Sink>[] = []
    const inputs: Input[] = []
    let input: Input = outer.in
    let status = 0
    for (let i = 0; i < n; i++) {
      const cap = new Map<Sink, Sink>()
      const capture = (s: Sink): Sink => {
        if (s.discard) return s
        let c = cap.get(s)
        if (c === undefined) {
          c = new Sink()
          cap.set(s, c)
        }
        return c
      }
      const pipe = i < n - 1 ? new Sink() : null
      const fds: Fds = { in: input, out: pipe ?? capture(outer.out), err: capture(outer.err) }
      inputs.push(input)
      status = this.subshell(fds, () => this.evalCommand(cmds[i]!))
      captures.push(cap)
      if (pipe !== null) input = { kind: 'pipe', data: pipe.text(), taken: false, drained: false }
    }
    // Every stage ran concurrently in the real shell: at most one may write to each outer
    // stream, and one that does (before the last) must not be cut off by SIGPIPE.
    // (Maps are walked with forEach: the test loader compiles for-of over Map to ES5.)
    const writers = new Map<Sink, Sink>()
    for (let i = 0; i < n; i++) {
      captures[i]!.forEach((c, target) => {
        if (!c.written) return
        if (writers.has(target)) bail('two pipeline stages write to one stream')
        writers.set(target, c)
        for (let j = i + 1; j < n; j++) {
          const inp = inputs[j]!
          if (inp.kind !== 'pipe' || !inp.taken || !inp.drained) bail('a writing stage may meet SIGPIPE')
        }
      })
    }
    writers.forEach((c, target) => target.write(c.text()))
    this.status = status
  }

  /** Runs `body` in a copy of the shell state (a forked subshell). */
  private subshell(fds: Fds, body: () => void): number {
    const savedVars = this.vars
    const savedFds = this.fds
    const savedEnv = this.childEnv
    const savedStatus = this.status
    this.vars = new Map(savedVars)
    this.fds = fds
    try {
      body()
      return this.status
    } catch (e) {
      if (e instanceof ExitUnwind) return e.status
      throw e
    } finally {
      this.vars = savedVars
      this.fds = savedFds
      this.childEnv = savedEnv
      this.status = savedStatus
    }
  }

  private evalCommand(c: Command): void {
    if (c.kind === 'simple') {
      this.evalSimple(c)
      return
    }
    if (c.kind !== 'subshell' && c.kind !== 'group') bail(`${c.kind} (read mode only)`)
    const fds = c.redirs.length > 0 ? this.redirect(c.redirs, this.fds) : this.fds
    if (fds === null) return
    if (c.kind === 'subshell') {
      this.status = this.subshell(fds, () => this.evalList(c.body))
      return
    }
    const saved = this.fds
    this.fds = fds
    try {
      this.evalList(c.body)
    } finally {
      this.fds = saved
    }
  }

  commandSubstitution(body: List): string {
    const out = new Sink()
    const fds: Fds = { in: this.fds.in, out, err: this.fds.err }
    this.subStatus = this.subshell(fds, () => this.evalList(body))
    return out.text()
  }

  /** Applies redirections; null when dash reports an error (it has, and set the status). */
  private redirect(redirs: readonly Redir[], fds: Fds, line = -1): Fds | null {
    let { in: input, out, err } = fds
    for (const r of redirs) {
      if (r.op === 'read') bail('redirection (read mode only)')
      if (r.op === '>&') {
        const src = r.dup === 1 ? out : err
        if (r.fd === 1) out = src
        else err = src
        continue
      }
      const saved = this.fds
      this.fds = { in: input, out, err }
      const target = expandToString(r.target!, this)
      this.fds = saved
      if (r.op === '<' && target !== '/dev/null') {
        const data = readInputFile(target, this.opts.ctx)
        if (data === null) {
          if (line < 0) bail('redirection error in a compound command')
          err.write(`${utf8ToBytes(this.opts.arg0)}: ${line}: cannot open ${target}: No such file\n`)
          return null
        }
        input = { kind: 'file', data, taken: false, drained: false }
        continue
      }
      if (target !== '/dev/null') bail('redirection to a file')
      if (r.op === '<') input = NULL_INPUT
      else if (r.fd === 1) out = DISCARD
      else err = DISCARD
    }
    return { in: input, out, err }
  }

  private evalSimple(cmd: SimpleCommand): void {
    this.subStatus = -1
    const argv: string[] = []
    for (const w of cmd.words) expandWord(w, this, argv)
    const outerFds = this.fds
    const fds = cmd.redirs.length > 0 ? this.redirect(cmd.redirs, outerFds, cmd.line) : outerFds
    if (fds === null) {
      this.status = 2
      // A special builtin's redirection error ends the (sub)shell; `: <nofile; echo x` prints no x.
      if (argv.length > 0 && DASH_SPECIAL_BUILTINS.has(argv[0]!)) throw new ExitUnwind(2)
      return
    }
    this.fds = fds
    try {
      const assigns: [string, string][] = []
      for (const a of cmd.assigns) assigns.push([a.name, expandToString(a.value, this)])
      if (argv.length === 0) {
        for (const [k, v] of assigns) this.setVar(k, v)
        this.status = this.subStatus >= 0 ? this.subStatus : 0
        return
      }
      const name = argv[0]!
      if (DASH_BUILTINS.has(name)) {
        if (DASH_SPECIAL_BUILTINS.has(name)) for (const [k, v] of assigns) this.setVar(k, v)
        this.status = this.builtin(name, argv, fds, assigns.length > 0)
        return
      }
      this.status = this.external(cmd, argv, assigns, fds)
    } finally {
      this.fds = outerFds
    }
  }

  private builtin(name: string, argv: string[], fds: Fds, hasAssigns: boolean): number {
    const args = argv.slice(1)
    switch (name) {
      case ':':
      case 'true':
        return 0
      case 'false':
        return 1
      case 'echo':
        fds.out.write(echoBuiltin(args))
        return 0
      case 'printf':
        fds.out.write(printfBuiltin(args))
        return 0
      case 'export':
        if (args.length === 0 || args[0]![0] === '-') bail('export listing or options')
        for (const a of args) {
          const eq = a.indexOf('=')
          const n = eq < 0 ? a : a.slice(0, eq)
          if (!NAME.test(n)) bail('export: bad variable name')
          this.exportVar(n, eq < 0 ? undefined : a.slice(eq + 1))
        }
        return 0
      case 'unset':
        for (const a of args) {
          if (!NAME.test(a)) bail('unset: options or bad name')
          this.unsetVar(a)
        }
        return 0
      case 'exit': {
        if (args.length > 1) bail('exit: too many arguments')
        if (args.length === 0) throw new ExitUnwind(this.status)
        if (!/^[0-9]+$/.test(args[0]!) || args[0]!.length > 9) bail('exit: illegal number')
        throw new ExitUnwind(Number(args[0]) & 255)
      }
      case 'command':
        if (hasAssigns || args.length !== 2 || args[0] !== '-v') bail('command form')
        return this.commandV(args[1]!, fds)
      default:
        bail(`builtin ${name}`)
    }
  }

  /** `command -v NAME`: what dash would run, without running it. */
  private commandV(name: string, fds: Fds): number {
    if (DASH_BUILTINS.has(name) || DASH_KEYWORDS.has(name)) {
      fds.out.write(name + '\n')
      return 0
    }
    if (name.includes('/') || name === '') bail('command -v with a path')
    const found = this.find(name, undefined)
    if (found.kind === 'missing') return 127
    if (found.kind !== 'found' || found.file[0] !== '/') bail('command -v: unclear or relative hit')
    fds.out.write(found.file + '\n')
    return 0
  }

  private find(name: string, prefixPath: string | undefined): ReturnType<typeof lookupCommand> {
    const { ctx } = this.opts
    const fsName = toUtf8(name)
    const current = prefixPath ?? this.lookup('PATH')?.value
    if (current === undefined) bail('PATH unset')
    const searchPath = toUtf8(current)
    const r = lookupCommand(fsName, searchPath, this.cwd, ctx)
    if (r.kind === 'unclear') bail('command resolves to something that is not a runnable file')
    return r
  }

  private external(cmd: SimpleCommand, argv: string[], assigns: [string, string][], fds: Fds): number {
    const name = argv[0]!
    let prefixPath: string | undefined
    for (const [k, v] of assigns) if (k === 'PATH') prefixPath = v
    const found = this.find(name, prefixPath)
    if (found.kind === 'missing') {
      fds.err.write(`${utf8ToBytes(this.opts.arg0)}: ${cmd.line}: ${name}: not found\n`)
      return 127
    }
    if (found.kind !== 'found') bail('unclear command')
    const base = name.slice(name.lastIndexOf('/') + 1)
    const program = this.opts.registry.get(base)
    if (program === undefined || !isSystemBinary(found.real, program.name)) bail(`not emulated: ${name}`)
    const env = this.environment(assigns)
    if (!withinExecLimits(argv, env, true)) bail('the arguments and environment may exceed what exec accepts (E2BIG)')
    const args: string[] = []
    for (let i = 1; i < argv.length; i++) args.push(toUtf8(argv[i]!))
    const input = fds.in
    const ctx: ChildContext = { env, cwd: this.opts.ctx.cwd, uid: this.opts.ctx.uid, gid: this.opts.ctx.gid }
    // argv[0] is the word as written; stdout is a terminal only where the shell's own stdout is
    // (a pipe, /dev/null or a command substitution is not; the shell's stderr is unknown).
    const tty = fds.out === this.topOut ? this.opts.stdoutIsTTY : fds.out === this.topErr ? undefined : false
    const io: CommandIO = {
      ctx,
      argv0: toUtf8(name),
      ...(tty === undefined ? {} : { stdoutIsTTY: tty }),
      get stdin(): Buffer {
        return takeInput(input, base, args)
      },
    }
    const result = dispatch(program, args, io)
    if (result === null) bail(`${name} cannot answer this invocation`)
    writeResult(result, fds, name !== program.name)
    return result.status
  }
}

const DISCARD = new Sink(true)

function takeInput(input: Input, name: string, args: readonly string[]): Buffer {
  switch (input.kind) {
    case 'outer':
      return bail('a command reads the caller\'s stdin')
    case 'null':
      return EMPTY
    case 'file':
    case 'pipe':
      // wc's column width depends on stdin being a regular file; the contract hides that.
      if (input.kind === 'file' && name === 'wc') bail('wc over a redirected file')
      if (input.taken) bail('two readers of one pipe')
      input.taken = true
      input.drained = drainsInput(name, args)
      return Buffer.from(input.data, 'latin1')
  }
}

function writeResult(r: EmulationResult, fds: Fds, renamed: boolean): void {
  if (r.stderr.length > 0 && renamed) bail('messages would carry another program name')
  if (r.stdout.length > 0 && r.stderr.length > 0 && fds.out === fds.err && !fds.out.discard) {
    bail('stdout and stderr interleave in one stream')
  }
  if (r.stdout.length > 0) fds.out.write(r.stdout.toString('latin1'))
  if (r.stderr.length > 0) fds.err.write(r.stderr.toString('latin1'))
}

function toUtf8(s: string): string {
  const u = bytesToUtf8(s)
  if (u === null) bail('bytes that are not UTF-8 cannot be passed on')
  return u
}

/**
 * The bytes of `< file`, or null when dash's open fails with ENOENT/ENOTDIR (dash: "cannot
 * open …: No such file"). The name is walked like the kernel walks it; anything else that
 * could make the real open differ (other credentials, not a regular file, a process-relative
 * file) bails.
 */
function readInputFile(name: string, ctx: ChildContext): string | null {
  if (!sameCredentials(ctx)) bail('other credentials')
  const w = walkPath(name, ctx.cwd)
  if (w === null) return bail('input redirection from a process-relative or unmodelled path')
  if (!w.ok) {
    if (w.error === 'ENOENT' || w.error === 'ENOTDIR') return null
    return bail('input redirection error')
  }
  let fd: number
  try {
    fd = fs.openSync(toFsPath(w.path), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY | fs.constants.O_NOFOLLOW)
  } catch {
    return bail('input redirection error')
  }
  try {
    const st = fs.fstatSync(fd)
    if (!st.isFile() || st.dev !== w.st.dev || st.ino !== w.st.ino) bail('input redirection from a non-regular file')
    return fs.readFileSync(fd).toString('latin1')
  } finally {
    fs.closeSync(fd)
  }
}

/** Runs a parsed script. Returns null when it cannot be answered exactly. */
export function runScript(list: List, opts: RunOptions): EmulationResult | Unsupported {
  const out = new Sink()
  const err = new Sink()
  const shell = new Shell(opts, { in: { kind: 'outer' }, out, err })
  try {
    const status = shell.run(list)
    return {
      stdout: Buffer.from(out.text(), 'latin1'),
      stderr: Buffer.from(err.text(), 'latin1'),
      status,
    }
  } catch (e) {
    if (e instanceof Unsupported) return e
    throw e
  }
}
