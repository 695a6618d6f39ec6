/**
 * setupVm(): the one set-up step (host packages through apt-get, the stock kernel, the
 * initramfs), which runs guest/setup.sh with the cache directory of `vmCacheDir()`.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { VmError, VmErrorCodes } from './errors'
import { guestDir, vmCacheDir } from './paths'

export interface SetupOptions {
  /** Only report whether the VM is ready (nothing is installed or written). */
  check?: boolean
  /** Resolve the kernel package again (a new kernel ABI after `apt-get update`). */
  refresh?: boolean
  /** 'inherit' shows setup's progress on this process's stderr; 'pipe' (default) collects it in `output`. */
  stdio?: 'inherit' | 'pipe'
}

export interface SetupResult {
  /** The VM can boot (the cache is current and every host package is there). */
  ready: boolean
  /** The cache directory (`$AAM_VM_DIR`, or the default). */
  cacheDir: string
  /** What setup printed ('' with stdio 'inherit'). */
  output: string
}

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '')
    .split(path.delimiter)
    .concat(['/usr/sbin', '/sbin'])
    .some((d) => d !== '' && fs.existsSync(path.join(d, name)))
}

/**
 * Installs what is missing and builds the VM cache; with `check`, only reports. Resolves
 * `{ ready: true }` when the VM can boot; `check` resolves `{ ready: false }` when it cannot.
 * Rejects with ERR_AA_VM_UNSUPPORTED_HOST off Debian-like x86_64 Linux, ERR_AA_VM_NOT_READY when
 * packages are missing and neither root nor passwordless sudo is available, and
 * ERR_AA_VM_SETUP_FAILED for any other failure (apt, download, unpacking).
 */
export async function setupVm(opts: SetupOptions = {}): Promise<SetupResult> {
  if (typeof opts !== 'object' || opts === null) throw new VmError(VmErrorCodes.OPTIONS, 'setupVm: options must be an object', { operation: 'setupVm' })
  const check = opts.check === true
  const refresh = opts.refresh === true
  const stdio = opts.stdio ?? 'pipe'
  if (stdio !== 'inherit' && stdio !== 'pipe') throw new VmError(VmErrorCodes.OPTIONS, "setupVm: stdio must be 'inherit' or 'pipe'", { operation: 'setupVm' })
  const cacheDir = vmCacheDir()
  const host = `${process.platform}/${process.arch}`
  if (process.platform !== 'linux' || process.arch !== 'x64' || !onPath('apt-get') || !onPath('dpkg-deb')) {
    const message = `setupVm: the VM needs a Debian or Ubuntu x86_64 host (apt-get, dpkg-deb); this is ${host}${process.platform === 'linux' ? ' without apt-get/dpkg-deb' : ''}`
    if (check) return { ready: false, cacheDir, output: message }
    throw new VmError(VmErrorCodes.UNSUPPORTED_HOST, message, { operation: 'setupVm' })
  }
  const args = [path.join(guestDir(), 'setup.sh'), ...(check ? ['--check'] : []), ...(refresh ? ['--refresh'] : [])]
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('sh', args, {
      env: { ...process.env, AAM_VM_DIR: cacheDir },
      stdio: stdio === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    })
    let text = ''
    child.stdout?.on('data', (c: Buffer) => (text += c.toString('utf8')))
    child.stderr?.on('data', (c: Buffer) => (text += c.toString('utf8')))
    child.on('error', (err) => reject(new VmError(VmErrorCodes.SETUP_FAILED, `setupVm: cannot run sh: ${err.message}`, { operation: 'setupVm', cause: err })))
    child.on('close', (c) => resolve({ code: c, output: text }))
  })
  if (code === 0) return { ready: true, cacheDir, output }
  if (check && code === 3) return { ready: false, cacheDir, output }
  const detail = output.trim() === '' ? '' : `:\n${output.trim()}`
  if (code === 3) throw new VmError(VmErrorCodes.NOT_READY, `setupVm: prerequisites missing (exit 3)${detail}`, { operation: 'setupVm' })
  throw new VmError(VmErrorCodes.SETUP_FAILED, `setupVm: guest/setup.sh failed (exit ${code})${detail}`, { operation: 'setupVm' })
}
