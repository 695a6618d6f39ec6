/**
 * glibc's `getent passwd|group [KEY…]`: entries as putpwent()/putgrent() print them (the
 * canonical file line), status 2 when a key is not found. Keys that strtoul() reads whole are
 * ids (wrapped to 32 bits as glibc does), others names. Options and other databases are left
 * to the real program; what NSS could answer from elsewhere is decided in nss.ts.
 */
import type { EmulatedCommand } from '../../types'
import { binaryHas } from './binaries'
import { loaderTampered } from './env-guard'
import { NOT_FOUND, NssView, type Lookup } from './nss'
import { result } from '../result'
import type { SystemView } from './view'

const MARKERS = ['Unknown database: %s\n', 'passwd\0', 'group\0']
const ULONG_MAX = (1n << 64n) - 1n

/** getent's test for a numeric key and the id strtoul() gives it, or undefined for a name. */
export function numericKey(key: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(key)
  if (m === null) return undefined
  let v = BigInt(m[2]!)
  if (v > ULONG_MAX) v = ULONG_MAX
  else if (m[1] === '-') v = (ULONG_MAX + 1n - v) & ULONG_MAX
  return Number(v & 0xffffffffn)
}

/** glibc getent, passwd and group databases. */
export function createGetent(view: SystemView): EmulatedCommand {
  return {
    name: 'getent',
    run(args, io) {
      const db = args[0]
      if (db !== 'passwd' && db !== 'group') return null
      const keys = args.slice(1)
      if (keys.some((k) => k.startsWith('-'))) return null
      if (loaderTampered(view, io.ctx.env) || !binaryHas(view, 'getent', MARKERS)) return null
      const nss = new NssView(view)
      if (keys.length === 0) {
        const all = db === 'passwd' ? nss.allPasswd() : nss.allGroups()
        if (all === undefined) return null
        return result(all.map((e) => e.line + '\n').join(''))
      }
      let out = ''
      let status = 0
      for (const key of keys) {
        const id = numericKey(key)
        let entry: Lookup<{ line: string }>
        if (db === 'passwd') entry = id !== undefined ? nss.getpwuid(id) : nss.getpwnam(key)
        else entry = id !== undefined ? nss.getgrgid(id) : nss.getgrnam(key)
        if (entry === undefined) return null
        if (entry === NOT_FOUND) status = 2
        else out += entry.line + '\n'
      }
      return result(out, '', status)
    },
  }
}
