// The register preload: --require, --import and NODE_OPTIONS; what it covers (worker threads,
// node children); its environment (valid, invalid: fail closed before the app runs); the
// decision log.
import t from 'tap'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { FIXTURES, REGISTER, REGISTER_ESM, cleanEnv, node } from './helpers'

const PROBE = path.join(FIXTURES, 'probe.cjs')
interface Report {
  installed: boolean
  run: string | number
}
interface Probe {
  main: Report
  worker: Report
  workerOwnExecArgv: Report
  child: Report
}
const probe = (args: string[], env: Record<string, string> = {}) => {
  const r = node([...args, PROBE, 'curl -s http://127.0.0.1:9/'], { env: cleanEnv({ APPARMOR_MONKEYS_DENY: 'curl', ...env }) })
  t.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as Probe
}
const denied = { installed: true, run: 'EACCES' }

t.test('--require: this process and its workers (unless given their own execArgv)', async (t) => {
  const r = probe(['--require', REGISTER])
  t.same(r.main, denied)
  t.same(r.worker, denied)
  t.equal(r.workerOwnExecArgv.installed, false, 'a Worker with its own execArgv drops command-line preloads')
  t.equal(r.child.installed, false, 'command-line preloads do not reach child processes')
})

t.test('NODE_OPTIONS: every thread and every node child', async (t) => {
  const r = probe([], { NODE_OPTIONS: `--require ${REGISTER}` })
  t.same(r, { main: denied, worker: denied, workerOwnExecArgv: denied, child: denied })
})

t.test('--import: this process; worker threads do not run --import preloads (Node 20)', async (t) => {
  // The ESM entry, as `--import @apparmor-monkeys/core/register` resolves it (exports map).
  const r = probe(['--import', REGISTER_ESM])
  t.same(r.main, denied)
  t.equal(r.worker.installed, false)
  t.equal(r.child.installed, false)
})

t.test('a wrong configuration stops the process before the application runs', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ APPARMOR_MONKEYS_UNKNOWN: 'maybe' }, /APPARMOR_MONKEYS_UNKNOWN must be 'passthrough' or 'deny'/],
    [{ APPARMOR_MONKEYS_DENNY: 'curl' }, /did you mean APPARMOR_MONKEYS_DENY\?/],
    [{ APPARMOR_MONKEYS_CONFINE: 'node' }, /must be <command>=<profile>/],
    [{ APPARMOR_MONKEYS_LOG: '/nonexistent-aam/dir/log' }, /cannot be opened for appending/],
    [{ APPARMOR_MONKEYS_DISABLE: 'yes' }, /must be 1 or 0/],
    [{ APPARMOR_MONKEYS_PROFILE: 'two words' }, /APPARMOR_MONKEYS_PROFILE/],
  ]
  for (const [env, message] of cases) {
    for (const [flag, entry] of [['--require', REGISTER], ['--import', REGISTER_ESM]]) {
      const r = node([flag!, entry!, '-e', 'console.log("app ran")'], { env: cleanEnv(env) })
      t.not(r.status, 0, `${Object.keys(env)[0]} ${flag}`)
      t.equal(r.stdout, '')
      t.match(r.stderr, message)
      t.match(r.stderr, /ERR_AA_OPTIONS/)
    }
  }
})

t.test('the preload is one file, and the hooks built into it are the package’s hooks module (one installation per process)', async (t) => {
  const dist = path.dirname(REGISTER)
  const hooksFile = path.join(dist, 'intercept/install.js')
  const script = `
    const dist = ${JSON.stringify(dist)}
    const fromCache = require.cache[${JSON.stringify(hooksFile)}]
    const read = fromCache !== undefined && fromCache.loaded
    const core = require(dist)
    const intercept = require(dist + '/intercept')
    const hooks = require(${JSON.stringify(hooksFile)})
    const before = core.status().installed
    core.uninstall()
    const after = intercept.status().installed
    const out = require('node:child_process').execSync('echo hi', { encoding: 'utf8' })
    console.log(JSON.stringify({ read, esModule: hooks.__esModule === true, same: hooks.install === core.install && core.status === intercept.status, before, after, out }))`
  // The hooks are read from the preload's file (not intercept/install.js), and the package's
  // entries find that copy: its status is the preload's, and its uninstall() ends it.
  const r = node(['--require', REGISTER, '-e', script], { env: cleanEnv({}) })
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout), { read: true, esModule: true, same: true, before: true, after: false, out: 'hi\n' })
  t.notMatch(fs.readFileSync(REGISTER, 'utf8'), /require\("\.\/intercept\/install(\.js)?"\)/, 'the preload does not require the hooks file')
  // Loaded before the preload (another preload required the package first): that module is used.
  const first = node(['--require', hooksFile, '--require', REGISTER, '-e', script], { env: cleanEnv({}) })
  t.equal(first.status, 0, first.stderr)
  t.same(JSON.parse(first.stdout), { read: true, esModule: true, same: true, before: true, after: false, out: 'hi\n' })
})

t.test('the --import preload is one ES module: it loads no CommonJS file at start, and its hooks are the package’s hooks module', async (t) => {
  const dist = path.dirname(REGISTER)
  const hooksFile = path.join(dist, 'intercept/install.js')
  const script = `import { createRequire } from 'node:module'
    const require = createRequire(import.meta.url)
    const dist = ${JSON.stringify(dist)}
    const atStart = Object.keys(require.cache).filter((f) => f.startsWith(dist + '/')).map((f) => f.slice(dist.length + 1))
    const adopted = require.cache[${JSON.stringify(hooksFile)}]
    const intercept = require(dist + '/intercept')
    const events = []
    intercept.subscribe((e) => events.push(e.decision))
    const out = require('node:child_process').execSync('echo hi', { encoding: 'utf8' })
    console.log(JSON.stringify({ atStart, loaded: adopted?.loaded === true, same: intercept.install === adopted?.exports.install, installed: intercept.status().installed, out, events }))`
  const r = node(['--import', REGISTER_ESM, '--input-type=module', '-e', script], { env: cleanEnv({}) })
  t.equal(r.status, 0, r.stderr)
  t.same(
    JSON.parse(r.stdout),
    { atStart: ['intercept/install.js'], loaded: true, same: true, installed: true, out: 'hi\n', events: ['emulate'] },
    'only the hooks module, adopted from the preload (not read from its file); the package finds it',
  )
  t.match(fs.readFileSync(REGISTER_ESM, 'utf8'), /^import /, 'an ES module')
  t.notMatch(fs.readFileSync(REGISTER_ESM, 'utf8'), /require\("\.\/register(\.js)?"\)|from "\.\/register(\.js)?"/, 'which does not load the CommonJS entry')
})

t.test('APPARMOR_MONKEYS_DISABLE=1 turns the preload off', async (t) => {
  const r = node(['--require', REGISTER, '-e', `console.log(require(${JSON.stringify(path.join(path.dirname(REGISTER), 'intercept'))}).status().installed)`], {
    env: cleanEnv({ APPARMOR_MONKEYS_DISABLE: '1', APPARMOR_MONKEYS_DENY: 'curl' }),
  })
  t.equal(r.stdout, 'false\n', r.stderr)
})

t.test('confine rules from the environment fail closed when the profile cannot be applied', { skip: fs.existsSync('/sys/module/apparmor/parameters/enabled') && 'AppArmor is enabled here: covered by the VM suite' }, async (t) => {
  const script = `
    const marker = ${JSON.stringify(path.join(t.testdirName, 'ran'))}
    try { require('node:child_process').execSync('date > ' + marker) } catch (err) { console.log(err.name, err.code) }
    try { require('node:child_process').spawn('date') } catch (err) { console.log(err.name, err.code) }`
  fs.mkdirSync(t.testdirName, { recursive: true })
  const r = node(['--require', REGISTER, '-e', script], { env: cleanEnv({ APPARMOR_MONKEYS_CONFINE: 'date=some-profile' }) })
  t.equal(r.stdout, 'AppArmorError ERR_AA_DISABLED\nAppArmorError ERR_AA_DISABLED\n', r.stderr)
  t.notOk(fs.existsSync(path.join(t.testdirName, 'ran')))
  const boot = node(['--require', REGISTER, '-e', 'console.log("app ran")'], { env: cleanEnv({ APPARMOR_MONKEYS_PROFILE: 'web' }) })
  t.not(boot.status, 0, 'APPARMOR_MONKEYS_PROFILE fails closed')
  t.equal(boot.stdout, '')
})

t.test('the decision log: one JSON line per decision, appended, synchronous', async (t) => {
  const dir = t.testdir({})
  const log = path.join(dir, 'decisions.jsonl')
  const script = path.join(dir, 'app.js')
  fs.writeFileSync(script, "const cp = require('node:child_process')\ntry { cp.execSync('curl x') } catch {}\ncp.execFileSync('/bin/sleep', ['0'])\n")
  const env = cleanEnv({ APPARMOR_MONKEYS_LOG: log, APPARMOR_MONKEYS_DENY: 'curl' })
  for (let i = 0; i < 2; i++) t.equal(node(['--require', REGISTER, script], { env }).status, 0)
  const lines = fs.readFileSync(log, 'utf8').split('\n')
  t.equal(lines.pop(), '', 'newline-terminated')
  t.equal(lines.length, 4, 'two runs, appended')
  const records = lines.map((l) => JSON.parse(l))
  // By default no argv is logged (docs/security.md): program names and counts only.
  t.match(records[0], {
    time: /^\d{4}-\d\d-\d\dT/,
    pid: Number,
    command: 'sh -c …',
    programs: ['curl'],
    argc: 2,
    argv: 'omitted',
    file: '/bin/sh',
    decision: 'deny',
    reason: 'deny-rule',
    api: 'spawnSync',
    durationNs: Number,
    stack: new RegExp(`^at Object.<anonymous> \\(${script.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:`),
  })
  t.equal(records[0].args, undefined)
  t.match(records[1], { command: 'sleep …', file: '/bin/sleep', argc: 1, argv: 'omitted', decision: 'passthrough', reason: 'unknown' })
  t.notMatch(lines.join('\n'), /curl x|sleep 0/, 'no argument reaches the log')
  t.not(records[0].pid, records[2].pid)
  // APPARMOR_MONKEYS_LOG_ARGV=1: the whole event, as published on the diagnostics channel.
  const full = path.join(dir, 'full.jsonl')
  t.equal(node(['--require', REGISTER, script], { env: cleanEnv({ APPARMOR_MONKEYS_LOG: full, APPARMOR_MONKEYS_LOG_ARGV: '1', APPARMOR_MONKEYS_DENY: 'curl' }) }).status, 0)
  const fullRecords = fs.readFileSync(full, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  t.match(fullRecords[0], { command: 'curl x', file: '/bin/sh', args: ['-c', 'curl x'], decision: 'deny' })
  t.match(fullRecords[1], { command: '/bin/sleep 0', file: '/bin/sleep', args: ['0'], decision: 'passthrough', reason: 'unknown' })
  t.equal(fs.statSync(full).mode & 0o777, 0o600, 'created with mode 0600')
  const toStderr = node(['--require', REGISTER, script], { env: cleanEnv({ APPARMOR_MONKEYS_LOG: 'stderr', APPARMOR_MONKEYS_DENY: 'curl' }) })
  t.same(toStderr.stderr.trim().split('\n').map((l) => JSON.parse(l).decision), ['deny', 'passthrough'])
})

t.test('under the preload, child_process is not loaded at boot; its sync exports join at its first require (the runtime loads at their first call), one decision per call', async (t) => {
  const intercept = JSON.stringify(path.join(path.dirname(REGISTER), 'intercept'))
  const script = `
    const Module = require('node:module')
    const loadAtBoot = Module._load
    const atBoot = process.moduleLoadList.includes('NativeModule child_process')
    const events = []
    require(${intercept}).subscribe((e) => events.push(e.decision))
    // Counts the calls that reach the binding layer (the preload's hook is under this one).
    const binding = process.binding('spawn_sync')
    const hook = binding.spawn
    let viaBinding = 0
    binding.spawn = function (options) { viaBinding++; return hook.call(this, options) }
    // Destructured at the first require: already the API fast path, which answers emulated
    // calls without reaching the binding.
    const { execSync: early, spawnSync } = require('node:child_process')
    const unhooked = Module._load !== loadAtBoot
    const cp = require('child_process')
    const same = cp.execSync === early
    // Required, not used yet: the runtime (the decision machinery) is not loaded.
    const runtimeAtRequire = Object.keys(require.cache).some((f) => f.endsWith('runtime.js'))
    early('echo one')
    cp.execSync('echo two')
    spawnSync('echo three', { shell: true })
    console.log(JSON.stringify({ atBoot, unhooked, same, runtimeAtRequire, viaBinding, events }))`
  const r = node(['--require', REGISTER, '-e', script])
  t.same(JSON.parse(r.stdout), { atBoot: false, unhooked: true, same: true, runtimeAtRequire: false, viaBinding: 0, events: ['emulate', 'emulate', 'emulate'] }, r.stderr)
  // An ESM import does not go through require: the exports join at the first call, and the
  // named import (a live binding) follows.
  const esm = `import { execSync } from 'node:child_process'
    const before = execSync
    execSync('echo one')
    console.log(JSON.stringify({ followed: execSync !== before }))`
  const m = node(['--require', REGISTER, '--input-type=module', '-e', esm])
  t.same(JSON.parse(m.stdout.split('\n').filter(Boolean).pop() ?? 'null'), { followed: true }, m.stderr)
})

t.test('the first exec loads the shipped single-file build of the runtime (the emulator built in), and neither node:module nor node:crypto', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-first-exec-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const dist = path.dirname(REGISTER)
  // The emulator is a package of its own (its single-file build is its dist/index.js).
  const emulatorDist = fs.realpathSync(path.dirname(require.resolve('@apparmor-monkeys/emulator', { paths: [dist] })))
  const script = path.join(dir, 'first.js')
  // A script file: `node -e` loads node:module itself on some lines.
  fs.writeFileSync(
    script,
    `const out = require('node:child_process').execSync('getconf GNU_LIBC_VERSION', { encoding: 'utf8' })
    const builtins = ['module', 'crypto'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m))
    const files = Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(dist + path.sep)})).map((f) => f.slice(${dist.length + 1})).sort()
    const emulator = Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(emulatorDist + path.sep)})).map((f) => f.slice(${emulatorDist.length + 1})).sort()
    console.log(JSON.stringify({ out, builtins, files, emulator }))`,
  )
  // Unconfigured (the defaults come from the runtime), and with a decision log (the register
  // then reads its options with options.js).
  const plain = node(['--require', REGISTER, script], { env: cleanEnv({}) })
  t.equal(plain.status, 0, plain.stderr)
  const p = JSON.parse(plain.stdout) as { out: string; builtins: string[]; files: string[]; emulator: string[] }
  t.match(p.out, /^glibc \d+\.\d+\n$/)
  t.same(p.builtins, [], 'no node:module, no node:crypto')
  t.same(p.files, ['intercept/install.js', 'intercept/runtime.js', 'register.js'], 'three files of core: the preload, its hooks (with the compatibility checks built in), and the runtime')
  t.same(p.emulator, [], 'the emulator is built into the runtime: its package is not resolved')
  const events = node(['--require', REGISTER, script], { env: cleanEnv({ APPARMOR_MONKEYS_LOG: 'stderr' }) })
  t.equal(events.status, 0, events.stderr)
  t.equal(JSON.parse(events.stderr.trim()).decision, 'emulate', 'answered in-process')
  const r = JSON.parse(events.stdout) as { out: string; builtins: string[]; files: string[]; emulator: string[] }
  t.match(r.out, /^glibc \d+\.\d+\n$/)
  t.same(r.builtins, [], 'no node:module, no node:crypto')
  t.same(r.files, ['intercept/install.js', 'intercept/runtime.js', 'options.js', 'register.js'], 'options.js too when the environment configures the preload')
  t.same(r.emulator, [], 'and still no file of the emulator package')
  for (const f of [path.join(dist, 'intercept/runtime.js'), path.join(emulatorDist, 'index.js')]) t.match(fs.readFileSync(f, 'utf8'), /Generated by scripts\/bundle\.mjs/, `${f} is the loader of a single-file build`)
})

t.test('commands outside the boot lines are in a second bundle, loaded when a line first names one', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-split-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const dist = path.dirname(REGISTER)
  const script = path.join(dir, 'split.js')
  fs.writeFileSync(
    script,
    `const cp = require('node:child_process')
    const files = () => Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(dist + path.sep)})).map((f) => f.slice(${dist.length + 1})).sort()
    const boot = ['getconf GNU_LIBC_VERSION', 'uname -m', '( cat /etc/machine-id 2> /dev/null || hostname ) | head -n 1', 'ldd --version 2>&1 || true'].map((l) => cp.execSync(l, { encoding: 'utf8' }))
    const afterBoot = files()
    const split = ['id -u', "printf 'b\\na\\n' | sort | uniq | wc -l"].map((l) => cp.execSync(l, { encoding: 'utf8' }))
    console.log(JSON.stringify({ boot, afterBoot, split, afterSplit: files() }))`,
  )
  const r = node(['--require', REGISTER, script], { env: cleanEnv({ APPARMOR_MONKEYS_LOG: 'stderr' }) })
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { boot: string[]; afterBoot: string[]; split: string[]; afterSplit: string[] }
  const decisions = r.stderr.trim().split('\n').map((l) => (JSON.parse(l) as { decision: string }).decision)
  t.same(decisions, Array(6).fill('emulate'), 'every line answered in-process')
  t.match(out.boot[0], /^glibc \d+\.\d+\n$/)
  t.notOk(out.afterBoot.includes('intercept/runtime-commands.js'), 'the boot lines do not load the second bundle')
  t.same(out.split, [`${process.getuid!()}\n`, '2\n'], 'the split commands answer as the real ones would')
  t.ok(out.afterSplit.includes('intercept/runtime-commands.js'), 'a line naming id loads it')
  t.match(fs.readFileSync(path.join(dist, 'intercept/runtime-commands.js'), 'utf8'), /Generated by scripts\/bundle\.mjs/)
})

/** Source map `mappings` → for each generated line, its segments [column, source, line, column]. */
function decodeMappings(mappings: string): number[][][] {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const state = [0, 0, 0, 0]
  return mappings.split(';').map((line) => {
    state[0] = 0
    return line === ''
      ? []
      : line.split(',').map((seg) => {
          const values: number[] = []
          let value = 0
          let shift = 0
          for (const c of seg) {
            const d = B64.indexOf(c)
            value += (d & 31) << shift
            if (d & 32) shift += 5
            else {
              values.push(value & 1 ? -(value >>> 1) : value >>> 1)
              value = 0
              shift = 0
            }
          }
          return values.map((v, i) => (state[i] = (state[i] ?? 0) + v))
        })
  })
}

t.test('the bundles are wrapped as modules in their files, and their maps still point at the sources', async (t) => {
  const dist = path.join(path.dirname(REGISTER), 'intercept')
  for (const name of ['runtime.bundle.js', 'runtime-commands.bundle.js']) {
    const file = path.join(dist, name)
    const code = fs.readFileSync(file, 'latin1')
    t.match(code, /^\(function \(exports, require, module, __filename, __dirname\) \{\n/, `${name}: the CommonJS wrapper is in the file`)
    const map = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[]; mappings: string }
    const decoded = decodeMappings(map.mappings)
    const lines = code.split('\n')
    let checked = 0
    for (const m of code.matchAll(/function ([A-Za-z]\w{5,})\(/g)) {
      const before = code.slice(0, m.index)
      const line = before.split('\n').length - 1
      const column = m.index! - (before.lastIndexOf('\n') + 1)
      const seg = [...(decoded[line] ?? [])].reverse().find((s) => s[0]! <= column && s.length >= 4)
      if (seg === undefined) continue
      const source = map.sources[seg[1]!]!
      const text = map.sourcesContent?.[seg[1]!] ?? fs.readFileSync(path.resolve(dist, source), 'utf8')
      const original = text.split('\n')[seg[2]!] ?? ''
      if (!original.includes(m[1]!)) t.fail(`${name}:${line + 1}:${column} (${m[1]}) maps to ${source}:${seg[2]! + 1}: ${original.trim()}`)
      if (++checked === 40) break
    }
    t.ok(checked >= 20 && lines.length > 2, `${name}: ${checked} functions map to the lines that declare them`)
  }
})
