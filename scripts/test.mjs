// Runs the whole test suite with node-tap: unit tests, process-level fixtures, the differential
// emulation suite, the real-kernel suites (which boot the AppArmor VM) and the Redis suites.
// A suite whose prerequisites are missing is skipped loudly (or fails, with AAM_REQUIRE_VM=1).
//   node scripts/test.mjs                 everything (.taprc)
//   node scripts/test.mjs --kernel-only   only the suites that boot the AppArmor VM
// Ends with one plain line, `tests: N passed, N failed[, N skipped]`, taken from tap's summary.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

function vmSuites(dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) {
      if (!['node_modules', 'dist', 'guest', 'fixtures'].includes(e.name)) out.push(...vmSuites(p))
    } else if (e.name.endsWith('.test.ts') && readFileSync(p, 'utf8').includes('runVm(')) out.push(p)
  }
  return out
}

const files = process.argv.includes('--kernel-only') ? vmSuites('test').sort() : []
const child = spawn('node_modules/.bin/tap', files, { stdio: ['inherit', 'pipe', 'inherit'] })
let tail = ''
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  tail = (tail + chunk.toString('utf8')).slice(-4096)
})
child.on('close', (code, signal) => {
  const summary = /# \{ (total: \d+[^}]*) \}/.exec(tail)?.[1]
  if (summary) {
    const n = (key) => Number(new RegExp(`\\b${key}: (\\d+)`).exec(summary)?.[1] ?? 0)
    const skip = n('skip')
    process.stdout.write(`\ntests: ${n('pass')} passed, ${n('fail')} failed${skip ? `, ${skip} skipped` : ''}\n`)
  }
  process.exit(code ?? (signal ? 1 : 0))
})
