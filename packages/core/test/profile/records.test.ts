// The audit record parser (src/profile/records.ts) on real lines: the kernel's own records of
// the examples in complain mode (fixtures/records/, recorded in the VM) and both line formats.
import * as fs from 'node:fs'
import * as path from 'node:path'
import t from 'tap'
import { parseFields, parseRecord, parseRecords, recordsFor } from '../../src/profile/records'

const FIXTURES = path.join(__dirname, 'fixtures', 'records')
const logs = ['node20', 'node26'].flatMap((d) => fs.readdirSync(path.join(FIXTURES, d)).map((f) => path.join(FIXTURES, d, f)))

t.test('every line of every recorded log parses, with its operation and profile', async (t) => {
  t.ok(logs.length >= 10, 'the recorded logs are there')
  for (const file of logs) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('apparmor='))
    const records = parseRecords(lines.join('\n'))
    t.equal(records.length, lines.length, `${path.basename(path.dirname(file))}/${path.basename(file)}: one record per line`)
    t.ok(records.every((r) => r.verdict === 'ALLOWED' && r.operation !== '' && r.profile !== ''), 'verdict, operation and profile read')
  }
})

t.test('file, network, signal, exec, capability and change_onexec fields', async (t) => {
  const open = parseRecord(
    'audit: type=1400 audit(1796611307.963:272): apparmor="ALLOWED" operation="open" profile="fastify-app-boot" name="/work/wt-profile/node_modules/.pnpm/fastify@5.12.8/node_modules/fastify/package.json" pid=163 comm="node" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
  )!
  t.match(open, { verdict: 'ALLOWED', operation: 'open', profile: 'fastify-app-boot', pid: 163, requested: 'r', denied: 'r', fsuid: 0, ouid: 0, serial: '1796611307.963:272' })
  t.equal(open.name, '/work/wt-profile/node_modules/.pnpm/fastify@5.12.8/node_modules/fastify/package.json')
  const net = parseRecord(
    'audit: type=1400 audit(1796611366.207:1931): apparmor="ALLOWED" operation="file_receive" profile="web-worker" pid=234 comm="node" laddr=127.0.0.1 lport=8080 faddr=127.0.0.1 fport=38214 family="inet" sock_type="stream" protocol=6 requested_mask="send receive" denied_mask="send receive"',
  )!
  t.match(net, { family: 'inet', sockType: 'stream', protocol: 6, requested: 'send receive' })
  t.equal(net.fields['lport'], '8080')
  const sig = parseRecord(
    'audit: type=1400 audit(1796611431.163:3281): apparmor="ALLOWED" operation="signal" profile="bullmq-worker" pid=274 comm="node" requested_mask="send" denied_mask="send" signal=term peer="bullmq-processor"',
  )!
  t.match(sig, { operation: 'signal', signal: 'term', peer: 'bullmq-processor', requested: 'send' })
  const exec = parseRecord(
    'audit: type=1400 audit(1796611363.191:1761): apparmor="ALLOWED" operation="exec" info="change_profile onexec" error=-13 profile="cluster-primary-boot" name="/usr/bin/node" pid=234 comm="node" target="web-worker"',
  )!
  t.match(exec, { operation: 'exec', info: 'change_profile onexec', name: '/usr/bin/node', target: 'web-worker' })
  t.equal(exec.fields['error'], '-13')
  const cap = parseRecord(
    'audit: type=1400 audit(1796611376.356:2304): apparmor="ALLOWED" operation="capable" info="optional: no audit" error=-1 profile="bullmq-worker-boot" pid=268 comm="node-MainThread" capability=14  capname="ipc_lock"',
  )!
  t.match(cap, { capname: 'ipc_lock', info: 'optional: no audit' })
  t.equal(cap.fields['capability'], '14', 'two spaces between fields')
  const denied = parseRecord(
    'audit: type=1400 audit(1796611705.880:74): apparmor="DENIED" operation="mknod" profile="aam-learn" name="/tmp/aam-learn-outside" pid=165 comm="node" requested_mask="c" denied_mask="c" fsuid=0 ouid=0',
  )!
  t.match(denied, { verdict: 'DENIED', operation: 'mknod', requested: 'c' })
})

t.test('hex-encoded values are decoded; audit.log lines parse like kmsg lines', async (t) => {
  const hex = parseRecord('audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="change_profile" info="label not found" error=-2 profile="unconfined" name=7420776F726B6572 pid=738 comm="node"')!
  t.equal(hex.name, 't worker')
  t.equal(hex.pid, 738, 'numeric fields are not hex-decoded')
  const spaced = parseFields('apparmor="ALLOWED" name=2F746D702F612062 comm=6E6F6465')
  t.same(spaced, { apparmor: 'ALLOWED', name: '/tmp/a b', comm: 'node' })
  const auditd = parseRecord(
    'type=AVC msg=audit(1700000000.123:456): apparmor="ALLOWED" operation="open" class="file" profile="app" name="/etc/hosts" pid=9 comm="node" requested_mask="r" denied_mask="r" fsuid=1000 ouid=0\x1dFSUID="app" OUID="root"',
  )!
  t.match(auditd, { verdict: 'ALLOWED', operation: 'open', profile: 'app', name: '/etc/hosts', fsuid: 1000, ouid: 0, serial: '1700000000.123:456' })
  t.equal(parseRecord('audit: type=1300 audit(1.2:3): arch=c000003e syscall=2'), null, 'not an AppArmor record')
})

t.test('recordsFor keeps the named profiles (and their null-children) and drops duplicates', async (t) => {
  const text = [
    'audit: type=1400 audit(1.0:1): apparmor="ALLOWED" operation="open" profile="app" name="/a" pid=1 comm="node" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
    'type=AVC msg=audit(1.0:1): apparmor="ALLOWED" operation="open" profile="app" name="/a" pid=1 comm="node" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
    'audit: type=1400 audit(1.0:2): apparmor="ALLOWED" operation="open" profile="other" name="/b" pid=1 comm="node" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
    'audit: type=1400 audit(1.0:3): apparmor="ALLOWED" operation="open" profile="app//null-/usr/bin/cat" name="/c" pid=1 comm="cat" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
  ].join('\n')
  t.same(
    recordsFor(parseRecords(text), ['app']).map((r) => r.name),
    ['/a', '/c'],
  )
})
