/**
 * GNU coreutils `whoami`: the name of the child's effective uid from the user database, or
 * coreutils' error when the database has none (decided only when `files` is the whole
 * source, see nss.ts).
 */
import type { EmulatedCommand } from '../../types'
import { binaryHas } from './binaries'
import { uniformIds } from './creds'
import { loaderTampered } from './env-guard'
import { coreutilsDiagnostics, invocationName } from './messages'
import { NOT_FOUND, NssView } from './nss'
import { failure, result } from '../result'
import type { SystemView } from './view'

const MARKERS = ['GNU coreutils\0', 'cannot find name for user ID %lu']

/** coreutils whoami. */
export function createWhoami(view: SystemView): EmulatedCommand {
  return {
    name: 'whoami',
    run(args, io) {
      if (args.length > 1 || (args.length === 1 && args[0] !== '--')) return null
      if (loaderTampered(view, io.ctx.env) || !binaryHas(view, 'whoami', MARKERS)) return null
      if (!uniformIds(view, io.ctx)) return null
      const uid = io.ctx.uid
      const pw = new NssView(view, io.ctx.env).getpwuid(uid)
      if (pw === undefined) return null
      if (pw !== NOT_FOUND) return result(pw.name + '\n')
      const prog = invocationName(io)
      if (prog === undefined || coreutilsDiagnostics(view, io) === undefined) return null
      return failure(`${prog}: cannot find name for user ID ${uid}\n`, 1)
    },
  }
}
