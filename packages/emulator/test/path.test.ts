// src/path.ts: names resolved like the kernel's path walk (through symlinks, component by
// component), each case checked against what open(2) itself does on this machine.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { walkPath } from '../src/path'
import { makeTree } from './harness'

const root = makeTree(
  fs.realpathSync(t.testdir({})),
  { f: 'file\n', 'd/g': 'g behind the link\n', g: 'g at the root\n', 'd/sub/h': 'h\n' },
  { ld: 'd/sub', lf: 'f', loop: 'loop', dangling: 'nosuch', me: '/proc/self', cwdlink: 'd/sub' },
)

/** What open(2) says for `name` relative to `cwd`: the file it opened (its /proc/self/fd link) or the errno. */
function kernel(name: string, cwd: string): { ok: true; path: string } | { ok: false; error: string } {
  const abs = name.startsWith('/') ? name : `${cwd}/${name}`
  try {
    const fd = fs.openSync(abs, 'r')
    const real = fs.readlinkSync(`/proc/self/fd/${fd}`)
    fs.closeSync(fd)
    return { ok: true, path: real }
  } catch (err) {
    return { ok: false, error: (err as NodeJS.ErrnoException).code as string }
  }
}

t.test('every name resolves to the file (or the errno) open(2) gives', async (t) => {
  const names = ['f', 'f/', 'f/.', 'f//', 'f/..', 'lf', 'lf/', 'ld/h', 'ld/../g', 'd/sub/../g', 'nosuch/../f', 'loop', 'dangling', 'd', 'd/.', './f', '//' + root.slice(1) + '/f']
  for (const cwd of [root, path.join(root, 'd')]) {
    for (const name of names) {
      const k = kernel(name, cwd)
      const w = walkPath(name, cwd)
      t.ok(w, `${name} from ${cwd} is modelled`)
      if (w === null) continue
      t.same(w.ok ? w.path : w.error, k.ok ? k.path : k.error, `${name} from ${cwd}`)
    }
  }
})

t.test('`..` from a symlinked cwd goes up from the directory it points to', async (t) => {
  const w = walkPath('../g', path.join(root, 'cwdlink'))
  t.same(w, { ok: true, path: path.join(root, 'd', 'g'), st: (w as { st: fs.Stats }).st })
})

t.test('process-relative names are refused (null), also through a symlink', async (t) => {
  for (const name of ['/proc/self/comm', '/proc/thread-self/comm', `/proc/${process.pid}/status`, '/dev/stdin', '/dev/fd/0', 'me/comm']) {
    t.equal(walkPath(name, root), null, name)
  }
  t.ok(walkPath('/proc/cpuinfo', root)?.ok, 'other procfs files are not process-relative')
})
