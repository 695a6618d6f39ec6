// Real packages (detect-libc 1 and 2, a napi-rs style loader, node-machine-id, and the command
// lines other packages run; username, fullname, default-gateway and getos) on a real AppArmor
// kernel under a profile that lets only node exec.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import t from 'tap'
import { assertGuestTap } from '../vm/tap'
import { runVm, vmPrerequisites } from '@apparmor-monkeys/vm'
import { skipOrFail } from '../support/require-vm'

const guest = path.resolve(__dirname, '..', 'dist', 'packages', 'guest')
const SHIPPED = path.resolve(__dirname, '..', '..', 'packages', 'core', 'profiles')

/**
 * aam-node-only plus the shipped ip snippet (and change_profile to itself, so the exec-time
 * confine rule can restore its onexec): written here because the include names the snippet by
 * its absolute path in this checkout.
 */
function nodeIpProfile(dir: string): string {
  const file = path.join(dir, 'node-ip.aa')
  fs.writeFileSync(file, [
    'abi <abi/3.0>,',
    'include <tunables/global>',
    '@{NODE}=/usr/bin/node',
    'profile aam-node-ip {',
    '  include <abstractions/base>',
    `  include "${path.join(SHIPPED, 'abstractions', 'apparmor-monkeys-ip')}"`,
    '  change_profile -> aam-node-ip,',
    '  /** r,',
    '  @{NODE} ix,',
    '  /tmp/** rw,',
    '}',
    '',
  ].join('\n'))
  return file
}

t.test('real packages in the AppArmor VM', { skip: skipOrFail(vmPrerequisites()) }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-packages-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const r = await runVm({
    profiles: [path.join(__dirname, 'profiles', 'packages.aa'), path.join(SHIPPED, 'apparmor-monkeys-ip-route'), nodeIpProfile(dir)],
    steps: [
      { name: 'packages', argv: ['node', '--test-reporter=tap', path.join(guest, 'packages.test.js')], timeoutSec: 300 },
      // A default route for default-gateway to find (the guest has only lo).
      { name: 'route', argv: ['sh', '-c', 'ip route add 198.51.100.0/24 dev lo && ip route add 192.0.2.1/32 dev lo && ip route add default via 192.0.2.1 dev lo && ip -4 r'], timeoutSec: 30 },
      { name: 'everyday', argv: ['node', '--test-reporter=tap', path.join(guest, 'everyday.test.js')], timeoutSec: 300 },
    ],
  })
  for (const step of r.steps) {
    if (step.name === 'route') {
      t.equal(step.status, 0, `route setup: ${step.stderr}`)
      t.comment(`guest routes: ${JSON.stringify(step.stdout)}`)
    }
    else t.test(step.name, async (t) => assertGuestTap(t, step))
  }
})
