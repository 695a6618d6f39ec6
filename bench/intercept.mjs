// The interception's costs (DESIGN §6): the register preload at startup, an emulated
// informational command against the real spawn, and a passthrough spawn through the
// interception against an unpatched one.
import { exec, execSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { abRounds, atLeastFaster, atMost } from './_lib.mjs'

const require = createRequire(import.meta.url)
const dist = fileURLToPath(new URL('../packages/core/dist/', import.meta.url))
const { install, uninstall } = require(`${dist}intercept/index.js`)
const REGISTER = `${dist}register.js`

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
  rows.push(atMost('preload: node --import register -e 0 vs node -e 0', await abRounds({ rounds: 40, a: plain, b: startNode(['--import', REGISTER, '-e', '0']) }), 1.05))
  rows.push(atMost('preload: node --require register -e 0 vs node -e 0', await abRounds({ rounds: 40, a: plain, b: startNode(['--require', REGISTER, '-e', '0']) }), 1.05))
  // What the register itself adds under --import (Node's ESM loader starts for any --import).
  const dir = mkdtempSync(join(tmpdir(), 'aam-bench-'))
  const empty = join(dir, 'empty.cjs')
  writeFileSync(empty, '')
  rows.push(atMost('preload: node --import register vs --import <empty file>', await abRounds({ rounds: 40, a: startNode(['--import', empty, '-e', '0']), b: startNode(['--import', REGISTER, '-e', '0']) }), 1.05))
  rmSync(dir, { recursive: true, force: true })

  // The emulated answer vs the real command (the emulator and its caches warm after round -1).
  const getconf = () => execSync('getconf GNU_LIBC_VERSION')
  const emulated = await abRounds({ rounds: 10, a: getconf, nA: 5, b: getconf, nB: 500, setupA: uninstall, setupB: () => install() })
  rows.push(atLeastFaster('emulated execSync("getconf GNU_LIBC_VERSION") vs real', emulated, 500))

  // Passthrough: a command the emulator does not answer, decided and run for real.
  rows.push(atMost('passthrough spawnSync("/bin/sleep", ["0"]) vs unpatched', await abRounds({ rounds: 30, a: () => spawnSync('/bin/sleep', ['0']), nA: 10, setupA: uninstall, setupB: () => install() }), 1.02))
  const sleep = spawnAndWait('/bin/sleep', ['0'])
  rows.push(atMost('passthrough spawn("/bin/sleep", ["0"]) vs unpatched', await abRounds({ rounds: 30, a: sleep, nA: 10, setupA: uninstall, setupB: () => install() }), 1.02))
  // A shell line the emulator parses and then declines.
  const shellLine = () => new Promise((resolve, reject) => exec('sleep 0', (err) => (err ? reject(err) : resolve())))
  rows.push(atMost('passthrough exec("sleep 0") vs unpatched', await abRounds({ rounds: 30, a: shellLine, nA: 10, setupA: uninstall, setupB: () => install() }), 1.02))
  uninstall()
  return rows
}
