import { AppArmorError, ErrorCodes } from '../errors'

/**
 * Names are checked before anything is written to procfs: the kernel never sees a string we
 * would not stand behind. The kernel strips leading/trailing whitespace and treats inner
 * whitespace as part of the name (a lookup that fails with ENOENT and an audit line), so any
 * whitespace is refused here, as are control characters, NUL and the hat separator `^`.
 */

/** The kernel caps an attr write at one page; keep room for the command and token. */
export const MAX_NAME_BYTES = 4000
/** The kernel takes at most 16 hat names in one change_hat. */
export const MAX_HATS = 16

// Whitespace (incl. Unicode spaces), C0/C1 controls, DEL, NUL, and `^`.
const FORBIDDEN = /[\s\p{Cc}^]/u

function describe(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0
  if (ch === '^') return "'^' (the hat separator)"
  if (cp === 0) return 'NUL'
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} (whitespace or control character)`
}

function check(kind: 'profile' | 'hat', name: unknown, operation: string): string {
  if (typeof name !== 'string') {
    throw new AppArmorError(ErrorCodes.INVALID_NAME, `${operation}: the ${kind} name must be a string, got ${typeof name}`, {
      operation,
    })
  }
  if (name.length === 0) {
    throw new AppArmorError(ErrorCodes.INVALID_NAME, `${operation}: the ${kind} name is empty`, { operation, profile: name })
  }
  const bad = FORBIDDEN.exec(name)
  if (bad) {
    throw new AppArmorError(
      ErrorCodes.INVALID_NAME,
      `${operation}: invalid ${kind} name ${JSON.stringify(name)}: it contains ${describe(bad[0])} at offset ${bad.index}; ` +
        'AppArmor names used by this library have no whitespace, control characters or ^',
      { operation, profile: name },
    )
  }
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new AppArmorError(
      ErrorCodes.INVALID_NAME,
      `${operation}: the ${kind} name is ${Buffer.byteLength(name)} bytes long; the limit is ${MAX_NAME_BYTES}`,
      { operation, profile: name.slice(0, 64) },
    )
  }
  return name
}

/**
 * A profile, label or namespace reference (`p`, `:ns:p`, `:ns://p`, `a//&b`). A leading `&`
 * (the kernel's "stack" shorthand) is refused: use `stackProfile` to stack.
 */
export function validateProfileName(name: unknown, operation: string): string {
  const s = check('profile', name, operation)
  if (s.startsWith('&')) {
    throw new AppArmorError(
      ErrorCodes.INVALID_NAME,
      `${operation}: ${JSON.stringify(s)} starts with '&' (stacking); call stackProfile/stackOnExec to stack a profile`,
      { operation, profile: s },
    )
  }
  if (s === ':' || /^:[^:]*$/.test(s)) {
    throw new AppArmorError(ErrorCodes.INVALID_NAME, `${operation}: ${JSON.stringify(s)} is an unterminated namespace (write :ns:profile)`, {
      operation,
      profile: s,
    })
  }
  return s
}

export function validateHatName(name: unknown, operation: string): string {
  const s = check('hat', name, operation)
  if (s.includes('//')) {
    throw new AppArmorError(ErrorCodes.INVALID_NAME, `${operation}: hat name ${JSON.stringify(s)} contains '//'; give the hat's own name only`, {
      operation,
      profile: s,
    })
  }
  return s
}
