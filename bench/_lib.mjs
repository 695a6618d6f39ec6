// Shared by the bench files: interleaved A/B rounds and the row format of bench/run.mjs.
import { randomInt } from 'node:crypto'
import { hrtime } from 'node:process'

export function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** A shuffled copy of `items` (Fisher–Yates). */
export function shuffled(items) {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** `x` rounded to `digits` decimals (for the rows' detail). */
export function round(x, digits = 1) {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Milliseconds per call of `fn`, over `n` calls (awaited when `fn` returns a promise). */
export async function perOp(fn, n) {
  const start = hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const r = fn()
    if (r && typeof r.then === 'function') await r
  }
  return Number(hrtime.bigint() - start) / 1e6 / n
}

/**
 * Interleaved A/B: `rounds` rounds, each timing `a` and `b` (order swapped every round), with
 * optional `setupA`/`setupB` run before each side (not timed). Returns medians and the median
 * of the per-round ratios b/a.
 */
export async function abRounds({ rounds, a, b = a, nA = 1, nB = nA, setupA, setupB, warmup = 1 }) {
  const as = []
  const bs = []
  for (let r = -warmup; r < rounds; r++) {
    const order = r % 2 === 0 ? ['a', 'b'] : ['b', 'a']
    const t = {}
    for (const side of order) {
      if (side === 'a') {
        setupA?.()
        t.a = await perOp(a, nA)
      } else {
        setupB?.()
        t.b = await perOp(b, nB)
      }
    }
    if (r >= 0) {
      as.push(t.a)
      bs.push(t.b)
    }
  }
  return { baseline: median(as), candidate: median(bs), ratio: median(bs.map((v, i) => v / as[i])) }
}

/** A row for a "candidate may cost at most `max` × baseline" bar. */
export function atMost(name, m, max) {
  return { name, baseline: m.baseline, candidate: m.candidate, ratio: m.ratio, bar: `≤ ${max}`, pass: m.ratio <= max }
}

/** A row for a "candidate must be at least `min` × faster" bar (ratio = baseline/candidate). */
export function atLeastFaster(name, m, min) {
  const ratio = 1 / m.ratio
  return { name, baseline: m.baseline, candidate: m.candidate, ratio, bar: `≥ ${min}`, pass: ratio >= min }
}
