/** The text tools, as emulated programs. */
import type { EmulatedCommand } from '../../types'
import { cat } from './cat'
import { cut } from './cut'
import { egrep, grep } from './grep'
import { head, tail } from './headtail'
import { sed } from './sed'
import { sort } from './sort'
import { tr } from './tr'
import { falseCommand, trueCommand } from './truefalse'
import { uniq } from './uniq'
import { wc } from './wc'

export const textCommands: readonly EmulatedCommand[] = [
  cat, head, tail, grep, egrep, sort, uniq, wc, cut, tr, sed, trueCommand, falseCommand,
]
