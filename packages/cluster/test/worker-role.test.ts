// The worker role without core: in a cluster worker forked under onWorkerFork() for a name,
// changeProfile(thatName) needs no validation (the primary validated it) and loads no part of
// @apparmor-monkeys/core; any other name or any other process is validated by core as everywhere
// else, and an unreadable instruction stops the worker when the package loads (fail closed).
// Child processes, so that require's cache starts empty.
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import t from 'tap'

const PKG = path.resolve(__dirname, '..')
const ENV_NAME = 'AAM_CLUSTER_WORKER'
const instruction = (profile: string) => JSON.stringify({ v: 1, profile, modes: ['enforce'] })

function run(env: Record<string, string>, names: string[]): { results: { name: string; code: string | null }[]; coreLoaded: boolean } {
  const script = `
    const c = require(${JSON.stringify(PKG)})
    const results = []
    for (const name of ${JSON.stringify(names)}) {
      try { results.push({ name, code: null, profile: c.changeProfile(name).profile }) } catch (e) { results.push({ name, code: e.code }) }
    }
    const coreLoaded = Object.keys(require.cache).some((f) => f.includes(${JSON.stringify(path.join('packages', 'core', 'dist'))}))
    console.log(JSON.stringify({ results: results.map(({ name, code }) => ({ name, code })), coreLoaded }))`
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  delete childEnv['NODE_OPTIONS']
  if (!('NODE_UNIQUE_ID' in env)) delete childEnv['NODE_UNIQUE_ID']
  if (!(ENV_NAME in env)) delete childEnv[ENV_NAME]
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: childEnv })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

t.test('a managed worker: the primary\'s own name loads nothing of core', async (t) => {
  const r = run({ NODE_UNIQUE_ID: '1', [ENV_NAME]: instruction('web-worker') }, ['web-worker'])
  t.same(r, { results: [{ name: 'web-worker', code: null }], coreLoaded: false })
})

t.test('a managed worker: another name is validated by core', async (t) => {
  const r = run({ NODE_UNIQUE_ID: '1', [ENV_NAME]: instruction('web-worker') }, ['other', 'bad name'])
  t.same(r, { results: [{ name: 'other', code: null }, { name: 'bad name', code: 'ERR_AA_INVALID_NAME' }], coreLoaded: true })
})

t.test('not a cluster worker: always validated, even when the instruction names it', async (t) => {
  // A primary whose environment carries an instruction (inherited, or set by someone else)
  // writes the name to the kernel at every fork: an invalid one must be refused there.
  const r = run({ [ENV_NAME]: instruction('bad name') }, ['bad name'])
  t.same(r, { results: [{ name: 'bad name', code: 'ERR_AA_INVALID_NAME' }], coreLoaded: true })
})

t.test('an unreadable instruction: the package stops the worker when it loads (fail closed)', async (t) => {
  t.throws(() => run({ NODE_UNIQUE_ID: '1', [ENV_NAME]: '{not json' }, [`(unreadable ${ENV_NAME})`]), /is NOT confined in '\(unreadable AAM_CLUSTER_WORKER\)'.*exiting with status 78/)
})
