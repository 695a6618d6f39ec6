// Runs the whole test suite with node-tap: unit tests, process-level fixtures, the differential
// emulation suite, the real-kernel suites (which boot the AppArmor VM) and the Redis suites.
// A suite whose prerequisites are missing is skipped loudly (or fails, with AAM_REQUIRE_VM=1).
import { spawnSync } from 'node:child_process'

const args = process.argv.slice(2)
const kernelOnly = args.includes('--kernel-only')
const files = kernelOnly ? ['test/kernel/kernel.test.ts'] : []
const r = spawnSync('node_modules/.bin/tap', files, { stdio: 'inherit' })
process.exit(r.status ?? 1)
