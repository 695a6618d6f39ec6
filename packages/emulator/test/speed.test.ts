import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'

/**
 * Per-call cost of the emulation path against a real spawn, measured in a child process on
 * the built code (the test runner's instrumentation would distort it). The emulated path
 * re-checks the filesystem on every call (the shell binary, each PATH entry before the hit,
 * the hit itself): its floor is those stat calls, which the real exec makes as well.
 */

const fixture = path.join(__dirname, 'fixtures/speed.cjs')

t.test('emulated getconf against a real spawn', (t) => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' }
  const r = spawnSync(process.execPath, [fixture], { env, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  const m = JSON.parse(r.stdout) as {
    answered: boolean; realUs: number; execUs: number; shellUs: number; builtinsUs: number; statFloorUs: number
  }
  if (!m.answered) {
    t.skip('getconf GNU_LIBC_VERSION is not answered on this machine')
    t.end()
    return
  }
  t.comment(`real execSync ${m.realUs.toFixed(0)} µs; emulated exec ${m.execUs.toFixed(2)} µs ` +
    `(${(m.realUs / m.execUs).toFixed(0)}x), shell line ${m.shellUs.toFixed(2)} µs ` +
    `(${(m.realUs / m.shellUs).toFixed(0)}x); builtin-only line ${m.builtinsUs.toFixed(2)} µs; ` +
    `the 5 stats alone ${m.statFloorUs.toFixed(2)} µs`)
  // Reported, not asserted: speed bars are rows of `pnpm run bench` (bench/cold.mjs), measured
  // side by side with the real command; a timed assertion fails on a loaded machine.
  t.ok([m.realUs, m.execUs, m.shellUs, m.builtinsUs, m.statFloorUs].every(Number.isFinite), 'every path was measured')
  t.end()
})
