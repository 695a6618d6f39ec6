// shell/words.ts: the programs a command line would exec, as the interception's policy reads them.
import t from 'tap'
import { spawnSync } from 'node:child_process'
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
    ["echo 'unterminated", ['echo'], false],
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
