#!/usr/bin/env node
// The cold-path build step (after `tsc -b`, in `pnpm run build`): replaces a few of tsc's
// per-file outputs in a package's dist with single-file bundles of the same module, built by
// esbuild from the same sources, so that the first exec a process makes reads two files instead
// of ~65 (issue #13). Types and every other dist file stay tsc's.
//
// Each replaced file (`out`) becomes a small loader; the bundle is beside it (`X.bundle.js`,
// with its source map), and so are V8 code caches of it (`X.bundle.v8-<V8 version>.cache`),
// one per Node binary this script finds (the one running it and the pinned lines in .cache):
// the loader compiles the bundle with the cache of the running V8 when there is one (the
// compile then costs a fraction: no parsing, and the functions a first exec runs come
// compiled), and without it otherwise (another V8, other flags, a stale cache: V8 rejects it
// and compiles as usual). The caches are made by running the bundles through the exec lines
// services run at boot (see warm()), so the functions those need are in the cache.
//
// A bundle inlines the modules its entry reaches, except those listed in `keep`: they stay
// separate files, required at their dist path, because other entries load them too and they
// hold state or classes that must exist once per process (the installed hooks, the error class
// that `instanceof` checks, the options, the diagnostics channel, other bundles). A module that
// is not kept must be stateless or private to the bundle.
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

function keepPlugin(bundle) {
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
      for (const [name, file] of Object.entries(bundle.inline ?? {})) {
        const filter = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`)
        b.onResolve({ filter }, () => ({ path: path.join(root, file) }))
      }
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = sourceOf(args.resolveDir, args.path)
        // A module of the bundle that requires the entry (lazily: options.ts's default
        // emulator) gets the loader, that is the module itself, never a second copy.
        if (file === entry) return { path: `./${path.basename(bundle.out)}`, external: true }
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

/** The loader that replaces `out`: compiles the bundle beside it, with a code cache when one fits. */
function loaderSource(bundleName, names, encoding) {
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
let cachedData
try {
  cachedData = fs.readFileSync(file.slice(0, -3) + '.v8-' + process.versions.v8 + '.cache')
} catch {}
const script = new Script(module.constructor.wrap(fs.readFileSync(file, '${encoding}')), { filename: file, cachedData })
Object.defineProperty(module, 'codeCache', { value: () => script.createCachedData() })
script.runInThisContext().call(exports, exports, require, module, file, __dirname)
${hint}`
}

/** The export names of a built bundle (loaded in a child process: this one stays clean). */
function exportNames(bundleFile) {
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(Object.keys(require(${JSON.stringify(bundleFile)}))))`], { encoding: 'utf8' })
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
    const { out, bundleFile, cachePrefix } = pieces(bundle)
    const result = await build({
      entryPoints: [path.join(pkgDir, bundle.entry)],
      // A plain bundle replaces tsc's output of the entry itself.
      outfile: bundle.plain ? out : bundleFile,
      bundle: true,
      platform: 'node',
      // Other packages (a workspace package included) stay `require`s: one copy per process.
      packages: 'external',
      format: 'cjs',
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
      plugins: [keepPlugin(bundle)],
    })
    if (bundle.plain) {
      unwrapBuiltins(out)
      if (check) listInputs(bundle, result)
      continue
    }
    unwrapBuiltins(bundleFile)
    if (bundle.inline !== undefined) keepForeignSourcesContent(`${bundleFile}.map`, pkgDir)
    // An ASCII file reads the same as latin1, which V8 takes without decoding.
    const encoding = /^[\x00-\x7f]*$/.test(readFileSync(bundleFile, 'latin1')) ? 'latin1' : 'utf8'
    // tsc's output of the entry (and its map) give way to the loader.
    writeFileSync(out, loaderSource(path.basename(bundleFile), exportNames(bundleFile), encoding))
    rmSync(`${out}.map`, { force: true })
    for (const f of readdirSync(path.dirname(out))) {
      const p = path.join(path.dirname(out), f)
      if (p.startsWith(cachePrefix)) rmSync(p)
    }
    if (check) listInputs(bundle, result)
  }
}

/** A map's embedded source text is kept only for sources outside the package's directory. */
function keepForeignSourcesContent(mapFile, pkgDir) {
  const map = JSON.parse(readFileSync(mapFile, 'utf8'))
  const base = path.dirname(mapFile)
  map.sourcesContent = map.sources.map((s, i) => (path.resolve(base, s).startsWith(pkgDir + path.sep) ? null : map.sourcesContent[i]))
  writeFileSync(mapFile, JSON.stringify(map))
}

/** `--check`: what a bundle inlined, and what it requires. */
function listInputs(bundle, result) {
  const inputs = Object.keys(result.metafile.inputs)
  process.stdout.write(`${bundle.pkg}/${bundle.out}: ${inputs.length} modules inlined\n  ${inputs.join('\n  ')}\n`)
  for (const o of Object.values(result.metafile.outputs)) for (const i of o.imports ?? []) if (i.external) process.stdout.write(`  external: ${i.path}\n`)
}

/**
 * In a process of the Node whose cache is made: loads the bundles through their loaders, runs
 * the exec lines that services run at boot through the interception (answered in-process), and
 * writes each bundle's code cache for this V8.
 */
async function warm() {
  const { createRequire } = await import('node:module')
  const require = createRequire(import.meta.url)
  const cp = require('node:child_process')
  const core = path.join(root, 'packages/core/dist')
  const { install, uninstall } = require(path.join(core, 'intercept/index.js'))
  install()
  try {
    for (const line of [
      'getconf GNU_LIBC_VERSION',
      'getconf GNU_LIBC_VERSION 2>&1 || true; ldd --version 2>&1 || true',
      '( cat /var/lib/dbus/machine-id /etc/machine-id 2> /dev/null || hostname ) | head -n 1 || :',
      'uname -m',
    ]) {
      try {
        cp.execSync(line, { stdio: 'pipe' })
      } catch {}
    }
    await new Promise((resolve) => cp.exec('uname -m', resolve))
  } finally {
    uninstall()
  }
  for (const bundle of BUNDLES) {
    const { out, cachePrefix } = pieces(bundle)
    const mod = require.cache[out]
    if (mod?.codeCache === undefined) continue
    const tmp = `${cachePrefix}${process.versions.v8}.cache.tmp`
    writeFileSync(tmp, mod.codeCache())
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
