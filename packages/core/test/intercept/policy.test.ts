// The decision policy and the option/env parsing, in process (pure functions, no patching).
import t from 'tap'
import { decide } from '../../src/intercept/policy'
import { Engine } from '../../src/intercept/engine'
import { shapeOf, shellQuote, commandLine, type SpawnCall } from '../../src/intercept/call'
import { readEnvConfig, resolveInterceptOptions, type InterceptOptions } from '../../src/options'
import { AppArmorError } from '../../src/errors'

t.test('command lines as a shell would show them', async (t) => {
  t.equal(shellQuote('plain-word_1.2/x=y'), 'plain-word_1.2/x=y')
  t.equal(shellQuote("it's here"), `'it'\\''s here'`)
  t.equal(shellQuote(''), "''")
  const call = (file: string, argv: string[]): SpawnCall => ({ api: 'spawn', file, argv, envPairs: ['PATH=/usr/bin:/bin'], cwd: undefined })
  t.same(shapeOf(call('/bin/sh', ['/bin/sh', '-c', 'a | b'])), { kind: 'shell', shell: '/bin/sh', script: 'a | b' })
  t.same(shapeOf(call('sh', ['sh', '-c', 'x'])), { kind: 'shell', shell: 'sh', script: 'x' })
  t.same(shapeOf(call('sh', ['other', '-c', 'x'])), { kind: 'exec', file: 'sh', args: ['-c', 'x'] }, 'argv0 differs')
  t.same(shapeOf(call('/bin/sh', ['/bin/sh', '-c', 'x', 'arg0'])), { kind: 'exec', file: '/bin/sh', args: ['-c', 'x', 'arg0'] }, 'positional parameters')
  t.equal(commandLine(shapeOf(call('git', ['git', 'log', '--format=%H %s']))), "git log '--format=%H %s'")
})

t.test('decisions', async (t) => {
  const answer = { stdout: Buffer.from('x'), stderr: Buffer.alloc(0), status: 0 }
  const emulate = (req: { kind: string; script?: string; file?: string }) => (req.kind === 'shell' ? (req.script?.startsWith('getconf') ? answer : null) : req.file === 'uname' ? answer : null)
  const d = (line: string | string[], options: InterceptOptions, emulable = true) => {
    const argv = typeof line === 'string' ? ['/bin/sh', '-c', line] : line
    const call: SpawnCall = { api: 'spawnSync', file: argv[0] as string, argv, envPairs: ['PATH=/usr/bin:/bin'], cwd: undefined }
    const v = decide(call, shapeOf(call), emulable, resolveInterceptOptions({ emulate, ...options }))
    return v.decision + (v.profile ? `:${v.profile}` : '') + `/${v.reason}`
  }
  t.equal(d('getconf PAGESIZE', {}), 'emulate/emulated')
  t.equal(d('git status', {}), 'passthrough/unknown')
  t.equal(d('git status', { unknown: 'deny' }), 'deny/unknown')
  t.equal(d('getconf PAGESIZE', { unknown: 'deny' }), 'emulate/emulated', 'emulated lines need no allow rule')
  t.equal(d('getconf PAGESIZE', {}, false), 'passthrough/unknown', 'not emulable options')
  t.equal(d('getconf PAGESIZE', { deny: ['getconf'] }), 'deny/deny-rule', 'deny wins over emulation')
  t.equal(d('getconf PAGESIZE', { allow: ['getconf'] }), 'passthrough/allow-rule', 'allow means run it for real')
  t.equal(d('git status | head -1', { unknown: 'deny', allow: ['git'] }), 'deny/unknown', 'every program must be allowed')
  t.equal(d('git status | head -1', { unknown: 'deny', allow: ['git', 'head'] }), 'passthrough/allow-rule')
  t.equal(d('cd /tmp && git status', { unknown: 'deny', allow: ['git'] }), 'passthrough/allow-rule', 'builtins need no rule, the shell is implied')
  t.equal(d('$GIT status', { unknown: 'deny', allow: ['git'] }), 'deny/unknown', 'a run-time command word is never allowed')
  t.equal(d('$GIT status', { unknown: 'deny', allow: ['*'] }), 'passthrough/allow-rule')
  t.equal(d('git status', { unknown: 'deny', allow: [/^git status$/] }), 'passthrough/allow-rule', 'RegExp rules test the line')
  t.equal(d(['/usr/bin/git', 'status'], { unknown: 'deny', allow: ['git'] }), 'passthrough/allow-rule', 'names match basenames')
  t.equal(d(['git', 'status'], { unknown: 'deny', allow: ['/usr/bin/git'] }), require('node:fs').existsSync('/usr/bin/git') ? 'passthrough/allow-rule' : 'deny/unknown', 'paths match PATH resolution')
  t.equal(d('echo hi', { deny: ['sh'] }), 'deny/deny-rule', 'the shell itself can be denied')
  t.equal(d('nohup curl x', { deny: ['curl'] }), 'deny/deny-rule', 'through wrappers')
  t.equal(d('x $(curl y)', { deny: ['curl'] }), 'deny/deny-rule', 'inside substitutions')
  t.equal(d('node app.js', { confine: [{ match: 'node', profile: 'web' }] }), 'confine:web/confine-rule')
  t.equal(d('node app.js', { confine: [{ match: 'sh', profile: 'shell' }, { match: 'node', profile: 'web' }] }), 'confine:shell/confine-rule', 'first rule wins')
  t.equal(d('node app.js', { deny: ['node'], confine: [{ match: 'node', profile: 'web' }] }), 'deny/deny-rule')
  t.equal(d('getconf X', { confine: [{ match: 'getconf', profile: 'p' }] }), 'confine:p/confine-rule', 'a confine rule wins over emulation (deny → confine → emulate → allow → unknown)')
  t.equal(d('getconf X', { confine: [{ match: 'other', profile: 'p' }] }), 'emulate/emulated', 'emulated when no confine rule matches')
  t.equal(d(['uname', '-m'], { emulate: null }), 'passthrough/unknown', 'emulate: null disables emulation')
  const throwing = resolveInterceptOptions({ emulate: () => { throw new Error('bug') } })
  const call: SpawnCall = { api: 'spawn', file: 'uname', argv: ['uname'], envPairs: [], cwd: undefined }
  t.match(decide(call, shapeOf(call), true, throwing), { decision: 'passthrough', reason: 'unknown', emulatorError: 'bug' }, 'an emulator bug lets the real command run, and is reported')
})

t.test('where the old command-line reader and PATH lookup disagreed with the emulator', async (t) => {
  const fs = require('node:fs') as typeof import('node:fs')
  const os = require('node:os') as typeof import('node:os')
  const path = require('node:path') as typeof import('node:path')
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-policy-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.chmodSync(dir, 0o755)
  const tool = (sub: string, name: string, mode: number): string => {
    fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 })
    const file = path.join(dir, sub, name)
    fs.writeFileSync(file, `#!/bin/sh\necho ${sub}\n`)
    fs.chmodSync(file, mode)
    return file
  }
  const PATH = `${dir}/a:${dir}/b:/usr/bin:/bin`
  const decideFor = (call: SpawnCall, options: InterceptOptions) => {
    const v = decide(call, shapeOf(call), false, resolveInterceptOptions({ emulate: null, ...options }))
    return `${v.decision}/${v.reason}`
  }

  // `fc` is no builtin of Debian's dash (the old reader listed it): dash runs it from PATH.
  tool('a', 'fc', 0o755)
  const real = spawnSync('/bin/sh', ['-c', 'fc -l'], { env: { PATH }, encoding: 'utf8' })
  t.equal(real.stdout, 'a\n', 'dash runs the program fc from PATH')
  const line: SpawnCall = { api: 'spawnSync', file: '/bin/sh', argv: ['/bin/sh', '-c', 'fc -l'], env: [`PATH=${PATH}`], cwd: undefined }
  t.equal(decideFor(line, { unknown: 'deny', allow: ['git'] }), 'deny/unknown', 'fc needs an allow rule like any program')
  t.equal(decideFor(line, { unknown: 'deny', allow: ['fc'] }), 'passthrough/allow-rule')

  // A file only its owner (root) may execute, earlier on PATH than one everybody may: a child
  // started with another uid runs the second. The old lookup asked access(X_OK) as this process.
  const isRoot = process.getuid?.() === 0
  t.test('path rules resolve with the child\'s uid/gid', { skip: !isRoot && 'needs root (spawn with uid)' }, async (t) => {
    const mine = tool('a', 'tool', 0o700)
    const everybody = tool('b', 'tool', 0o755)
    const asNobody = spawnSync('tool', [], { env: { PATH }, uid: 65534, gid: 65534, encoding: 'utf8' })
    t.equal(asNobody.stdout, 'b\n', `uid 65534 runs ${everybody}`)
    t.equal(spawnSync('tool', [], { env: { PATH }, encoding: 'utf8' }).stdout, 'a\n', `root runs ${mine}`)
    const call = (ids: { uid?: number; gid?: number }): SpawnCall => ({ api: 'spawnSync', file: 'tool', argv: ['tool'], env: [`PATH=${PATH}`], cwd: undefined, ...ids })
    t.equal(decideFor(call({ uid: 65534, gid: 65534 }), { deny: [everybody] }), 'deny/deny-rule', 'the deny rule names what the child runs')
    t.equal(decideFor(call({ uid: 65534, gid: 65534 }), { deny: [mine] }), 'passthrough/unknown')
    t.equal(decideFor(call({}), { deny: [mine] }), 'deny/deny-rule', 'without uid/gid: this process\'s ids')
    t.equal(decideFor(call({}), { deny: [everybody] }), 'passthrough/unknown')
  })
})

t.test('install options are validated, with hints', async (t) => {
  const bad = (o: unknown, re: RegExp) => {
    t.throws(() => resolveInterceptOptions(o as InterceptOptions), { code: 'ERR_AA_OPTIONS', message: re }, String(re))
    try {
      resolveInterceptOptions(o as InterceptOptions)
    } catch (err) {
      t.ok(err instanceof AppArmorError)
    }
  }
  bad({ unknwon: 'deny' }, /unknown option "unknwon" \(did you mean unknown\?\)/)
  bad({ unknown: 'allow' }, /options.unknown must be 'passthrough' or 'deny'; got "allow"/)
  bad({ deny: 'git' }, /options.deny must be an array/)
  bad({ allow: ['two words'] }, /options.allow\[0\] must be a command name/)
  bad({ confine: [{ match: 'node' }] }, /options.confine\[0\].profile/)
  bad({ confine: [{ match: 'node', profile: 'a b' }] }, /whitespace/)
  bad({ emulate: 'yes' }, /options.emulate must be a function or null/)
  bad({ execConfiner: 1 }, /options.execConfiner must be a function/)
  bad({ log: '' }, /options.log must be 'stderr' or a file path/)
  bad(null, /options must be an object/)
  const r = resolveInterceptOptions({ log: 'rel.log', confine: [{ match: /x/, profile: 'p' }] })
  t.equal(r.log, require('node:path').resolve('rel.log'))
  t.equal(r.unknown, 'passthrough')
  t.type(r.emulate, 'function')
  t.type(r.execConfiner, 'function')
})

t.test('the environment of the register preload', async (t) => {
  t.same(readEnvConfig({}), { disabled: false, profile: null, intercept: {} })
  t.same(
    readEnvConfig({
      APPARMOR_MONKEYS_UNKNOWN: 'deny',
      APPARMOR_MONKEYS_LOG: 'stderr',
      APPARMOR_MONKEYS_DENY: 'curl, wget',
      APPARMOR_MONKEYS_ALLOW: 'git,/usr/bin/node',
      APPARMOR_MONKEYS_CONFINE: 'node=web-worker,convert=im',
      APPARMOR_MONKEYS_PROFILE: 'app',
      APPARMOR_MONKEYS_DISABLE: '0',
      OTHER: 'x',
    }),
    {
      disabled: false,
      profile: 'app',
      intercept: {
        unknown: 'deny',
        log: 'stderr',
        deny: ['curl', 'wget'],
        allow: ['git', '/usr/bin/node'],
        confine: [
          { match: 'node', profile: 'web-worker' },
          { match: 'convert', profile: 'im' },
        ],
      },
    },
  )
  t.same(readEnvConfig({ APPARMOR_MONKEYS_DISABLE: '1', APPARMOR_MONKEYS_UNKNOWN: '' }), { disabled: true, profile: null, intercept: {} }, 'empty means unset')
  const bad = (env: Record<string, string>, re: RegExp) => t.throws(() => readEnvConfig(env), { code: 'ERR_AA_OPTIONS', message: re }, String(re))
  bad({ APPARMOR_MONKEYS_UNKNOWN: 'maybe' }, /APPARMOR_MONKEYS_UNKNOWN must be 'passthrough' or 'deny'; got "maybe"/)
  bad({ APPARMOR_MONKEYS_DISABLE: 'yes' }, /APPARMOR_MONKEYS_DISABLE: must be 1 or 0/)
  bad({ APPARMOR_MONKEYS_DENY: 'curl,,wget' }, /APPARMOR_MONKEYS_DENY: item 2 .* is empty/)
  bad({ APPARMOR_MONKEYS_ALLOW: 'git status' }, /item 1 .* not one word/)
  bad({ APPARMOR_MONKEYS_CONFINE: 'node' }, /APPARMOR_MONKEYS_CONFINE: item 1 .* must be <command>=<profile>/)
  bad({ APPARMOR_MONKEYS_CONFINE: 'node=' }, /APPARMOR_MONKEYS_CONFINE item 1/)
  bad({ APPARMOR_MONKEYS_PROFILE: '&stacked' }, /APPARMOR_MONKEYS_PROFILE/)
  bad({ APPARMOR_MONKEYS_DENNY: 'x' }, /APPARMOR_MONKEYS_DENNY: unknown variable \(did you mean APPARMOR_MONKEYS_DENY\?\)/)
})

t.test('a request the emulator declined is not asked again (same cwd, ids and PATH)', async (t) => {
  const asked: string[] = []
  const engine = new Engine(
    resolveInterceptOptions({
      emulate: (req) => {
        asked.push(req.kind === 'shell' ? req.script : req.file)
        if (req.kind === 'shell' && req.script === 'bug') throw new Error('bug')
        return null
      },
    }),
  )
  const call = (script: string, cwd?: string, path = '/usr/bin:/bin'): SpawnCall => ({ api: 'spawn', file: '/bin/sh', argv: ['/bin/sh', '-c', script], env: [`PATH=${path}`], cwd })
  for (let i = 0; i < 3; i++) t.equal(engine.decide(call('git status'), true).decision, 'passthrough')
  engine.decide(call('git status', '/'), true)
  engine.decide(call('git status', undefined, '/bin'), true)
  engine.decide(call('bug'), true)
  engine.decide(call('bug'), true)
  engine.decide(call('git status'), false)
  t.same(asked, ['git status', 'git status', 'git status', 'bug', 'bug'], 'asked once per key; errors are asked again; not-emulable calls are never asked')
  const fresh = new Engine(engine.options)
  fresh.decide(call('git status'), true)
  t.equal(asked.length, 6, 'a new install starts with no misses')
})
