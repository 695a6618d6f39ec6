// The public types, checked by the TypeScript compiler against the built declarations:
// fixtures/types/index.test-d.ts must compile (each @ts-expect-error catching its error, or tsc
// fails with TS2578), and negative.test-d.ts must fail on exactly the lines marked `// error`.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

const PKG = path.resolve(__dirname, '..')
const TYPES = path.join(__dirname, 'fixtures', 'types')
const TSC = require.resolve('typescript/bin/tsc')

function tsc(project: string) {
  return spawnSync(process.execPath, [TSC, '--noEmit', '-p', path.join(TYPES, project)], { cwd: PKG, encoding: 'utf8', timeout: 120_000 })
}

t.test('correct usage compiles and every wrong usage in index.test-d.ts is an error', async (t) => {
  const r = tsc('tsconfig.json')
  t.equal(r.status, 0, r.stdout + r.stderr)
})

t.test('the negative control fails on each marked line and nowhere else', async (t) => {
  const r = tsc('tsconfig.negative.json')
  t.not(r.status, 0)
  const text = fs.readFileSync(path.join(TYPES, 'negative.test-d.ts'), 'utf8').split('\n')
  const marked = text.flatMap((l, i) => (l.endsWith('// error') ? [i + 1] : []))
  const reported = [...new Set([...r.stdout.matchAll(/negative\.test-d\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1])))]
  t.ok(marked.length >= 3)
  t.same(reported, marked)
})
