// src/commands/text/: each text tool on its own, as a direct exec and inside a pipeline, byte
// for byte against the real tool (messages and exit statuses included). The cases listed as
// answered must be answered; the rest may decline but never differ.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { answer } from '../../../src/dispatch'
import type { ChildContext } from '../../../src/types'
import { difference, runReal } from '../../harness'

const dir = t.testdir({
  'n.txt': 'b 2\na 10\nc 1\na 10\n\nlast',
  'w.txt': 'alpha beta\ngamma\tdelta\n',
  'csv.txt': 'x,y,z\n1,2,3\n',
})
const ctx: ChildContext = { env: { PATH: '/usr/bin:/bin', LANG: 'C' }, cwd: dir, uid: process.getuid!(), gid: process.getgid!() }

/** tool → argv lists answered as direct execs. */
const DIRECT: Record<string, readonly (readonly string[])[]> = {
  cat: [['n.txt'], ['n.txt', 'w.txt'], ['nope'], ['-n', 'n.txt']],
  head: [['-n', '2', 'n.txt'], ['-1', 'w.txt'], ['-c', '5', 'n.txt'], ['nope']],
  tail: [['-n', '2', 'n.txt'], ['-c', '3', 'n.txt'], ['-n', '+3', 'n.txt']],
  grep: [['a', 'n.txt'], ['-c', 'a', 'n.txt'], ['-v', 'a', 'n.txt'], ['-E', 'a|b', 'n.txt'], ['-q', 'zzz', 'n.txt'], ['a', 'nope'], ['-i', 'ALPHA', 'w.txt']],
  sed: [['-n', '2p', 'n.txt'], ['s/a/A/g', 'n.txt'], ['-e', '1d', 'w.txt'], ['s/a', 'n.txt']],
  sort: [['n.txt'], ['-r', 'n.txt'], ['-n', '-k2', 'n.txt'], ['-u', 'n.txt']],
  uniq: [['n.txt'], ['-c', 'n.txt']],
  wc: [['n.txt'], ['-l', 'n.txt', 'w.txt'], ['-c', 'w.txt']],
  cut: [['-d,', '-f2', 'csv.txt'], ['-c1-3', 'w.txt'], ['-f', '2', 'w.txt']],
  true: [[]],
  false: [[]],
}

/** Pipelines (tr reads only stdin). */
const PIPED: readonly string[] = [
  'cat n.txt | tr a-z A-Z',
  'cat w.txt | tr -d aeiou',
  'cat n.txt | tr -s "\\n"',
  'sort n.txt | uniq -c | sort -rn | head -n 1',
  'grep -c . n.txt w.txt',
  'cat n.txt | wc -l',
  'cut -d" " -f1 n.txt | sort | uniq',
]

/** Invocations that may be declined (an option or a message not modelled), never answered differently. */
const MAY_DECLINE = new Set(['cat -n n.txt', 'sed s/a n.txt'])

t.test('direct execs', (t) => {
  for (const [tool, argvs] of Object.entries(DIRECT)) {
    for (const args of argvs) {
      const r = answer({ kind: 'exec', file: tool, args, argv0: tool, ctx })
      const label = [tool, ...args].join(' ')
      if ('declined' in r) {
        if (MAY_DECLINE.has(label)) t.pass(`${label}: declined (${r.reason})`)
        else t.fail(`${label}: declined (${r.reason})`)
        continue
      }
      const real = spawnSync(tool, args, { cwd: dir, env: ctx.env as NodeJS.ProcessEnv, input: '' })
      t.equal(difference({ stdout: real.stdout, stderr: real.stderr, status: real.status }, r), null, label)
    }
  }
  t.end()
})

t.test('a direct exec with -c and one more argument is that program, not a shell (uniq -c, wc -c)', (t) => {
  for (const [tool, args] of [['uniq', ['-c', 'n.txt']], ['wc', ['-c', 'w.txt']]] as const) {
    const r = answer({ kind: 'exec', file: tool, args, argv0: tool, ctx })
    t.notOk('declined' in r, `${tool} ${args.join(' ')} answered (it was taken for \`sh -c\` and declined)`)
  }
  t.end()
})

t.test('in pipelines', (t) => {
  for (const line of PIPED) {
    const r = answer({ kind: 'shell', shell: '/bin/sh', script: line, ctx })
    if ('declined' in r) t.fail(`${line}: declined (${r.reason})`)
    else t.equal(difference(runReal(line, ctx), r), null, line)
  }
  t.end()
})
