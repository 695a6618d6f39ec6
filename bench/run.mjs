#!/usr/bin/env node
// Runs every bench/*.mjs (except this file) and prints one table of ratios, all measured in
// this run. A bench file exports
//
//   export async function bench(): Promise<Array<{
//     name: string,        // what is measured
//     baseline: number,    // ms per operation without the feature (median)
//     candidate: number,   // ms per operation with it (median)
//     ratio: number,       // the number the bar applies to (see `bar`)
//     bar: string,         // '≤ 1.05' (ratio = candidate/baseline, lower is better) or
//                          // '≥ 500' (ratio = baseline/candidate, a speed-up)
//     pass: boolean,
//     unit?: string,       // set (e.g. 'MiB') when baseline/candidate are not ms: ratio is then
//                          // candidate - baseline in that unit, and `bar` says so
//   }>>
//
// and interleaves its A/B rounds (A, B, A, B, … with the order swapped every round) so that
// drift in machine load hits both sides alike; ratios are medians of per-round ratios.
// Usage: node bench/run.mjs [--json] [name-filter]   (exit status 1 if a bar is missed)
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const json = process.argv.includes('--json')
const filter = process.argv.slice(2).find((a) => !a.startsWith('--'))
const files = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => filter === undefined || f.includes(filter))
  .sort()

const rows = []
for (const file of files) {
  try {
    const mod = await import(pathToFileURL(join(here, file)).href)
    if (typeof mod.bench !== 'function') throw new Error('it does not export bench()')
    for (const row of await mod.bench()) rows.push({ file, ...row })
  } catch (err) {
    // One broken bench does not hide the others' numbers; it fails the run.
    process.stderr.write(`bench/${file}: ${err?.stack ?? err}\n`)
    rows.push({ file, name: `(failed: ${String(err?.message ?? err).split('\n')[0]})`, baseline: NaN, candidate: NaN, ratio: NaN, bar: '-', pass: false })
  }
}

if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
else {
  const fmt = (ms) => (Number.isNaN(ms) ? '-' : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`)
  // A row with `unit` (e.g. 'MiB') shows its values in that unit, and its ratio is a difference in it.
  const value = (r, v) => (r.unit === undefined ? fmt(v) : `${v.toFixed(1)} ${r.unit}`)
  const ratio = (r) => (r.unit === undefined ? r.ratio.toFixed(r.ratio >= 100 ? 0 : 3) : `${r.ratio >= 0 ? '+' : ''}${r.ratio.toFixed(2)} ${r.unit}`)
  const table = [['bench', 'measure', 'baseline', 'candidate', 'ratio', 'bar', ''], ...rows.map((r) => [r.file.replace(/\.mjs$/, ''), r.name, value(r, r.baseline), value(r, r.candidate), ratio(r), r.bar, r.pass ? 'pass' : 'FAIL'])]
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => String(row[i]).length)))
  for (const row of table) process.stdout.write(`${row.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()}\n`)
}
process.exitCode = rows.every((r) => r.pass) ? 0 : 1
