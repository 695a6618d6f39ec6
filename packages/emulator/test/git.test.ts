import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { ChildContext } from '../src/types'
import { emulate } from '../src/index'
import { difference } from './harness'

/**
 * `git config [--global|--system|--local] [--get] key` (the fullname package asks for
 * user.name; user.email is as common) against the real git, over config files written here.
 */

const hasGit = spawnSync('git', ['--version']).status === 0
// Outside any repository (the test runner's own directory is inside this project's).
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'aam-git-')))
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
const w = (p: string, s: string): void => {
  fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true })
  fs.writeFileSync(path.join(root, p), s)
}

// Homes: empty, plain, with includes and git's value syntax, XDG only, both.
fs.mkdirSync(path.join(root, 'empty'))
w('plain/.gitconfig', '[user]\n\tname = Plain Name\n\temail = plain@example.org\n')
w('rich/.gitconfig', [
  '# comment', '[user]', '\tname = First', '\tName = "  Quoted  Name " ; trailing comment',
  '\temail = a@b # c', '[include]', '\tpath = inc/more', '[core]', '\tx = a\\tb\\\\c\\"d', '\ty = one \\', 'two   three   ',
  '[section "Sub Section"]', '\tkey = sub', '[user] middle = "same line"', '',
].join('\n'))
w('rich/inc/more', '[user]\n\temail = included@example.org\n[include]\n\tpath = ~/inc/deeper\n')
w('rich/inc/deeper', '[alias]\n\tst = status\n[user]\n\tname=Deep Name\r\n')
w('xdg/.config/git/config', '[user]\n\tname = Xdg Name\n')
w('both/.config/git/config', '[user]\n\tname = Xdg Both\n\temail = xdg@both\n')
w('both/.gitconfig', '[user]\n\temail = home@both\n')
w('xdgonly/cfg/git/config', '[user]\n\tname = XDG_CONFIG_HOME Name\n')
w('other/global', '[user]\n\tname = From GIT_CONFIG_GLOBAL\n')
w('other/system', '[user]\n\tname = From GIT_CONFIG_SYSTEM\n\temail = sys@example.org\n')
w('cond/.gitconfig', '[user]\n\tname = C\n[includeIf "gitdir:~/x/"]\n\tpath = y\n')
w('implicit/.gitconfig', '[user]\n\tname\n')
w('bad/.gitconfig', '[user]\n\tname = "unterminated\n')
w('legacy/.gitconfig', '[user.Sub]\n\tname = legacy\n')

const repo = path.join(root, 'repo')
fs.mkdirSync(path.join(repo, 'a/b'), { recursive: true })
if (hasGit) {
  spawnSync('git', ['init', '-q', repo], { env: { PATH: '/usr/bin:/bin', HOME: path.join(root, 'empty') } })
  fs.appendFileSync(path.join(repo, '.git/config'), '[user]\n\tname = Repo Name\n')
}

function ctxFor(home: string, cwd: string, extra: Record<string, string> = {}): ChildContext {
  return { env: { PATH: '/usr/bin:/bin', HOME: path.join(root, home), LANG: 'C.UTF-8', ...extra }, cwd, uid: process.getuid!(), gid: process.getgid!() }
}

function real(args: readonly string[], ctx: ChildContext) {
  const r = spawnSync('git', args, { env: ctx.env as NodeJS.ProcessEnv, cwd: ctx.cwd, input: '' })
  return { stdout: r.stdout, stderr: r.stderr, status: r.status }
}

const KEYS = ['user.name', 'user.email', 'User.Name', 'USER.EMAIL', 'core.x', 'core.y', 'section.Sub Section.key', 'section.sub section.key', 'alias.st', 'user.middle', 'nosuch.key']
const SCOPES: readonly (readonly string[])[] = [[], ['--global'], ['--system'], ['--local'], ['--get'], ['--global', '--get'], ['--get', '--local']]

let answered = 0
let declined = 0
function check(tt: Tap.Test, args: readonly string[], ctx: ChildContext, expect: 'answer' | 'decline' | 'either', label: string): void {
  const e = emulate({ kind: 'exec', file: 'git', args, argv0: 'git', ctx })
  if (e === null) {
    declined++
    if (expect === 'answer') tt.fail(`not answered: git ${args.join(' ')} (${label})`)
    return
  }
  answered++
  if (expect === 'decline') {
    tt.fail(`answered, must be declined: git ${args.join(' ')} (${label})`)
    return
  }
  const d = difference(real(args, ctx), e)
  if (d !== null) tt.fail(`git ${args.join(' ')} (${label}): ${d}`)
  else tt.pass(`git ${args.join(' ')} (${label})`)
}

t.test('git config lookups agree with git', { skip: !hasGit && 'git not installed' }, (tt) => {
  const systemFree = !fs.existsSync('/etc/gitconfig')
  for (const home of ['empty', 'plain', 'rich', 'xdg', 'both']) {
    for (const cwd of [root, repo, path.join(repo, 'a/b')]) {
      for (const scope of SCOPES) {
        for (const key of KEYS) {
          const outside = cwd === root
          const expect = scope.includes('--local') && outside ? 'decline' : scope.includes('--system') && !systemFree ? 'either' : 'answer'
          check(tt, ['config', ...scope, key], ctxFor(home, cwd), expect, `home ${home}, cwd ${path.relative(root, cwd) || '.'}`)
        }
      }
    }
  }
  // The variables git-config reads.
  const envs: Record<string, Record<string, string>> = {
    xdgHome: { XDG_CONFIG_HOME: path.join(root, 'xdgonly/cfg') },
    xdgEmpty: { XDG_CONFIG_HOME: '' },
    global: { GIT_CONFIG_GLOBAL: path.join(root, 'other/global') },
    system: { GIT_CONFIG_SYSTEM: path.join(root, 'other/system') },
    nosystem: { GIT_CONFIG_SYSTEM: path.join(root, 'other/system'), GIT_CONFIG_NOSYSTEM: '1' },
    nosystemFalse: { GIT_CONFIG_SYSTEM: path.join(root, 'other/system'), GIT_CONFIG_NOSYSTEM: 'false' },
    command: { GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'user.name', GIT_CONFIG_VALUE_0: 'Cmd Name', GIT_CONFIG_KEY_1: 'User.Email', GIT_CONFIG_VALUE_1: 'cmd@x' },
  }
  for (const [label, extra] of Object.entries(envs)) {
    for (const scope of SCOPES) {
      for (const key of ['user.name', 'user.email']) {
        const expect = scope.includes('--local') ? 'decline' : scope.includes('--system') && label === 'nosystem' ? 'decline' : label === 'xdgEmpty' ? 'either' : 'answer'
        check(tt, ['config', ...scope, key], ctxFor('both', root, extra), expect, label)
      }
    }
  }
  // Declined: what is not modelled or would make git complain.
  for (const home of ['cond', 'implicit', 'bad', 'legacy']) check(tt, ['config', 'user.name'], ctxFor(home, root), 'decline', home)
  for (const extra of [{ GIT_DIR: repo + '/.git' }, { GIT_CONFIG_PARAMETERS: "'user.name'='x'" }, { GIT_TRACE: '1' }, { GIT_CONFIG_COUNT: 'x' }]) {
    check(tt, ['config', 'user.name'], ctxFor('plain', root, extra), 'decline', JSON.stringify(extra))
  }
  for (const args of [['config'], ['config', 'user'], ['config', '--list'], ['config', 'user.name', 'x'], ['config', '--global', '--system', 'user.name'], ['status'], ['config', '--get-all', 'user.name']]) {
    check(tt, args, ctxFor('plain', root), 'decline', 'args')
  }
  tt.end()
})

t.test('through sh -c, as the fullname package runs it', { skip: !hasGit && 'git not installed' }, (tt) => {
  for (const home of ['empty', 'plain']) {
    const ctx = ctxFor(home, root)
    const script = 'git config --global user.name'
    const e = emulate({ kind: 'shell', shell: '/bin/sh', script, ctx })
    tt.ok(e, `${home}: answered`)
    const r = spawnSync('/bin/sh', ['-c', script], { env: ctx.env as NodeJS.ProcessEnv, cwd: ctx.cwd })
    tt.equal(e && difference({ stdout: r.stdout, stderr: r.stderr, status: r.status }, e), null, `${home}: same as git`)
  }
  tt.end()
})

t.teardown(() => t.comment(`git config: ${answered} answered and equal, ${declined} declined`))
