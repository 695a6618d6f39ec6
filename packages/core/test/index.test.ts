// The main entry loads its parts on first use, and every export is still there: through
// require, and through ESM named imports (Node finds CommonJS export names by scanning the
// source). Run in child processes, so that nothing is already in require's cache.
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import t from 'tap'

const INDEX = path.resolve(__dirname, '..', 'dist', 'index.js')
const DIST = path.dirname(INDEX)

const EXPORTS = [
  'AppArmorError', 'ErrorCodes', 'isAppArmorError', 'validateHatName', 'validateProfileName', 'parseLabel',
  'changeHat', 'changeOnExec', 'changeProfile', 'createKernel', 'getCon', 'getExecCon', 'isEnabled', 'kernel',
  'permProfile', 'revertHat', 'stackOnExec', 'stackProfile', 'threadLabels',
  'confine', 'confineSync', 'withExecProfile', 'createExecConfiner', 'threadpoolSize', 'ioUringEnabled',
  'install', 'uninstall', 'status', 'addConfineRule', 'subscribe', 'leaseInterception', 'EXEC_CHANNEL', 'EMULATED_PID_BASE', 'isEmulatedPid',
  'readEnvConfig', 'resolveInterceptOptions', 'ENV',
]

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env }
  delete env['NODE_OPTIONS']
  return spawnSync(process.execPath, args, { encoding: 'utf8', env })
}

t.test('require loads the errors and name validation only; each part loads at its first use', async (t) => {
  const script = `
    const loaded = () => Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(DIST + path.sep)})).map((f) => f.slice(${DIST.length + 1})).sort()
    const core = require(${JSON.stringify(INDEX)})
    const atLoad = loaded()
    const kernelFn = core.changeProfile
    const afterKernel = loaded()
    console.log(JSON.stringify({ atLoad, afterKernel, keys: Object.keys(core).sort(), same: kernelFn === require(${JSON.stringify(path.join(DIST, 'kernel', 'index.js'))}).changeProfile }))`
  const r = node(['-e', script])
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { atLoad: string[]; afterKernel: string[]; keys: string[]; same: boolean }
  t.same(out.atLoad, ['errors.js', 'index.js', 'kernel/label.js', 'kernel/validate.js'])
  t.ok(out.afterKernel.includes('kernel/api.js'), 'reading changeProfile loads the kernel interface')
  t.notOk(out.afterKernel.some((f) => f.startsWith('confine/') || f.startsWith('intercept/')), 'and nothing else')
  t.ok(out.same, 'the export is the module\'s own function, not a wrapper')
  t.same(out.keys, [...EXPORTS].sort())
})

t.test('ESM named imports of every export', async (t) => {
  const script = `import * as ns from ${JSON.stringify(INDEX)}
    import { ${EXPORTS.join(', ')} } from ${JSON.stringify(INDEX)}
    const values = { ${EXPORTS.join(', ')} }
    console.log(JSON.stringify(Object.entries(values).filter(([, v]) => v === undefined).map(([k]) => k)), typeof ns.default)`
  const r = node(['--input-type=module', '-e', script])
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stdout, '[] object\n', 'every name is defined')
})
