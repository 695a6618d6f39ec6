// Runs the test suite with node-tap on every supported Node line (scripts/nodes.mjs): the host
// suites (unit tests, process-level fixtures, the differential emulation suite, the Redis
// suites) on each line, and the real-kernel suites (which boot the AppArmor VM; the guest runs
// the host's files and the same node binary) on the oldest and the newest line.
// A suite whose prerequisites are missing is skipped loudly (or fails, with AAM_REQUIRE_VM=1).
//
//   node scripts/test.mjs                  everything, every line
//   node scripts/test.mjs --kernel-only    only the suites that boot the AppArmor VM
//   node scripts/test.mjs --host-only      only the host suites
//   node scripts/test.mjs --node 26[,22]   only these lines (the kernel suites run on each of them)
//   node scripts/test.mjs FILE|DIR…        only these test files, or those under DIR (with any of the above)
//
// Prints one summary line per Node line, then one plain line, `tests: N passed, N failed[, N
// skipped]`, over all of them; exits 0 only when every run passed.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { KERNEL_LINES, NODE_LINES, nodeFor } from './nodes.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
process.chdir(root)

const SKIP_DIRS = new Set(['node_modules', 'dist', 'guest', 'fixtures', '.cache', '.git', '.tap', 'coverage'])

function testFiles(dir) {
  const out = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...testFiles(p))
    } else if (e.name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

/** Suites that boot the AppArmor VM: they call runVm(). */
const isKernelSuite = (file) => fs.readFileSync(file, 'utf8').includes('runVm(')

function parseArgs(argv) {
  const opts = { kernel: true, host: true, lines: NODE_LINES.map((n) => n.line), kernelLines: [...KERNEL_LINES], files: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--kernel-only') opts.host = false
    else if (a === '--host-only') opts.kernel = false
    else if (a === '--node' || a.startsWith('--node=')) {
      const value = a === '--node' ? argv[++i] : a.slice('--node='.length)
      opts.lines = String(value ?? '')
        .split(',')
        .map(Number)
      for (const line of opts.lines) nodeFor(line) // throws on an unsupported line
      opts.kernelLines = opts.lines
    } else if (a.startsWith('-')) {
      console.error(`test.mjs: unknown option ${a}`)
      process.exit(1)
    } else opts.files.push(a)
  }
  return opts
}

/** Runs tap with one node binary over `files`; resolves with its counts (from tap's summary). */
function tap(bin, files) {
  return new Promise((resolve) => {
    const env = { ...process.env, PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH ?? ''}` }
    const child = spawn(bin, ['node_modules/tap/dist/esm/run.mjs', '--disable-coverage', ...files], { stdio: ['inherit', 'pipe', 'inherit'], env })
    let tail = ''
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk)
      tail = (tail + chunk.toString('utf8')).slice(-4096)
    })
    child.on('close', (code, signal) => {
      const summary = /# \{ (total: \d+[^}]*) \}/.exec(tail)?.[1]
      const n = (key) => Number(new RegExp(`\\b${key}: (\\d+)`).exec(summary ?? '')?.[1] ?? 0)
      const ok = code === 0 && summary !== undefined
      // A run that failed without a failing test (a crash, no summary) still counts one failure.
      const fail = n('fail') === 0 && !ok ? 1 : n('fail')
      resolve({ ok, pass: n('pass'), fail, skip: n('skip'), code, signal })
    })
  })
}

const opts = parseArgs(process.argv.slice(2))
const named = opts.files.flatMap((f) => (fs.statSync(f).isDirectory() ? testFiles(f) : [f]))
const all = (opts.files.length > 0 ? named : testFiles('packages').concat(testFiles('test'))).sort()
const kernelFiles = []
const hostFiles = []
for (const file of all) (isKernelSuite(file) ? kernelFiles : hostFiles).push(file)

const results = []
for (const line of opts.lines) {
  const node = nodeFor(line)
  if (!fs.existsSync(node.path)) {
    console.error(`test.mjs: Node ${node.version} is not installed (${node.path}); run: node scripts/nodes.mjs install`)
    results.push({ line, version: node.version, parts: [], missing: true })
    continue
  }
  const parts = []
  const runs = [
    ['host', opts.host ? hostFiles : []],
    ['kernel', opts.kernel && opts.kernelLines.includes(line) ? kernelFiles : []],
  ]
  for (const [kind, files] of runs) {
    if (files.length === 0) continue
    console.log(`\n# ── Node ${node.version}: ${kind} suites (${files.length} files) ──`)
    const started = Date.now()
    const result = await tap(node.path, files)
    parts.push({ kind, ...result, seconds: Math.round((Date.now() - started) / 1000) })
  }
  results.push({ line, version: node.version, parts })
}

console.log('')
let pass = 0
let fail = 0
let skip = 0
let ok = true
for (const r of results) {
  if (r.missing) {
    ok = false
    fail++
    console.log(`node ${r.version}: not installed`)
    continue
  }
  const text = r.parts.map((p) => {
    pass += p.pass
    fail += p.fail
    skip += p.skip
    if (!p.ok) ok = false
    return `${p.kind} ${p.pass} passed, ${p.fail} failed${p.skip ? `, ${p.skip} skipped` : ''} (${p.seconds} s)${p.ok ? '' : ` [exit ${p.code ?? p.signal}]`}`
  })
  console.log(`node ${r.version}: ${text.join('; ') || 'nothing to run'}`)
}
console.log(`tests: ${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}`)
process.exit(ok ? 0 : 1)
