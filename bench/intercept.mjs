// The interception's costs (DESIGN §6): the register preload at startup, an emulated
// informational command against the real spawn, and a passthrough spawn through the
// interception against an unpatched one.
import { execSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { abRounds, atLeastFaster, atMost } from './_lib.mjs'

const require = createRequire(import.meta.url)
const dist = fileURLToPath(new URL('../packages/core/dist/', import.meta.url))
const { install, uninstall } = require(`${dist}intercept/index.js`)
// What `--require` and `--import` of @apparmor-monkeys/core/register load (package.json exports).
const REGISTER = `${dist}register.js`
const REGISTER_ESM = `${dist}register.mjs`

// Children start with a neutral environment: no preloads, no apparmor-monkeys configuration.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('APPARMOR_MONKEYS_')))
const startNode = (args) => () => {
  const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`)
}
const spawnAndWait = (file, args) => () =>
  new Promise((resolve, reject) => {
    spawn(file, args, { stdio: 'ignore' }).on('close', resolve).on('error', reject)
  })

export async function bench() {
  const rows = []
  const plain = startNode(['-e', '0'])
  rows.push(atMost('preload: node --import register -e 0 vs node -e 0', await abRounds({ rounds: 40, a: plain, b: startNode(['--import', REGISTER_ESM, '-e', '0']) }), 1.05))
  rows.push(atMost('preload: node --require register -e 0 vs node -e 0', await abRounds({ rounds: 40, a: plain, b: startNode(['--require', REGISTER, '-e', '0']) }), 1.05))
  // What the register itself adds under --import: Node 20 starts its ESM loader and reads the
  // module through libuv's threadpool for any --import of a file (an empty one costs 5–12 %).
  const dir = mkdtempSync(join(tmpdir(), 'aam-bench-'))
  const empty = join(dir, 'empty.mjs')
  writeFileSync(empty, '')
  rows.push(atMost('preload: node --import register vs --import <empty module> (the register\'s own part)', await abRounds({ rounds: 40, a: startNode(['--import', empty, '-e', '0']), b: startNode(['--import', REGISTER_ESM, '-e', '0']) }), 1.05))
  rmSync(dir, { recursive: true, force: true })

  // The emulated answer vs the real command (the emulator and its caches warm after round -1).
  const getconf = () => execSync('getconf GNU_LIBC_VERSION')
  const emulated = await abRounds({ rounds: 10, a: getconf, nA: 5, b: getconf, nB: 500, setupA: uninstall, setupB: () => install() })
  rows.push(atLeastFaster('emulated execSync("getconf GNU_LIBC_VERSION") vs real', emulated, 500))

  // Passthrough. A real spawn's time varies by far more than 2% from one call to the next on
  // a shared machine, so the interception's cost is measured on its own, A/B, with the native
  // call stubbed (deterministic CPU work: everything but the fork/exec), and added to the
  // median cost of the real spawn: ratio = (spawn + overhead) / spawn.
  const binding = process.binding('spawn_sync')
  const proto = process.binding('process_wrap').Process.prototype
  const nativeSync = binding.spawn
  const nativeAsync = proto.spawn
  const realSync = (await abRounds({ rounds: 20, a: () => spawnSync('/bin/sleep', ['0']), nA: 5, setupA: uninstall })).baseline
  const realAsync = (await abRounds({ rounds: 20, a: spawnAndWait('/bin/sleep', ['0']), nA: 5, setupA: uninstall })).baseline
  const shellLine = () => spawn('sleep 0', { shell: true, stdio: 'ignore' })
  const realShell = (await abRounds({ rounds: 20, a: () => new Promise((resolve) => shellLine().on('close', resolve)), nA: 5, setupA: uninstall })).baseline
  const noBytes = Buffer.alloc(0)
  binding.spawn = () => ({ status: 0, signal: null, output: [null, noBytes, noBytes], pid: 1 })
  proto.spawn = () => -2 // ENOENT: Node reports it through 'error' and 'close' (stdio 'ignore': no pipes to wire)
  const stubbedAsync = (run) => () => new Promise((resolve) => run().on('error', () => {}).on('close', resolve))
  const overhead = async (fn, n) => {
    // setupB warms the install's engine (its emulator misses), as in a long-running process.
    const m = await abRounds({ rounds: 30, a: fn, nA: n, setupA: uninstall, setupB: () => (install(), fn()) })
    return Math.max(0, m.candidate - m.baseline)
  }
  try {
    const derived = (name, real, extra) => atMost(name, { baseline: real, candidate: real + extra, ratio: (real + extra) / real }, 1.02)
    rows.push(derived('passthrough spawnSync("/bin/sleep", ["0"]) vs unpatched', realSync, await overhead(() => spawnSync('/bin/sleep', ['0']), 2000)))
    rows.push(derived('passthrough spawn("/bin/sleep", ["0"]) vs unpatched', realAsync, await overhead(stubbedAsync(() => spawn('/bin/sleep', ['0'], { stdio: 'ignore' })), 500)))
    rows.push(derived('passthrough spawn("sleep 0", { shell: true }) (a declined shell line) vs unpatched', realShell, await overhead(stubbedAsync(shellLine), 500)))
  } finally {
    uninstall()
    binding.spawn = nativeSync
    proto.spawn = nativeAsync
  }
  uninstall()
  return rows
}
