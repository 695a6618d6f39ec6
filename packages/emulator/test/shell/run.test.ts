// src/shell/ (parse.ts, expand.ts, glob.ts, printf.ts, run.ts): each feature the README claims,
// run in process and by the real dash, byte for byte; each feature outside the subset is
// declined with a reason that names it.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { answer } from '../../src/dispatch'
import type { ChildContext } from '../../src/types'
import { difference, runReal } from '../harness'

const dir = t.testdir({ 'a.txt': 'one\ntwo\n', 'b.txt': 'three\n', sub: { 'c.log': 'x\n' } })
const ctx: ChildContext = { env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C', X: 'a b  c', E: '' }, cwd: dir, uid: process.getuid!(), gid: process.getgid!() }

const ANSWERED: Record<string, readonly string[]> = {
  'lists and pipelines': ['echo a; echo b', 'false && echo no || echo yes', '! true; echo $?', 'echo a | cat | cat', 'true || false && echo x'],
  'subshells and groups': ['(echo a; exit 3); echo $?', '{ echo a; echo b; } | wc -l', '( exit 7 ) || echo failed $?'],
  redirections: ['cat nope 2>/dev/null; echo $?', 'cat nope 2>&1 | wc -c', 'echo hi >/dev/null', 'cat < a.txt', 'cat a.txt nope 2>&1 >/dev/null'],
  quoting: [`echo 'a  b' "c  $X" \\$X`, `printf '%s|' "$X" $X`, `echo "a\\"b" 'c'\\''d'`, 'echo ""x"" \'\'', 'echo a\\ b'],
  'parameter expansion': ['echo ${X:-d} ${NOPE:-d} ${E:-d} ${E-d}', 'echo ${NOPE:+set} ${X:+set}', 'echo ${#X}', 'Y=1; echo $Y ${Y}z', 'echo $HOME ~ ~/x'],
  'command substitution': ['echo $(echo a b) `echo c`', 'echo "$(printf "x\\ny")"', 'x=$(cat a.txt); echo "$x"'],
  globbing: ['echo *.txt', 'echo sub/*', 'echo [ab].txt', 'echo nomatch*', 'echo *.[[:alpha:]]*'],
  'field splitting': ['for_x=1; echo $X', 'printf "<%s>" $X'],
  'assignments and export': ['A=1; echo $A', 'export B=2; echo $B', 'C=3 cat b.txt; echo ${C:-unset}', 'unset X; echo ${X:-gone}'],
  builtins: ['true; echo $?', 'false; echo $?', ': ignored; echo $?', 'printf "%d-%s\\n" 5 x', 'echo -n a; echo b', 'command -v cat', 'command -v nope; echo $?', 'exit 4'],
  'dash messages': ['nope-cmd', 'nope-cmd 2>&1; echo $?', 'cat nope'],
}

const DECLINED: Record<string, string> = {
  'for i in 1 2; do echo $i; done': 'for',
  'if true; then echo a; fi': 'if',
  'case x in x) echo a;; esac': 'case',
  'while false; do :; done': 'while',
  'f() { echo a; }; f': 'function',
  'cat <<EOF\nx\nEOF': 'here-document',
  'sleep 1 &': 'background',
  'echo $((1+2))': 'arithmetic',
  'cd /': 'cd',
  'test -f a.txt': 'test',
  'read x': 'read',
}

t.test('answered, equal to dash', (t) => {
  for (const [feature, lines] of Object.entries(ANSWERED)) {
    for (const line of lines) {
      const r = answer({ kind: 'shell', shell: '/bin/sh', script: line, ctx })
      if ('declined' in r) t.fail(`${feature}: ${line}: declined (${r.reason})`)
      else t.equal(difference(runReal(line, ctx), r), null, `${feature}: ${line}`)
    }
  }
  t.end()
})

t.test('declined, with a reason naming the feature', (t) => {
  for (const [line, feature] of Object.entries(DECLINED)) {
    const r = answer({ kind: 'shell', shell: '/bin/sh', script: line, ctx })
    t.ok('declined' in r && r.reason.includes(feature), `${JSON.stringify(line)}: ${'declined' in r ? r.reason : 'answered'}`)
  }
  t.end()
})

t.test('the child environment is not changed by an answer', (t) => {
  const before = JSON.stringify(ctx)
  answer({ kind: 'shell', shell: '/bin/sh', script: 'export Z=1; unset X; Y=2', ctx })
  t.equal(JSON.stringify(ctx), before)
  t.ok(fs.existsSync(path.join(dir, 'a.txt')))
  t.end()
})
