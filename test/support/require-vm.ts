/**
 * What a suite does when the AppArmor VM (or another prerequisite) is missing: skip loudly on
 * a developer machine, fail in CI. `.ci/run` sets AAM_REQUIRE_VM=1 so a skip cannot pass.
 */
export function skipOrFail(pre: { ok: true } | { ok: false; reason: string }, what = 'the AppArmor test VM'): false | string {
  if (pre.ok) return false
  const reason = `SKIPPED: ${what} is unavailable: ${pre.reason} (run: node packages/vm/dist/cli.js setup, or scripts/setup.sh --vm)`
  if (process.env.AAM_REQUIRE_VM === '1') {
    throw new Error(`${reason}; AAM_REQUIRE_VM=1 makes this a failure`)
  }
  process.stderr.write(`\n*** ${reason} ***\n\n`)
  return reason
}
