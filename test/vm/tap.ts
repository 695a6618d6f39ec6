/// <reference types="tap" />
/**
 * Turns the TAP output of a guest `node --test-reporter=tap <file>` step (a runVm step of
 * @apparmor-monkeys/vm) into host node-tap assertions: one per guest test point, plus checks
 * that the guest run itself was sound. A test helper of this repository, not part of the vm
 * package (which does not depend on node-tap): the VM itself lives in packages/vm.
 */
import { Parser } from 'tap-parser'
import type { FinalResults, Result } from 'tap-parser'
import type { VmStepResult } from '@apparmor-monkeys/vm'

const STDERR_TAIL = 4000

/** Guest diagnostics worth showing on the host (node:test's YAML block, minus noise). */
function guestDiag(res: Result): Record<string, unknown> {
  const diag: Record<string, unknown> = {}
  if (res.diag && typeof res.diag === 'object') {
    for (const [k, v] of Object.entries(res.diag as Record<string, unknown>)) {
      if (k === 'duration_ms') continue
      diag[k === 'stack' ? 'guestStack' : k === 'error' ? 'guestError' : k] = v
    }
  }
  return diag
}

function isSuiteFailureOnly(res: Result): boolean {
  const diag = res.diag as Record<string, unknown> | null
  return !res.ok && diag !== null && diag['failureType'] === 'subtestsFailed'
}

/**
 * Asserts on `t`, for the guest step `step` (stdout = TAP from node:test): every guest test
 * point becomes a host assertion named by its full path (`suite > test`), failing ones carry
 * the guest's diagnostics. Also fails if the guest exited non-zero or timed out, if the plan
 * does not match the points seen, if the stream bailed out or broke, or if no test ran.
 */
export function assertGuestTap(t: tap.Test, step: VmStepResult): void {
  const label = `guest ${step.name}`
  let points = 0
  let results: FinalResults | undefined
  const lastChild = new Map<Parser, { name: string; asserts: number }>()

  const attach = (parser: Parser): void => {
    parser.on('child', (child: Parser) => {
      const info = { name: child.name, asserts: 0 }
      lastChild.set(parser, info)
      attach(child)
      child.on('assert', () => {
        info.asserts++
      })
    })
    parser.on('assert', (res: Result) => {
      // A parent point (suite, or test with subtests) after its children: its children were
      // already reported; report it only if it failed for a reason of its own (e.g. a hook).
      const child = lastChild.get(parser)
      if (child && child.name === res.name && child.asserts > 0) {
        lastChild.delete(parser)
        if (res.ok || isSuiteFailureOnly(res)) return
      }
      points++
      const name = `${label}: ${res.fullname || res.name}`
      if (res.skip !== false) t.pass(name, { skip: res.skip === true ? true : String(res.skip) })
      else if (res.todo !== false) t.pass(name, { todo: res.todo === true ? true : String(res.todo) })
      else if (res.ok) t.pass(name)
      else t.fail(name, guestDiag(res))
    })
  }

  const parser = new Parser((r: FinalResults) => {
    results = r
  })
  attach(parser)
  parser.end(step.stdout)

  const stderrTail = step.stderr.length > STDERR_TAIL ? `…${step.stderr.slice(-STDERR_TAIL)}` : step.stderr
  if (step.timedOut) t.fail(`${label}: timed out`, { stderr: stderrTail })
  if (step.status !== 0) {
    t.fail(`${label}: exited with ${step.signal ? `signal ${step.signal}` : `status ${step.status}`}`, {
      stderr: stderrTail,
    })
  }
  if (!results) {
    t.fail(`${label}: the TAP stream did not complete`, { stdout: step.stdout, stderr: stderrTail })
    return
  }
  if (results.bailout !== false) t.fail(`${label}: bailed out: ${String(results.bailout)}`)
  if (results.count === 0 || points === 0) {
    t.fail(`${label}: no guest test ran`, { stdout: step.stdout, stderr: stderrTail })
  }
  const plan = results.plan
  if (results.bailout === false && (plan.start !== 1 || plan.end !== results.count)) {
    t.fail(`${label}: plan ${plan.start}..${plan.end} does not match ${results.count} test points`)
  }
  for (const f of results.failures) {
    if ('tapError' in f && f.tapError) t.fail(`${label}: TAP error: ${f.tapError}`, { guest: f })
  }
}
