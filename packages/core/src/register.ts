/**
 * The preload entry (the `.pth` analogue):
 *
 *   node --require @apparmor-monkeys/core/register app.js
 *   node --import  @apparmor-monkeys/core/register app.js
 *   NODE_OPTIONS='--require @apparmor-monkeys/core/register' node app.js
 *
 * Reads the `APPARMOR_MONKEYS_*` environment (options.ts; a wrong value throws
 * AppArmorError ERR_AA_OPTIONS and the process stops before the application runs), confines
 * the whole process when `APPARMOR_MONKEYS_PROFILE` is set, and installs the exec
 * interception before any application module loads. `APPARMOR_MONKEYS_DISABLE=1` turns all
 * of it off.
 *
 * Other threads and processes. Each worker thread has its own `child_process`, patched when
 * this preload runs in it: Node runs `--require` preloads in workers (those from NODE_OPTIONS
 * always; those from the command line unless the Worker is given its own `execArgv`), but
 * not `--import` preloads (Node 20). Children started with NODE_OPTIONS inherit it and run
 * this preload too. So: NODE_OPTIONS='--require …/register' covers every thread and every
 * Node child — except a child whose exec the kernel marks secure (AT_SECURE: an AppArmor
 * profile transition at exec, e.g. exec-time confinement from a confined parent), where node
 * ignores NODE_OPTIONS: pass the preload on the command line (execArgv) there. Resolving a
 * bare `--require` specifier also reads package.json files from the cwd upwards (a denied
 * read under a tight profile); an absolute path avoids it. (Wrapping `worker_threads.Worker` here would cost ~2 ms at every start.)
 *
 * Only this entry has side effects; importing any other entry of the package patches nothing.
 */
import type { confineAtBoot as ConfineAtBoot } from './confine/boot'
import type * as Errors from './errors'
import * as builtIn from './intercept/install'
import type * as Options from './options'

/**
 * The hooks module (`intercept/install.js`), of which a process must have one: its state is
 * the installation. The package's build puts a copy of it into this file, and into the ESM
 * entry built from it (scripts/bundle.mjs: one file less to resolve, read and compile at every
 * start); that copy becomes the module at that path, so the package's other entries
 * (`@apparmor-monkeys/core`, its `intercept` entry, the adapters) find it there and never load
 * a second one. When the file was loaded before this preload ran, or this is tsc's output
 * (which requires it), that module is used.
 */
function hooks(): typeof builtIn {
  const file = __dirname + '/intercept/install.js'
  const loaded = require.cache[file]
  if (loaded !== undefined) return loaded.exports as typeof builtIn
  const Module = module.constructor as unknown as { new (id: string, parent: NodeJS.Module): NodeJS.Module; _nodeModulePaths?: (dir: string) => string[] }
  const adopted = new Module(file, module)
  adopted.filename = file
  adopted.paths = Module._nodeModulePaths?.(__dirname + '/intercept') ?? module.paths
  // As the file's own build marks it (an ES module compiled to CommonJS).
  adopted.exports = Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(builtIn), __esModule: { value: true } })
  adopted.loaded = true
  require.cache[file] = adopted
  return builtIn
}

const { install } = hooks()

/**
 * The prefix of every variable options.ts reads (ENV there). Without any, there is nothing to
 * parse or validate, and options.ts is not even loaded: the defaults are resolved at the first
 * request (the preload runs at every process start, and every loaded file costs).
 */
const PREFIX = 'APPARMOR_MONKEYS_'

/** Where the pending boot confinement is left for the ESM entry (register.mts) to await. */
const BOOT = Symbol.for('apparmor-monkeys.register.boot')

/** A boot confinement failure, named after the variable that asked for it (errors.ts loads only then). */
function fromVariable(err: unknown, profile: string): unknown {
  const { AppArmorError } = require('./errors') as typeof Errors
  if (!(err instanceof AppArmorError)) return err
  return new AppArmorError(err.code, `APPARMOR_MONKEYS_PROFILE=${profile}: the process was not started: ${err.message}`, {
    operation: err.operation,
    profile: err.profile ?? profile,
    errno: err.errno,
    data: err.data,
    cause: err,
  })
}

function configured(env: NodeJS.ProcessEnv): boolean {
  for (const name in env) if (name.startsWith(PREFIX)) return true
  return false
}

const config = configured(process.env) ? (require('./options') as typeof Options).readEnvConfig(process.env) : null

if (config === null) install()
else if (!config.disabled) {
  if (config.profile !== null) {
    // Whole-process confinement at boot (the confinement module is loaded only when asked).
    const { confineAtBoot } = require('./confine/boot') as { confineAtBoot: typeof ConfineAtBoot }
    const profile = config.profile
    let report: ReturnType<typeof ConfineAtBoot>
    try {
      report = confineAtBoot(profile)
    } catch (err) {
      throw fromVariable(err, profile)
    }
    if (report instanceof Promise) {
      report = report.catch((err: unknown) => {
        throw fromVariable(err, profile)
      })
      // The pool already exists (an --import preload): the ESM entry (register.mts) awaits this
      // before the application loads. Should anything else load this file, fail closed anyway.
      ;(globalThis as Record<symbol, unknown>)[BOOT] = report
      report.catch((err: unknown) => {
        process.nextTick(() => {
          throw err
        })
      })
    }
  }
  install(config.intercept)
}
