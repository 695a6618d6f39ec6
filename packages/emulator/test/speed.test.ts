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
  // The design bar is 500x a ~8 ms spawn, i.e. under ~15 µs on a quiet machine. The stats
  // dominate and scale with the machine's load, so the budget is held relative to them (a
  // regression that multiplies the in-process work still fails).
  t.ok(m.execUs < 3 * m.statFloorUs + 10, `exec path ${m.execUs.toFixed(2)} µs`)
  t.ok(m.shellUs < 3 * m.statFloorUs + 15, `shell path ${m.shellUs.toFixed(2)} µs`)
  t.ok(m.builtinsUs < m.statFloorUs + 15, `builtin-only line ${m.builtinsUs.toFixed(2)} µs`)
  t.end()
})
