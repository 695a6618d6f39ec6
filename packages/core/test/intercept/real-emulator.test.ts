// The default emulator behind the interception answers real-world lines exactly: the same
// calls, real and intercepted, give the same results, and the known lines were emulated.
import t from 'tap'
import { jsonFixture } from './helpers'

t.test('the default emulator: same results as the real commands, answered in process', async (t) => {
  const dir = t.testdir({})
  const { result: r, run } = jsonFixture<{ real: Record<string, unknown>; intercepted: Record<string, unknown>; decisions: [string, string][] }>(dir, 'real-emulator.cjs')
  t.equal(run.status, 0, run.stderr)
  for (const api of Object.keys(r.real)) t.same(r.intercepted[api], r.real[api], api)
  const decided = Object.fromEntries(r.decisions)
  t.equal(decided['getconf GNU_LIBC_VERSION'], 'emulate')
  t.equal(decided['echo hi | tr a-z A-Z'], 'emulate')
  t.equal(decided['getconf GNU_LIBC_VERSION 2>&1 || true; ldd --version 2>&1 || true'], 'emulate', "detect-libc's line, through exec()")
  t.equal(decided['getconf PAGESIZE'], 'emulate')
  t.equal(decided['echo oops >&2; exit 4'], 'emulate')
  t.equal(decided['cat which.txt'], 'passthrough', 'a cwd with `..` after a symlink reaches the kernel')
  t.match(r.real['dotdotCwd'], { returned: 'physical\n' })
  t.equal(r.decisions.length, 8)
})
