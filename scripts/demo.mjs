// The main job: boot a real AppArmor kernel (Debian's stock kernel under qemu), load the demo
// profiles, and show a Node process confining itself: its threads' labels, a forbidden read
// refused through sync and async fs, and the kernel's audit lines.
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { runVm, vmPrerequisites } = require(path.join(root, 'test/dist/vm/vm.js'))

const pre = vmPrerequisites()
if (!pre.ok) {
  console.error(`demo: the AppArmor VM is not ready: ${pre.reason}\n(run: sh scripts/setup.sh --vm, as root or with sudo)`)
  process.exit(1)
}
console.log('booting the AppArmor kernel under qemu (about 10 s)...')
const r = await runVm({
  profiles: [path.join(root, 'test/kernel/profiles/kernel.aa')],
  steps: [
    { name: 'prepare', argv: ['sh', '-c', 'echo top-secret > /tmp/secret'] },
    { name: 'demo', argv: ['aa-exec', '-p', 'aam-start', '--', process.execPath, path.join(root, 'scripts/demo-guest.cjs')], cwd: path.join(root, 'test') },
  ],
})
const demo = r.steps.find((s) => s.name === 'demo')
process.stdout.write(demo.stdout)
if (demo.stderr) process.stderr.write(demo.stderr)
console.log('\nkernel audit log during the demo:')
for (const line of demo.audit) console.log('  ' + line.replace(/^.*?apparmor=/, 'apparmor='))
console.log(`\n(boot ${(r.bootMs / 1000).toFixed(1)} s, total ${(r.totalMs / 1000).toFixed(1)} s)`)
process.exit(demo.status === 0 ? 0 : 1)
