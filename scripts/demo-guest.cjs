// Runs inside the VM, started under the broad profile aam-start.
const fs = require('node:fs')
const core = require('../packages/core')

const show = (title) => {
  const labels = core.threadLabels()
  const groups = new Map()
  for (const t of labels) groups.set(t.raw, [...(groups.get(t.raw) ?? []), t.main ? `${t.tid}(main)` : String(t.tid)])
  console.log(`${title}: ${labels.length} threads`)
  for (const [label, tids] of groups) console.log(`  ${label.padEnd(24)} ${tids.join(' ')}`)
}
const attempt = async (what) => {
  const sync = (() => { try { fs.readFileSync('/tmp/secret'); return 'read OK' } catch (e) { return e.code } })()
  const asyncR = await fs.promises.readFile('/tmp/secret').then(() => 'read OK', (e) => e.code)
  console.log(`${what}: readFileSync(/tmp/secret) -> ${sync}; fs.promises.readFile -> ${asyncR}`)
}

;(async () => {
  console.log(`AppArmor: ${core.isEnabled().message}`)
  await attempt('before')
  show('threads before (libuv pool running)')
  const report = await core.confine('aam-target')
  console.log(`\nconfine('aam-target'): complete=${report.complete}, pool ${report.pool}, ${report.durationMs.toFixed(0)} ms`)
  const byReason = new Map()
  for (const t of report.unconfined) byReason.set(t.reason, [...(byReason.get(t.reason) ?? []), t.tid])
  for (const [reason, tids] of byReason) console.log(`  left as is: ${tids.join(' ')}: ${reason}`)
  show('threads after')
  await attempt('after ')
})().catch((e) => { console.error(e); process.exit(1) })
