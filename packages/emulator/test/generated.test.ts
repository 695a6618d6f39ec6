import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ChildContext } from '../src/types'
import { difference, prng, runEmulated, runReal } from './harness'

/**
 * Generated inputs for the text tools: seeded random files (empty lines, a missing final
 * newline, tabs, repeated keys, signed and padded numbers, separators), each run through the
 * real tool and the emulation.
 */

const WORDS = ['alpha', 'Beta', 'beta', 'gamma', 'a', 'b', 'ab', 'xx', 'x', '', 'Zed', '_u']
const NUMBERS = ['0', '7', '-3', '+4', ' 12', '007', '1.5', '-0', '-2.50', '10', '9', '  -8', '3e2']

function line(r: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!
  switch (Math.floor(r() * 7)) {
    case 0:
      return ''
    case 1:
      return pick(NUMBERS)
    case 2:
      return `${pick(WORDS)}:${pick(NUMBERS).trim()}:${pick(WORDS)}`
    case 3:
      return `${pick(WORDS)}\t${pick(WORDS)}\t${pick(NUMBERS)}`
    case 4:
      return `${pick(WORDS)}${' '.repeat(1 + Math.floor(r() * 3))}${pick(WORDS)} ${pick(NUMBERS)}`
    case 5:
      return [pick(WORDS), pick(WORDS), pick(WORDS)].join(',')
    default:
      return pick(WORDS)
  }
}

function content(seed: number): string {
  const r = prng(seed)
  const n = Math.floor(r() * 14)
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    // Repeat the previous line now and then (uniq, sort -u).
    lines.push(i > 0 && r() < 0.2 ? lines[i - 1]! : line(r))
  }
  const text = lines.join('\n')
  return n > 0 && r() < 0.8 ? text + '\n' : text
}

const COMMANDS = [
  'cat F', 'head -n 3 F', 'head -n -2 F', 'head -c 7 F', 'tail -n 3 F', 'tail -n +3 F', 'tail -c 5 F',
  'sort F', 'sort -r F', 'sort -n F', 'sort -u F', 'sort -t: -k2,2n F', 'sort -k2 F', 'sort -f F',
  'sort -t, -k2,2 -k1,1r F', 'sort -b -k2,2 F', 'uniq F', 'uniq -c F', 'uniq -d F', 'uniq -u F',
  'wc F', 'wc -l F', 'wc -w F', 'cut -d: -f2 F', 'cut -d, -f1,3 F', 'cut -f2- F', 'cut -c2-4 F',
  'cut -s -d: -f1 F', 'grep a F', 'grep -v a F', 'grep -c -i beta F', 'grep -E "^-?[0-9]+$" F',
  'grep -x -e a -e b F', 'grep -n "" F', 'sed s/a/X/g F', 'sed -n 2p F', 'sed -E "s/([0-9]+)/<\\1>/" F',
  'sed "s/[[:space:]]*$//" F', 'sed "/^$/d" F',
  'cat F | sort | uniq -c | sort -rn', 'cat F | tr a-z A-Z', 'cat F | tr -s " "', 'cat F | tr -d "\\t:"',
  'cat F | wc', 'cat F | head -n 2', 'cat F | grep -c a', 'cat F | cut -d, -f2', 'cat F | sed -n "\\$p"',
]

const SEEDS = [1, 2, 3, 4, 5, 6, 7]

const dir = t.testdir({})
const ctx: ChildContext = {
  env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: undefined, LANGUAGE: undefined },
  cwd: dir,
  uid: process.getuid!(),
  gid: process.getgid!(),
}

let compared = 0
for (const seed of SEEDS) {
  const file = `in${seed}.txt`
  fs.writeFileSync(path.join(dir, file), content(seed))
  t.test(`seed ${seed}`, (tt) => {
    for (const c of COMMANDS) {
      const script = c.replace('F', file)
      const emu = runEmulated(script, ctx)
      if (emu === null) {
        tt.fail(`not emulated: ${script}`)
        continue
      }
      compared++
      const d = difference(runReal(script, ctx), emu)
      if (d !== null) tt.fail(`${script} over ${JSON.stringify(content(seed))}: ${d}`)
    }
    tt.pass(`${COMMANDS.length} commands`)
    tt.end()
  })
}

t.teardown(() => t.comment(`generated: ${compared} compared byte for byte`))
