'use strict'
// Fixture of bench/cold.mjs: a service's boot that shells out the way common packages do:
// detect-libc 2's exact command line (its execSync fallback, run here unconditionally),
// node-machine-id's pipeline through the real package (machineIdSync), and an async
// `uname -m` (os-arch style). The process exits when the async answer is in; at exit it prints
// its peak RSS (KiB) as one JSON line.
const path = require('node:path')
const childProcess = require('node:child_process')
const { machineIdSync } = require(path.join(__dirname, '..', 'test', 'node_modules', 'node-machine-id'))

const libc = childProcess.execSync('getconf GNU_LIBC_VERSION 2>&1 || true; ldd --version 2>&1 || true', { encoding: 'utf8' })
const id = machineIdSync(true)
childProcess.exec('uname -m', (err, arch) => {
  if (err || !libc.includes('glibc') || id.length === 0 || arch.trim() === '') process.exit(3)
  process.stdout.write(`${JSON.stringify({ maxRSS: process.resourceUsage().maxRSS })}\n`)
})
