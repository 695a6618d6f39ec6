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
  'cat n.txt | tr a -d',
  'cat w.txt | tr --del aeiou',
  'cat w.txt | tr -sd a " "',
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

/**
 * Argument forms of getopt_long (commands/getopt.ts): long options and their abbreviations,
 * `--`, bundled flags, operands before options, and the obsolete forms. Answered or declined,
 * never different from the real tool.
 */
const FORMS: Record<string, readonly (readonly string[])[]> = {
  cat: [['--', 'n.txt'], ['-', 'n.txt'], ['--show-all', 'n.txt'], ['--s', 'n.txt']],
  head: [['--lines=2', 'n.txt'], ['--li', '2', 'n.txt'], ['n.txt', '-n', '1'], ['-qn1', 'n.txt', 'w.txt'], ['-3', '--', 'n.txt'], ['--v', 'n.txt'], ['-n'], ['-5', '-n', '1', 'n.txt']],
  tail: [['--bytes=3', 'n.txt'], ['-vn1', 'n.txt'], ['-n', '1', '-5', 'n.txt'], ['-v5', 'n.txt'], ['-2', 'n.txt'], ['+2', 'n.txt'], ['--s', '1', 'n.txt'], ['--', 'n.txt']],
  grep: [['--reg', 'a', 'n.txt'], ['n.txt', '-e', 'a'], ['-ve', 'a', 'n.txt'], ['--regexp', 'a', '--', 'n.txt'], ['-EF', 'a', 'n.txt'], ['--fixed', 'a', 'n.txt'], ['--c', 'a', 'n.txt'], ['-c5', 'a', 'n.txt']],
  sed: [['--expression', '1d', 'w.txt'], ['-ne', '1p', 'w.txt'], ['--quie', '1p', 'w.txt'], ['--s', '1p', 'w.txt'], ['w.txt', '-n', '1p'], ['-E', '--', 's/(a)/[\\1]/', 'w.txt']],
  sort: [['-rn', '--key=2', 'n.txt'], ['n.txt', '-r'], ['--rev', 'n.txt'], ['--', '-r'], ['+1', 'n.txt'], ['-t', ' ', '-k2,2n', 'n.txt'], ['--r', 'n.txt']],
  uniq: [['--count', 'n.txt'], ['--c', 'n.txt'], ['-cu', 'n.txt'], ['+1', 'n.txt'], ['--', 'n.txt']],
  wc: [['--li', 'n.txt'], ['-lw', 'n.txt'], ['n.txt', '--bytes'], ['--', 'n.txt'], ['--m', 'w.txt']],
  cut: [['--delim=,', '--f', '2', 'csv.txt'], ['-sd,', '-f1', 'csv.txt', 'w.txt'], ['csv.txt', '-c', '2'], ['--fields=1', '--only', 'w.txt'], ['--o', 'x', '-f1', 'w.txt']],
}

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

t.test('getopt forms: answered or declined, never different', (t) => {
  let answeredCount = 0
  for (const [tool, argvs] of Object.entries(FORMS)) {
    for (const args of argvs) {
      const r = answer({ kind: 'exec', file: tool, args, argv0: tool, ctx })
      const label = [tool, ...args].join(' ')
      if ('declined' in r) {
        t.pass(`${label}: declined (${r.reason})`)
        continue
      }
      answeredCount++
      const real = spawnSync(tool, args, { cwd: dir, env: ctx.env as NodeJS.ProcessEnv, input: '' })
      t.equal(difference({ stdout: real.stdout, stderr: real.stderr, status: real.status }, r), null, label)
    }
  }
  t.ok(answeredCount >= 30, `most forms are answered (${answeredCount})`)
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
