'use strict'
// Guest driver of the test VM (stage 2, run as root by stage2.sh with the host's node).
// Reads <share>/manifest.json, loads the precompiled profiles, runs the steps in order and
// writes one result file per step to the share as soon as the step is done. Audit records
// (no auditd: the kernel prints them) are read from /dev/kmsg; a step's records are cut off
// by a barrier record this process provokes after the step, because kauditd prints
// asynchronously. Exit status 0 = every step ran (whatever the steps' own statuses).
//
// Share layout (written here): load.json, steps/<index>.json, driver-error.txt on a crash.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const share = process.argv[2] || '/mnt'
const PROFILES_FILE = '/sys/kernel/security/apparmor/profiles'
const BARRIER_WAIT_MS = 3000
const MAX_BUFFER = 256 * 1024 * 1024

function log(msg) {
  process.stdout.write(`aam-guest: ${msg}\n`)
}

function writeJson(file, value) {
  const tmp = `${file}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(value))
  fs.renameSync(tmp, file)
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** Non-blocking reader of new kernel log records (message text of each record). */
function openKmsg() {
  const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  const buf = Buffer.alloc(64 * 1024)
  return function drain() {
    const lines = []
    for (;;) {
      let n
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null)
      } catch (err) {
        if (err.code === 'EAGAIN') break
        if (err.code === 'EPIPE') continue // records overwritten before we read them
        throw err
      }
      const rec = buf.toString('utf8', 0, n)
      const semi = rec.indexOf(';')
      const nl = rec.indexOf('\n', semi + 1)
      lines.push(rec.slice(semi + 1, nl === -1 ? undefined : nl))
    }
    return lines
  }
}

/**
 * Provokes one audit record that names `tag` (change_profile to a profile that does not exist:
 * ENOENT, audited) and returns every apparmor= record printed up to it. kauditd prints in
 * queue order, so all records of the finished step come before the barrier.
 */
function collectAudit(drain, tag) {
  const lines = []
  const marker = `name="${tag}"`
  try {
    const fd = fs.openSync('/proc/self/attr/current', fs.constants.O_WRONLY)
    try {
      fs.writeSync(fd, `changeprofile ${tag}`)
    } catch (err) {
      if (err.code !== 'ENOENT') throw err
    } finally {
      fs.closeSync(fd)
    }
  } catch (err) {
    log(`barrier write failed (${err.code || err.message}); audit lines may be incomplete`)
    return drain().filter((l) => l.includes('apparmor='))
  }
  const deadline = Date.now() + BARRIER_WAIT_MS
  for (;;) {
    for (const l of drain()) {
      if (l.includes(marker)) return lines
      if (l.includes('apparmor=')) lines.push(l)
    }
    if (Date.now() > deadline) {
      log(`audit barrier ${tag} not seen after ${BARRIER_WAIT_MS} ms; audit lines may be incomplete`)
      return lines
    }
    sleepMs(5)
  }
}

function loadProfiles(manifest) {
  const result = { ok: true, message: '', profiles: [] }
  if (manifest.profilesBin) {
    const bin = path.join(share, manifest.profilesBin)
    const r = spawnSync('apparmor_parser', ['-r', '-K', '-B', bin], { encoding: 'utf8' })
    if (r.status !== 0) {
      result.ok = false
      result.message = `apparmor_parser -r -K -B failed (status ${r.status}${r.error ? `, ${r.error.code}` : ''}): ${r.stderr}${r.stdout}`
      return result
    }
  }
  const text = fs.readFileSync(PROFILES_FILE, 'utf8')
  for (const line of text.split('\n')) {
    const m = /^(.*) \(([^()]*)\)$/.exec(line)
    if (m) result.profiles.push(m[1])
  }
  return result
}

function runStep(step, index, manifest, drain) {
  const env = { ...manifest.baseEnv, ...(step.env || {}) }
  const timeoutMs = step.timeoutSec * 1000
  spawnSync('dmesg', ['-C']) // per-step segments for steps that read `dmesg` themselves
  drain()
  const t0 = process.hrtime.bigint()
  const r = spawnSync(step.argv[0], step.argv.slice(1), {
    cwd: step.cwd || manifest.repo,
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_BUFFER,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const durationMs = Number(process.hrtime.bigint() - t0) / 1e6
  const timedOut = r.error !== undefined && r.error.code === 'ETIMEDOUT'
  let stderr = r.stderr || ''
  if (r.error && !timedOut) stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}aam-guest: spawn failed: ${r.error.message}\n`
  const audit = collectAudit(drain, `aam-barrier-${process.pid}-${index}`)
  return {
    name: step.name,
    status: r.status,
    signal: r.signal,
    stdout: r.stdout || '',
    stderr,
    audit,
    durationMs: Math.round(durationMs * 10) / 10,
    timedOut,
  }
}

function main() {
  const up = fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]
  log(`driver started at guest uptime ${up}s`)
  const manifest = JSON.parse(fs.readFileSync(path.join(share, 'manifest.json'), 'utf8'))
  const drain = openKmsg()
  const load = loadProfiles(manifest)
  writeJson(path.join(share, 'load.json'), load)
  if (!load.ok) {
    log(load.message)
    return 2
  }
  log(`profiles loaded: ${load.profiles.join(', ') || '(none)'}`)
  fs.mkdirSync(path.join(share, 'steps'), { recursive: true })
  console.log('AAM-GUEST-READY')
  manifest.steps.forEach((step, i) => {
    const res = runStep(step, i, manifest, drain)
    writeJson(path.join(share, 'steps', `${i}.json`), res)
    log(
      `step ${i + 1}/${manifest.steps.length} ${JSON.stringify(step.name)}: ` +
        `status=${res.status} signal=${res.signal}${res.timedOut ? ' TIMED OUT' : ''} ` +
        `${res.durationMs} ms, ${res.audit.length} audit line(s)`,
    )
  })
  return 0
}

let rc
try {
  rc = main()
} catch (err) {
  const text = err && err.stack ? err.stack : String(err)
  log(`driver crashed: ${text}`)
  try {
    fs.writeFileSync(path.join(share, 'driver-error.txt'), text)
  } catch {
    // the share itself is broken; the console has the message
  }
  rc = 1
}
process.exitCode = rc
