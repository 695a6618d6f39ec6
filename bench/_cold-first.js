'use strict'
// Fixture of bench/cold.mjs: the first exec of a fresh process, `require('child_process')` and
// `execSync('getconf GNU_LIBC_VERSION')`, timed from inside; prints { ms, maxRSS (KiB) }.
const start = process.hrtime.bigint()
const out = require('node:child_process').execSync('getconf GNU_LIBC_VERSION', { encoding: 'utf8' })
const ms = Number(process.hrtime.bigint() - start) / 1e6
if (!out.startsWith('glibc ')) process.exit(3)
process.stdout.write(`${JSON.stringify({ ms, maxRSS: process.resourceUsage().maxRSS })}\n`)
