// The decision log's file handling and its argv policy (docs/security.md, "The decision log").
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'
import { ErrorCodes } from '../../src/errors'
import { openLog, withoutArgv } from '../../src/intercept/log'
import { readEnvConfig, resolveInterceptOptions } from '../../src/options'
import type { ExecEvent } from '../../src/intercept/diagnostics'

const event = (over: Partial<ExecEvent>): ExecEvent => ({
  command: 'curl -u admin:hunter2 https://x',
  file: '/usr/bin/curl',
  args: ['-u', 'admin:hunter2', 'https://x'],
  decision: 'passthrough',
  reason: 'unknown',
  api: 'spawnSync',
  durationNs: 1,
  stack: 'at f (/app.js:1:1)',
  ...over,
})

t.test('a new log file is created 0600; lines are appended', async (t) => {
  const dir = t.testdir({})
  const file = path.join(dir, 'log')
  const old = process.umask(0)
  try {
    const sink = openLog(file)
    sink.write(event({}))
    sink.close()
  } finally {
    process.umask(old)
  }
  t.equal(fs.statSync(file).mode & 0o777, 0o600)
  const sink = openLog(file)
  sink.write(event({}))
  sink.close()
  t.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 2)
})

t.test('a symlink, a hard link, a FIFO or a directory as the log is refused; nothing is written through it', async (t) => {
  const dir = t.testdir({ victim: 'precious\n', sub: {} })
  const victim = path.join(dir, 'victim')
  fs.symlinkSync(victim, path.join(dir, 'link'))
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'))
  fs.linkSync(victim, path.join(dir, 'hard'))
  execFileSync('mkfifo', [path.join(dir, 'fifo')])
  for (const name of ['link', 'dangling', 'hard', 'fifo', 'sub']) {
    const err = t.throws(() => openLog(path.join(dir, name)), { code: ErrorCodes.OPTIONS }, name) as Error
    t.match(err.message, /APPARMOR_MONKEYS_LOG=.* nothing was written to it/, name)
  }
  t.match((t.throws(() => openLog(path.join(dir, 'link'))) as Error).message, /symbolic link/)
  t.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the symlink target is untouched')
  t.notOk(fs.existsSync(path.join(dir, 'nowhere')), 'no file was created through the dangling link')
})

t.test('without argv: program names and counts, never an argument', async (t) => {
  const direct = withoutArgv(event({}))
  t.same(direct, {
    file: '/usr/bin/curl',
    decision: 'passthrough',
    reason: 'unknown',
    api: 'spawnSync',
    durationNs: 1,
    stack: 'at f (/app.js:1:1)',
    command: 'curl …',
    argc: 3,
    argv: 'omitted',
  })
  const line = 'mysql -psecret -e "select 1" | grep -c 1 && TOKEN=abc /usr/bin/env curl "https://x/?token=abc"'
  const shell = withoutArgv(event({ command: line, file: '/bin/sh', args: ['-c', line], emulatorError: 'bad token=abc' }))
  t.match(shell, { command: 'sh -c …', programs: ['mysql', 'grep', 'env', 'curl'], argc: 2, argv: 'omitted', emulatorError: /^omitted/ })
  t.notMatch(JSON.stringify(shell), /secret|abc|hunter2|select/)
  t.match(withoutArgv(event({ command: 'uname', file: '/usr/bin/uname', args: [] })), { command: 'uname', argc: 0 })
})

t.test('the sink logs argv only when asked', async (t) => {
  const dir = t.testdir({})
  const quiet = path.join(dir, 'quiet')
  const loud = path.join(dir, 'loud')
  for (const [file, argv] of [[quiet, false], [loud, true]] as const) {
    const sink = openLog(file, { argv })
    sink.write(event({}))
    sink.close()
  }
  t.notMatch(fs.readFileSync(quiet, 'utf8'), /hunter2/)
  t.match(JSON.parse(fs.readFileSync(loud, 'utf8')), { command: 'curl -u admin:hunter2 https://x', args: ['-u', 'admin:hunter2', 'https://x'] })
})

t.test('APPARMOR_MONKEYS_LOG_ARGV and options.logArgv are validated', async (t) => {
  t.equal(readEnvConfig({ APPARMOR_MONKEYS_LOG_ARGV: '1' }).intercept.logArgv, true)
  t.equal(readEnvConfig({ APPARMOR_MONKEYS_LOG_ARGV: '0' }).intercept.logArgv, false)
  t.equal(readEnvConfig({}).intercept.logArgv, undefined)
  t.throws(() => readEnvConfig({ APPARMOR_MONKEYS_LOG_ARGV: 'yes' }), { code: ErrorCodes.OPTIONS, message: /APPARMOR_MONKEYS_LOG_ARGV/ })
  t.equal(resolveInterceptOptions({}).logArgv, false)
  t.equal(resolveInterceptOptions({ logArgv: true }).logArgv, true)
  t.throws(() => resolveInterceptOptions({ logArgv: 'yes' as unknown as boolean }), { code: ErrorCodes.OPTIONS, message: /options.logArgv/ })
})

t.test('install({ log, logArgv }) hands the option to the log: argv only when asked, and status() says which', async (t) => {
  const dir = t.testdir({})
  const dist = path.resolve(__dirname, '..', '..', 'dist')
  const script = (file: string, logArgv: boolean) => `
    const i = require(${JSON.stringify(path.join(dist, 'intercept'))})
    i.install({ log: ${JSON.stringify(file)}, logArgv: ${logArgv}, emulate: null })
    require('node:child_process').spawnSync('/bin/true', ['--token=hunter2'])
    console.log(JSON.stringify(i.status().policy.logArgv))`
  const env = { ...process.env, NODE_OPTIONS: '' }
  for (const logArgv of [false, true]) {
    const file = path.join(dir, `log-${logArgv}`)
    const out = execFileSync(process.execPath, ['-e', script(file, logArgv)], { encoding: 'utf8', env })
    t.equal(out.trim(), String(logArgv))
    const text = fs.readFileSync(file, 'utf8')
    t.equal(text.includes('hunter2'), logArgv, text)
  }
})
