/**
 * Where the package's own files and the VM cache are. Computed on call; nothing on import.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

/** The package directory (this file is in src/ or dist/). */
export function packageRoot(): string {
  return path.resolve(__dirname, '..')
}

/** The guest-side files shipped with the package (init, stage2.sh, guest.cjs, setup.sh). */
export function guestDir(): string {
  return path.join(packageRoot(), 'guest')
}

/**
 * The apparmor-monkeys checkout this package is part of (packages/vm of a pnpm workspace), or
 * undefined when it is installed from a tarball.
 */
export function monorepoRoot(): string | undefined {
  const pkg = packageRoot()
  const root = path.resolve(pkg, '..', '..')
  if (path.basename(pkg) !== 'vm' || path.basename(path.dirname(pkg)) !== 'packages') return undefined
  return fs.existsSync(path.join(root, 'pnpm-workspace.yaml')) ? root : undefined
}

/**
 * The VM cache (kernel, initramfs, stamp): `$AAM_VM_DIR`; in the project's checkout
 * `<repo>/.cache/vm`; else `$XDG_CACHE_HOME/apparmor-monkeys/vm` (`~/.cache/…`).
 */
export function vmCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env['AAM_VM_DIR']
  if (set) return path.resolve(set)
  const repo = monorepoRoot()
  if (repo) return path.join(repo, '.cache', 'vm')
  const xdg = env['XDG_CACHE_HOME']
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache')
  return path.join(base, 'apparmor-monkeys', 'vm')
}
