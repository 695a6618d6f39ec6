// The cold path (issue #13): what the register preload costs a process that starts, shells out
// a few times at boot and serves, measured in real fresh processes, side by side.
//
// Every row runs its two sides as fresh processes, alternately (the order swapped every round),
// and reports the median of the per-round ratios:
//   - a boot with detect-libc's line, node-machine-id's pipeline and an async `uname -m`
//     (bench/_cold-boot.js), --require register vs none, wall: the preload must pay for itself;
//   - the first require('child_process') + execSync('getconf GNU_LIBC_VERSION') of a process,
//     timed inside it (bench/_cold-first.js): emulated vs real;
//   - the peak RSS (getrusage maxRSS at the end) the preload adds to that process and to the boot;
//   - `node -e 0` with --require register vs without (with its floor: --require of an empty file,
//     in the same rounds, and the register's part above that floor), and --import register vs an
//     empty --import;
//   - per call, emulated vs real, in a process grown to 2 GiB and to 50 MiB of RSS (bench/_cold-rss.mjs),
//     each with its floor: the stats an exact answer must make at every call, timed alone;
//   - the adapters' load: a cluster worker of the example (it loads @apparmor-monkeys/cluster)
//     vs the same worker without it, fork → listening; a Fastify app with the plugin vs without,
//     process start → listening (bench/_cold-fastify.js).
// The child processes run with a neutral environment (no NODE_OPTIONS, no APPARMOR_MONKEYS_*).
// Rounds: AAM_BENCH_ROUNDS (default 31) for the cold rows. AAM_BENCH_CORE_DIST=<dir> measures
// another build of packages/core/dist (e.g. one made from an older commit, for before/after).
// The adapters' rows have no bar of their own (issue #13 asks for them as rows; DESIGN §6's
// fork bar is measured in the VM by bench/cluster.mjs): they show the ratio and always pass.
import cluster from 'node:cluster'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hrtime } from 'node:process'
import { fileURLToPath } from 'node:url'
import { median } from './_lib.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const dist = process.env.AAM_BENCH_CORE_DIST ? `${process.env.AAM_BENCH_CORE_DIST.replace(/\/$/, '')}/` : fileURLToPath(new URL('../packages/core/dist/', import.meta.url))
const REGISTER = `${dist}register.js`
const REGISTER_ESM = `${dist}register.mjs`
const ROUNDS = Number(process.env.AAM_BENCH_ROUNDS ?? 31)

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('APPARMOR_MONKEYS_') && !k.startsWith('AAM_')))

/** Runs node with `args`; returns { ms: wall, out: parsed JSON line of stdout or null }. */
function node(args, extraEnv = {}) {
  const start = hrtime.bigint()
  const r = spawnSync(process.execPath, args, { env: { ...env, ...extraEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const ms = Number(hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const line = r.stdout.trim().split('\n').pop()
  return { ms, out: line ? JSON.parse(line) : null }
}

/**
 * Interleaved rounds of any number of sides (functions returning samples), the order rotated by
 * one every round (so each side runs in each position equally often); `warmup` rounds first, not
 * kept. Returns one array of samples per side.
 */
async function interleaved(rounds, sides, warmup = 2) {
  const samples = sides.map(() => [])
  for (let r = -warmup; r < rounds; r++) {
    const shift = ((r % sides.length) + sides.length) % sides.length
    const order = sides.map((_, i) => (i + shift) % sides.length)
    const t = []
    for (const i of order) t[i] = await sides[i]()
    if (r >= 0) t.forEach((sample, i) => samples[i].push(sample))
  }
  return samples
}

/** Interleaved rounds of two sides: { as, bs }. */
async function pairs(rounds, a, b, warmup = 2) {
  const [as, bs] = await interleaved(rounds, [a, b], warmup)
  return { as, bs }
}

/** Row from samples: value(sample) in ms, ratio = median of per-round b/a. */
function ratioRow(name, { as, bs }, value, bar, kind = 'atMost') {
  const va = as.map(value)
  const vb = bs.map(value)
  const r = median(vb.map((v, i) => v / va[i]))
  if (kind === 'info') return { name, baseline: median(va), candidate: median(vb), ratio: r, bar: '-', pass: true }
  if (kind === 'atMost') return { name, baseline: median(va), candidate: median(vb), ratio: r, bar: `≤ ${bar}`, pass: r <= bar }
  return { name, baseline: median(va), candidate: median(vb), ratio: 1 / r, bar: `≥ ${bar}`, pass: 1 / r >= bar }
}

/** Row for memory added (MiB, candidate - baseline of the medians of maxRSS). */
function rssRow(name, { as, bs }, maxMiB) {
  const a = median(as.map((s) => s.out.maxRSS)) / 1024
  const b = median(bs.map((s) => s.out.maxRSS)) / 1024
  const added = b - a
  return { name, baseline: a, candidate: b, ratio: added, unit: 'MiB', bar: `≤ ${maxMiB} MiB added`, pass: added <= maxMiB }
}

function forkUntilListening(exec) {
  return new Promise((resolve, reject) => {
    cluster.setupPrimary({ exec, silent: true })
    const start = hrtime.bigint()
    const worker = cluster.fork({ ...env, PORT: '0', HOST: '127.0.0.1' })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`worker ${exec} exited ${code} before listening`)))
    worker.once('listening', () => {
      const ms = Number(hrtime.bigint() - start) / 1e6
      worker.removeAllListeners('exit')
      worker.once('exit', () => resolve({ ms }))
      worker.process.kill('SIGKILL')
    })
  })
}

export async function bench() {
  const rows = []
  const ms = (s) => s.ms
  const req = ['--require', REGISTER]

  const boot = join(here, '_cold-boot.js')
  const bootRuns = await pairs(ROUNDS, () => node([boot]), () => node([...req, boot]))
  rows.push(ratioRow('boot with detect-libc line + node-machine-id + async uname -m: --require register vs none (wall)', bootRuns, ms, 1.0))

  const first = join(here, '_cold-first.js')
  const firstRuns = await pairs(ROUNDS, () => node([first]), () => node([...req, first]))
  rows.push(ratioRow('first require(child_process) + execSync("getconf GNU_LIBC_VERSION") in a fresh process: emulated vs real', firstRuns, (s) => s.out.ms, 1.0))
  rows.push(rssRow('peak RSS of that process: added by --require register', firstRuns, 3))
  rows.push(rssRow('peak RSS of the boot process: added by --require register', bootRuns, 3))

  const dir = mkdtempSync(join(tmpdir(), 'aam-bench-'))
  try {
    // The row's floor, in the same rounds: what Node's first CommonJS load of a process costs
    // whatever the preload is (`--require` of an empty file), and the register's own part above it.
    const emptyCjs = join(dir, 'empty.js')
    writeFileSync(emptyCjs, '')
    const [none, withRegister, withEmpty] = await interleaved(ROUNDS + 10, [() => node(['-e', '0']), () => node([...req, '-e', '0']), () => node(['--require', emptyCjs, '-e', '0'])])
    rows.push(ratioRow('node --require register -e 0 vs node -e 0', { as: none, bs: withRegister }, ms, 1.03))
    rows.push(ratioRow('  its floor: --require <empty file> -e 0 vs node -e 0 (what any --require costs)', { as: none, bs: withEmpty }, ms, null, 'info'))
    rows.push(ratioRow("  the register's own part: --require register vs --require <empty file>", { as: withEmpty, bs: withRegister }, ms, null, 'info'))
    const empty = join(dir, 'empty.mjs')
    writeFileSync(empty, '')
    const imp = await pairs(ROUNDS + 10, () => node(['--import', empty, '-e', '0']), () => node(['--import', REGISTER_ESM, '-e', '0']))
    rows.push(ratioRow("node --import register -e 0 vs --import <empty module> (the register's own part)", imp, ms, 1.05))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  for (const mib of [2048, 50]) {
    const { out } = node([join(here, '_cold-rss.mjs'), String(mib), '21'], { AAM_BENCH_INTERCEPT: `${dist}intercept/index.js` })
    const ratio = 1 / out.ratio
    const rss = `${Math.round(out.rss / 1024 / 1024)} MiB`
    rows.push({ name: `execSync("getconf GNU_LIBC_VERSION") per call in a process grown to ${mib} MiB RSS (${rss} at the end): emulated vs real`, baseline: out.baseline, candidate: out.candidate, ratio, bar: '≥ 300', pass: ratio >= 300 })
    // What exactness alone costs per call here: the stats the answer must re-check (they grow
    // with the PATH entries before getconf's directory). Real / floor is the best ratio any
    // exact emulation can reach on this machine with this PATH.
    rows.push({ name: `  its floor: the ${out.floorStats} stats an exact answer re-checks per call (PATH candidates, /bin/sh, ld.so.preload, ld.so.cache, libc), alone: real vs floor`, baseline: out.baseline, candidate: out.floor, ratio: out.baseline / out.floor, bar: '-', pass: true })
  }

  const example = fileURLToPath(new URL('../examples/cluster-app/server.js', import.meta.url))
  const plain = join(here, 'cluster-plain-server.js')
  const workers = await pairs(ROUNDS, () => forkUntilListening(plain), () => forkUntilListening(example))
  rows.push(ratioRow('cluster worker fork → listening: the example (loads @apparmor-monkeys/cluster) vs without the package [host]', workers, ms, null, 'info'))

  const fastifyApp = join(here, '_cold-fastify.js')
  const fastify = await pairs(ROUNDS, () => node([fastifyApp]), () => node([fastifyApp, 'plugin']))
  rows.push(ratioRow('fastify app start → listening: with the @apparmor-monkeys/fastify plugin vs without [host]', fastify, ms, null, 'info'))
  return rows
}
