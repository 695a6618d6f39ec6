/**
 * Whole-process confinement on a real AppArmor kernel (runs inside the VM).
 * Profiles: test/kernel/profiles/kernel.aa.
 */
import { test, before } from 'node:test'
import * as assert from 'node:assert/strict'
import * as path from 'node:path'
import { audit, probe, run, writeSecret } from './helpers'

const FIX = path.join(__dirname, 'fixtures')

before(() => {
  writeSecret()
  audit()
})

interface AppOut {
  threadsAtEntry: number
  threadsBefore: number
  report?: { complete: boolean; pool: string; scope: string; unconfined: Array<{ tid: number; role: string }>; threads: Array<{ tid: number; role: string; label: string; confined: boolean }> }
  error?: { code: string; message: string }
  asyncReads: Record<string, number>
  callbackRead: string
  syncRead: string
  publicRead: string
  labels: Array<{ tid: number; main: boolean; label: string }>
  childLabel: string
}

function app(entry: 'confine-app.js' | 'confine-app.mjs', args: string[], opts: { pool?: number; profile?: string; env?: Record<string, string> } = {}): AppOut {
  const env = { ...process.env, UV_THREADPOOL_SIZE: String(opts.pool ?? 4), ...opts.env }
  const r = run([process.execPath, path.join(FIX, entry), ...args], { profile: opts.profile ?? 'aam-start', env })
  assert.equal(r.status, 0, `${entry} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout) as AppOut
}

function assertConfined(out: AppOut, pool: number, label: string) {
  assert.equal(out.error, undefined, JSON.stringify(out.error))
  assert.equal(out.report?.complete, true)
  assert.deepEqual(out.asyncReads, { EACCES: 4 * pool }, 'every async read of the denied file fails')
  assert.equal(out.callbackRead, 'EACCES')
  assert.equal(out.syncRead, 'EACCES')
  assert.equal(out.publicRead, 'OK')
  assert.equal(out.childLabel, 'aam-target (enforce)\n')
  // Every thread is in the target except the ones the report names (Node's runtime threads).
  const named = new Set(out.report?.unconfined.map((t) => t.tid))
  for (const t of out.labels) {
    if (named.has(t.tid)) assert.equal(t.label, label, `tid ${t.tid} is named as left in ${label}`)
    else assert.equal(t.label, 'aam-target', `tid ${t.tid} must be confined`)
  }
  assert.ok(out.report?.unconfined.every((t) => t.role === 'runtime'))
  assert.ok(out.labels.length >= 7 + pool, `main + runtime + ${pool} pool threads (${out.labels.length})`)
}

for (const pool of [4, 16]) {
  test(`CJS entry, pool already running (${pool} threads): async and sync reads are denied after confine()`, () => {
    const out = app('confine-app.js', ['aam-target', 'warm'], { pool })
    assert.equal(out.error, undefined, JSON.stringify(out.error))
    assert.ok(out.threadsBefore >= 7 + pool, 'the pool existed before confine()')
    assert.equal(out.report?.pool, 'relabelled')
    assertConfined(out, pool, 'aam-start')
  })
  test(`ESM entry (${pool} threads): async and sync reads are denied`, () => {
    const out = app('confine-app.mjs', ['aam-target', 'cold'], { pool })
    assert.equal(out.error, undefined, JSON.stringify(out.error))
    // Node 20's ESM loader starts the pool before user code; later lines' loaders do not
    // (7 threads at entry): confine() then changes the main thread and the pool inherits.
    const poolAtEntry = out.threadsAtEntry >= 7 + pool
    if (!poolAtEntry) assert.equal(out.threadsAtEntry, 7, 'either the pool exists at entry or nothing but the runtime threads')
    assert.equal(out.report?.pool, poolAtEntry ? 'relabelled' : 'absent')
    assertConfined(out, pool, 'aam-start')
  })
}

test('CJS entry before the pool exists: the main change is enough, the pool inherits', () => {
  const out = app('confine-app.js', ['aam-target', 'cold'])
  assert.equal(out.threadsBefore, 7)
  assert.equal(out.report?.pool, 'absent')
  assertConfined(out, 4, 'aam-start')
})

test('confineSync refuses once the pool exists, and nothing is changed', () => {
  // "sync" mode does not warm the pool: confineSync works
  const out = app('confine-app.js', ['aam-target', 'sync'])
  assertConfined(out, 4, 'aam-start')
  const warm = run([process.execPath, '-e', `
    const fs = require('fs'); const c = require('@apparmor-monkeys/core')
    fs.promises.readFile('/etc/hostname').then(() => {
      try { c.confineSync('aam-target'); console.log('no error') } catch (e) { console.log(e.code, c.getCon().label) }
    })`], { profile: 'aam-start' })
  assert.equal(warm.stdout.trim(), 'ERR_AA_UNSUPPORTED aam-start')
})

test('confine() twice and into the current profile: success, nothing written the second time', () => {
  audit()
  const r = run([process.execPath, '-e', `
    const c = require('@apparmor-monkeys/core'); const fs = require('fs')
    ;(async () => {
      await fs.promises.readFile('/etc/hostname')
      const a = await c.confine('aam-target'); const b = await c.confine('aam-target')
      console.log(JSON.stringify({ a: a.changed, b: b.changed, bPool: b.pool, complete: b.complete }))
    })()`], { profile: 'aam-start' })
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { a: true, b: false, bPool: 'already', complete: true })
  assert.deepEqual(audit().filter((l) => l.includes('change_profile')), [], 'aam-target has no self rule: any write would have been denied and logged')
})

test('UV_USE_IO_URING=1 is refused before anything changes', () => {
  const out = app('confine-app.js', ['aam-target', 'warm'], { env: { UV_USE_IO_URING: '1' } })
  assert.equal(out.error?.code, 'ERR_AA_UNSUPPORTED')
  assert.match(out.error?.message ?? '', /UV_USE_IO_URING/)
  assert.ok(out.labels.every((t) => t.label === 'aam-start'))
})

test('a worker_thread that exists is named and makes strict confine() fail (ERR_AA_INCOMPLETE)', () => {
  const r = run([process.execPath, '-e', `
    const c = require('@apparmor-monkeys/core'); const { Worker } = require('worker_threads')
    const w = new Worker('setInterval(() => {}, 1000)', { eval: true })
    w.on('online', async () => {
      try { await c.confine('aam-target'); console.log('no error') }
      catch (e) { console.log(JSON.stringify({ code: e.code, unknown: e.data.unconfined.filter((t) => t.role === 'unknown').length, main: c.getCon().label })) }
      process.exit(0)
    })`], { profile: 'aam-start' })
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { code: 'ERR_AA_INCOMPLETE', unknown: 1, main: 'aam-target' })
})

test('called from a worker_thread, confine() changes that thread only and says so', () => {
  const r = run([process.execPath, '-e', `
    const { Worker } = require('worker_threads')
    const w = new Worker("const c = require('@apparmor-monkeys/core'); c.confine('aam-target').then((r) => require('worker_threads').parentPort.postMessage({ scope: r.scope, complete: r.complete, label: c.getCon().label }))", { eval: true })
    w.on('message', (m) => { console.log(JSON.stringify({ ...m, main: require('@apparmor-monkeys/core').getCon().label })); process.exit(0) })`])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { scope: 'thread', complete: false, label: 'aam-target', main: 'unconfined' })
})

test('exec-time: a child starts confined in all its threads; the parent and its later spawns are not', () => {
  const r = run([process.execPath, '-e', `
    const c = require('@apparmor-monkeys/core'); const { spawnSync } = require('child_process')
    const CHILD = "const fs=require('fs');fs.promises.readFile('/etc/hostname').then(()=>{const l=fs.readdirSync('/proc/self/task').map(t=>fs.readFileSync('/proc/self/task/'+t+'/attr/apparmor/current','utf8').trim());let s;try{fs.readFileSync('/tmp/secret');s='OK'}catch(e){s=e.code}console.log(JSON.stringify({n:l.length,labels:[...new Set(l)],s}))})"
    const child = c.withExecProfile('aam-target', () => spawnSync(process.execPath, ['-e', CHILD], { encoding: 'utf8' }))
    const later = spawnSync(process.execPath, ['-e', CHILD], { encoding: 'utf8' })
    console.log(JSON.stringify({ child: JSON.parse(child.stdout), later: JSON.parse(later.stdout), self: c.getCon().label, exec: c.getExecCon() && c.getExecCon().label }))`])
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.deepEqual(out.child.labels, ['aam-target (enforce)'])
  assert.ok(out.child.n >= 11)
  assert.equal(out.child.s, 'EACCES')
  assert.deepEqual(out.later.labels, ['unconfined'])
  assert.equal(out.later.s, 'OK')
  assert.equal(out.self, 'unconfined')
})

test('exec-time from a confined parent with a self rule: restored to the parent profile', () => {
  const [res] = probe([['child']], { profile: 'aam-start' })
  assert.deepEqual(res?.value.labels, ['aam-start (enforce)'])
  const r = run([process.execPath, '-e', `
    const c = require('@apparmor-monkeys/core'); const { spawnSync } = require('child_process')
    const L = "process.stdout.write(require('fs').readFileSync('/proc/self/attr/current','utf8'))"
    const a = c.withExecProfile('aam-target', () => spawnSync(process.execPath, ['-e', L], { encoding: 'utf8' })).stdout
    const b = spawnSync(process.execPath, ['-e', L], { encoding: 'utf8' }).stdout
    console.log(JSON.stringify([a, b]))`], { profile: 'aam-start' })
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), ['aam-target (enforce)\n', 'aam-start (enforce)\n'])
})

test('exec-time: a parent that could not restore its onexec refuses before spawning (ERR_AA_RESTORE_FAILED)', () => {
  // aam-hats may not change into itself: once onexec were set, it could never be put back.
  const r = run([process.execPath, '-e', `
    const c = require('@apparmor-monkeys/core'); let spawned = false
    try { c.withExecProfile('aam-target', () => { spawned = true }) ; console.log('no error') }
    catch (e) { console.log(JSON.stringify({ code: e.code, spawned, exec: c.getExecCon() ? c.getExecCon().label : null })) }`], { profile: 'aam-hats' })
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { code: 'ERR_AA_RESTORE_FAILED', spawned: false, exec: null })
})

for (const [how, entry, flags, extraEnv] of [
  ['--require', 'confine-app.js', ['--require', '@apparmor-monkeys/core/register'], {}],
  ['--import (ESM entry awaits the pool relabel)', 'confine-app.mjs', ['--import', '@apparmor-monkeys/core/register'], {}],
  ['NODE_OPTIONS=--require', 'confine-app.js', [], { NODE_OPTIONS: '--require @apparmor-monkeys/core/register' }],
] as const) {
  test(`register preload with APPARMOR_MONKEYS_PROFILE via ${how}: confined before the app's first line`, () => {
    const env = { ...process.env, UV_THREADPOOL_SIZE: '4', APPARMOR_MONKEYS_PROFILE: 'aam-target', ...extraEnv }
    const r = run([process.execPath, ...flags, path.join(FIX, entry), 'aam-target', 'none'], { profile: 'aam-start', env })
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout) as AppOut
    assert.deepEqual(out.asyncReads, { EACCES: 16 })
    assert.equal(out.callbackRead, 'EACCES')
    assert.equal(out.syncRead, 'EACCES')
    assert.equal(out.childLabel, 'aam-target (enforce)\n')
    const old = out.labels.filter((t) => t.label !== 'aam-target')
    assert.ok(old.length <= 6 && old.every((t) => !t.main), `only Node's runtime threads may keep the old label: ${JSON.stringify(old)}`)
  })
}

test('register preload with a missing profile: the process stops before the app runs', () => {
  for (const flag of ['--require', '--import']) {
    const env = { ...process.env, APPARMOR_MONKEYS_PROFILE: 'aam-missing' }
    const r = run([process.execPath, flag, '@apparmor-monkeys/core/register', '-e', 'console.log("app ran")'], { env })
    assert.notEqual(r.status, 0, flag)
    assert.equal(r.stdout.includes('app ran'), false, flag)
    assert.match(r.stderr, /ERR_AA_NOT_FOUND/, flag)
  }
})
