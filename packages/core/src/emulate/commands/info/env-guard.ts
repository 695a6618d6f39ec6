/**
 * Environment variables through which a child's output could differ from what the files say:
 * the dynamic loader's knobs (preloads, other libraries, debug output), glibc's tunables and
 * gconv modules, and the shells' startup hooks. A child carrying any of them is not answered
 * in process.
 */
import type { ChildContext } from '../../types'

type Env = ChildContext['env']

const LIBC_VARS = ['GCONV_PATH', 'GLIBC_TUNABLES', 'MALLOC_TRACE']

/** True when the dynamic loader or glibc could run or print something else for this env. */
export function loaderTampered(env: Env): boolean {
  for (const key in env) {
    if (env[key] === undefined) continue
    if (key.startsWith('LD_')) return true
    if (LIBC_VARS.includes(key)) return true
  }
  return false
}

const BASH_VARS = ['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'BASH_XTRACEFD', 'POSIXLY_CORRECT', 'BASH_COMPAT']

/** True when a non-interactive bash script could behave differently (startup files, options, exported functions). */
export function bashTampered(env: Env): boolean {
  if (loaderTampered(env)) return true
  for (const key in env) {
    if (env[key] === undefined) continue
    if (BASH_VARS.includes(key) || key.startsWith('BASH_FUNC_')) return true
  }
  return false
}

/** True when a dash script could behave differently (Debian's `which` switches on KSH_VERSION). */
export function dashTampered(env: Env): boolean {
  if (loaderTampered(env)) return true
  const ksh = env['KSH_VERSION']
  return ksh !== undefined && ksh !== ''
}
