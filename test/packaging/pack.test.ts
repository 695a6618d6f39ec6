// The packages as a user gets them (issue 16, "Ready to publish"): every package is packed with
// pnpm (which rewrites `workspace:` ranges) and the tarballs are installed with npm from the
// registry's point of view into fresh apps outside the workspace, next to Fastify 5, Express 4
// and 5, BullMQ 5 and 6 (with ioredis) from the registry:
//
//   cjs         CommonJS app: express 5, bullmq 6
//   esm         ES-module app: express 5, bullmq 6
//   esm-legacy  ES-module app: express 4, bullmq 5
//   ts          TypeScript, strict, module/moduleResolution nodenext (.mts and .cts)
//
// Then: every JavaScript/TypeScript block of the READMEs (the root one and each package's) is
// either a snippet, run here as written (`<!-- snippet: APP/FILE expect=ok|ERR_… -->` right above
// it: the block's text is the file), or says why it is not run (`<!-- not-run: reason -->`); an
// unmarked block fails. Snippets that need AppArmor run up to the coded error this kernel gives
// (ERR_AA_DISABLED: they fail closed). The tarballs hold LICENSE, README and CHANGELOG, their
// package.json no `workspace:`, their source and declaration maps resolve; ESM sees every
// CommonJS export; the CLI answers --version/--help on stdout and `audit --json` on stdout;
// arethetypeswrong (node16, bundler) and publint report nothing.
//
// The registry is needed: without it this suite skips, loudly (it fails with AAM_REQUIRE_VM=1,
// as .ci/run sets). The npm cache lives in the run's temporary directory, shared by its apps.
import t from 'tap'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'

const ROOT = path.resolve(__dirname, '..', '..')
const PACKAGES = ['core', 'emulator', 'fastify', 'express', 'cluster', 'bullmq', 'vm'] as const
const READMES = ['README.md', ...PACKAGES.map((p) => `packages/${p}/README.md`)]
const REQUIRE = process.env['AAM_REQUIRE_VM'] === '1'
const AAM_URL = 'https://github.com/apparmor-monkeys/apparmor-monkeys'
const hasAppArmor = fs.existsSync('/sys/module/apparmor/parameters/enabled')

t.setTimeout(20 * 60_000)

type App = 'cjs' | 'esm' | 'esm-legacy' | 'ts'

/** The environment of every child: none of the test runner's loaders, no APPARMOR_MONKEYS_*. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('APPARMOR_MONKEYS_') || k.startsWith('AAM_VM_') || k.startsWith('TAP') || k.startsWith('npm_')) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? cleanEnv(), encoding: 'utf8', timeout: opts.timeout ?? 120_000, maxBuffer: 64 << 20 })
}

const show = (r: SpawnSyncReturns<string>): string => `exit ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`.slice(-4000)

// ---------------------------------------------------------------------------------------------
// README snippets

interface Snippet {
  readonly readme: string
  readonly line: number
  readonly app: 'cjs' | 'esm' | 'ts'
  readonly file: string
  readonly expect: string
  readonly code: string
}

function readSnippets(): { snippets: Snippet[]; unmarked: string[]; notRun: string[] } {
  const snippets: Snippet[] = []
  const unmarked: string[] = []
  const notRun: string[] = []
  for (const readme of READMES) {
    const lines = fs.readFileSync(path.join(ROOT, readme), 'utf8').split('\n')
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w*)\s*$/.exec(lines[i] as string)
      if (open === null) continue
      let end = i + 1
      while (end < lines.length && lines[end] !== '```') end++
      const lang = open[1] as string
      const code = lines.slice(i + 1, end).join('\n') + '\n'
      let prev = i - 1
      while (prev >= 0 && (lines[prev] as string).trim() === '') prev--
      const marker = prev >= 0 ? (lines[prev] as string) : ''
      const where = `${readme}:${i + 1}`
      if (['js', 'javascript', 'mjs', 'cjs', 'ts', 'typescript'].includes(lang)) {
        const m = /^<!-- snippet: (cjs|esm|ts)\/([\w.-]+\.(?:cjs|mjs|mts|cts)) expect=(ok|ERR_[A-Z_]+) -->$/.exec(marker)
        if (m !== null) snippets.push({ readme, line: i + 1, app: m[1] as Snippet['app'], file: m[2] as string, expect: m[3] as string, code })
        else if (/^<!-- not-run: .+ -->$/.test(marker)) notRun.push(where)
        else unmarked.push(where)
      }
      i = end
    }
  }
  return { snippets, unmarked, notRun }
}

t.test('every JavaScript/TypeScript block of the READMEs is a snippet run here, or says why not', async (t) => {
  const { snippets, unmarked } = readSnippets()
  t.same(unmarked, [], 'no unmarked block')
  for (const readme of READMES) t.ok(snippets.some((s) => s.readme === readme), `${readme} has a snippet run here`)
  const files = snippets.map((s) => `${s.app}/${s.file}`)
  t.same(files, [...new Set(files)], 'each snippet has its own file')
  const first = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').slice(0, 45).join('\n')
  t.match(first, /npm install @apparmor-monkeys\/core/, 'the first screen: the install line')
  t.match(first, /<!-- snippet: esm\/getting-started\.mjs/, 'the getting-started snippet')
  t.match(first, /\(packages\/core\/README\.md\)[\s\S]*docs\/deployment\.md[\s\S]*examples\//, 'links to the package READMEs, deployment and examples')
  const blocks = [...first.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trim().split('\n').map((l) => l.replace(/\s+#.*$/, '')))
  t.same(blocks.at(-1), ['npm run demo', 'npm test'], "the contributors' block holds exactly the two commands")
})

// ---------------------------------------------------------------------------------------------
// Pack and install

const registry = run('npm', ['view', 'fastify@5', 'version', '--json'], { timeout: 60_000 })
const reachable = registry.status === 0
if (!reachable) {
  const why = `the npm registry is unreachable (npm view: ${registry.stderr.trim().split('\n').at(-1) ?? registry.error?.message})`
  if (REQUIRE) t.fail(`${why}; AAM_REQUIRE_VM=1 makes this a failure`)
  else {
    console.error(`\n*** test/packaging: SKIPPED: ${why} ***\n`)
    t.test('the packed-tarball suite', { skip: why }, async () => undefined)
  }
}

const tmp = reachable ? fs.mkdtempSync(path.join(os.tmpdir(), 'aam-pack-')) : ''
if (reachable) t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))
const npmEnv = (): NodeJS.ProcessEnv => cleanEnv({ npm_config_cache: path.join(tmp, 'npm-cache'), npm_config_update_notifier: 'false' })

const tarballs = new Map<string, string>()
const unpacked = new Map<string, string>()

t.test('pack: each tarball is complete on its own', { skip: !reachable }, async (t) => {
  const out = path.join(tmp, 'tarballs')
  fs.mkdirSync(out)
  for (const p of PACKAGES) {
    const r = run('pnpm', ['pack', '--pack-destination', out], { cwd: path.join(ROOT, 'packages', p) })
    t.equal(r.status, 0, `pnpm pack ${p}: ${show(r)}`)
  }
  for (const file of fs.readdirSync(out)) {
    const p = PACKAGES.find((name) => file.startsWith(`apparmor-monkeys-${name}-`))
    if (p === undefined) continue
    tarballs.set(p, path.join(out, file))
    const dir = path.join(tmp, 'unpacked', p)
    fs.mkdirSync(dir, { recursive: true })
    t.equal(run('tar', ['xzf', path.join(out, file), '-C', dir]).status, 0)
    unpacked.set(p, path.join(dir, 'package'))
  }
  t.same([...tarballs.keys()].sort(), [...PACKAGES].sort())
  const coreVersion = (JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/core/package.json'), 'utf8')) as { version: string }).version

  for (const [p, dir] of unpacked) {
    t.test(`@apparmor-monkeys/${p}`, async (t) => {
      for (const f of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']) t.ok(fs.existsSync(path.join(dir, f)), `${f} is in the tarball`)
      const license = fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8')
      t.match(license, /^MIT License\n\nCopyright \(c\) \d{4} apparmor-monkeys contributors\n/)
      const text = fs.readFileSync(path.join(dir, 'package.json'), 'utf8')
      t.notMatch(text, /workspace:/, 'no workspace: range left')
      const pkg = JSON.parse(text) as Record<string, any>
      t.equal(pkg['license'], 'MIT')
      t.same(pkg['repository'], { type: 'git', url: `git+${AAM_URL}.git`, directory: `packages/${p}` })
      t.equal(pkg['homepage'], `${AAM_URL}/tree/main/packages/${p}#readme`)
      t.same(pkg['bugs'], { url: `${AAM_URL}/issues` })
      // The emulator knows nothing of AppArmor; its keywords say what it is.
      t.ok(Array.isArray(pkg['keywords']) && pkg['keywords'].includes(p === 'emulator' ? 'child_process' : 'apparmor'), 'keywords')
      if (p === 'emulator') t.same(pkg['dependencies'] ?? {}, {}, 'the emulator has no dependencies')
      if (p === 'core') t.equal(pkg['dependencies']['@apparmor-monkeys/emulator'], `^${coreVersion}`, 'core depends on the emulator of its own release line')
      if (p === 'vm') {
        t.notOk(pkg['peerDependencies']?.['@apparmor-monkeys/core'] ?? pkg['dependencies']?.['@apparmor-monkeys/core'], 'the vm package does not need core')
        t.same(pkg['bin'], { 'apparmor-monkeys-vm': './dist/cli.js' })
        for (const f of ['init', 'stage2.sh', 'setup.sh', 'guest.cjs']) t.ok(fs.existsSync(path.join(dir, 'guest', f)), `guest/${f} is in the tarball`)
      } else if (p === 'core') {
        t.equal(pkg['peerDependencies']?.['@apparmor-monkeys/vm'], '>=0.1.0 <1.0.0', 'core: the vm package is a peer…')
        t.same(pkg['peerDependenciesMeta']?.['@apparmor-monkeys/vm'], { optional: true }, '…and optional')
      } else if (p !== 'emulator') {
        t.equal(pkg['peerDependencies']['@apparmor-monkeys/core'], '>=0.1.0 <1.0.0', 'a peer range a core 0.2.0 still satisfies')
        t.notOk(pkg['dependencies']?.['@apparmor-monkeys/core'], 'core is a peer, not a dependency')
      }
      t.ok(fs.readFileSync(path.join(dir, 'README.md'), 'utf8').includes(`npm install @apparmor-monkeys/${p}`), 'the README has the install line')
      t.match(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), /\n\| @apparmor-monkeys\/\w+ \| .*Node\.js/, 'and a compatibility table')
      t.match(fs.readFileSync(path.join(dir, 'CHANGELOG.md'), 'utf8'), new RegExp(`## ${pkg['version'].replace(/\./g, '\\.')}\\b`), 'the CHANGELOG covers this version')
      t.equal(pkg['version'], coreVersion, 'versioned together')

      // Every source map and declaration map, and every sourceMappingURL, resolves in the tarball.
      const maps: string[] = []
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const f = path.join(d, e.name)
          if (e.isDirectory()) walk(f)
          else if (e.name.endsWith('.map')) maps.push(f)
          else if (/\.(c|m)?js$/.test(e.name)) {
            const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(f, 'utf8'))?.[1]
            if (url !== undefined && !fs.existsSync(path.resolve(path.dirname(f), url))) t.fail(`${path.relative(dir, f)}: sourceMappingURL ${url} is not in the tarball`)
          }
        }
      }
      walk(path.join(dir, 'dist'))
      t.ok(maps.some((m) => m.endsWith('.d.ts.map')), 'declaration maps are shipped')
      let missing = 0
      for (const m of maps) {
        const map = JSON.parse(fs.readFileSync(m, 'utf8')) as { sources: string[]; sourceRoot?: string; sourcesContent?: (string | null)[] }
        for (const [i, s] of map.sources.entries()) {
          // A source built in from another package (core's runtime holds the emulator) travels
          // inside the map.
          if (typeof map.sourcesContent?.[i] === 'string') continue
          const target = path.resolve(path.dirname(m), map.sourceRoot ?? '', s)
          if (!target.startsWith(dir + path.sep) || !fs.existsSync(target)) {
            missing++
            if (missing <= 5) t.fail(`${path.relative(dir, m)}: source ${s} is not in the tarball`)
          }
        }
      }
      t.equal(missing, 0, `${maps.length} maps: every source resolves`)
    })
  }
})

t.test('arethetypeswrong (node16, bundler) and publint report nothing', { skip: !reachable }, async (t) => {
  const attw = path.join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js')
  const publint = path.join(ROOT, 'node_modules/publint/src/cli.js')
  for (const [p, tgz] of tarballs) {
    const a = run(process.execPath, [attw, tgz, '--profile', 'node16', '--format', 'json'])
    t.equal(a.status, 0, `attw ${p}: ${a.stderr}`)
    const problems = Object.values((JSON.parse(a.stdout) as { problems: Record<string, Array<{ resolutionKind?: string }>> }).problems)
      .flat()
      .filter((x) => x.resolutionKind !== 'node10')
    t.same(problems, [], `attw ${p}: no problem for node16 (CJS and ESM) and bundler`)
    const l = run(process.execPath, [publint, 'run', tgz, '--strict'])
    t.equal(l.status, 0, `publint ${p}: ${show(l)}`)
    t.match(l.stdout, /All good!/, `publint ${p}`)
  }
})

const apps = new Map<App, string>()

t.test('install the tarballs with npm into fresh apps outside the workspace', { skip: !reachable }, async (t) => {
  t.notOk(tmp.startsWith(ROOT), 'outside the workspace')
  const ours = PACKAGES.map((p) => tarballs.get(p) as string)
  const specs: Record<App, { type: 'commonjs' | 'module'; deps: string[] }> = {
    cjs: { type: 'commonjs', deps: ['fastify@5', 'express@5', 'bullmq@6', 'ioredis@5'] },
    esm: { type: 'module', deps: ['fastify@5', 'express@5', 'bullmq@6', 'ioredis@5'] },
    'esm-legacy': { type: 'module', deps: ['fastify@5', 'express@4', 'bullmq@5'] },
    ts: { type: 'commonjs', deps: ['fastify@5', 'express@5', '@types/express@5', 'bullmq@6', 'ioredis@5', 'typescript@5.9', '@types/node@20'] },
  }
  for (const [app, spec] of Object.entries(specs) as [App, (typeof specs)[App]][]) {
    const dir = path.join(tmp, 'apps', app)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `aam-${app}-app`, version: '1.0.0', private: true, type: spec.type }, null, 2))
    const started = Date.now()
    const r = run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...ours, ...spec.deps], { cwd: dir, env: npmEnv(), timeout: 600_000 })
    t.equal(r.status, 0, `npm install (${app}, ${Math.round((Date.now() - started) / 1000)} s): ${show(r)}`)
    t.equal(r.stderr.includes('ERESOLVE'), false, 'the peer ranges resolve')
    apps.set(app, dir)
  }
  const version = (dir: string, name: string) => (JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  t.match(version(apps.get('esm-legacy') as string, 'express'), /^4\./)
  t.match(version(apps.get('esm-legacy') as string, 'bullmq'), /^5\./)
  t.match(version(apps.get('esm') as string, 'express'), /^5\./)
  t.match(version(apps.get('esm') as string, 'bullmq'), /^6\./)
})

t.test('ESM sees every CommonJS export of every entry; the types compile under strict + nodenext', { skip: !reachable }, async (t) => {
  const esm = apps.get('esm') as string
  const entries = [...PACKAGES.map((p) => `@apparmor-monkeys/${p}`), '@apparmor-monkeys/core/adapter']
  fs.writeFileSync(
    path.join(esm, 'exports.mjs'),
    `import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const out = {}
for (const name of ${JSON.stringify(entries)}) {
  // fastify-plugin adds apparmorMonkeysFastify (its camel-cased name) at run time; it is not in
  // the plugin's types, so ESM need not see it.
  const cjs = Object.keys(require(name)).filter((k) => k !== '__esModule' && k !== 'apparmorMonkeysFastify')
  const esm = Object.keys(await import(name))
  out[name] = { missing: cjs.filter((k) => !esm.includes(k)), count: cjs.length }
}
const { apparmorMonkeys, default: plugin } = await import('@apparmor-monkeys/fastify')
out.fastifyNamed = typeof apparmorMonkeys === 'function' && apparmorMonkeys === plugin
console.log(JSON.stringify(out))
`,
  )
  const r = run(process.execPath, ['exports.mjs'], { cwd: esm })
  t.equal(r.status, 0, show(r))
  const out = JSON.parse(r.stdout) as Record<string, { missing: string[]; count: number }> & { fastifyNamed: boolean }
  for (const name of entries) {
    t.same(out[name]?.missing, [], `${name}: every export (${out[name]?.count}) has its ESM name`)
  }
  t.equal(out.fastifyNamed, true, "import { apparmorMonkeys } from '@apparmor-monkeys/fastify' works at run time")

  const ts = apps.get('ts') as string
  fs.mkdirSync(path.join(ts, 'src'), { recursive: true })
  fs.writeFileSync(
    path.join(ts, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, outDir: 'dist', rootDir: 'src', types: ['node'], skipLibCheck: false }, include: ['src'] }, null, 2),
  )
  fs.writeFileSync(
    path.join(ts, 'src', 'types.mts'),
    `import Fastify from 'fastify'
import plugin, { apparmorMonkeys } from '@apparmor-monkeys/fastify'
import express from 'express'
import { listenConfined } from '@apparmor-monkeys/express'
import { onWorkerFork, changeProfile } from '@apparmor-monkeys/cluster'
import { Worker } from 'bullmq'
import { startConfinedWorker } from '@apparmor-monkeys/bullmq'
import { addConfineRule, confine, ErrorCodes, isAppArmorError, type ConfineReport } from '@apparmor-monkeys/core'
import { adapterError, readOptions } from '@apparmor-monkeys/core/adapter'
import { isVmError, runVm, setupVm, VmErrorCodes, type VmRunResult } from '@apparmor-monkeys/vm'
import { answer, emulate, type EmulationRequest, type EmulationResult } from '@apparmor-monkeys/emulator'

export async function typesOnly(): Promise<void> {
  const request: EmulationRequest = { kind: 'exec', file: 'uname', args: ['-m'], argv0: 'uname', ctx: { env: {}, cwd: '/', uid: 0, gid: 0 } }
  const emulated: EmulationResult | null = emulate(request)
  const explained = answer(request)
  const why: string | undefined = 'declined' in explained ? explained.reason : undefined
  void [emulated?.stdout, why]
  const app = Fastify()
  await app.register(apparmorMonkeys, { profile: 'p', when: 'listen' })
  await app.register(plugin, { profile: 'p' })
  const state: 'pending' | 'confining' | 'confined' | 'failed' = app.apparmor.state
  const served = await listenConfined(express(), { profile: 'p', port: 0 })
  const port: number = served.address.port
  const handle = onWorkerFork(changeProfile('w'), { confirmTimeoutMs: 1000 })
  const started = await startConfinedWorker(Worker, 'q', async () => 1, { connection: {} }, { profile: 'p', onWorker: (w) => w.on('error', () => undefined), readyTimeoutMs: 10 })
  const report: ConfineReport = await confine('p', { strict: true })
  const remove: () => void = addConfineRule({ match: 'ip', profile: 'x' })
  const err: unknown = null
  if (isAppArmorError(err, ErrorCodes.NOT_READY)) console.log(err.operation, err.profile, err.errno)
  const o = readOptions('@x/y', {}, { known: ['profile'] })
  const boot = runVm
  const vm: VmRunResult = await boot({ profiles: ['a.aa', { path: 'b.aa', mode: 'complain' }], overlays: ['/srv'], steps: [{ name: 's', argv: ['true'], uid: 1000, background: true }] })
  const audit: string[] = vm.steps[0]?.audit ?? vm.audit
  if (isVmError(err, VmErrorCodes.NOT_READY)) console.log(err.code, (await setupVm({ check: true })).ready)
  void [state, port, handle, started.confinement.report, report.threads, remove, o.values, adapterError, audit]
}
`,
  )
  fs.writeFileSync(
    path.join(ts, 'src', 'types.cts'),
    `import apparmorMonkeys = require('@apparmor-monkeys/fastify')
import core = require('@apparmor-monkeys/core')
import { listenConfined } from '@apparmor-monkeys/express'

export const checks: unknown[] = [apparmorMonkeys, apparmorMonkeys.default, apparmorMonkeys.apparmorMonkeys, core.confine, core.ErrorCodes.DISABLED, listenConfined]
`,
  )
  // The TypeScript snippets of the READMEs are compiled with these (next test).
})

t.test('every README snippet runs as written, up to the coded error where AppArmor is needed', { skip: !reachable }, async (t) => {
  const { snippets } = readSnippets()
  const ts = apps.get('ts') as string
  const tsSnippets = snippets.filter((s) => s.app === 'ts')
  for (const s of tsSnippets) fs.writeFileSync(path.join(ts, 'src', s.file), s.code)
  const tsc = run(process.execPath, [path.join(ts, 'node_modules/typescript/bin/tsc'), '-p', ts])
  t.equal(tsc.status, 0, `tsc (strict, nodenext): ${show(tsc)}`)

  for (const s of snippets) {
    const targets: string[] = s.app === 'ts' ? [ts] : s.app === 'cjs' ? [apps.get('cjs') as string] : [apps.get('esm') as string, apps.get('esm-legacy') as string]
    for (const dir of targets) {
      const file = s.app === 'ts' ? path.join('dist', s.file.replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs')) : s.file
      if (s.app !== 'ts') fs.writeFileSync(path.join(dir, s.file), s.code)
      // No VM cache for the snippets (they run up to ERR_AA_VM_NOT_READY): an empty XDG cache.
      const r = run(process.execPath, [file], { cwd: dir, timeout: 60_000, env: cleanEnv({ XDG_CACHE_HOME: path.join(tmp, 'xdg-empty') }) })
      const name = `${s.readme}:${s.line} (${path.basename(dir)}/${s.file})`
      if (s.expect === 'ok') {
        t.equal(r.status, 0, `${name} runs: ${show(r)}`)
      } else if (hasAppArmor) {
        t.ok(r.status !== null, `${name} ends (this host has AppArmor: the outcome depends on its profiles)`)
      } else {
        t.not(r.status, 0, `${name} fails closed`)
        t.ok(r.signal === null, `${name}: exits by itself`)
        t.match(`${r.stdout}${r.stderr}`, s.expect, `${name}: ${s.expect}`)
      }
    }
  }
})

t.test('the register preload from the tarball, as the README starts it: --require and --import by name, each answering a first exec in-process', { skip: !reachable }, async (t) => {
  // The shipped single-file builds (the preload, its ES module form, the runtime and its code
  // cache) work from an npm install: nothing they load is missing from the tarball.
  const probe = `const cp = require('node:child_process')
    const out = cp.execSync('getconf GNU_LIBC_VERSION 2>&1 || true; ldd --version 2>&1 || true', { encoding: 'utf8' })
    const id = cp.execSync('id -u', { encoding: 'utf8' })
    console.log(JSON.stringify({ glibc: /^glibc \\d/.test(out), id: id.trim() }))`
  for (const [app, args] of [
    ['cjs', ['--require', '@apparmor-monkeys/core/register', '-e', probe]],
    ['esm', ['--import', '@apparmor-monkeys/core/register', '--input-type=module', '-e', `import { createRequire } from 'node:module'\nconst require = createRequire(import.meta.url)\n${probe}`]],
  ] as const) {
    const r = run(process.execPath, [...args], { cwd: apps.get(app) as string, env: cleanEnv({ APPARMOR_MONKEYS_LOG: 'stderr' }) })
    t.equal(r.status, 0, `${app} ${args[0]}: ${show(r)}`)
    t.same(JSON.parse(r.stdout), { glibc: true, id: String(process.getuid!()) }, `${app} ${args[0]}: the answers`)
    const decisions = r.stderr.trim().split('\n').map((l) => (JSON.parse(l) as { decision: string }).decision)
    t.same(decisions, ['emulate', 'emulate'], `${app} ${args[0]}: both lines answered in-process (the second from the split bundle)`)
  }
})

t.test('the CLI from the tarball: --version and --help on stdout, audit --json on stdout', { skip: !reachable }, async (t) => {
  const dir = apps.get('cjs') as string
  const bin = path.join(dir, 'node_modules', '.bin', 'apparmor-monkeys')
  const version = run(bin, ['--version'], { cwd: dir })
  t.equal(version.status, 0)
  t.equal(version.stdout, `${(JSON.parse(fs.readFileSync(path.join(unpacked.get('core') as string, 'package.json'), 'utf8')) as { version: string }).version}\n`)
  t.equal(version.stderr, '')
  const help = run(bin, ['--help'], { cwd: dir })
  t.equal(help.status, 0)
  t.match(help.stdout, /usage:[\s\S]*--out FILE/)
  t.equal(help.stderr, '')
  const usage = run(bin, ['nope'], { cwd: dir })
  t.equal(usage.status, 1)
  t.equal(usage.stdout, '')
  t.match(usage.stderr, /unknown command 'nope'\nusage:/)
  const audit = run(bin, ['audit', '--json', '--', process.execPath, '-e', "console.log(require('node:child_process').execSync('uname -s', { encoding: 'utf8' }).trim())"], { cwd: dir })
  t.equal(audit.status, 0, show(audit))
  const report = JSON.parse(audit.stdout) as Array<{ command: string; decision: string }>
  t.match(report, [{ command: 'uname -s', decision: 'emulate' }], '| jq gets the report')
  t.match(audit.stderr, /Linux/, "the command's own stdout went to stderr")
  const status = run(bin, ['status'], { cwd: dir })
  if (!hasAppArmor) {
    t.equal(status.status, 2)
    t.match(status.stdout, /NOT enabled[\s\S]*what to do:/)
  }
})

t.test('the vm CLI from the tarball: the bin resolves, setup --check answers like the workspace copy, core delegates', { skip: !reachable }, async (t) => {
  const dir = apps.get('cjs') as string
  const bin = path.join(dir, 'node_modules', '.bin', 'apparmor-monkeys-vm')
  const pkg = JSON.parse(fs.readFileSync(path.join(unpacked.get('vm') as string, 'package.json'), 'utf8')) as { version: string }
  const version = run(bin, ['--version'], { cwd: dir })
  t.equal(version.status, 0, show(version))
  t.equal(version.stdout, `${pkg.version}\n`)
  const empty = path.join(tmp, 'vm-empty')
  const missing = run(bin, ['setup', '--check'], { cwd: dir, env: cleanEnv({ AAM_VM_DIR: empty }) })
  t.equal(missing.status, 3, show(missing))
  t.match(missing.stderr, /missing: VM cache in .*vm-empty is absent or stale/)
  // The project's cache (or $AAM_VM_DIR): the installed package computes the same stamp as the workspace's copy.
  const cache = process.env['AAM_VM_DIR'] || path.join(ROOT, '.cache', 'vm')
  const installed = run(bin, ['setup', '--check'], { cwd: dir, env: cleanEnv({ AAM_VM_DIR: cache }) })
  const workspace = run(process.execPath, [path.join(ROOT, 'packages', 'vm', 'dist', 'cli.js'), 'setup', '--check'], { env: cleanEnv({ AAM_VM_DIR: cache }) })
  t.ok(installed.status === 0 || installed.status === 3, show(installed))
  t.equal(installed.status, workspace.status, `same answer for ${cache}: ${installed.stderr}`)
  const core = run(path.join(dir, 'node_modules', '.bin', 'apparmor-monkeys'), ['vm', '--version'], { cwd: dir })
  t.equal(core.stdout, `${pkg.version}\n`, `apparmor-monkeys vm delegates to the installed package: ${show(core)}`)
})
