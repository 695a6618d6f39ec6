// Fixture of bench/cold.mjs: per-call cost of execSync('getconf GNU_LIBC_VERSION'), real vs
// emulated (interleaved rounds, install()/uninstall() between the sides), in a process grown
// to a resident set of argv[2] MiB (a real fork copies the parent's page tables). Prints the
// abRounds result, the RSS reached, and the call's floor as one JSON line. The floor is what
// the exact answer must re-check at every call, timed alone: a stat of each PATH candidate up
// to getconf, of /bin/sh (is it still dash?), of /etc/ld.so.preload (the loader guard), of
// /etc/ld.so.cache and of the libc it names (a glibc upgrade while the process runs).
import { execSync } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import { abRounds } from './_lib.mjs'

const target = Number(process.argv[2]) * 1024 * 1024
const rounds = Number(process.argv[3] ?? 21)
const grow = target - process.memoryUsage.rss()
// Touched pages (fill), so the memory is resident and mapped in this process's page tables.
const ballast = grow > 0 ? Buffer.allocUnsafeSlow(grow).fill(1) : null
const require = createRequire(import.meta.url)
const { install, uninstall } = require(process.env.AAM_BENCH_INTERCEPT)
const call = () => execSync('getconf GNU_LIBC_VERSION')
const realCalls = target > 1024 * 1024 * 1024 ? 1 : 5
const m = await abRounds({ rounds, a: call, nA: realCalls, b: call, nB: 200, setupA: uninstall, setupB: () => install() })
uninstall()

const candidates = []
for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
  const p = `${dir === '' ? '.' : dir}/getconf`
  candidates.push(p)
  if (fs.statSync(p, { throwIfNoEntry: false })?.isFile()) break
}
const libc = /\s(\/\S*\/libc\.so\.6)$/m.exec(fs.readFileSync('/proc/self/maps', 'latin1'))?.[1]
const floorStats = () => {
  for (const p of candidates) fs.statSync(p, { throwIfNoEntry: false })
  fs.statSync('/bin/sh', { throwIfNoEntry: false })
  fs.lstatSync('/etc/ld.so.preload', { throwIfNoEntry: false })
  fs.statSync('/etc/ld.so.cache', { throwIfNoEntry: false })
  if (libc !== undefined) fs.statSync(libc, { throwIfNoEntry: false })
}
const floor = await abRounds({ rounds: 11, a: floorStats, nA: 2000 })
const floorStatCount = candidates.length + 3 + (libc === undefined ? 0 : 1)
process.stdout.write(`${JSON.stringify({ ...m, rss: process.memoryUsage.rss(), ballast: ballast?.length ?? 0, floor: floor.baseline, floorStats: floorStatCount })}\n`)
