// docs/security.md points each guarantee at the test that proves it: every test file it names
// must exist, and every test name it quotes after a file must be found in that file (up to its
// first "(" or "…", where the docs abbreviate a parameterised name).
import * as fs from 'node:fs'
import * as path from 'node:path'
import t from 'tap'

const ROOT = path.resolve(__dirname, '..', '..')
const doc = fs.readFileSync(path.join(ROOT, 'docs', 'security.md'), 'utf8')

t.test('every test file docs/security.md names exists', async (t) => {
  const files = new Set([...doc.matchAll(/`((?:test|packages)\/[^`\s]+\.(?:ts|aa))`/g)].map((m) => m[1] as string))
  t.ok(files.size >= 10, `${files.size} files named`)
  for (const f of files) t.ok(fs.existsSync(path.join(ROOT, f)), f)
})

t.test('every test name docs/security.md quotes is in the file it names', async (t) => {
  let quoted = 0
  for (const m of doc.matchAll(/`((?:test|packages)\/[^`\s]+\.test\.ts)`(?: \([^)]*\))?: ((?:"[^"]+"(?:, | and )?)+)/g)) {
    const text = fs.readFileSync(path.join(ROOT, m[1] as string), 'utf8')
    for (const q of (m[2] as string).matchAll(/"([^"]+)"/g)) {
      const stem = (q[1] as string).split(/[(…]/)[0]?.trim() as string
      quoted++
      t.ok(stem.length >= 5 && text.includes(stem), `${m[1]}: "${stem}"`)
    }
  }
  t.ok(quoted >= 15, `${quoted} test names quoted`)
})
