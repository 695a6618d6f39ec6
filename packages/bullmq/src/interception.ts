import { addConfineRule, leaseInterception, status } from '@apparmor-monkeys/core'
import type { CommandRule, ConfineRule, InterceptOptions } from '@apparmor-monkeys/core'
import { optionsError } from './options'

export type { ConfineRule, InterceptOptions }

/**
 * The processor rules this adapter adds to core's exec interception ("spawns of BullMQ's
 * child entry file start in the processor profile"), shared by every confined Worker of the
 * process and removed when the last one closes. Core's addConfineRule() adds a rule to the
 * installation in force without touching the rest of its policy, whoever made it:
 * - nobody installed it: this adapter installs it with `intercept` (core's leaseInterception)
 *   and uninstalls it when the last Worker closes (`installed`);
 * - somebody else did (the register preload, the app, another adapter): the rule is added to
 *   their policy and removed again when the last Worker closes (`extended`);
 * - the policy in force already holds this exact rule: nothing to do (`already-present`).
 * Two Workers cannot send the same child file to two profiles (ERR_AA_OPTIONS): the children's
 * command lines cannot tell them apart.
 */
export type InterceptionState = 'installed' | 'extended' | 'already-present'

export interface RuleLease {
  readonly state: InterceptionState
  /** Gives the rule back (idempotent). */
  release(): void
}

interface Held {
  readonly rule: ConfineRule
  readonly state: InterceptionState
  holders: number
  /** Removes the rule and gives the interception lease back. */
  readonly drop: () => void
}

/** By BullMQ child entry file. */
const held = new Map<string, Held>()

function ruleText(rule: CommandRule): string {
  return typeof rule === 'string' ? rule : String(rule)
}

function lease(mainFile: string, h: Held): RuleLease {
  let released = false
  return {
    state: h.state,
    release() {
      if (released) return
      released = true
      h.holders--
      if (h.holders > 0) return
      if (held.get(mainFile) === h) held.delete(mainFile)
      h.drop()
    },
  }
}

/**
 * Makes spawns of `mainFile` start in `rule.profile` (through core's exec interception) until
 * the returned lease is released. Throws ERR_AA_OPTIONS when another Worker already asked for
 * another profile for the same file, or when the rule is invalid.
 */
export function acquireProcessorRule(mainFile: string, rule: ConfineRule, intercept: InterceptOptions): RuleLease {
  const h = held.get(mainFile)
  if (h !== undefined) {
    if (h.rule.profile !== rule.profile) {
      throw optionsError(
        `another Worker of this process starts its processor children (${mainFile}) in '${h.rule.profile}'; ` +
          `children of one BullMQ installation cannot be told apart at exec time, so they cannot also start in '${rule.profile}'`,
      )
    }
    h.holders++
    return lease(mainFile, h)
  }
  const policy = status().policy
  const text = ruleText(rule.match)
  if (policy !== null && policy.confine.some((c) => c.match === text && c.profile === rule.profile)) {
    return { state: 'already-present', release() {} }
  }
  const interception = leaseInterception(intercept)
  let remove: () => void
  try {
    remove = addConfineRule(rule)
  } catch (err) {
    interception.release()
    throw err
  }
  const state: InterceptionState = interception.state === 'installed' ? 'installed' : 'extended'
  const entry: Held = {
    rule,
    state,
    holders: 1,
    drop: () => {
      remove()
      interception.release()
    },
  }
  held.set(mainFile, entry)
  return lease(mainFile, entry)
}
