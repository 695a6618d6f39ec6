import t from 'tap'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { dpkgBuild, systemBinary } from '../../src/commands/info/binaries'
import { liveSystemView } from '../../src/commands/info/view'
import { WHICH_VERIFIED_BUILDS } from '../../src/commands/info/which'
import { check, env, isRoot, report, tally, type Expect } from './helpers'

const view = liveSystemView()
const bin = systemBinary(view, 'which')
const real = bin === undefined ? undefined : view.realpath(bin)
const expected: Expect = real !== undefined && WHICH_VERIFIED_BUILDS.has(dpkgBuild(view, 'debianutils', real) ?? '') ? 'answer' : 'null'

/** A directory with an executable, a non-executable file, a directory and a symlink. */
function sandbox(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'am-which-'))
  fs.mkdirSync(path.join(dir, 'bin'))
  fs.writeFileSync(path.join(dir, 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 })
  fs.writeFileSync(path.join(dir, 'bin', 'plain'), '', { mode: 0o644 })
  fs.writeFileSync(path.join(dir, 'bin', 'ownerx'), '', { mode: 0o700 })
  fs.mkdirSync(path.join(dir, 'bin', 'adir'))
  fs.symlinkSync('/bin/ls', path.join(dir, 'bin', 'ls'))
  fs.symlinkSync('/nowhere', path.join(dir, 'bin', 'dangling'))
  fs.writeFileSync(path.join(dir, 'tool'), '', { mode: 0o755 })
  return dir
}

t.test('which: names, -a, PATH shapes, working directory', async (t) => {
  const counts = tally()
  const dir = sandbox()
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const NAMES = [['ls'], ['sh', 'ls'], ['nosuch'], ['ls', 'nosuch', 'cat'], ['tool'], ['plain'], ['ownerx'], ['adir'], ['dangling'], ['./tool'], ['bin/tool'], ['bin/../tool'], ['/bin/ls'], ['/bin'], ['']]
  const PATHS = ['/usr/bin:/bin', '/bin::/usr/bin:', `${dir}/bin:/usr/bin`, 'bin:/usr/bin', ':', '', '/nowhere:' + dir + '/bin', '/usr/bin/:/bin//']
  for (const p of PATHS) {
    for (const names of NAMES) {
      for (const all of [false, true]) {
        check(t, counts, 'which', all ? ['-a', ...names] : names, { env: env({ PATH: p }), cwd: dir }, expected)
      }
    }
  }
  for (const args of [[], ['-a'], ['--', 'ls'], ['-aa', 'ls'], ['-a', '--', 'ls'], ['-', 'ls'], ['ls', '-a']]) {
    check(t, counts, 'which', args, {}, expected)
  }
  report(t, 'which', counts)
})

t.test('which: what is left to the real program', async (t) => {
  const counts = tally()
  check(t, counts, 'which', ['-x', 'ls'], {}, 'null')
  check(t, counts, 'which', ['-s', 'ls'], {}, 'null')
  check(t, counts, 'which', ['ls'], { env: env({ KSH_VERSION: '93' }) }, 'null')
  report(t, 'which refusals', counts)
})

t.test('which as another uid: the child\'s own permissions (the PATH resolver\'s rules)', { skip: !isRoot && 'needs root (spawn with uid)' }, async (t) => {
  const counts = tally()
  const dir = sandbox()
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.chmodSync(dir, 0o755)
  // Reachable, but only for some: a directory only root may search, a file for group 4242.
  fs.mkdirSync(path.join(dir, 'closed'), { mode: 0o700 })
  fs.writeFileSync(path.join(dir, 'closed', 'tool'), '', { mode: 0o755 })
  fs.writeFileSync(path.join(dir, 'bin', 'grouptool'), '', { mode: 0o750 })
  fs.chownSync(path.join(dir, 'bin', 'grouptool'), 0, 4242)
  fs.mkdirSync(path.join(dir, 'grp'), { mode: 0o750 })
  fs.chownSync(path.join(dir, 'grp'), 0, 4242)
  fs.writeFileSync(path.join(dir, 'grp', 'tool'), '', { mode: 0o755 })
  fs.symlinkSync(path.join(dir, 'closed'), path.join(dir, 'via-link'))
  const PATHS = [`${dir}/closed:${dir}/bin:/usr/bin`, `${dir}/grp:${dir}/via-link:${dir}/bin`, `closed:bin::`, '/usr/bin:/bin']
  const NAMES = [['tool'], ['ownerx'], ['grouptool'], ['ls'], [`${dir}/closed/tool`], ['./closed/tool'], ['via-link/tool'], ['grp/tool']]
  for (const uid of [0, 4242, 65534]) {
    for (const p of PATHS) {
      for (const names of NAMES) {
        for (const all of [false, true]) {
          check(t, counts, 'which', all ? ['-a', ...names] : names, { env: env({ PATH: p }), cwd: dir, uid, groups: [] }, expected)
        }
      }
    }
  }
  // Groups that decide and are not known: not answered.
  check(t, counts, 'which', ['grouptool'], { env: env({ PATH: `${dir}/bin` }), cwd: dir, uid: 4243 }, 'null')
  report(t, 'which as other uids', counts)
})
