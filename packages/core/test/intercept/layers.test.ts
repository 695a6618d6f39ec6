// The patch layers: what install() patches, double install, exact restore on uninstall,
// status(), the permission-model fallback (process.binding denied), --pending-deprecation and
// --throw-deprecation, and that importing the library patches nothing.
import t from 'tap'
import * as path from 'node:path'
import { DIST, FIXTURES, jsonFixture, markerScript, node } from './helpers'

import { permissionFlag } from '../../src/intercept/compat'

// The permission model's flag differs between Node lines (compat.ts detects it).
const PERMISSION = (dir: string) => [permissionFlag() as string, '--allow-fs-read=*', `--allow-fs-write=${dir}`, '--allow-child-process']

t.test('install patches the two native funnels once; uninstall restores the exact descriptors', async (t) => {
  const dir = t.testdir({})
  const { result: r, run } = jsonFixture<Record<string, any>>(dir, 'layers.cjs')
  t.equal(run.status, 0, run.stderr)
  t.same(r.unchanged, {
    binding: false,
    process: false,
    childProcessSpawn: true,
    'export.spawn': true,
    'export.spawnSync': false,
    'export.exec': true,
    'export.execSync': false,
    'export.execFile': true,
    'export.execFileSync': false,
    'export.fork': true,
  }, 'the two native funnels, and the three sync exports (the fast path for emulated answers)')
  t.ok(r.notRewrapped, 'a second install wraps nothing twice')
  t.equal(r.denied, 'EACCES', 'the second install replaced the options')
  t.equal(r.emulated, 'k\n')
  t.ok(Object.values(r.restored).every(Boolean), 'every descriptor is the original again')
  t.same(r.afterUninstall, [0, 127], 'after uninstall nothing is denied or emulated')
  t.same(r.statusBefore, { installed: false, layers: { sync: { active: false, via: null, detail: 'not installed' }, async: { active: false, via: null, detail: 'not installed' } }, policy: null })
  t.match(r.statusInstalled, {
    installed: true,
    layers: {
      sync: { active: true, via: "process.binding('spawn_sync').spawn, and the child_process spawnSync/execSync/execFileSync exports" },
      async: { active: true, via: "process.binding('process_wrap').Process.prototype.spawn" },
    },
    policy: { unknown: 'passthrough', deny: ['true'], allow: [], confine: [], emulation: true, log: null },
  })
  t.same(r.statusAfter, r.statusBefore)
  t.ok(r.outsideKept, 'a wrapper put on top of ours stays after uninstall')
  t.equal(r.throughOurs, 0, 'and ours, under it, passes through')
  t.same(r.decisions, ['true:deny', 'known:emulate'])
})

t.test("under Node's permission model the sync APIs are intercepted at the exports, with the same shapes", async (t) => {
  const dir = t.testdir({})
  const { result: r, run } = jsonFixture<Record<string, any>>(dir, 'fallback.cjs', [dir], { execArgv: PERMISSION(dir) })
  t.equal(run.status, 0, run.stderr)
  for (const api of Object.keys(r.real)) t.same(r.intercepted[api], r.real[api], api)
  t.equal(Object.keys(r.real).length, 12)
  t.same(r.deniedAsync, r.realAsync, 'async deny through the handle-reached native spawn')
  t.match(r.status.layers, {
    sync: { active: true, via: 'child_process.spawnSync/execSync/execFileSync exports', detail: /unavailable \(ERR_ACCESS_DENIED\).*NOT covered/ },
    async: { active: true, via: 'Process.prototype.spawn (reached through a ChildProcess handle)' },
  })
  t.ok(r.esmSynced, 'ESM named exports see the replacements')
  t.equal(r.early, 'out\n', 'a reference taken before install is not covered (and status says so)')
  t.ok(r.restored, 'uninstall restores the exports and the ESM named exports')
  t.same(r.decisions.slice(0, 4), ['deny', 'deny', 'deny', 'deny'])
})

t.test('under the permission model, deny still matches a kernel EACCES for ESM named imports', async (t) => {
  const dir = t.testdir({})
  const { file, marker } = markerScript(dir)
  const { result, run } = jsonFixture<{ real: Record<string, unknown>; denied: Record<string, unknown> }>(dir, 'deny.mjs', [file], { execArgv: PERMISSION(dir) })
  t.equal(run.status, 0, run.stderr)
  for (const api of Object.keys(result.real)) t.same(result.denied[api], result.real[api], api)
  t.notOk(require('node:fs').existsSync(marker))
})

t.test('--pending-deprecation: DEP0111 once; with --throw-deprecation, process.binding is not used', async (t) => {
  const script = `const i = require(${JSON.stringify(path.join(DIST, 'intercept'))}); i.install(); i.install(); console.log(JSON.stringify(i.status().layers)); require('child_process').execSync('true')`
  const pending = node(['--pending-deprecation', '-e', script])
  t.equal(pending.status, 0)
  t.equal(pending.stderr.match(/DEP0111/g)?.length, 1, pending.stderr)
  t.match(JSON.parse(pending.stdout), { sync: { via: /^process.binding\('spawn_sync'\).spawn/, detail: /DEP0111/ } })
  const throwing = node(['--pending-deprecation', '--throw-deprecation', '-e', script])
  t.equal(throwing.status, 0, throwing.stderr)
  t.notMatch(throwing.stderr, /DEP0111/)
  t.match(JSON.parse(throwing.stdout), { sync: { via: 'child_process.spawnSync/execSync/execFileSync exports', detail: /DEP0111/ } })
})

t.test('importing the library (any entry but register) patches nothing', async (t) => {
  const entries = ['index.js', 'intercept/index.js', 'options.js'].map((e) => path.join(DIST, e))
  const script = `
    const b = process.binding('spawn_sync'), p = process.binding('process_wrap').Process.prototype
    const before = [b.spawn, p.spawn]
    for (const e of ${JSON.stringify(entries)}) require(e)
    console.log(b.spawn === before[0] && p.spawn === before[1])`
  const r = node(['-e', script])
  t.equal(r.stdout.trim(), 'true', r.stderr)
  t.ok(FIXTURES)
})
