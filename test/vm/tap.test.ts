// assertGuestTap on the host: real node:test TAP from a fixture, and hand-written edge cases.
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from './tap'
import type { VmStepResult } from '@apparmor-monkeys/vm'

interface Call {
  ok: boolean
  name: string
  extra: Record<string, unknown> | undefined
}

/** A stand-in for a tap Test that records assertions instead of making them. */
function recorder(): { t: tap.Test; calls: Call[] } {
  const calls: Call[] = []
  const rec = {
    pass: (name: string, extra?: Record<string, unknown>) => (calls.push({ ok: true, name, extra }), true),
    fail: (name: string, extra?: Record<string, unknown>) => (calls.push({ ok: false, name, extra }), false),
  }
  return { t: rec as unknown as tap.Test, calls }
}

function step(stdout: string, status: number | null = 0, extra: Partial<VmStepResult> = {}): VmStepResult {
  return { name: 'g', status, signal: null, stdout, stderr: '', audit: [], durationMs: 1, timedOut: false, ...extra }
}

t.test('node:test output: every point becomes an assertion, suites are not double-counted', async (t) => {
  const r = spawnSync(process.execPath, ['--test-reporter=tap', path.join(__dirname, 'fixtures', 'guest-fail.cjs')], {
    encoding: 'utf8',
  })
  const { t: rt, calls } = recorder()
  assertGuestTap(rt, step(r.stdout, r.status, { stderr: r.stderr }))
  t.same(
    calls.map((c) => [c.ok, c.name]),
    [
      [true, 'guest g: passes'],
      [false, 'guest g: fails'],
      [true, 'guest g: skipped'],
      [false, 'guest g: group > inner fails'],
      [false, 'guest g: exited with status 1'],
    ],
  )
  t.same(calls[2]?.extra, { skip: 'not here' })
  t.match(calls[1]?.extra, { guestError: /guest says no/, expected: 'expected', actual: 'actual' })
  t.match(calls[3]?.extra, { guestError: 'inner boom', guestStack: /guest-fail\.cjs/ })
})

t.test('a clean run gives only passing assertions', async (t) => {
  const { t: rt, calls } = recorder()
  assertGuestTap(rt, step('TAP version 13\nok 1 - a\n# Subtest: s\n    ok 1 - b\n    1..1\nok 2 - s\n1..2\n'))
  t.same(
    calls.map((c) => [c.ok, c.name]),
    [
      [true, 'guest g: a'],
      [true, 'guest g: s > b'],
    ],
  )
})

t.test('no test, a short plan, a crash and a timeout all fail', async (t) => {
  const cases: [string, VmStepResult, RegExp][] = [
    ['empty plan', step('TAP version 13\n1..0\n'), /no guest test ran/],
    ['no output', step(''), /no guest test ran/],
    ['plan mismatch', step('TAP version 13\nok 1 - a\n1..2\n'), /plan 1\.\.2 does not match 1 test points/],
    ['killed', step('TAP version 13\nok 1 - a\n1..1\n', null, { signal: 'SIGKILL', timedOut: true }), /signal SIGKILL/],
    ['bail out', step('TAP version 13\nok 1 - a\nBail out! db down\n'), /bailed out: db down/],
  ]
  for (const [what, s, re] of cases) {
    const { t: rt, calls } = recorder()
    assertGuestTap(rt, s)
    t.ok(
      calls.some((c) => !c.ok && re.test(c.name)),
      `${what}: ${JSON.stringify(calls.map((c) => c.name))}`,
    )
  }
})
