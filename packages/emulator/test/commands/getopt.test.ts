// commands/getopt.ts: glibc's getopt_long, the one argument parser of the commands, and each
// text tool's option table, checked against the real tool (which letters and long names it
// knows, which take arguments, which abbreviations are ambiguous).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { gnuGetopt, type LongOption } from '../../src/commands/getopt'
import * as cat from '../../src/commands/text/cat'
import * as cut from '../../src/commands/text/cut'
import * as grep from '../../src/commands/text/grep'
import * as headtail from '../../src/commands/text/headtail'
import * as sed from '../../src/commands/text/sed'
import * as sort from '../../src/commands/text/sort'
import * as tr from '../../src/commands/text/tr'
import * as uniq from '../../src/commands/text/uniq'
import * as wc from '../../src/commands/text/wc'

t.test('getopt_long', async (t) => {
  const longs: LongOption[] = [
    { name: 'kernel-name', arg: 'none', key: 's' },
    { name: 'kernel-release', arg: 'none', key: 'r' },
    { name: 'ignore', arg: 'required', key: 'i' },
    { name: 'sysname', arg: 'none', key: 's' },
  ]
  t.same(gnuGetopt(['-sr', 'x', '--kernel-n'], 'sri:', longs, {}), { options: [{ key: 's', value: undefined }, { key: 'r', value: undefined }, { key: 's', value: undefined }], operands: ['x'], beforeDashDash: 1 }, 'permutes')
  t.same(gnuGetopt(['-s', 'x', '-r'], 'sr', longs, { POSIXLY_CORRECT: '' })?.operands, ['x', '-r'], 'POSIXLY_CORRECT stops at the first operand')
  t.same(gnuGetopt(['-s', 'x', '-r'], '+sr', longs, {})?.operands, ['x', '-r'], '+ stops at the first operand')
  t.same(gnuGetopt(['x', '-r', 'y'], '-sr', longs, { POSIXLY_CORRECT: '' })?.options, [{ key: 'r', value: undefined }], '- goes on after operands, even with POSIXLY_CORRECT')
  t.equal(gnuGetopt(['--kernel'], 'sr', longs, {}), undefined, 'ambiguous prefix')
  t.same(gnuGetopt(['--ig=3', '-i', '4', '-i5'], 'i:', longs, {})?.options.map((o) => o.value), ['3', '4', '5'])
  t.equal(gnuGetopt(['-i'], 'i:', longs, {}), undefined, 'missing argument')
  t.equal(gnuGetopt(['--sysname=x'], 's', longs, {}), undefined, 'argument to a flag')
  t.equal(gnuGetopt(['-x'], 's', longs, {}), undefined, 'unknown option')
  t.same(gnuGetopt(['a', '--', '-s', 'b'], 's', longs, {}), { options: [], operands: ['a', '-s', 'b'], beforeDashDash: 1 }, '-- ends the options')
  t.same(gnuGetopt(['-'], 's', longs, {})?.operands, ['-'])
})

const TABLES: Record<string, { readonly spec: string; readonly longs: readonly LongOption[] }> = {
  cat: { spec: cat.SPEC, longs: cat.LONGS },
  cut: { spec: cut.SPEC, longs: cut.LONGS },
  grep: { spec: grep.SPEC, longs: grep.LONGS },
  head: { spec: headtail.HEAD_SPEC, longs: headtail.HEAD_LONGS },
  tail: { spec: headtail.TAIL_SPEC, longs: headtail.TAIL_LONGS },
  sed: { spec: sed.SPEC, longs: sed.LONGS },
  sort: { spec: sort.SPEC, longs: sort.LONGS },
  tr: { spec: tr.SPEC, longs: tr.LONGS },
  uniq: { spec: uniq.SPEC, longs: uniq.LONGS },
  wc: { spec: wc.SPEC, longs: wc.LONGS },
}

t.test('each text tool\'s option table is the real tool\'s', (t) => {
  const dir = t.testdir({})
  // tail reads a lone `-X` as its obsolete form: a leading -q keeps getopt in charge.
  const lead = (tool: string): string[] => (tool === 'tail' ? ['-q'] : [])
  const stderr = (tool: string, args: string[]): string =>
    spawnSync(tool, args, { cwd: dir, input: '', env: { PATH: '/usr/bin:/bin', LANG: 'C' }, encoding: 'utf8', timeout: 3000 }).stderr
  for (const [tool, { spec, longs }] of Object.entries(TABLES)) {
    const parse = (args: string[]): boolean => gnuGetopt([...lead(tool), ...args], spec, longs, {}) !== undefined
    for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') {
      const e = stderr(tool, [...lead(tool), `-${c}`])
      const real = e.includes(`invalid option -- '${c}'`) ? 'invalid' : e.includes(`requires an argument -- '${c}'`) ? 'requires' : 'ok'
      const mine = parse([`-${c}`]) ? 'ok' : parse([`-${c}`, 'v']) ? 'requires' : 'invalid'
      t.equal(mine, real, `${tool} -${c}`)
      // head and tail act on a digit option themselves (the obsolete -NUM, or an error).
      if (real !== 'ok' || ((tool === 'head' || tool === 'tail') && c >= '0' && c <= '9')) continue
      // -X! : a flag leaves `!` to getopt (invalid); an optional argument takes it.
      const bang = stderr(tool, [...lead(tool), `-${c}!`]).includes(`invalid option -- '!'`)
      t.equal(!parse([`-${c}!`]), bang, `${tool} -${c}! (${bang ? 'a flag' : 'takes an argument'})`)
    }
    for (const p of [...'abcdefghijklmnopqrstuvwxyz-']) {
      const e = stderr(tool, [...lead(tool), `--${p}`, 'x'])
      const known = !e.includes('unrecognized option') && !e.includes('is ambiguous')
      t.equal(parse([`--${p}`, 'x']), known, `${tool} --${p}: ${known ? 'one option' : 'none or ambiguous'}`)
    }
    for (const o of longs) {
      const known = stderr(tool, [...lead(tool), `--${o.name}`, 'x'])
      t.notMatch(known, /unrecognized option|is ambiguous/, `${tool} --${o.name} exists`)
      const flag = stderr(tool, [...lead(tool), `--${o.name}=x`]).includes(`'--${o.name}' doesn't allow an argument`)
      t.equal(flag, o.arg === 'none', `${tool} --${o.name}=x`)
      if (o.arg !== 'none') {
        const requires = stderr(tool, [...lead(tool), `--${o.name}`]).includes(`'--${o.name}' requires an argument`)
        t.equal(requires, o.arg === 'required', `${tool} --${o.name} (${o.arg})`)
      }
    }
  }
  t.end()
})
