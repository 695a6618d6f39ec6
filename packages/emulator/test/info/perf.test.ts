import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

/**
 * The cost of one emulated answer on the built code, in a child process: the first call
 * (identifying binaries, reading process-invariant facts) and the steady state (best of ten
 * batches, the machine being shared), printed as comments. The test checks that every case
 * runs on the built code and that `getconf GNU_LIBC_VERSION` is answered; speed has no bar
 * here (timed assertions fail on a loaded machine): the per-call bars are rows of
 * `pnpm run bench` (bench/cold.mjs), measured side by side with the real command.
 */
const CASES: readonly (readonly string[])[] = [
  ['getconf', 'GNU_LIBC_VERSION'],
  ['getconf', 'PAGESIZE'],
  ['getconf', '_NPROCESSORS_ONLN'],
  ['ldd', '--version'],
  ['which', 'ls'],
  ['uname', '-a'],
  ['uname', '-m'],
  ['hostname'],
  ['whoami'],
  ['id'],
  ['id', '-u'],
  ['locale'],
  ['getent', 'passwd', 'root'],
  ['lsb_release', '-a'],
  ['lscpu', '-p'],
  ['nproc'],
  ['ldconfig', '-p'],
]

const DIST = path.join(__dirname, '../../dist/commands/info/index.js')

t.test('µs per call (built code)', { skip: !fs.existsSync(DIST) && 'build dist first' }, async (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'bench.js'), JSON.stringify(CASES), '500'], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr.slice(0, 300))
  const results = JSON.parse(r.stdout) as { argv: string[]; answered: boolean; firstUs: number; us: number }[]
  for (const x of results) {
    t.comment(`${x.argv.join(' ').padEnd(28)} ${x.answered ? 'answer' : 'null  '} first ${x.firstUs.toFixed(0).padStart(6)} µs, then ${x.us.toFixed(2)} µs`)
  }
  const getconf = results.find((x) => x.argv.join(' ') === 'getconf GNU_LIBC_VERSION')!
  t.ok(getconf.answered, 'getconf GNU_LIBC_VERSION is answered')
  t.ok(results.every((x) => Number.isFinite(x.us) && Number.isFinite(x.firstUs)), 'every case ran')
})
