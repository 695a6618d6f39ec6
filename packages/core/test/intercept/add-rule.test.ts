// addConfineRule(): an exec-time confine rule added to an installation somebody else made,
// without touching the rest of its policy (in a child process: install() patches it).
import t from 'tap'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'

const INDEX = path.resolve(__dirname, '..', '..', 'dist', 'index.js')

t.test('the rule applies on top of the policy in force, survives a re-install, and is removed by its remover', async (t) => {
  const script = `
    const core = require(${JSON.stringify(INDEX)})
    const { execFileSync } = require('node:child_process')
    const seen = []
    const execConfiner = (profile, spawn) => { seen.push(profile); return spawn() }
    const out = {}
    const run = (label) => { seen.length = 0; execFileSync('true'); execFileSync('/bin/echo', ['x']); out[label] = [...seen] }
    core.install({ emulate: null, execConfiner, deny: ['curl'], confine: [{ match: 'echo', profile: 'theirs' }] })
    run('before')
    const remove = core.addConfineRule({ match: 'true', profile: 'added' })
    run('added')
    out.policy = core.status().policy
    core.install({ emulate: null, execConfiner, allow: ['*'] })
    run('reinstalled')
    remove(); remove()
    run('removed')
    try { core.addConfineRule({ match: 'x y', profile: 'p' }) } catch (err) { out.invalid = { code: err.code, message: err.message } }
    console.log(JSON.stringify(out))`
  const env = { ...process.env }
  delete env['NODE_OPTIONS']
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env })
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.same(out.before, ['theirs'])
  t.same(out.added, ['added', 'theirs'], 'the added rule decides `true`; their rule still decides `echo`')
  t.same(out.policy, { unknown: 'passthrough', allow: [], deny: ['curl'], confine: [{ match: 'true', profile: 'added' }, { match: 'echo', profile: 'theirs' }], emulation: false, log: null, logArgv: false })
  t.same(out.reinstalled, ['added'], 'kept across install() with other options')
  t.same(out.removed, [])
  t.match(out.invalid, { code: 'ERR_AA_OPTIONS', message: /options\.confine\[0\]\.match must be a command name/ })
})
