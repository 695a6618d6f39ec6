/**
 * dash's builtins and reserved words: one list for the interpreter (which runs some builtins
 * and declines the rest) and for the command-line reader (which does not count builtins as
 * programs to allow). Debian's dash is built without history editing, so `fc` is no builtin,
 * and `source` is bash's: in dash both are looked up on PATH like any program.
 */

/** The builtins of Debian's dash (`dash -c 'type NAME'` says "is a shell builtin" or "special shell builtin"). */
export const DASH_BUILTINS: ReadonlySet<string> = new Set([
  '.', ':', '[', 'alias', 'bg', 'break', 'cd', 'chdir', 'command', 'continue', 'echo', 'eval', 'exec',
  'exit', 'export', 'false', 'fg', 'getopts', 'hash', 'jobs', 'kill', 'local', 'printf', 'pwd', 'read',
  'readonly', 'return', 'set', 'shift', 'test', 'times', 'trap', 'true', 'type', 'ulimit', 'umask',
  'unalias', 'unset', 'wait',
])

/**
 * dash's special builtins (`type NAME` says "special shell builtin"): their prefix assignments
 * stay set, and a redirection error on one ends the shell (status 2), where on any other
 * command it only fails that command.
 */
export const DASH_SPECIAL_BUILTINS: ReadonlySet<string> = new Set([
  '.', ':', 'break', 'continue', 'eval', 'exec', 'exit', 'export', 'local', 'readonly', 'return', 'set', 'shift', 'times',
  'trap', 'unset',
])

/** dash's reserved words. */
export const DASH_KEYWORDS: ReadonlySet<string> = new Set([
  '!', '{', '}', 'case', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'if', 'in', 'then', 'until', 'while',
])
