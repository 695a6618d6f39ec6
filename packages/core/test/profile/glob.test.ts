// AppArmor path globs (src/profile/glob.ts), checked against what apparmor.d(5) and the
// parser's regex conversion say each form matches.
import t from 'tap'
import { expandBraces, expandVariables, globMatches, globToRegExp } from '../../src/profile/glob'

t.test('* stays within a path segment and needs a character after a slash', async (t) => {
  t.ok(globMatches('/dir/*', '/dir/file'))
  t.notOk(globMatches('/dir/*', '/dir/'), '/dir/* does not match the directory itself')
  t.notOk(globMatches('/dir/*', '/dir/a/b'))
  t.ok(globMatches('/dir/a*', '/dir/a'), 'not after a slash: * may be empty')
  t.ok(globMatches('/lib/lib*.so*', '/lib/libc.so.6'))
})

t.test('** crosses slashes and needs a non-slash character after a slash', async (t) => {
  t.ok(globMatches('/srv/app/**', '/srv/app/a/b/c.js'))
  t.ok(globMatches('/srv/app/**', '/srv/app/x'))
  t.notOk(globMatches('/srv/app/**', '/srv/app/'))
  t.notOk(globMatches('/srv/app/**', '/srv/appx/y'))
  t.ok(globMatches('/usr/lib/**.so*', '/usr/lib/x86_64-linux-gnu/libm.so.6'))
})

t.test('?, classes and escapes', async (t) => {
  t.ok(globMatches('/a/?', '/a/b'))
  t.notOk(globMatches('/a/?', '/a/'))
  t.notOk(globMatches('/a?b', '/a/b'), '? never matches a slash')
  t.ok(globMatches('/pid/[1-9][0-9]', '/pid/42'))
  t.notOk(globMatches('/pid/[1-9][0-9]', '/pid/04'))
  t.ok(globMatches('/x/[^a]', '/x/b'))
  t.notOk(globMatches('/x/[^a]', '/x/a'))
  t.notOk(globMatches('/x[^a]y', '/x/y'), 'a negated class never matches a slash')
  t.ok(globMatches('/a/\\*', '/a/*'))
  t.notOk(globMatches('/a/\\*', '/a/b'))
  t.ok(globMatches('/a.b', '/a.b'))
  t.notOk(globMatches('/a.b', '/axb'), 'regex characters are literal')
})

t.test('{a,b} alternations, nested and with empty members', async (t) => {
  t.same(expandBraces('/{usr/,}lib{,32,64}/x'), ['/usr/lib/x', '/usr/lib32/x', '/usr/lib64/x', '/lib/x', '/lib32/x', '/lib64/x'])
  t.same(expandBraces('/a/{b,{c,d}e}'), ['/a/b', '/a/ce', '/a/de'])
  t.same(expandBraces('/a/[{]b'), ['/a/[{]b'], 'a brace inside a class is not an alternation')
  t.ok(globMatches('/{usr/,}lib{,32,64}/{,@{multiarch}/}ld-linux*.so*', '/lib64/ld-linux-x86-64.so.2', new Map([['multiarch', ['*-linux-gnu*']]])))
  t.throws(() => expandBraces('/a/{b,c'), /unbalanced/)
})

t.test('@{VAR}: values are alternatives, expanded recursively; repeated slashes collapse', async (t) => {
  const vars = new Map<string, string[]>([
    ['PROC', ['/proc/']],
    ['pid', ['{[1-9],[1-9][0-9],[1-9][0-9][0-9]}']],
    ['tid', ['@{pid}']],
    ['APP_DEPS', ['/srv/a/node_modules', '/srv/b/node_modules']],
  ])
  t.equal(expandVariables('@{tid}', vars), '{[1-9],[1-9][0-9],[1-9][0-9][0-9]}')
  t.ok(globMatches('@{PROC}/@{pid}/task/@{tid}/attr/{apparmor/,}current', '/proc/123/task/45/attr/current', vars))
  t.ok(globMatches('@{PROC}/@{pid}/task/@{tid}/attr/{apparmor/,}current', '/proc/1/task/1/attr/apparmor/current', vars))
  t.notOk(globMatches('@{PROC}/@{pid}/cgroup', '/proc/self/cgroup', vars))
  t.notOk(globMatches('@{PROC}/@{pid}/cgroup', '/proc/1234/cgroup', vars), 'only the values given (up to 3 digits here)')
  t.ok(globMatches('@{APP_DEPS}/**', '/srv/b/node_modules/x/index.js', vars))
  t.notOk(globMatches('@{APP_DEPS}/**', '/srv/c/node_modules/x/index.js', vars))
  t.throws(() => globToRegExp('@{NOPE}/x', vars), /unknown variable @\{NOPE\}/)
})
