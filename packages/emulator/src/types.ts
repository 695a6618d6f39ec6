/**
 * Contracts of the in-process emulator. The interception layer hands a request here; the
 * emulator either answers it byte-exactly (what the real command would print, on this
 * machine, for this child's env/cwd/uid) or returns `null`, and the request goes to the kernel.
 */

/** What the child would have been started with. Everything an answer depends on comes from here. */
export interface ChildContext {
  /** The child's environment (spawn's `env`, else the parent's `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The child's working directory (absolute). */
  readonly cwd: string
  /** The child's real uid and gid (spawn's `uid`/`gid`, else the parent's). */
  readonly uid: number
  readonly gid: number
  /**
   * The child's supplementary groups, when the interception layer knows them (libuv drops
   * them with `setgroups(0)` whenever spawn's `uid` or `gid` option is given). Absent: the
   * parent's groups when uid/gid equal the parent's, none when the parent is root and they
   * differ; commands whose answer depends on groups return `null` when neither applies.
   */
  readonly groups?: readonly number[]
}

/** A finished emulated run: exactly the bytes and status the real command would produce. */
export interface EmulationResult {
  readonly stdout: Buffer
  readonly stderr: Buffer
  /** Exit status (0–255). Emulated commands never end by a signal. */
  readonly status: number
}

/** Input and context of one emulated command inside a pipeline or sequence. */
export interface CommandIO {
  readonly ctx: ChildContext
  /** Bytes on the command's stdin (empty when nothing is piped in). */
  readonly stdin: Buffer
  /**
   * argv[0] exactly as the child would receive it (`id` from a shell line, `/usr/bin/id`
   * from an absolute exec). Error messages start with it; commands return `null` for an
   * answer that needs it when it is absent.
   */
  readonly argv0?: string
  /**
   * Whether the child's stdout would be a terminal (inherited TTY). Some programs change
   * their output on a TTY (`lsb_release` adds a line on stderr); they return `null` when
   * this is absent or true.
   */
  readonly stdoutIsTTY?: boolean
}

/**
 * One emulated program. `run` gets argv without argv[0] and returns the exact result, or
 * `null` when this invocation cannot be answered byte-exactly (an unsupported flag, a file
 * it cannot read the same way, …): then the whole command line is passed to the kernel.
 */
export interface EmulatedCommand {
  /** The program's name as found on PATH, e.g. `getconf`. */
  readonly name: string
  run(args: readonly string[], io: CommandIO): EmulationResult | null
}

/** What the interception layer asks: a shell line (`/bin/sh -c …`) or a direct exec. */
export type EmulationRequest =
  | {
      readonly kind: 'shell'
      readonly shell: string
      readonly script: string
      readonly ctx: ChildContext
      /** Whether the shell's stdout is a terminal (absent: unknown). */
      readonly stdoutIsTTY?: boolean
    }
  | {
      readonly kind: 'exec'
      readonly file: string
      readonly args: readonly string[]
      readonly ctx: ChildContext
      /** argv[0] as the child receives it (absent: unknown; messages that need it are not answered). */
      readonly argv0?: string
      /** Whether the child's stdout is a terminal (absent: unknown). */
      readonly stdoutIsTTY?: boolean
    }
