// shell/parse.ts: the parser's read mode (readScript), which the command-line reader (words.ts)
// uses. It builds the interpreter's own tree for the subset the interpreter runs, reads dash's
// whole grammar beyond it, and gives up exactly where dash reports a syntax error.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { parseScript, readScript } from '../../src/shell/parse'
import { Unsupported } from '../../src/shell/bail'

/** dash's own verdict on a script's syntax: `dash -n` parses without running. */
function dashAccepts(script: string): boolean {
  const r = spawnSync('/bin/dash', ['-n', '-c', script], { encoding: 'utf8' })
  if (r.status !== 0 && !/Syntax error|[Uu]nterminated|unexpected/.test(r.stderr)) throw new Error(`dash -n: ${r.stderr}`)
  return r.status === 0
}

// Lines the interpreter runs (the run suite's forms; `~` is left out: read mode keeps it literal).
const SUBSET = [
  'echo a; echo b', 'false && echo no || echo yes', '! true; echo $?', 'echo a | cat | cat', 'true || false && echo x',
  '(echo a; exit 3); echo $?', '{ echo a; echo b; } | wc -l', '( exit 7 ) || echo failed $?',
  'cat nope 2>/dev/null; echo $?', 'cat nope 2>&1 | wc -c', 'echo hi >/dev/null', 'cat < a.txt', 'cat a.txt nope 2>&1 >/dev/null',
  `echo 'a  b' "c  $X" \\$X`, `printf '%s|' "$X" $X`, `echo "a\\"b" 'c'\\''d'`, 'echo ""x"" \'\'', 'echo a\\ b',
  'echo ${X:-d} ${NOPE:-d} ${E:-d} ${E-d}', 'echo ${NOPE:+set} ${X:+set}', 'echo ${#X}', 'Y=1; echo $Y ${Y}z',
  'echo $(echo a b) `echo c`', 'echo "$(printf "x\\ny")"', 'x=$(cat a.txt); echo "$x"', 'echo *.[[:alpha:]]*',
  'A=1; echo $A', 'export B=2; echo $B', 'C=3 cat b.txt; echo ${C:-unset}', 'echo a\necho b\n\n# c\necho "d\ne"',
]

t.test('read mode builds the same tree as the interpreter\'s parser on the subset', (t) => {
  for (const line of SUBSET) {
    const read = readScript(line)
    t.equal(read.error, null, `${JSON.stringify(line)} read`)
    t.same(read.list, parseScript(line), JSON.stringify(line))
  }
  t.end()
})

// Beyond the subset: the interpreter's parser declines, read mode reads, dash accepts.
const GRAMMAR = [
  'if a; then b; elif c; then d; else e; fi', 'if a\nthen b\nfi >/dev/null', 'while a; do b; done', 'until a; do b; done',
  'for i in a b; do c; done', 'for i\ndo c; done', 'for i; do c; done', 'for i in; do c; done',
  'case x in a|b) c;; (d) e; f;; *) ;; esac', 'case x in\n a) b\nesac', 'case x in esac',
  'f() { a; }', 'f()\n{\n a\n}', 'f() ( a )', 'f() if a; then b; fi', 'f() g',
  'a &', 'a & b', 'a <<EOF\nx $(b)\nEOF\nc', "a <<'E F'\nx\nE F", 'a <<-EOF\n\tx\n\tEOF', 'a <<EOF',
  'echo $((1 + $(a) * (2 + 3)))', 'echo ${x#a} ${x##a} ${x%a} ${x%%a} ${x?m} ${x:?m} ${10}',
  'a 3>x 12>y 9<&0 <>z >|w', `x=; echo "\${x:-'a b'}" "\${x:-"c d"}" "\${x#'a'}"`, 'echo \\',
  'echo `a\nb`', 'echo ~user x=~/y', 'A=~/x b', '[[ x ]]', 'select x in a; do', 'time a',
]

t.test('read mode reads dash\'s grammar beyond the subset', (t) => {
  for (const line of GRAMMAR) {
    let declined = false
    try {
      parseScript(line)
    } catch (e) {
      declined = e instanceof Unsupported
    }
    const read = readScript(line)
    const dash = dashAccepts(line)
    if (line.startsWith('select')) {
      // bash's select is no keyword in dash: `do` is unexpected there, and in read mode.
      t.notOk(dash, 'dash: select … do is a syntax error')
      t.not(read.error, null, 'read mode: the same')
      continue
    }
    t.ok(dash, `dash accepts ${JSON.stringify(line)}`)
    t.equal(read.error, null, `read mode reads ${JSON.stringify(line)}`)
    if (!['[[ x ]]', 'time a', 'A=~/x b'].includes(line)) {
      t.ok(declined, `the interpreter's parser still declines ${JSON.stringify(line)}`)
    }
  }
  t.end()
})

const SYNTAX_ERRORS = [
  "echo 'unterminated", 'echo "x', 'if a; then b', 'if a; then b; fi fi', 'fi', 'then', 'a | ! b', 'a ;; b', ';',
  'case x in a) b;; c', 'for 1 in a; do b; done', 'for i in a do b; done', 'while a; do done', '( )', '{ }',
  'a && ', 'a |', 'echo $(a', 'echo `a', 'echo ${x', 'echo $((1',  'a; f-x() { b; }', 'a <', 'a > ;',
]

t.test('read mode gives up where dash reports a syntax error, keeping the commands before it', (t) => {
  for (const line of SYNTAX_ERRORS) {
    t.notOk(dashAccepts(line), `dash rejects ${JSON.stringify(line)}`)
    t.not(readScript(line).error, null, `read mode rejects ${JSON.stringify(line)}`)
  }
  const partial = readScript('a; b\nc | fi')
  t.equal(partial.list.length, 2, 'the two commands before the error are kept')
  t.end()
})

t.test('read mode never throws', (t) => {
  const deep = '$('.repeat(20000) + 'a' + ')'.repeat(20000)
  const r = readScript(`echo ${deep}`)
  t.not(r.error, null)
  t.end()
})
