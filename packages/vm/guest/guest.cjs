'use strict'
// Guest driver of the VM (stage 2, run as root by stage2.sh with the host's node).
// Reads <work>/manifest.json, mounts the run's shares, overlays and out dir, loads the
// precompiled profiles, runs the steps in order (background steps stay running) and writes one
// result file per step to the work share as soon as the step is done. Audit records (no auditd:
// the kernel prints them) are read from /dev/kmsg all the time; a step's records are cut off by
// a barrier record this process provokes after the step, because kauditd prints asynchronously.
// Exit status 0 = every step ran (whatever the steps' own statuses).
//
// Work share layout (written here): load.json, steps/<index>.json, audit.json, driver-error.txt
// on a crash.

const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const work = process.argv[2] || '/mnt'
const PROFILES_FILE = '/sys/kernel/security/apparmor/profiles'
const BARRIER_WAIT_MS = 3000
const POLL_MS = 20
const MAX_OUTPUT = 256 * 1024 * 1024
const BACKGROUND_GRACE_MS = 2000
const NINEP = 'trans=virtio,version=9p2000.L,msize=524288'

function log(msg) {
  process.stdout.write(`aam-guest: ${msg}\n`)
}

function writeJson(file, value) {
  const tmp = `${file}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(value))
  fs.renameSync(tmp, file)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Every `apparmor=` record the kernel prints, read from /dev/kmsg without blocking and kept in
 * order in `records`. It is drained every POLL_MS while anything runs, so a flood cannot
 * overrun the ring buffer between steps.
 */
function kmsgReader() {
  const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  const buf = Buffer.alloc(64 * 1024)
  const records = []
  let overrun = 0
  function drain() {
    for (;;) {
      let n
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null)
      } catch (err) {
        if (err.code === 'EAGAIN') break
        if (err.code === 'EPIPE') {
          overrun++ // records overwritten before we read them
          continue
        }
        throw err
      }
      const rec = buf.toString('utf8', 0, n)
      const semi = rec.indexOf(';')
      const nl = rec.indexOf('\n', semi + 1)
      const line = rec.slice(semi + 1, nl === -1 ? undefined : nl)
      if (line.includes('apparmor=')) records.push(line)
      else if (/audit: (backlog limit exceeded|audit_lost=)|callbacks suppressed/.test(line)) {
        records.push(line) // losses are reported where they happened
        log(`kernel: ${line}`)
      }
    }
  }
  const timer = setInterval(drain, POLL_MS)
  timer.unref()
  return { records, drain, overrun: () => overrun }
}

let barriers = 0
const barrierPrefix = `name="aam-barrier-${process.pid}-`

/**
 * Provokes one audit record that names a fresh tag (change_profile to a profile that does not
 * exist: ENOENT, audited) and returns the records from `from` up to it. kauditd prints in
 * queue order, so every record printed before the barrier comes before it.
 */
async function auditSince(kmsg, from) {
  const tag = `aam-barrier-${process.pid}-${barriers++}`
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
    kmsg.drain()
    return { lines: kmsg.records.slice(from).filter((l) => !l.includes(barrierPrefix)), end: kmsg.records.length }
  }
  const deadline = Date.now() + BARRIER_WAIT_MS
  for (;;) {
    kmsg.drain()
    const at = kmsg.records.findIndex((l, i) => i >= from && l.includes(marker))
    if (at !== -1) return { lines: kmsg.records.slice(from, at).filter((l) => !l.includes(barrierPrefix)), end: at + 1 }
    if (Date.now() > deadline) {
      log(`audit barrier ${tag} not seen after ${BARRIER_WAIT_MS} ms; audit lines may be incomplete`)
      return { lines: kmsg.records.slice(from).filter((l) => !l.includes(barrierPrefix)), end: kmsg.records.length }
    }
    await sleep(5)
  }
}

function mount(args) {
  const r = spawnSync('mount', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')} failed (status ${r.status}${r.error ? `, ${r.error.code}` : ''}): ${r.stderr}`)
}

/** Shares read-only, overlays writable (tmpfs upper over the share), the out dir read-write, each at its host path. */
function mountAll(mounts) {
  let n = 0
  for (const m of mounts) {
    fs.mkdirSync(m.path, { recursive: true }) // exists through the host root, or lies under a guest tmpfs
    if (m.kind === 'share') mount(['-t', '9p', '-o', `${NINEP},ro,cache=loose`, m.tag, m.path])
    else if (m.kind === 'out') mount(['-t', '9p', '-o', `${NINEP},rw`, m.tag, m.path])
    else {
      const dir = `/run/aam-overlay/${n++}`
      fs.mkdirSync(`${dir}/lower`, { recursive: true })
      fs.mkdirSync(`${dir}/rw`, { recursive: true })
      mount(['-t', '9p', '-o', `${NINEP},ro,cache=loose`, m.tag, `${dir}/lower`])
      mount(['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', `${dir}/rw`])
      fs.mkdirSync(`${dir}/rw/upper`)
      fs.mkdirSync(`${dir}/rw/work`)
      // The upper's root takes the lower root's owner and mode, so the app's own user can write.
      const st = fs.statSync(`${dir}/lower`)
      fs.chownSync(`${dir}/rw/upper`, st.uid, st.gid)
      fs.chmodSync(`${dir}/rw/upper`, st.mode & 0o7777)
      mount(['-t', 'overlay', '-o', `lowerdir=${dir}/lower,upperdir=${dir}/rw/upper,workdir=${dir}/rw/work`, 'overlay', m.path])
    }
  }
}

function loadProfiles(manifest) {
  const profiles = []
  for (const bin of manifest.profilesBin) {
    const r = spawnSync('apparmor_parser', ['-r', '-K', '-B', path.join(work, bin)], { encoding: 'utf8' })
    if (r.status !== 0) {
      throw new Error(`apparmor_parser -r -K -B ${bin} failed (status ${r.status}${r.error ? `, ${r.error.code}` : ''}): ${r.stderr}${r.stdout}`)
    }
  }
  const text = fs.readFileSync(PROFILES_FILE, 'utf8')
  for (const line of text.split('\n')) {
    const m = /^(.*) \(([^()]*)\)$/.exec(line)
    if (m) profiles.push(m[1])
  }
  return profiles
}

/** Output of a child, up to MAX_OUTPUT bytes per stream. */
function sink(stream) {
  const chunks = []
  let size = 0
  stream.on('data', (c) => {
    if (size >= MAX_OUTPUT) return
    chunks.push(c)
    size += c.length
  })
  return () => Buffer.concat(chunks).toString('utf8')
}

/** Starts a step; resolves (via `done`) with its outcome when it ends. */
function start(step, manifest) {
  const env = { ...manifest.baseEnv, ...(step.env || {}) }
  const t0 = process.hrtime.bigint()
  const child = spawn(step.argv[0], step.argv.slice(1), {
    cwd: step.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: step.background, // its own process group, killed as a whole at the end
    ...(step.uid !== undefined ? { uid: step.uid } : {}),
    ...(step.gid !== undefined ? { gid: step.gid } : {}),
  })
  const out = sink(child.stdout)
  const err = sink(child.stderr)
  let timedOut = false
  let spawnError
  const kill = (signal) => {
    try {
      if (step.background) process.kill(-child.pid, signal)
      else child.kill(signal)
    } catch {
      // already gone
    }
  }
  const timer =
    step.timeoutSec === null
      ? undefined
      : setTimeout(() => {
          timedOut = true
          kill('SIGKILL')
        }, step.timeoutSec * 1000)
  const done = new Promise((resolve) => {
    let settled = false
    const finish = (status, signal) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      const durationMs = Number(process.hrtime.bigint() - t0) / 1e6
      let stderr = err()
      if (spawnError) stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}aam-guest: spawn failed: ${spawnError.message}\n`
      resolve({ status, signal, stdout: out(), stderr, durationMs: Math.round(durationMs * 10) / 10, timedOut })
    }
    child.on('error', (e) => {
      spawnError = e
      if (child.pid === undefined) finish(null, null)
    })
    child.on('close', (status, signal) => finish(status, signal))
  })
  return { child, done, kill, running: () => child.exitCode === null && child.signalCode === null && child.pid !== undefined }
}

async function main() {
  const up = fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]
  log(`driver started at guest uptime ${up}s`)
  const manifest = JSON.parse(fs.readFileSync(path.join(work, 'manifest.json'), 'utf8'))
  // Steps that read `dmesg` themselves see only their own records (our reader keeps its place).
  const kmsg = kmsgReader()
  const load = { ok: true, message: '', profiles: [] }
  try {
    mountAll(manifest.mounts)
    load.profiles = loadProfiles(manifest)
  } catch (e) {
    load.ok = false
    load.message = e.message
  }
  writeJson(path.join(work, 'load.json'), load)
  if (!load.ok) {
    log(load.message)
    return 2
  }
  log(`profiles loaded: ${load.profiles.join(', ') || '(none)'}`)
  fs.mkdirSync(path.join(work, 'steps'), { recursive: true })
  await auditSince(kmsg, 0) // the profile load's records are in the run's audit, not in a step's
  console.log('AAM-GUEST-READY')
  const background = []
  for (const [i, step] of manifest.steps.entries()) {
    spawnSync('dmesg', ['-C'])
    const from = kmsg.records.length
    const run = start(step, manifest)
    if (step.background) {
      // Its start-up records are its own; later ones belong to the steps that run meanwhile.
      await sleep(50)
      const a = await auditSince(kmsg, from)
      background.push({ i, step, run, audit: a.lines })
      log(`step ${i + 1}/${manifest.steps.length} ${JSON.stringify(step.name)}: started in the background`)
      continue
    }
    const res = await run.done
    const a = await auditSince(kmsg, from)
    writeJson(path.join(work, 'steps', `${i}.json`), { name: step.name, ...res, audit: a.lines })
    log(
      `step ${i + 1}/${manifest.steps.length} ${JSON.stringify(step.name)}: ` +
        `status=${res.status} signal=${res.signal}${res.timedOut ? ' TIMED OUT' : ''} ` +
        `${res.durationMs} ms, ${a.lines.length} audit line(s)`,
    )
  }
  for (const b of background) if (b.run.running()) b.run.kill('SIGTERM')
  const killer = setTimeout(() => {
    for (const b of background) if (b.run.running()) b.run.kill('SIGKILL')
  }, BACKGROUND_GRACE_MS)
  for (const b of background) {
    const res = await b.run.done
    writeJson(path.join(work, 'steps', `${b.i}.json`), { name: b.step.name, ...res, audit: b.audit, background: true })
    log(`background step ${b.i + 1} ${JSON.stringify(b.step.name)}: status=${res.status} signal=${res.signal}`)
  }
  clearTimeout(killer)
  await auditSince(kmsg, kmsg.records.length) // everything printed so far is in `records`
  writeJson(path.join(work, 'audit.json'), kmsg.records.filter((l) => !l.includes(barrierPrefix)))
  if (kmsg.overrun() > 0) log(`${kmsg.overrun()} kernel record(s) were overwritten before they were read`)
  return 0
}

main().then(
  (rc) => {
    process.exitCode = rc
  },
  (err) => {
    const text = err && err.stack ? err.stack : String(err)
    log(`driver crashed: ${text}`)
    try {
      fs.writeFileSync(path.join(work, 'driver-error.txt'), text)
    } catch {
      // the share itself is broken; the console has the message
    }
    process.exitCode = 1
  },
)
