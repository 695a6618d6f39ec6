// Fixture of bench/cold.mjs: per-call cost of execSync('getconf GNU_LIBC_VERSION'), real vs
// emulated (interleaved rounds, install()/uninstall() between the sides), in a process grown
// to a resident set of argv[2] MiB (a real fork copies the parent's page tables). Prints the
// abRounds result and the RSS reached as one JSON line.
import { execSync } from 'node:child_process'
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
process.stdout.write(`${JSON.stringify({ ...m, rss: process.memoryUsage.rss(), ballast: ballast?.length ?? 0 })}\n`)
