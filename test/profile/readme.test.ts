// Each example's README shows the command that learns its profiles (the block after
// `<!-- learn -->`). This checks that the command is the one the kernel suite
// (profile.test.ts) runs — same name, ready probe, children, exercise, command and
// environment, from examples.ts — and that the CLI's own option parser accepts it.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { exampleDir, exampleSpecs, repoRoot } from './examples'

/** Words of a POSIX shell line: blanks split, single and double quotes group, `\` newline joins. */
function words(line: string): string[] {
  const out: string[] = []
  let cur: string | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1)
      if (end < 0) throw new Error(`unterminated quote in ${line}`)
      cur = (cur ?? '') + line.slice(i + 1, end)
      i = end
    } else if (/\s/.test(c)) {
      if (cur !== null) out.push(cur)
      cur = null
    } else cur = (cur ?? '') + c
  }
  if (cur !== null) out.push(cur)
  return out
}

/** The `apparmor-monkeys profile …` line of the README's learn block, as words. */
function learnCommand(readme: string): { env: Record<string, string>; args: string[] } {
  const m = /<!-- learn -->\n```sh\n([\s\S]*?)\n```\n/.exec(readme)
  if (!m) throw new Error('no <!-- learn --> block')
  const line = (m[1] as string).replace(/\\\n\s*/g, ' ').split('\n').find((l) => l.includes('apparmor-monkeys profile'))
  if (!line) throw new Error('no apparmor-monkeys profile line in the learn block')
  const w = words(line)
  const env: Record<string, string> = {}
  while (/^[A-Z_]+=/.test(w[0] ?? '')) {
    const [k, ...v] = (w.shift() as string).split('=')
    env[k as string] = v.join('=')
  }
  const at = w.indexOf('profile')
  return { env, args: w.slice(at + 1) }
}

const { parseProfileArgs } = require(path.join(repoRoot(), 'packages', 'core', 'dist', 'profile', 'options.js')) as {
  parseProfileArgs(args: string[], cwd: string): {
    name: string
    vm: boolean
    exercise: string | null
    ready: { kind: string; port?: number }
    children: { name: string; match: string }[]
    services: string[]
    command: string[]
  }
}

const base = (s: string) => (s.startsWith('/') ? path.basename(s) : s)

for (const spec of exampleSpecs()) {
  t.test(`examples/${spec.example}/README.md learns with the command the kernel suite runs`, async (t) => {
    const dir = exampleDir(spec.example)
    const { env, args } = learnCommand(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'))
    const o = parseProfileArgs(args, dir)
    t.equal(o.name, spec.name)
    t.same(o.ready, spec.ready ? { kind: 'tcp', port: Number(spec.ready.slice(4)) } : { kind: 'label' })
    t.same(o.children, spec.children)
    t.same(o.services, spec.services)
    t.same(o.exercise?.split(' ').map(base), spec.exercise.split(' ').map(base))
    t.same(o.command.map(base), spec.argv.map(base))
    t.same(env, spec.env)
    for (const f of o.command.filter((a) => a.endsWith('.js'))) t.ok(fs.existsSync(path.join(dir, f)), `${f} exists`)
    t.ok(fs.existsSync(path.join(dir, 'exercise.mjs')), 'exercise.mjs exists')
  })
}
