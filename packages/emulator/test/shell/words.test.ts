// shell/words.ts: the programs a command line would exec, as the interception's policy reads them.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { commandWords } from '../../src/shell/words'
import { DASH_BUILTINS, DASH_KEYWORDS } from '../../src/shell/builtins'

t.test('command words of shell lines', async (t) => {
  const cases: [string, string[], boolean][] = [
    ['getconf GNU_LIBC_VERSION 2>&1 || true; ldd --version 2>&1 || true', ['getconf', 'true', 'ldd', 'true'], true],
    ['ldconfig -p | sed "s/.*=>s*//" | sed "s|.*/||" | grep libssl | sort', ['ldconfig', 'sed', 'sed', 'grep', 'sort'], true],
    ['getent passwd $(whoami)', ['getent', 'whoami'], true],
    ['( cat /etc/machine-id 2> /dev/null || hostname ) | head -n 1 || :', ['cat', 'hostname', 'head', ':'], true],
    ['FOO=1 env -i BAR=2 nice -n 5 timeout 3 git status', ['env', 'nice', 'timeout', 'git'], true],
    ['A="b c" B=$(id -u) git log', ['git', 'id'], true],
    ['x=$(getconf PAGESIZE) && echo $x', ['echo', 'getconf'], true],
    ['sh -c "uname -a; id -u"', ['sh', 'uname', 'id'], true],
    ['bash -ec "set -x; make"', ['bash', 'set', 'make'], true],
    ['echo `date`', ['echo', 'date'], true],
    ['cat <<EOF\nrm -rf /\nEOF\nls', ['cat', 'ls'], true],
    ['command -v git', ['command'], true],
    ['exec 2>/dev/null; /usr/bin/id', ['exec', '/usr/bin/id'], true],
    ["echo 'a;b' \"c|d\" && printf x", ['echo', 'printf'], true],
    ['2>/dev/null cat f', ['cat'], true],
    ['timeout -s KILL 5 curl x', ['timeout', 'curl'], true],
    ['if true; then uname; else id; fi', ['true', 'uname', 'id'], true],
    ['$CMD x', [], false],
    ['for i in 1 2; do echo $i; done', ['echo'], false],
    ['f() { ls; }; f', ['f', 'ls', 'f'], false],
    ['eval "$x"', ['eval'], false],
    ['env -S "a b"', ['env'], false],
    // dash runs nothing of a line with a syntax error (see 'what dash runs' below); the lines
    // before it run and are listed.
    ["echo 'unterminated", [], false],
  ]
  for (const [line, words, complete] of cases) t.same(commandWords(line), { words, complete }, line)
})

t.test('the builtin list is dash\'s own (dash -c type)', (t) => {
  const env = { PATH: '/nonexistent' }
  for (const name of DASH_BUILTINS) {
    const r = spawnSync('/bin/sh', ['-c', `type ${name === '[' ? "'['" : name}`], { env, encoding: 'utf8' })
    t.match(r.stdout, /is a (special )?shell builtin/, `${name}: ${r.stdout.trim()}`)
  }
  for (const name of ['fc', 'source', 'select', 'function']) {
    const r = spawnSync('/bin/sh', ['-c', `type ${name}`], { env, encoding: 'utf8' })
    t.match(r.stdout, /not found/, `${name} is not a dash builtin nor keyword: ${r.stdout.trim()}`)
  }
  for (const name of DASH_KEYWORDS) {
    const r = spawnSync('/bin/sh', ['-c', `type '${name}'`], { env, encoding: 'utf8' })
    t.match(r.stdout, /is a shell keyword/, `${name}: ${r.stdout.trim()}`)
  }
  t.end()
})

t.test('builtins are words too (policy rules see them), programs named like bash builtins are programs', (t) => {
  t.same(commandWords('fc -l; source x'), { words: ['fc', 'source'], complete: false })
  t.end()
})

// Lines beyond the lexical reader's old reach, read by the parser's read mode. Each is also run
// by the real dash with stub programs p1…p9 (and `time`, `nice`) that log their names: every
// program dash runs must be listed.
const STUBBED: [string, string[], boolean][] = [
  ['p1 && p2 || p3 & p4; p5', ['p1', 'p2', 'p3', 'p4', 'p5'], true],
  ['if p1; then p2; elif p3; then p4; else p5; fi', ['p1', 'p2', 'p3', 'p4', 'p5'], true],
  ['while p1; do p2; break; done', ['p1', 'p2', 'break'], true],
  ['until p1; do p2; done', ['p1', 'p2'], true],
  ['for i in a $(p1); do p2 $i; done', ['p2', 'p1'], false],
  ['case $(p1) in a|p2) p3;; *) p4;; esac', ['p3', 'p4', 'p1'], false],
  ['p1 <<EOF\n$(p2)\n`p3`\nEOF\np4', ['p1', 'p4', 'p2', 'p3'], true],
  ["p1 <<'EOF'\n$(p2)\nEOF\np3", ['p1', 'p3'], true],
  ['p1 <<-EOF\n\t$(p2)\n\tEOF\np3', ['p1', 'p3', 'p2'], true],
  ['echo $(( $(p1) + 1 ))', ['echo', 'p1'], true],
  ['echo ${X:-$(p1)} ${X#$(p2)} "${X:-\'$(p3)\'}"', ['echo', 'p1', 'p2', 'p3'], true],
  ['p1 2>&1 3>/dev/null 9<&0 <>/dev/null; p2 >$(p3)', ['p1', 'p2', 'p3'], true],
  ['time p1', ['time', 'p1'], true],
  ['nice >/dev/null p1', ['nice', 'p1'], true],
  ['f() { p1; }; f', ['f', 'p1', 'f'], false],
  ['{ p1; } >/dev/null & (p2) | p3', ['p1', 'p2', 'p3'], true],
  ['p1\nfi', ['p1'], false],
  ['X=$(p1) p2 "$(p3)"', ['p2', 'p1', 'p3'], true],
  ['echo "$(p1 "$(p2)")"', ['echo', 'p1', 'p2'], true],
  ['p1 `p2 \\`p3\\``', ['p1', 'p2', 'p3'], true],
  ['! p1 | p2', ['p1', 'p2'], true],
  ['p1 \\\n  x; p2', ['p1', 'p2'], true],
]

t.test('what dash runs is listed (stub programs)', (t) => {
  const dir = t.testdir({})
  const log = path.join(dir, 'log')
  for (const name of ['p1', 'p2', 'p3', 'p4', 'p5', 'time', 'nice']) {
    const file = path.join(dir, name)
    fs.writeFileSync(file, `#!/bin/sh\necho ${name} >>"$LOG"\ncase ${name} in time|nice) exec "$@";; esac\nexit 0\n`)
    fs.chmodSync(file, 0o755)
  }
  for (const [line, words, complete] of STUBBED) {
    t.same(commandWords(line), { words, complete }, JSON.stringify(line))
    fs.writeFileSync(log, '')
    spawnSync('/bin/dash', ['-c', line], { env: { PATH: dir, LOG: log }, encoding: 'utf8' })
    const ran = fs.readFileSync(log, 'utf8').split('\n').filter((w) => w !== '')
    t.ok(ran.length > 0, `dash ran something of ${JSON.stringify(line)}`)
    for (const program of ran) t.ok(words.includes(program), `${JSON.stringify(line)}: dash ran ${program}, listed`)
  }
  t.end()
})

t.test('time and select are programs in dash, not keywords', (t) => {
  const r = spawnSync('/bin/dash', ['-c', 'type time select'], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' })
  t.notMatch(r.stdout, /keyword/)
  t.same(commandWords('select x in a b'), { words: ['select'], complete: false })
  t.end()
})
