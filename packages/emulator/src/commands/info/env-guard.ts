/**
 * Environment variables through which a child's output could differ from what the files say:
 * the dynamic loader's knobs (preloads, other libraries, debug output), glibc's tunables and
 * gconv modules, and the shells' startup hooks. A child carrying any of them is not answered
 * in process.
 */
import { perRequest } from '../../request'
import type { ChildContext } from '../../types'
import type { SystemView } from './view'

type Env = ChildContext['env']

/**
 * The variables glibc's dynamic loader reads (2.36–2.41 rtld.c process_envvars), its
 * tunables and gconv modules. Looked up one by one: scanning a large environment (or a lazy
 * one) costs more than the whole answer.
 */
const LOADER_VARS = [
  'LD_AUDIT',
  'LD_BIND_NOT',
  'LD_BIND_NOW',
  'LD_DEBUG',
  'LD_DEBUG_OUTPUT',
  'LD_DYNAMIC_WEAK',
  'LD_HWCAP_MASK',
  'LD_LIBRARY_PATH',
  'LD_ORIGIN_PATH',
  'LD_PRELOAD',
  'LD_PROFILE',
  'LD_PROFILE_OUTPUT',
  'LD_SHOW_AUXV',
  'LD_TRACE_LOADED_OBJECTS',
  'LD_VERBOSE',
  'LD_WARN',
  'GCONV_PATH',
  'GLIBC_TUNABLES',
]

/** The loader's system-wide preload list (every dynamically linked child loads it). */
export const PRELOAD_FILE = '/etc/ld.so.preload'

/**
 * True when one of the loader's or glibc's variables is set in `env` (looked at once per
 * request and environment object: a lookup on process.env costs ~0.4 µs, and the dispatcher,
 * the program table and the programs all ask).
 */
export function loaderVarsSet(env: Env): boolean {
  return perRequest('loader variables', env, () => {
    for (let i = 0; i < LOADER_VARS.length; i++) if (env[LOADER_VARS[i]!] !== undefined) return true
    return false
  })
}

/** True when the system-wide preload list exists (looked at once per request). */
export function preloadListed(view: SystemView): boolean {
  return perRequest('preload list', view, () => view.lstat(PRELOAD_FILE) !== undefined)
}

/**
 * True when the dynamic loader or glibc could run or print something else for this child:
 * one of their variables is set, or /etc/ld.so.preload exists.
 */
export function loaderTampered(view: SystemView, env: Env): boolean {
  return loaderVarsSet(env) || preloadListed(view)
}

const BASH_VARS = ['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'BASH_XTRACEFD', 'POSIXLY_CORRECT', 'BASH_COMPAT']

/** True when a non-interactive bash script could behave differently (startup files, options, exported functions). */
export function bashTampered(view: SystemView, env: Env): boolean {
  if (loaderTampered(view, env)) return true
  for (const key in env) {
    if (env[key] === undefined) continue
    if (BASH_VARS.includes(key) || key.startsWith('BASH_FUNC_')) return true
  }
  return false
}

/** True when a dash script could behave differently (Debian's `which` switches on KSH_VERSION). */
export function dashTampered(view: SystemView, env: Env): boolean {
  if (loaderTampered(view, env)) return true
  const ksh = env['KSH_VERSION']
  return ksh !== undefined && ksh !== ''
}
