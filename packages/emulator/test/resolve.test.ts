import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { clearResolveCache, isSystemBinary, lookupCommand, lookupInPath } from '../src/resolve'

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
