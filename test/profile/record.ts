/**
 * Records the real AppArmor audit records of the example apps (and of a minimal app, and of
 * `node -e 0`) for packages/core/test/profile/fixtures/records/: one VM boot loads bare
 * complain-mode learning profiles (examples.ts bareComplainProfiles: every access is logged
 * as ALLOWED), runs each app the way `apparmor-monkeys profile` runs it
 * (guest/run-example.ts), and writes each step's records. Run it with the node binary of the
 * line to record (the guest runs the same binary):
 *
 *   pnpm run build && "$(node scripts/nodes.mjs path 26)" test/dist/profile/record.js
 *
 * Not a test: the fixtures it writes are committed (see their README.md).
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { runVm } from '@apparmor-monkeys/vm'
import { bareComplainProfiles, exampleSpecs, repoRoot } from './examples'

async function main(): Promise<void> {
  const root = repoRoot()
  const line = `node${process.versions.node.split('.')[0]}`
  const outDir = path.join(root, 'packages', 'core', 'test', 'profile', 'fixtures', 'records', line)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-record-'))
  const specs = exampleSpecs()
  const profiles = [
    ...specs.map((s) => bareComplainProfiles(s)),
    bareComplainProfiles({ name: 'aam-min', children: [] }),
    // `node -e 0` in a profile of its own: what Node needs before any JavaScript of an app runs
    'abi <abi/3.0>,\ninclude <tunables/global>\nprofile aam-node-bare flags=(complain) {\n}\n',
  ].map((text, i) => {
    const file = path.join(tmp, `learn-${i}.aa`)
    fs.writeFileSync(file, text)
    return file
  })
  const runner = path.join(root, 'test', 'dist', 'profile', 'guest', 'run-example.js')
  const steps = [
    { name: 'node-e-0', argv: ['aa-exec', '-p', 'aam-node-bare', '--', 'node', '-e', '0'], timeoutSec: 60 },
    { name: 'minimal-app', argv: ['node', runner, 'minimal'], timeoutSec: 120 },
    ...specs.map((s) => ({ name: s.example, argv: ['node', runner, s.example], timeoutSec: 400 })),
  ]
  const r = await runVm({ profiles, steps, timeoutMs: 2_400_000 })
  fs.mkdirSync(outDir, { recursive: true })
  const summary: string[] = []
  for (const step of r.steps) {
    fs.writeFileSync(path.join(outDir, `${step.name}.log`), step.audit.map((l) => `${l}\n`).join(''))
    const counts = new Map<string, number>()
    for (const l of step.audit) {
      const key = /apparmor="(\w+)"/.exec(l)?.[1] ?? '?'
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    summary.push(`${step.name}: status ${step.status}, ${step.audit.length} records (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}), ${Math.round(step.durationMs)} ms`)
    if (step.status !== 0) summary.push(`  stdout: ${step.stdout.slice(-3000)}\n  stderr: ${step.stderr.slice(-3000)}`)
    else summary.push(`  ${step.stdout.trim().slice(0, 400)}`)
  }
  fs.rmSync(tmp, { recursive: true, force: true })
  process.stdout.write(`${process.version}: boot ${r.bootMs} ms, total ${r.totalMs} ms, profiles ${r.profilesLoaded.join(' ')}\n${summary.join('\n')}\n`)
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`)
  process.exit(1)
})
