import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { canExecute, clearResolveCache, enterableDir, execvpTarget, isSystemBinary, lookupCommand, lookupInPath, pathElements, reachable, testExecutableFile } from '../src/resolve'

const uid = process.getuid!()
const gid = process.getgid!()

function exe(file: string, body = '#!/bin/sh\n'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, body)
  fs.chmodSync(file, 0o755)
}

t.test('PATH search order and revalidation of cached answers', (t) => {
  const root = t.testdir({})
  const a = path.join(root, 'a')
  const b = path.join(root, 'b')
  fs.mkdirSync(a)
  exe(path.join(b, 'tool'))
  const PATH = `${a}:${b}`
  const first = lookupInPath('tool', PATH, root, { uid, gid })
  t.same(first, { kind: 'found', file: `${b}/tool`, real: `${b}/tool` })
  // A file appearing earlier on PATH wins at once (the cached hit is not trusted).
  exe(path.join(a, 'tool'))
  t.same(lookupInPath('tool', PATH, root, { uid, gid }), { kind: 'found', file: `${a}/tool`, real: `${a}/tool` })
  // Replaced by a symlink elsewhere: a new inode, so a new realpath.
  fs.rmSync(path.join(a, 'tool'))
  exe(path.join(root, 'elsewhere/tool2'))
  fs.symlinkSync(path.join(root, 'elsewhere/tool2'), path.join(a, 'tool'))
  t.same(lookupInPath('tool', PATH, root, { uid, gid }), { kind: 'found', file: `${a}/tool`, real: `${root}/elsewhere/tool2` })
  // Gone everywhere: missing, never a stale hit.
  fs.rmSync(path.join(a, 'tool'))
  fs.rmSync(path.join(b, 'tool'))
  t.same(lookupInPath('tool', PATH, root, { uid, gid }), { kind: 'missing' })
  exe(path.join(b, 'tool'))
  t.same(lookupInPath('tool', PATH, root, { uid, gid }).kind, 'found')
  t.end()
})

t.test('a directory named twice on PATH is searched once, and a file appearing in it still wins', (t) => {
  const root = t.testdir({})
  const a = path.join(root, 'a')
  const b = path.join(root, 'b')
  fs.mkdirSync(a)
  exe(path.join(b, 'tool'))
  const PATH = `${a}:${a}/:${a}:${b}`
  t.same(lookupInPath('tool', PATH, root, { uid, gid }), { kind: 'found', file: `${b}/tool`, real: `${b}/tool` })
  t.same(lookupInPath('tool', PATH, root, { uid, gid }), { kind: 'found', file: `${b}/tool`, real: `${b}/tool` }, 'cached and revalidated')
  exe(path.join(a, 'tool'))
  t.same(lookupInPath('tool', PATH, root, { uid, gid }), { kind: 'found', file: `${a}/tool`, real: `${a}/tool` }, 'the first occurrence is still checked')
  // Compared with dash, which searches every entry.
  const r = spawnSync('/bin/sh', ['-c', 'command -v tool'], { env: { PATH }, encoding: 'utf8' })
  t.equal(r.stdout, `${a}/tool\n`)
  t.end()
})

t.test('things that would not simply run are unclear', (t) => {
  const root = t.testdir({})
  fs.mkdirSync(path.join(root, 'd/tool'), { recursive: true })
  t.same(lookupInPath('tool', path.join(root, 'd'), root, { uid, gid }), { kind: 'unclear' })
  fs.writeFileSync(path.join(root, 'plain'), 'x')
  fs.chmodSync(path.join(root, 'plain'), 0o644)
  t.same(lookupInPath('plain', root, root, { uid, gid }), { kind: 'unclear' })
  // A PATH entry that is a file: ENOTDIR counts as absent.
  t.same(lookupInPath('x', path.join(root, 'plain'), root, { uid, gid }), { kind: 'missing' })
  t.end()
})

t.test('relative and empty PATH entries are taken from the cwd', (t) => {
  const root = t.testdir({})
  exe(path.join(root, 'bin/tool'))
  exe(path.join(root, 'here'))
  t.same(lookupInPath('tool', 'bin', root, { uid, gid }), { kind: 'found', file: 'bin/tool', real: `${root}/bin/tool` })
  t.same(lookupInPath('here', ':/nonexistent', root, { uid, gid }), { kind: 'found', file: 'here', real: `${root}/here` })
  // The same PATH from another cwd is another question.
  t.same(lookupInPath('tool', 'bin', '/', { uid, gid }), { kind: 'missing' })
  t.end()
})

t.test('paths with a slash', (t) => {
  const root = t.testdir({})
  exe(path.join(root, 'x'))
  t.same(lookupCommand('./x', '/usr/bin', root, { uid, gid }), { kind: 'found', file: './x', real: `${root}/x` })
  t.same(lookupCommand('./nope', '/usr/bin', root, { uid, gid }), { kind: 'missing' })
  clearResolveCache()
  t.same(lookupCommand('./x', '/usr/bin', root, { uid, gid }).kind, 'found')
  t.end()
})

t.test('system binaries', (t) => {
  t.ok(isSystemBinary('/usr/bin/cat', 'cat'))
  t.ok(isSystemBinary('/usr/sbin/ldconfig', 'ldconfig'))
  t.ok(isSystemBinary('/usr/bin/which.debianutils', 'which'))
  t.notOk(isSystemBinary('/usr/local/bin/cat', 'cat'))
  t.notOk(isSystemBinary('/usr/bin/mawk', 'awk'))
  t.notOk(isSystemBinary('/usr/bin/cat', 'tac'))
  t.end()
})

t.test('exec permission as the kernel grants it', (t) => {
  const file = (mode: number, owner = 1000, group = 1000) => ({ mode: 0o100000 | mode, uid: owner, gid: group })
  t.equal(canExecute(file(0o001), { uid: 0, gid: 0 }), true, 'root: any x bit')
  t.equal(canExecute(file(0o644), { uid: 0, gid: 0 }), false, 'root: no x bit, no exec')
  t.equal(canExecute(file(0o011), { uid: 1000, gid: 5 }), false, 'the owner gets the owner bits only')
  t.equal(canExecute(file(0o710), { uid: 2000, gid: 1000 }), true, 'primary group')
  t.equal(canExecute(file(0o710), { uid: 2000, gid: 7, groups: [1000] }), true, 'supplementary group')
  t.equal(canExecute(file(0o701), { uid: 2000, gid: 7, groups: [1000] }), false, 'a group member gets the group bits, not the other bits')
  t.equal(canExecute(file(0o701), { uid: 2000, gid: 7, groups: [] }), true, 'others')
  t.equal(canExecute(file(0o710), { uid: 2000, gid: 7 }), undefined, 'groups unknown and they decide: no answer')
  t.equal(canExecute(file(0o711), { uid: 2000, gid: 7 }), true, 'groups unknown but group and other agree')
  t.end()
})

t.test('execvpTarget: what a child with these ids would run (compared with real spawns)', { skip: uid !== 0 && 'needs root (spawn with uid)' }, (t) => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process')
  const os = require('node:os') as typeof import('node:os')
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-resolve-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  fs.chmodSync(root, 0o755)
  const make = (sub: string, mode: number, group = 0) => {
    fs.mkdirSync(path.join(root, sub), { mode: 0o755 })
    const f = path.join(root, sub, 'tool')
    fs.writeFileSync(f, `#!/bin/sh\necho ${sub}\n`)
    fs.chmodSync(f, mode)
    fs.chownSync(f, 0, group)
    return f
  }
  make('owner-only', 0o700)
  make('group-only', 0o750, 4242)
  fs.mkdirSync(path.join(root, 'is-a-dir'))
  fs.mkdirSync(path.join(root, 'is-a-dir', 'tool'))
  make('everybody', 0o755)
  const PATH = ['owner-only', 'group-only', 'is-a-dir', 'everybody'].map((d) => path.join(root, d)).join(':')
  const cases: { name: string; uid: number; gid: number; groups: number[] }[] = [
    { name: 'root', uid: 0, gid: 0, groups: [] },
    { name: 'uid 4242 in group 4242', uid: 4242, gid: 4242, groups: [] },
    { name: 'nobody', uid: 65534, gid: 65534, groups: [] },
  ]
  for (const c of cases) {
    const real = spawnSync('tool', [], { env: { PATH }, uid: c.uid, gid: c.gid, encoding: 'utf8' })
    const target = execvpTarget('tool', PATH, '/', c)
    t.equal(target === undefined || target === null ? '' : path.basename(path.dirname(target)) + '\n', real.stdout, `${c.name}: ${real.stdout.trim()}`)
  }
  t.equal(execvpTarget('nothing-here', PATH, '/', { uid: 0, gid: 0 }), undefined)
  t.end()
})

/**
 * A tree outside any repository (removed at the end) with `link -> real/sub`: `link/..` is
 * `real` to the kernel and the tree's root to the text.
 */
function linkedTree(t: Tap.Test): string {
  const os = require('node:os') as typeof import('node:os')
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'aam-dotdot-')))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  fs.mkdirSync(path.join(root, 'real', 'sub'), { recursive: true })
  fs.symlinkSync('real/sub', path.join(root, 'link'))
  return root
}

t.test('a `..` after a symlink: the kernel goes up from the link\'s target, not by erasing text', (t) => {
  const root = linkedTree(t)
  exe(path.join(root, 'real', 'bin', 'tool'), '#!/bin/sh\necho real\n')
  exe(path.join(root, 'bin', 'tool'), '#!/bin/sh\necho lexical\n')
  exe(path.join(root, 'later', 'tool'), '#!/bin/sh\necho later\n')
  const creds = { uid, gid }
  const run = (file: string, PATH: string) => spawnSync(file, [], { env: { PATH }, cwd: root, encoding: 'utf8' }).stdout
  // execvpTarget (the policy's resolver): the file the kernel runs.
  for (const PATH of [`${root}/link/../bin`, 'link/../bin', `${root}/link/../nosuch:${root}/later`, `${root}/link/../../bin:${root}/later`]) {
    const target = execvpTarget('tool', PATH, root, creds)
    const ran = run('tool', PATH)
    t.equal(target === undefined || target === null ? '' : spawnSync(target, [], { encoding: 'utf8' }).stdout, ran, `PATH=${PATH}: ${ran.trim()}`)
  }
  const target = execvpTarget('link/../bin/tool', '', root, creds)
  t.equal(target === undefined || target === null ? '' : spawnSync(target, [], { encoding: 'utf8' }).stdout, run('link/../bin/tool', ''), 'a path with a slash')
  // The emulator's lookups decline such paths (unclear), never answer from the text.
  t.same(lookupInPath('tool', `${root}/link/../bin`, root, creds), { kind: 'unclear' })
  t.same(lookupInPath('tool', `${root}/later:x/../y`, root, creds), { kind: 'unclear' })
  t.same(lookupCommand(`${root}/link/../bin/tool`, '', root, creds), { kind: 'unclear' })
  t.same(lookupCommand('link/../bin/tool', '', root, creds), { kind: 'unclear' })
  t.end()
})

t.test('enterableDir: the directories a child can be started in', (t) => {
  const root = linkedTree(t)
  fs.writeFileSync(path.join(root, 'file'), '')
  const gone = path.join(root, 'gone')
  fs.mkdirSync(gone)
  fs.rmdirSync(gone)
  t.ok(enterableDir(root))
  t.ok(enterableDir(root + '/'))
  t.ok(enterableDir(path.join(root, 'link')), 'through a symlink')
  t.ok(enterableDir('.'), 'relative to this process')
  t.notOk(enterableDir(''), 'empty')
  t.notOk(enterableDir(path.join(root, 'file')), 'a file')
  t.notOk(enterableDir(gone), 'removed')
  t.notOk(enterableDir(`${root}/link/..`), '`..` (here the kernel reaches real, the text root)')
  t.notOk(enterableDir(`${root}/real/..`), '`..` even without a symlink before it')
  t.end()
})

t.test('pathElements: PATH as debianutils which splits it', async (t) => {
  t.same(pathElements('/a:/b'), ['/a', '/b'])
  t.same(pathElements('/a:'), ['/a', ''], 'a trailing colon is the working directory')
  t.same(pathElements('/a::'), ['/a', ''])
  t.same(pathElements(':'), [''])
  t.same(pathElements(''), [])
})

t.test('reachable and testExecutableFile: the way to a file for other ids', { skip: uid !== 0 && 'needs root (spawn with uid)' }, (t) => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process')
  const os = require('node:os') as typeof import('node:os')
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-reach-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  fs.chmodSync(root, 0o755)
  fs.mkdirSync(path.join(root, 'closed'), { mode: 0o700 })
  fs.writeFileSync(path.join(root, 'closed', 'tool'), '#!/bin/sh\necho closed\n', { mode: 0o755 })
  fs.mkdirSync(path.join(root, 'open'), { mode: 0o755 })
  fs.writeFileSync(path.join(root, 'open', 'tool'), '#!/bin/sh\necho open\n', { mode: 0o755 })
  fs.symlinkSync(path.join(root, 'closed'), path.join(root, 'link'))
  const other = { uid: 4242, gid: 4242, groups: [] }
  t.equal(reachable(path.join(root, 'closed', 'tool'), other), false)
  t.equal(reachable(path.join(root, 'link', 'tool'), other), false, 'through a symlink to a closed directory')
  t.equal(reachable(path.join(root, 'open', 'tool'), other), true)
  t.equal(reachable(path.join(root, 'closed', 'tool'), { uid: 0, gid: 0 }), true, 'root searches everything')
  t.equal(reachable(path.join(root, 'closed', 'tool'), { uid: 4242, gid: 4242 }), false, 'unknown groups do not matter when group and others are refused alike')
  fs.mkdirSync(path.join(root, 'grp'), { mode: 0o750 })
  fs.chownSync(path.join(root, 'grp'), 0, 4243)
  t.equal(reachable(path.join(root, 'grp', 'tool'), { uid: 4242, gid: 4242 }), undefined, 'unknown groups decide')
  t.equal(reachable(path.join(root, 'grp', 'tool'), { uid: 4242, gid: 4242, groups: [4243] }), true, 'a member of the directory\'s group')
  for (const dir of ['closed', 'link', 'open']) {
    const file = path.join(root, dir, 'tool')
    const real = spawnSync('/bin/sh', ['-c', '[ -f "$1" ] && [ -x "$1" ]', 'sh', file], { uid: 4242, gid: 4242 })
    t.equal(testExecutableFile(file, other), real.status === 0, `${dir}/tool: dash's test as uid 4242 says ${real.status === 0}`)
  }
  const PATH = ['closed', 'link', 'open'].map((d) => path.join(root, d)).join(':')
  const real = spawnSync('tool', [], { env: { PATH }, uid: 4242, gid: 4242, encoding: 'utf8' })
  t.equal(real.stdout, 'open\n')
  t.equal(execvpTarget('tool', PATH, '/', other), path.join(root, 'open', 'tool'), 'execvp passes over the unreachable candidates')
  t.end()
})
