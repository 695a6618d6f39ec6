/** coreutils `true` and `false` run directly (not the dash builtins): they ignore arguments. */
import type { EmulatedCommand } from '../../types'
import { result } from './common'

/** `--help`/`--version` alone print text we do not reproduce. */
function plain(args: readonly string[]): boolean {
  return !(args.length === 1 && (args[0] === '--help' || args[0] === '--version'))
}

export const trueCommand: EmulatedCommand = {
  name: 'true',
  run: (args) => (plain(args) ? result('', '', 0) : null),
}

export const falseCommand: EmulatedCommand = {
  name: 'false',
  run: (args) => (plain(args) ? result('', '', 1) : null),
}
