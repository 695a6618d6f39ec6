// src/charclass.ts: one table of character classes for globbing, grep, sed and tr, compared
// with the real tools over every ASCII byte. Names of Object.prototype's properties are no
// class: the per-tool tables used to look them up as object keys (`[[:constructor:]]` found
// Object's constructor), so grep answered status 1 where GNU grep says "Invalid character class
// name" (status 2).
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ChildContext } from '../src/types'
import { classMembers } from '../src/charclass'
import { difference, runEmulated, runReal } from './harness'

const CLASSES = ['alpha', 'digit', 'alnum', 'upper', 'lower', 'space', 'blank', 'punct', 'print', 'graph', 'cntrl', 'xdigit']
const NOT_CLASSES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'word']

const dir = t.testdir({})
// Every ASCII byte but NUL and newline, one per line (so grep -c counts the members).
fs.writeFileSync(path.join(dir, 'bytes'), [...Array(127).keys()].slice(1).filter((c) => c !== 10).map((c) => String.fromCharCode(c) + '\n').join(''), 'latin1')
fs.mkdirSync(path.join(dir, 'g'))
for (const f of ['a', 'B', '1', '-', ' ', 'f']) fs.writeFileSync(path.join(dir, 'g', f), '')
fs.writeFileSync(path.join(dir, 'all'), Buffer.from([...Array(128).keys()].slice(1)))
const ctx: ChildContext = { env: { PATH: '/usr/bin:/bin', LANG: 'C' }, cwd: dir, uid: process.getuid!(), gid: process.getgid!() }
const inG: ChildContext = { ...ctx, cwd: path.join(dir, 'g') }

function check(t: Tap.Test, script: string, mustAnswer: boolean, where: ChildContext = ctx): void {
  const emu = runEmulated(script, where)
  if (emu === null) {
    t.notOk(mustAnswer, `${script}: declined`)
    return
  }
  t.equal(difference(runReal(script, where), emu), null, script)
}

t.test('every class, each tool, equal to the real run', (t) => {
  for (const name of CLASSES) {
    check(t, `grep -c '^[[:${name}:]]$' bytes`, true)
    check(t, `sed -n '/^[[:${name}:]]$/p' bytes | wc -c`, true)
    check(t, `echo [[:${name}:]]*`, true, inG)
    check(t, `sed 's/[[:${name}:]]/_/g' bytes | tr -d '\\n'`, true)
    check(t, `tr -d '[:${name}:]' < all | wc -c`, true)
  }
  t.end()
})

t.test('names that are no class', (t) => {
  for (const name of NOT_CLASSES) {
    check(t, `grep -c '[[:${name}:]]' bytes`, false)
    check(t, `echo hi | sed 's/[[:${name}:]]/x/'`, false)
    check(t, `echo hi | tr '[:${name}:]' x`, false)
    check(t, `echo [[:${name}:]]*`, false, inG)
    t.equal(classMembers(name), undefined, `${name}: no members`)
  }
  t.end()
})
