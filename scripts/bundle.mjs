#!/usr/bin/env node
// The cold-path build step (after `tsc -b`, in `pnpm run build`): replaces a few of tsc's
// per-file outputs in a package's dist with single-file bundles of the same module, built by
// esbuild from the same sources, so that the first exec a process makes reads two files instead
// of ~65 (issue #13). Types and every other dist file stay tsc's.
//
// Each replaced file (`out`) becomes a small loader; the bundle is beside it (`X.bundle.js`,
// with its source map; the CommonJS wrapper is in the file, so it compiles as read), and so are V8 code caches of it (`X.bundle.v8-<V8 version>.cache`),
// one per Node binary this script finds (the one running it and the pinned lines in .cache):
// the loader compiles the bundle with the cache of the running V8 when there is one (the
// compile then costs a fraction: no parsing, and the functions a first exec runs come
// compiled), and without it otherwise (another V8, other flags, a stale cache: V8 rejects it
// and compiles as usual). The caches are made by running the bundles through the most common
// first exec line (see warm()), so the functions it needs are in the cache.
//
// A bundle inlines the modules its entry reaches, except those listed in `keep`: they stay
// separate files, required at their dist path, because other entries load them too and they
// hold state or classes that must exist once per process (the installed hooks, the error class
// that `instanceof` checks, the options, the diagnostics channel, other bundles). A module that
// is not kept must be stateless or private to the bundle.
//
// A bundle may `split` off modules that a first exec rarely needs (the emulator's less common
// commands) into a second bundle beside it (`split.out`, with its own loader and code cache),
// loaded when a line first names one of them: every byte of the first bundle is read, and its
// cache deserialised, at a process's first exec (~10 µs per KiB on this machine). Modules both
// need exist once: the split bundle takes them from the first one (its `__chunkModules`), and a
// split module may only be reached with a lazy `require()` (the command table), never imported.
//
//   node scripts/bundle.mjs            build every bundle below
//   node scripts/bundle.mjs --check    also list what each bundle inlined
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Each bundle: the package, its entry (a source file), the dist file it replaces, and the
 * source modules (files, or folders with every file under them) that stay separate.
 */
export const BUNDLES = [
  {
    pkg: 'packages/core',
    entry: 'src/intercept/runtime.ts',
    out: 'dist/intercept/runtime.js',
    // options.ts and diagnostics.ts are built in too: both are stateless but for diagnostics'
    // once-per-layer fail-open report, which only the runtime makes. Each separate file costs
    // a first exec ~1–3 ms of resolving, reading and compiling on this machine.
    keep: ['src/errors.ts', 'src/intercept/install.ts', 'src/intercept/lease.ts', 'src/kernel/', 'src/confine/'],
    // The emulator is built in from its sources (it is stateless: a second copy, when an app
    // also requires the package, answers the same). Requiring it by name costs a first exec
    // more than the rest of the load: Node's first package `exports` resolution and the realpath
    // of the link to it took 4.4–4.8 ms on this machine, and a second one from another folder
    // 1.3 ms more (measured in #13).
    inline: { '@apparmor-monkeys/emulator': 'packages/emulator/src/index.ts' },
    // Commands outside the lines services run at boot (detect-libc's getconf/ldd, machine-id's
    // cat/hostname/head, uname, true/false), with the modules only they use: 38 % of the bytes
    // a first exec would otherwise read (measured in #13: ~2.4 ms of a ~20 ms first call).
    split: {
      out: 'dist/intercept/runtime-commands.js',
      modules: [
        'info/getent',
        'info/git',
        'info/id',
        'info/ldconfig',
        'info/locale',
        'info/lsb-release',
        'info/lscpu',
        'info/nproc',
        'info/which',
        'info/whoami',
        'text/cut',
        'text/grep',
        'text/sed',
        'text/sort',
        'text/tr',
        'text/uniq',
        'text/wc',
      ].map((m) => `packages/emulator/src/commands/${m}.ts`),
    },
  },
  {
    // The hooks the register preload installs at every process start, with the compatibility
    // checks (stateless) built in: one file less to resolve, read and compile before the app's
    // first line. A plain file (no loader, no code cache: it is small). Only the modules in
    // `only` are built in; everything else it requires stays a require of its dist file.
    pkg: 'packages/core',
    entry: 'src/intercept/install.ts',
    out: 'dist/intercept/install.js',
    only: ['src/intercept/compat.ts'],
    plain: true,
  },
  {
    // The register preload with the hooks built in (register.ts makes that copy the module at
    // intercept/install.js's path): the preload is one file. Plain, as install.js.
    pkg: 'packages/core',
    entry: 'src/register.ts',
    out: 'dist/register.js',
    only: ['src/intercept/install.ts', 'src/intercept/compat.ts'],
    plain: true,
  },
  {
    // The --import entry, one ES module with the CommonJS entry and the hooks built in: an
    // --import start then loads no CommonJS file (Node's CommonJS loader set-up, which the
    // first one costs, measured ~1.7 ms in #13). The CommonJS bindings register.ts and the
    // hooks use (require, module, __filename, __dirname) are made from import.meta.url by the
    // banner; `module` is a Module of this file, the parent of the hooks' module (register.ts).
    pkg: 'packages/core',
    entry: 'src/register.mts',
    out: 'dist/register.mjs',
    only: ['src/register.ts', 'src/intercept/install.ts', 'src/intercept/compat.ts'],
    plain: true,
    format: 'esm',
    banner:
      "import { createRequire as __aamCreateRequire, Module as __AamModule } from 'node:module'\n" +
      "import { fileURLToPath as __aamFileURLToPath } from 'node:url'\n" +
      'const require = __aamCreateRequire(import.meta.url)\n' +
      'const __filename = __aamFileURLToPath(import.meta.url)\n' +
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'))\n" +
      'const module = new __AamModule(__filename, null)\n' +
      'module.filename = __filename\n',
  },
  {
    // The emulator package: its lazy command table becomes lazy module wrappers in one file.
    pkg: 'packages/emulator',
    entry: 'src/index.ts',
    out: 'dist/index.js',
    keep: [],
  },
]

/** The source file a relative specifier names (`./x` → x.ts or x/index.ts; `./x.js` → x.ts). */
function sourceOf(fromDir, spec) {
  const base = path.resolve(fromDir, spec)
  for (const file of [`${base}.ts`, path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')]) {
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) return file
  }
  return undefined
}

function keepPlugin(bundle, split) {
  const pkgDir = path.join(root, bundle.pkg)
  const src = path.join(pkgDir, 'src')
  const outDir = path.dirname(path.join(pkgDir, bundle.out))
  const kept = (bundle.keep ?? []).map((k) => path.join(pkgDir, k))
  const only = bundle.only?.map((k) => path.join(pkgDir, k))
  const entry = path.join(pkgDir, bundle.entry)
  const isKept = (file) =>
    file !== entry && (only !== undefined ? !only.includes(file) : kept.some((k) => (k.endsWith(path.sep) ? file.startsWith(k) : file === k)))
  return {
    name: 'keep-shared-modules',
    setup(b) {
      // The glue of a split (see splitPlans): virtual modules whose `./` requires are loaders.
      if (split !== undefined) {
        b.onResolve({ filter: /.*/, namespace: 'aam-virtual' }, (args) => (args.path.startsWith('./') ? { path: args.path, external: true } : undefined))
        b.onLoad({ filter: /.*/, namespace: 'aam-virtual' }, (args) => ({ contents: split.virtual.get(args.path), loader: 'js', resolveDir: outDir }))
      }
      for (const [name, file] of Object.entries(bundle.inline ?? {})) {
        const filter = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`)
        b.onResolve({ filter }, () => ({ path: path.join(root, file) }))
      }
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = sourceOf(args.resolveDir, args.path)
        // A module of the bundle that requires the entry (lazily: options.ts's default
        // emulator) gets the loader, that is the module itself, never a second copy.
        if (file === entry) return { path: `./${path.basename(bundle.out)}`, external: true }
        const glue = file === undefined ? undefined : split?.resolve(file, args)
        if (glue !== undefined) return glue
        if (file === undefined || !isKept(file)) return undefined
        // The kept module's dist file, relative to the bundle (tsc mirrors src/ into dist/).
        const dist = path.join(pkgDir, 'dist', path.relative(src, file)).replace(/\.[mc]?ts$/, '.js')
        let rel = path.relative(outDir, dist).split(path.sep).join('/')
        if (!rel.startsWith('.')) rel = `./${rel}`
        return { path: rel, external: true }
      })
    },
  }
}

/** A module's name between bundles: its path from the repository's root. */
const relName = (file) => path.relative(root, file).split(path.sep).join('/')

/**
 * The plugin options of the three builds of a bundle with `split` (see the header): `probe`
 * (the first bundle without its split modules, to learn what it holds), `chunk` (the split
 * bundle: what the first holds is taken from it), `main` (the first bundle, exposing those).
 */
function splitPlans(bundle) {
  const pkgDir = path.join(root, bundle.pkg)
  const splitFiles = new Set(bundle.split.modules.map((m) => path.join(root, m)))
  for (const f of splitFiles) if (!statSync(f, { throwIfNoEntry: false })?.isFile()) throw new Error(`bundle.mjs: split module ${f} does not exist`)
  const chunkLoader = `./${path.basename(bundle.split.out)}`
  const mainLoader = `./${path.basename(bundle.out)}`
  const virtual = new Map()
  // In the first bundle a split module is a lazy require of the split bundle's exports.
  const toChunk = (file, args) => {
    if (!splitFiles.has(file)) return undefined
    if (args.kind !== 'require-call') throw new Error(`bundle.mjs: ${relName(file)} is split off, but ${relName(args.importer)} imports it (only a lazy require may reach it)`)
    const key = `chunk:${relName(file)}`
    virtual.set(key, `module.exports = require(${JSON.stringify(chunkLoader)})[${JSON.stringify(relName(file))}]`)
    return { path: key, namespace: 'aam-virtual' }
  }
  const shared = new Set()
  const mainInputs = new Set()
  const chunk = {
    virtual,
    resolve: (file) => {
      if (splitFiles.has(file) || !mainInputs.has(file)) return undefined
      shared.add(relName(file))
      const key = `shared:${relName(file)}`
      virtual.set(key, `module.exports = require(${JSON.stringify(mainLoader)}).__chunkModules[${JSON.stringify(relName(file))}]`)
      return { path: key, namespace: 'aam-virtual' }
    },
  }
  // The split bundle's entry: each split module by name, initialised when first asked for.
  const chunkEntry = [...splitFiles]
    .map((f) => `Object.defineProperty(exports, ${JSON.stringify(relName(f))}, { enumerable: true, get: () => require(${JSON.stringify(f)}) })`)
    .join('\n')
  // The first bundle's entry: the entry's exports, and the modules the split bundle takes.
  const mainEntry = () =>
    `export * from ${JSON.stringify(path.join(pkgDir, bundle.entry))}\n` +
    `export const __chunkModules = {\n${[...shared].sort().map((r) => `  get ${JSON.stringify(r)}() { return require(${JSON.stringify(path.join(root, r))}) },`).join('\n')}\n}\n`
  return { splitFiles, mainInputs, chunkEntry, mainEntry, probe: { virtual, resolve: toChunk }, chunk, main: { virtual, resolve: toChunk } }
}

/** The loader that replaces `out`: compiles the bundle beside it, with a code cache when one fits. */
function loaderSource(bundleName, names, encoding, scriptName) {
  // The names the bundle exports, in a form cjs-module-lexer reads (never run): without it an
  // ESM \`import { answer } from '@apparmor-monkeys/emulator'\` finds no named export.
  const hint = names.length > 0 ? `0 && (module.exports = { ${names.join(', ')} })\n` : ''
  return `'use strict'
// Generated by scripts/bundle.mjs: the code of this module is in ${bundleName} (one file, built
// from the sources under src/), compiled with the V8 code cache beside it when one was made for
// this V8 (${bundleName.replace(/\.js$/, '')}.v8-<version>.cache); without it, as any module.
const fs = require('node:fs')
const { Script } = require('node:vm')
const file = __dirname + '/${bundleName}'
/** Reads up to size bytes of fd into buf; how many it read. */
function readInto(fd, buf, size) {
  let n = 0
  for (let got; n < size && (got = fs.readSync(fd, buf, n, size - n, n)) > 0; ) n += got
  return n
}
// The source and the cache are read into one buffer, one after the other (the source is a
// string before the cache is read): each fresh page costs the first exec a fault.
const fd = fs.openSync(file, 'r')
let cacheFd = -1
let source
let cachedData
try {
  try {
    cacheFd = fs.openSync(file.slice(0, -3) + '.v8-' + process.versions.v8 + '.cache', 'r')
  } catch {}
  const size = fs.fstatSync(fd).size
  const cacheSize = cacheFd === -1 ? 0 : fs.fstatSync(cacheFd).size
  const buf = Buffer.allocUnsafeSlow(Math.max(size, cacheSize))
  source = buf.toString('${encoding}', 0, readInto(fd, buf, size))
  // A cache cut short is not used (V8 would reject it anyway).
  if (cacheSize > 0 && readInto(cacheFd, buf, cacheSize) === cacheSize) cachedData = buf.subarray(0, cacheSize)
} finally {
  fs.closeSync(fd)
  if (cacheFd !== -1) fs.closeSync(cacheFd)
}
// The file is already wrapped as a CommonJS module (no concatenation: V8 would copy the source once more).
// Its frames are named ${scriptName}, not by the file's path: V8 11 (Node 20) names a script
// compiled from a code cache as the cache's maker did (the path where the package was built),
// whatever the path given here.
const script = new Script(source, { filename: ${JSON.stringify(scriptName)}, cachedData })
Object.defineProperty(module, 'codeCache', { value: () => script.createCachedData() })
script.runInThisContext().call(exports, exports, require, module, file, __dirname)
${hint}`
}

/** The export names of a built bundle (loaded in a child process: this one stays clean). */
function exportNames(bundleFile) {
  // The file is wrapped (wrapAsModule): run it as the loader does.
  const load = `const file = ${JSON.stringify(bundleFile)}, m = { exports: {} }
    require('node:vm').runInThisContext(require('node:fs').readFileSync(file, 'latin1'), { filename: file })
      .call(m.exports, m.exports, require('node:module').createRequire(file), m, file, require('node:path').dirname(file))
    process.stdout.write(JSON.stringify(Object.keys(m.exports)))`
  const r = spawnSync(process.execPath, ['-e', load], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`bundle.mjs: ${bundleFile} does not load: ${r.stderr}`)
  return JSON.parse(r.stdout).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default')
}

/**
 * `import * as fs from 'node:fs'` becomes `__toESM(require("node:fs"))` in a bundle: a copy of
 * every export of the builtin, made when the bundle loads, once per importing module (~14 for
 * fs in the emulator). A namespace import that never reads `.default` works on the builtin's
 * exports object itself, so those copies are dropped (same length: the source map stays right).
 */
function unwrapBuiltins(file) {
  let code = readFileSync(file, 'utf8')
  // `var x = __toESM(…)` at the top level, `x = __toESM(…)` inside a lazy module's init.
  code = code.replace(/(?<![\w$.])((?:var )?([\w$]+)\s*=\s*)__toESM\((require\("node:[\w/]+"\))\)/g, (all, decl, name, req) =>
    new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}\\.default\\b`).test(code) ? all : `${decl}${req}${' '.repeat('__toESM()'.length)}`,
  )
  writeFileSync(file, code)
}

/** Where a bundle's pieces are. */
function pieces(bundle) {
  const out = path.join(root, bundle.pkg, bundle.out)
  const bundleFile = out.replace(/\.js$/, '.bundle.js')
  return { out, bundleFile, cachePrefix: bundleFile.replace(/\.js$/, '.v8-') }
}

async function bundleAll(check) {
  const { build } = await import('esbuild')
  for (const bundle of BUNDLES) {
    const pkgDir = path.join(root, bundle.pkg)
    const outDir = path.dirname(path.join(pkgDir, bundle.out))
    const { out, bundleFile } = pieces(bundle)
    const options = (outfile, plugin, input) => ({
      ...input,
      outfile,
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      // Other packages (a workspace package included) stay `require`s: one copy per process.
      packages: 'external',
      format: bundle.format ?? 'cjs',
      ...(bundle.banner === undefined ? {} : { banner: { js: bundle.banner } }),
      target: 'node20',
      sourcemap: true,
      // Sources built in from another package are not in this package's tarball: their text
      // goes into the map (trimmed to those below); the package's own sources ship beside it.
      sourcesContent: bundle.inline !== undefined,
      legalComments: 'none',
      // Whitespace and syntax only: names stay, so stack traces read as the sources do. Less
      // source to read and hash at every first exec (the code cache still needs the source).
      minifyWhitespace: true,
      minifySyntax: true,
      // Non-ASCII characters are escaped, so the loader reads the file as latin1 (no UTF-8 decoding).
      charset: 'ascii',
      logLevel: 'warning',
      metafile: true,
      tsconfig: path.join(pkgDir, 'tsconfig.json'),
      plugins: [plugin],
    })
    const entry = { entryPoints: [path.join(pkgDir, bundle.entry)] }
    if (bundle.plain) {
      // A plain bundle replaces tsc's output of the entry itself.
      const result = await build(options(out, keepPlugin(bundle), entry))
      unwrapBuiltins(out)
      if (check) listInputs(bundle, result)
      continue
    }
    if (bundle.split === undefined) {
      const result = await build(options(bundleFile, keepPlugin(bundle), entry))
      finishBundle(bundle, bundleFile, out)
      if (check) listInputs(bundle, result)
      continue
    }
    // With a split: learn what the first bundle holds, build the split bundle over it, then
    // the first bundle exposing what the split one takes from it.
    const plans = splitPlans(bundle)
    const probe = await build({ ...options(bundleFile, keepPlugin(bundle, plans.probe), entry), write: false })
    for (const f of Object.keys(probe.metafile.inputs)) if (!f.includes(':')) plans.mainInputs.add(path.resolve(root, f))
    const chunkBundle = { ...bundle, out: bundle.split.out }
    const chunk = pieces(chunkBundle)
    const stdin = (contents, sourcefile) => ({ stdin: { contents, resolveDir: outDir, sourcefile, loader: 'js' } })
    const chunkResult = await build(options(chunk.bundleFile, keepPlugin(bundle, plans.chunk), stdin(plans.chunkEntry, 'split-entry.js')))
    const mainResult = await build(options(bundleFile, keepPlugin(bundle, plans.main), stdin(plans.mainEntry(), 'entry.js')))
    for (const f of Object.keys(mainResult.metafile.inputs)) {
      if (plans.splitFiles.has(path.resolve(root, f))) throw new Error(`bundle.mjs: ${f} is split off but built into ${bundle.out}`)
    }
    finishBundle(bundle, bundleFile, out)
    finishBundle(chunkBundle, chunk.bundleFile, chunk.out)
    if (check) {
      listInputs(bundle, mainResult)
      listInputs(chunkBundle, chunkResult)
    }
  }
}

/**
 * The name a bundle's code runs under (its stack frames, the code cache's script name): the
 * package's name and the file's path in it, the same on every machine. The interception's
 * caller stacks leave out frames so named (src/intercept/diagnostics.ts).
 */
function scriptName(bundle, bundleFile) {
  const pkgDir = path.join(root, bundle.pkg)
  const { name } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
  return `${name}/${path.relative(pkgDir, bundleFile).split(path.sep).join('/')}`
}

/** A built bundle's loader (replacing `out`), its map trimmed, its stale code caches removed. */
function finishBundle(bundle, bundleFile, out) {
  const { cachePrefix } = pieces(bundle)
  unwrapBuiltins(bundleFile)
  if (bundle.inline !== undefined) keepForeignSourcesContent(`${bundleFile}.map`, path.join(root, bundle.pkg))
  wrapAsModule(bundleFile)
  // An ASCII file reads the same as latin1, which V8 takes without decoding.
  const encoding = /^[\x00-\x7f]*$/.test(readFileSync(bundleFile, 'latin1')) ? 'latin1' : 'utf8'
  // tsc's output of the entry (and its map) give way to the loader.
  writeFileSync(out, loaderSource(path.basename(bundleFile), exportNames(bundleFile), encoding, scriptName(bundle, bundleFile)))
  rmSync(`${out}.map`, { force: true })
  for (const f of readdirSync(path.dirname(out))) {
    const p = path.join(path.dirname(out), f)
    if (p.startsWith(cachePrefix)) rmSync(p)
  }
}

/** A map's embedded source text is kept only for sources outside the package's directory (or on no disk). */
function keepForeignSourcesContent(mapFile, pkgDir) {
  const map = JSON.parse(readFileSync(mapFile, 'utf8'))
  const base = path.dirname(mapFile)
  // A virtual module of the build (the split's glue, `aam-virtual:…`, or a stdin entry) is on
  // no disk: its text stays too.
  map.sourcesContent = map.sources.map((s, i) => {
    const file = path.resolve(base, s)
    return file.startsWith(pkgDir + path.sep) && statSync(file, { throwIfNoEntry: false })?.isFile() ? null : map.sourcesContent[i]
  })
  writeFileSync(mapFile, JSON.stringify(map))
}

/**
 * Puts the CommonJS wrapper around a bundle in its file, on a line of its own (the map moves by
 * that line), so the loader compiles the file's text as it is read: wrapping it at load time
 * made a second string that V8 copies flat before compiling (~37 fresh pages, ~0.9 ms of a
 * first exec here).
 */
function wrapAsModule(file) {
  const code = readFileSync(file, 'latin1')
  const url = /\n\/\/# sourceMappingURL=[^\n]*\n?$/.exec(code)
  const body = url === null ? code : code.slice(0, url.index)
  const trailer = url === null ? '' : url[0].replace(/\n?$/, '\n')
  writeFileSync(file, `(function (exports, require, module, __filename, __dirname) {\n${body}\n})${trailer}`, 'latin1')
  const map = JSON.parse(readFileSync(`${file}.map`, 'utf8'))
  map.mappings = `;${map.mappings}`
  writeFileSync(`${file}.map`, JSON.stringify(map))
}

/** `--check`: what a bundle inlined, and what it requires. */
function listInputs(bundle, result) {
  const inputs = Object.keys(result.metafile.inputs)
  process.stdout.write(`${bundle.pkg}/${bundle.out}: ${inputs.length} modules inlined\n  ${inputs.join('\n  ')}\n`)
  for (const o of Object.values(result.metafile.outputs)) for (const i of o.imports ?? []) if (i.external) process.stdout.write(`  external: ${i.path}\n`)
}

/**
 * In a process of the Node whose cache is made: loads the bundles through their loaders, runs
 * the most common first exec line through the interception (answered in-process), and writes
 * each bundle's code cache for this V8.
 */
async function warm() {
  const { createRequire } = await import('node:module')
  const require = createRequire(import.meta.url)
  const cp = require('node:child_process')
  const core = path.join(root, 'packages/core/dist')
  const { install, uninstall } = require(path.join(core, 'intercept/index.js'))
  const run = (lines) => {
    for (const line of lines) {
      try {
        cp.execSync(line, { stdio: 'pipe' })
      } catch {}
    }
  }
  /** Each loaded bundle's cache as it is now (the functions compiled so far are in it). */
  const caches = new Map()
  const take = (bundles) => {
    for (const bundle of bundles) {
      const { out, cachePrefix } = pieces(bundle)
      const mod = require.cache[out]
      if (mod?.codeCache !== undefined && !caches.has(cachePrefix)) caches.set(cachePrefix, mod.codeCache())
    }
  }
  install()
  try {
    // The first bundles' caches hold what the most common first exec needs, detect-libc's
    // line (getconf, alone and with its ldd fallback), no more: every byte of a cache is read
    // and deserialised at every process's first exec, and a function outside it is compiled
    // only by the process that calls it. Measured in #13: with node-machine-id's pipeline and
    // `uname -m` in it too (227 KiB instead of 190), a first `getconf` paid ~1 ms more, and the
    // boot that runs all three lines gained nothing measurable from them.
    run([
      'getconf GNU_LIBC_VERSION',
      'getconf GNU_LIBC_VERSION 2>&1 || true; ldd --version 2>&1 || true',
    ])
    take(BUNDLES)
    // Then the split bundles' commands.
    run(['id -u; nproc; which sh', 'lscpu | grep -c . | wc -l', "printf 'b\\na\\n' | sort | uniq | cut -c1 | tr a-z A-Z | sed -n 1p"])
    take(BUNDLES.filter((b) => b.split !== undefined).map((b) => ({ ...b, out: b.split.out })))
  } finally {
    uninstall()
  }
  for (const [cachePrefix, data] of caches) {
    const tmp = `${cachePrefix}${process.versions.v8}.cache.tmp`
    writeFileSync(tmp, data)
    renameSync(tmp, `${cachePrefix}${process.versions.v8}.cache`)
  }
}

/** The Node binaries to make code caches for: this one and the pinned lines found in .cache. */
async function nodes() {
  const { NODE_LINES, nodeFor } = await import(pathToFileURL(path.join(root, 'scripts/nodes.mjs')).href)
  const found = new Set([process.execPath])
  for (const { line } of NODE_LINES) {
    const bin = nodeFor(line).path
    if (statSync(bin, { throwIfNoEntry: false })?.isFile()) found.add(bin)
  }
  return [...found]
}

if (process.argv.includes('--warm')) await warm()
else {
  await bundleAll(process.argv.includes('--check'))
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('APPARMOR_MONKEYS_')))
  for (const bin of await nodes()) {
    const r = spawnSync(bin, [fileURLToPath(import.meta.url), '--warm'], { env, stdio: ['ignore', 'inherit', 'inherit'] })
    // A cache is an optimisation: a Node that cannot make one leaves its V8 without one.
    if (r.status !== 0) process.stderr.write(`scripts/bundle.mjs: no code cache from ${bin} (exit ${r.status})\n`)
  }
}
