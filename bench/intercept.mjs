// The interception's cost on passthrough (DESIGN §6): a spawn through the interception against
// an unpatched one. The preload's start-up cost and the emulated calls' speed-up are measured
// in fresh processes by bench/cold.mjs (the former "≥ 500× per warm call at small RSS" row is
// retired in favour of its per-RSS rows).
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { abRounds, atMost } from './_lib.mjs'

const require = createRequire(import.meta.url)
const dist = fileURLToPath(new URL('../packages/core/dist/', import.meta.url))
const { install, uninstall } = require(`${dist}intercept/index.js`)
const spawnAndWait = (file, args) => () =>
  new Promise((resolve, reject) => {
    spawn(file, args, { stdio: 'ignore' }).on('close', resolve).on('error', reject)
  })

export async function bench() {
  const rows = []
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
