// commands/table.ts: one file per command, loaded only when a request names it.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { INFO_COMMANDS, TEXT_COMMANDS, createRegistry } from '../../src/commands/table'
import { liveSystemView } from '../../src/commands/info/view'

const DIST = path.resolve(__dirname, '../../dist')
/** The shell reader and interpreter (bail.js, the decline token, and builtins.js, a constant list, excepted). */
const SHELL = /^shell\/(?!(bail|builtins)\.js$)/

t.test('every entry loads the command of its name', (t) => {
  for (const [name, load] of TEXT_COMMANDS) t.equal(load().name, name, `text: ${name}`)
  for (const [name, load] of INFO_COMMANDS) t.equal(load()(liveSystemView()).name, name, `info: ${name}`)
  const registry = createRegistry(liveSystemView)
  t.equal(registry.get('toString'), undefined, 'no inherited names')
  t.equal(registry.has('constructor'), false)
  t.equal(registry.get('cat'), registry.get('cat'), 'loaded once')
  t.same(registry.names(), [...TEXT_COMMANDS.keys(), ...INFO_COMMANDS.keys()].sort())
  t.end()
})

/**
 * Runs the per-file build in a fresh node and lists the emulator's modules it loaded (relative
 * to dist/). The package's entry, dist/index.js, is a single-file build of the same sources
 * (scripts/bundle.mjs), where these modules are lazy wrappers inside one file; the per-file
 * output of tsc beside it (from dist/dispatch.js down) shows what each request makes run.
 */
function loadedAfter(code: string): string[] {
  const script = `
    const { emulate } = require(${JSON.stringify(path.join(DIST, 'dispatch.js'))})
    const ctx = { env: { PATH: '/usr/bin:/bin', LANG: 'C' }, cwd: '/', uid: process.getuid(), gid: process.getgid() }
    const r = (${code})
    if (r === null) throw new Error('declined')
    const dist = ${JSON.stringify(DIST + '/')}
    process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((f) => f.startsWith(dist)).map((f) => f.slice(dist.length)).sort()))
  `
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } })
  if (run.status !== 0) throw new Error(run.stderr)
  return JSON.parse(run.stdout) as string[]
}

t.test('the built modules: a request loads only what it needs', (t) => {
  const uname = loadedAfter(`emulate({ kind: 'exec', file: 'uname', args: ['-m'], argv0: 'uname', ctx })`)
  t.ok(uname.includes('commands/info/uname.js'), 'uname -m loads uname')
  t.same(uname.filter((f) => SHELL.test(f) || f.startsWith('commands/text/')), [], 'and no shell module nor text tool')
  t.same(uname.filter((f) => f.startsWith('commands/info/') && /\/(getconf|ldd|id|git|lscpu|locale)\.js$/.test(f)), [], 'nor another informational command')

  const cat = loadedAfter(`emulate({ kind: 'exec', file: 'cat', args: ['/etc/hostname'], argv0: 'cat', ctx })`)
  t.ok(cat.includes('commands/text/cat.js'), 'cat loads cat')
  t.same(cat.filter((f) => SHELL.test(f) || (f.startsWith('commands/text/') && f !== 'commands/text/cat.js' && f !== 'commands/text/common.js')), [], 'a direct exec needs no shell, and no other text tool')

  const line = loadedAfter(`emulate({ kind: 'shell', shell: '/bin/sh', script: 'uname -m | tr a-z A-Z', ctx })`)
  for (const f of ['shell/parse.js', 'shell/run.js', 'commands/info/uname.js', 'commands/text/tr.js']) t.ok(line.includes(f), `a shell line loads ${f}`)
  t.notOk(line.includes('commands/text/sed.js'), 'but not the tools it does not name')
  t.end()
})
