import { AppArmorError, ErrorCodes } from './errors'

/** The optional package with the real-kernel VM (`apparmor-monkeys vm …`, `profile --vm`). */
export const VM_PACKAGE = '@apparmor-monkeys/vm'

/**
 * Loads `@apparmor-monkeys/vm` (an optional peer dependency: loaded only by the commands
 * that need it). When it is not installed: ERR_AA_VM_NOT_INSTALLED naming what to install;
 * any other load error (a broken install) is thrown as it is.
 */
export function requireVmPackage(operation: string): unknown {
  try {
    return require(VM_PACKAGE) as unknown
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (err as Error).message.includes(`'${VM_PACKAGE}'`)
    if (!missing) throw err
    throw new AppArmorError(
      ErrorCodes.VM_NOT_INSTALLED,
      `${operation}: ${VM_PACKAGE} is not installed; install it next to @apparmor-monkeys/core (npm install --save-dev ${VM_PACKAGE}), then run: npx apparmor-monkeys vm setup`,
      { operation, cause: err },
    )
  }
}
