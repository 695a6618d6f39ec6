import t from 'tap'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import { emulate } from '../src/index'
import type { ChildContext } from '../src/types'
import { difference, makeTree, runEmulated, runReal } from './harness'

/**
 * The causes of silent wrong answers found by independent differential fuzzes (issue 14; from
 * section 9 on, the fuzz of issue 13's review), one line each, compared with the real command on this machine. `exact`: must be answered and
 * equal byte for byte; `decline`: must not be answered (the real command runs); `agree`:
 * either, but never different.
 */
type Expect = 'exact' | 'decline' | 'agree'

const root = makeTree(
  fs.realpathSync(t.testdir({})),
  {
    f1: 'alpha 1\nbeta 2\naa b\n',
    f2: 'no final newline\nlast',
    e: '',
    g: 'root g: the lexical answer (wrong)\n',
    'd/g': 'd/g: reached through the link\n',
    'd/sub/h': 'h\n',
  },
  { ld: 'd/sub', lf: 'f1', loop: 'loop', me: '/proc/self', cwdlink: 'd/sub' },
)

const env = { ...process.env, LANG: 'C.UTF-8', LC_ALL: undefined, LANGUAGE: undefined, POSIXLY_CORRECT: undefined }
const ctx: ChildContext = { env, cwd: root, uid: process.getuid!(), gid: process.getgid!() }
const linked: ChildContext = { ...ctx, env: { ...env, PWD: path.join(root, 'cwdlink') }, cwd: path.join(root, 'cwdlink') }

// git config files a relative path names from the child's cwd, outside any repository (the
// fixtures are inside this one, whose config the emulator would also have to read).
const gitRoot = makeTree(fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'aam-silent-git-'))), { 'rel.cfg': '[rel]\n\tx = child-cwd\n', 'relhome/.gitconfig': '[rel]\n\tx = home\n' })
const gitEnv = { PATH: '/usr/bin:/bin', HOME: gitRoot, LANG: 'C', GIT_CONFIG_NOSYSTEM: '1' }
t.teardown(() => fs.rmSync(gitRoot, { recursive: true, force: true }))
const relGlobal: ChildContext = { ...ctx, cwd: gitRoot, env: { ...gitEnv, GIT_CONFIG_GLOBAL: 'rel.cfg' } }
const relHome: ChildContext = { ...ctx, cwd: gitRoot, env: { ...gitEnv, HOME: 'relhome' } }
const relXdg: ChildContext = { ...ctx, cwd: gitRoot, env: { ...gitEnv, HOME: '/nonexistent', XDG_CONFIG_HOME: '.' } }
const posixly: ChildContext = { ...ctx, env: { ...env, POSIXLY_CORRECT: '1' } }
// /bin -> usr/bin on this system: /bin/../usr/bin is /usr/usr/bin to the kernel (absent).
const dotdotPath: ChildContext = { ...ctx, env: { ...env, PATH: '/bin/../usr/bin' } }
const posixlyEmpty: ChildContext = { ...ctx, env: { ...env, POSIXLY_CORRECT: '' } }

const LABELS = new Map<ChildContext, string>([
  [linked, 'cwd: a symlink to d/sub'], [posixly, 'POSIXLY_CORRECT=1'], [posixlyEmpty, 'POSIXLY_CORRECT='],
  [relGlobal, 'GIT_CONFIG_GLOBAL=rel.cfg'], [dotdotPath, 'PATH=/bin/../usr/bin'], [relHome, 'HOME=relhome'], [relXdg, 'DG_CONFIG_HOME=.'],
])

const CASES: Record<string, readonly (readonly [string, Expect] | readonly [string, Expect, ChildContext])[]> = {
  '1. paths resolve like the kernel': [
    ['cat f1/', 'exact'], ['cat f1/.', 'exact'], ['cat f1//', 'exact'], ['cat f1/..', 'exact'], ['cat lf/', 'exact'],
    ['cat ld/../g', 'exact'], ['cat ld/..//g ld/./h ld//h', 'exact'], ['tail -c2 nosuch/../f1', 'exact'],
    ['cat d/nosuch/../g', 'exact'], ['cat loop loop/x', 'exact'], ['cat ../g', 'exact', linked], ['cat ../../f1', 'exact', linked],
    ['wc -l ../g', 'exact', linked], ['wc -l f1/ f1', 'exact'], ['grep a f1/ f1', 'exact'], ['sed p f1/.', 'exact'],
    ['sort f1//', 'exact'], ['cut -c1 f1/', 'exact'], ['uniq lf/', 'exact'], ['head -n1 f1/', 'exact'],
    ['cat < f1/', 'exact'], ['cat < ld/../g', 'exact'], ['cat < ../g', 'exact', linked], ['echo ld/../*', 'exact'],
    [`cat ${root}/ld/../g`, 'exact'], [`cat ${root}/f1/`, 'exact'],
  ],
  '2. process-relative files are never read in process': [
    ['cat /proc/self/comm', 'decline'], ['cat /proc/self/status', 'decline'], ['cat /proc/self/cmdline', 'decline'],
    ['cat /proc/self/environ', 'decline'], ['cat /proc/self/stat', 'decline'], ['cat /proc/thread-self/comm', 'decline'],
    [`cat /proc/${process.pid}/comm`, 'decline'], ['cat /proc/./self/comm', 'decline'], ['cat /proc//self/../self/comm', 'decline'],
    ['cat me/comm', 'decline'], ['cat /dev/stdin', 'decline'], ['cat /dev/stdout', 'decline'], ['cat /dev/fd/0', 'decline'],
    ['head -c120 /dev/fd/18', 'decline'], ['cat /proc/self/fd/1', 'decline'], ['cat /proc/net/dev', 'decline'],
    ['wc -c /dev/stdin', 'decline'], ['cat < /proc/self/comm', 'decline'], ['echo /proc/self/fd/*', 'decline'],
    ['cat /proc/keys', 'decline'], ['cat /proc/key-users', 'decline'], ['cat /proc/version', 'exact'],
  ],
  '3. grep: matchers and regex syntax': [
    ['egrep -F a f1', 'exact'], ['grep -E -F a f1', 'exact'], ['grep -F -G a f1', 'exact'], ['grep -e a -EF f1', 'exact'],
    ['grep -E nosuch -F a f1', 'exact'], ['grep --extended-regexp -F a f1', 'exact'], ['egrep -E a f1', 'exact'], ['grep -G -G a f1', 'exact'],
    ["grep '[:alpha:]' f1", 'decline'], ["grep 'x[:space:]' f1", 'decline'], ["grep '[a-c-e]' f1", 'decline'],
    ["grep '[[:alpha:]-z]' f1", 'decline'], ["grep '[z-a]' f1", 'decline'], ["grep '[a-]' f1", 'exact'], ["grep '[:a]' f1", 'decline'],
    ["grep -E '(^.+([a-c]?|c)){,2}bb' f1", 'decline'], ["grep -E '(a$)' f1", 'decline'], ["grep -E 'a^b' f1", 'decline'],
    ["grep '\\(^a\\)' f1", 'decline'], ["grep -E '(a|b)\\1' f1", 'decline'], ["grep -E '(\\<a)' f1", 'decline'],
    ["grep -E '^(a|b)' f1", 'exact'], ["grep 'a\\>' f1", 'exact'], ["grep -E 'b$|^a' f1", 'exact'],
  ],
  '4. head and tail argument forms': [
    ['tail -1 -v f1', 'exact'], ['tail -2 f1 f2', 'exact'], ['tail -v -1 f1', 'exact'], ['tail -1 -- f1 f2', 'exact'],
    ['tail -1 f1', 'exact'], ['tail -1 -- f1', 'exact'], ['tail -2c f1', 'exact'], ['tail -n 0 nosuch', 'exact'],
    ['tail -c -0 nosuch', 'exact'], ['tail -n 0 -v f1 f2', 'exact'], ['tail -0 f1', 'exact'], ['tail -c +2 -n 2 f1', 'exact'],
    ['tail -n +2 -n 1 f1 f2', 'exact'], ['head -n 0 -v f1 f2', 'exact'], ['head -c 0 f1 f2', 'exact'], ['head -n 0 nosuch', 'exact'],
  ],
  '5. sed: s flags and files without a final newline': [
    ['sed s/a/b/gg f1', 'exact'], ['sed s/a/b/pp f1', 'exact'], ['sed -n s/a/b/gpg f1', 'exact'], ['sed s/a/b/gp f1', 'exact'],
    ['sed p f2 /dev/null', 'exact'], ['sed p f2 e', 'exact'], ['sed p f2 f1', 'exact'], ['sed -n \\$p f2 e', 'exact'],
    ['sed s/a/X/ f2 f2', 'exact'], ["sed 's/a*\\B/X/g' f1", 'decline'], ['sed -e s/a/b/gg -e p f1', 'agree'],
  ],
  '7. loader variables': [
    ['LD_PRELOAD=/nonexistent.so cat f1', 'decline'], ['export LD_DEBUG=files; cat e', 'decline'],
    ['LD_LIBRARY_PATH=/nonexistent cat f1', 'decline'], ['LD_PRELOAD=/nonexistent.so echo hi', 'exact'],
  ],
  '8. tr octal escapes and backquote line numbers': [
    ["printf a | tr a '\\400'", 'exact'], ["printf a | tr a '\\777'", 'exact'], ["printf a | tr '\\4000' x", 'exact'],
    ["printf a | tr a '\\377'", 'agree'], ['echo a\necho b\necho `nosuch`', 'exact'], ['true\necho `nosuch`', 'exact'],
    ['echo 1\n\n`nosuch2`; echo $?', 'exact'], ['true\necho "`nosuch`"', 'exact'], ['true\necho $(nosuch)', 'exact'],
    ['true\nx=`nosuch`', 'exact'],
  ],
  '9. a redirection error on a special builtin ends the shell': [
    [': <nosuch; echo after', 'exact'], ['exit 1 <nosuch || echo x', 'exact'], ['export A=1 <nosuch; echo after $A', 'exact'],
    ['unset X <nosuch; echo after', 'exact'], ['set -u <nosuch; echo after', 'exact'], ['(: <nosuch; echo in); echo out $?', 'exact'],
    ['echo $(: <nosuch; echo in) out', 'exact'], ['{ : <nosuch; echo in; }; echo out', 'exact'], [': 2>/dev/null <nosuch; echo after', 'exact'],
    ['true <nosuch; echo after $?', 'exact'], ['<nosuch; echo after $?', 'exact'], ['cat <nosuch; echo after $?', 'exact'],
  ],
  '10. a group around one subshell: its redirections replace the subshell\'s': [
    ['{ ( echo a ) >/dev/null; } 2>/dev/null', 'exact'], ['{ ( echo a ) >/dev/null; }', 'exact'],
    ['{ { ( echo a ) >/dev/null; } >/dev/null; } 2>/dev/null', 'exact'], ['{ ( echo a >&2 ) 2>/dev/null; } >/dev/null', 'exact'],
    ['{ ( nosuch ) 2>/dev/null; } >/dev/null', 'exact'], ['{ ! ( echo a ) >/dev/null; } 2>/dev/null', 'exact'],
    ['{ ( echo a ) >/dev/null && true; } 2>/dev/null', 'exact'], ['( ( echo a ) >/dev/null ) 2>/dev/null', 'exact'],
    ['{ ( echo a ) >/dev/null; } 2>/dev/null | cat', 'exact'], ['echo $({ ( echo a ) >/dev/null; } 2>/dev/null)', 'exact'],
  ],
  '11. $@ and $* with an operator, the \\e escape': [
    ['echo ${@-x} ${*-x} ${@+y} ${*+y}', 'agree'], ['echo ${@:-a} ${*:+b}', 'agree'], ['echo ${#@} ${#*}', 'agree'],
    ["echo '\\e|\\E'", 'exact'], ["printf '\\e|\\E|%b' '\\e\\E'", 'exact'],
  ],
  '12. locale under POSIXLY_CORRECT, git config paths relative to the child': [
    ['locale', 'exact', posixly], ['locale', 'exact', posixlyEmpty], ['locale', 'exact'],
    ['git config rel.x; echo $?', 'agree', relGlobal], ['git config --global rel.x; echo $?', 'agree', relGlobal],
    ['git config rel.x; echo $?', 'agree', relHome], ['git config --global rel.x; echo $?', 'agree', relXdg],
  ],
  '13. grep and cut edge forms, sed brackets': [
    ["grep -cv '' f1", 'agree'], ["grep -v '' nosuch", 'agree'], ["grep -c -v -e '' -e '' f1 f2", 'agree'], ["grep -vc '\n' f1", 'agree'],
    ["grep -vc -e '' -e a f1", 'exact'], ["grep -vcx '' f1", 'exact'], ["grep -c '' f1", 'exact'],
    ["grep '$|*' f1", 'agree'], ["grep -c '$)*' f1", 'agree'], ["grep -c '$\\|\\{0,1\\}' f1", 'agree'], ["grep 'a$' f1", 'exact'], ["grep -c '$|' f1", 'agree'],
    ["cut -d '\n' -f2 f1", 'agree'], ["printf 'a\\nb\\nc' | cut -d '\n' -f2-", 'agree'], ["cut -d ' ' -f2 f1", 'exact'],
    ["sed 's/[\\/]/X/g' f1", 'agree'], ["sed 's,[\\,],X,g' f1", 'agree'], ["sed 's:[[\\:alpha\\:]]::' f1", 'agree'], ["sed 's/[/x/gg' f1", 'agree'],
    ["sed 's/[0-9]/X/g' f1", 'exact'], ["sed 's/[]a]/X/g' f1", 'exact'], ["sed 's/[^a-c]/X/' f1", 'exact'], ["sed -n '/[[:digit:]]/p' f1", 'exact'],
  ],
  '14. `..` in PATH or a command path goes through symlinks': [
    ['cat f1', 'agree', dotdotPath], ['/bin/../usr/bin/cat f1', 'agree'], ['command -v cat', 'agree', dotdotPath], ['nosuch-cmd', 'agree', dotdotPath],
  ],
  '15. field splitting: each expansion is split on its own': [
    ["IFS=': '; x='a '; y=':b'; printf '[%s]' $x$y", 'exact'], ["IFS=': '; x='a '; printf '[%s]' $x$(echo :b)", 'exact'],
    ["IFS=': '; x='a '; printf '[%s]' ${x}${z:-:b}", 'exact'], ["x='a '; y=' b'; printf '[%s]' $x$y", 'exact'],
    ["IFS=:; x='a:'; y=':b'; printf '[%s]' $x$y", 'exact'], ["IFS=': '; x='a  '; y=' :b'; printf '[%s]' $x$y", 'exact'],
  ],
}

t.test('16. `sh -c` as a direct exec: $0 and the messages take argv[0]', (tt) => {
  const args = ['-c', 'echo $0; nosuch']
  for (const [file, argv0] of [['/bin/sh', 'sh'], ['/bin/sh', '/bin/sh'], ['/bin/sh', 'other-name']] as const) {
    const emu = emulate({ kind: 'exec', file, args, argv0, ctx })
    const real = spawnSync(file, args, { argv0, cwd: ctx.cwd, env: ctx.env as NodeJS.ProcessEnv, input: '' })
    if (emu === null) tt.fail(`not answered: ${file} as ${argv0}`)
    else tt.equal(difference({ stdout: real.stdout, stderr: real.stderr, status: real.status }, emu), null, `${file} as ${argv0}`)
  }
  tt.end()
})

t.test('17. a working directory the child cannot start in is declined', (tt) => {
  const gone = fs.mkdtempSync(path.join(root, 'gone-'))
  fs.rmdirSync(gone)
  const file = path.join(root, 'f1')
  for (const [what, cwd] of [['removed', gone], ['relative', 'd'], ['a file', file], ['missing parent', path.join(gone, 'x')], ['a `..` after a symlink', path.join(root, 'cwdlink') + '/..']] as const) {
    for (const script of ['uname -s', 'echo .* ../*', 'cat f1']) {
      tt.equal(runEmulated(script, { ...ctx, cwd }), null, `${what} cwd: ${script}`)
    }
    tt.equal(emulate({ kind: 'exec', file: 'uname', args: ['-s'], ctx: { ...ctx, cwd } }), null, `${what} cwd: exec uname -s`)
  }
  tt.end()
})

for (const [title, cases] of Object.entries(CASES)) {
  t.test(title, (tt) => {
    for (const [script, expect, c] of cases) {
      const cx = c ?? ctx
      const where = c === undefined ? '' : ` (${LABELS.get(c) ?? 'another context'})`
      const emu = runEmulated(script, cx)
      if (emu === null) {
        if (expect === 'exact') tt.fail(`not answered: ${JSON.stringify(script)}${where}`)
        else tt.pass(`declined: ${JSON.stringify(script)}${where}`)
        continue
      }
      if (expect === 'decline') {
        tt.fail(`answered, must be declined: ${JSON.stringify(script)}${where}`)
        continue
      }
      const d = difference(runReal(script, cx), emu)
      tt.equal(d, null, `${JSON.stringify(script)}${where}`)
    }
    tt.end()
  })
}
