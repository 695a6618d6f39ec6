import { install, readEnvConfig, resolveInterceptOptions, status, uninstall } from '@apparmor-monkeys/core'
import type { CommandRule, ConfineRule, InterceptOptions, ResolvedInterceptOptions } from '@apparmor-monkeys/core'
import { optionsError } from './options'

export type { ConfineRule, InterceptOptions }

/**
 * The processor rules this adapter adds to core's exec interception ("spawns of BullMQ's
 * child entry file start in the processor profile"), shared by every confined Worker of the
 * process and removed when the last one closes.
 *
 * Core's install() replaces the options in force and has no way to add one rule to an
 * installation somebody else made. So:
 * - nobody installed it: this adapter installs it with `intercept` plus its rules, and
 *   uninstalls it when the last Worker closes (`installed`);
 * - the installation in force is exactly what the register preload makes from the
 *   APPARMOR_MONKEYS_* environment (compared through status()): it is re-installed with the
 *   same environment options plus the rules, and put back when the last Worker closes
 *   (`extended`). Options given only as functions (a custom `emulate` or `execConfiner`) cannot
 *   be seen through status(); an installation that used them and otherwise matches the
 *   environment would get core's defaults back;
 * - the policy in force already holds this exact rule: nothing to do (`already-present`);
 * - anything else: ERR_AA_OPTIONS (the rule cannot be added without dropping that policy).
 */
export type InterceptionState = 'installed' | 'extended' | 'already-present'

export interface RuleLease {
  readonly state: InterceptionState
  /** Gives the rule back (idempotent). */
  release(): void
}

interface Held {
  readonly rule: ConfineRule
  holders: number
}

interface Ours {
  readonly mode: 'installed' | 'extended'
  /** The options without this adapter's rules (what is put back, or nothing for `installed`). */
  readonly base: InterceptOptions
  /** By BullMQ child entry file. */
  readonly rules: Map<string, Held>
}

let ours: Ours | null = null

function ruleText(rule: CommandRule): string {
  return typeof rule === 'string' ? rule : String(rule)
}

interface PolicyView {
  readonly unknown: string
  readonly allow: readonly string[]
  readonly deny: readonly string[]
  readonly confine: readonly { readonly match: string; readonly profile: string }[]
  readonly emulation: boolean
  readonly log: string | null
}

function viewOf(o: ResolvedInterceptOptions): PolicyView {
  return {
    unknown: o.unknown,
    allow: o.allow.map(ruleText),
    deny: o.deny.map(ruleText),
    confine: o.confine.map((r) => ({ match: ruleText(r.match), profile: r.profile })),
    emulation: o.emulate !== null,
    log: o.log,
  }
}

function sameView(a: PolicyView, b: PolicyView): boolean {
  const key = (v: PolicyView) => JSON.stringify([v.unknown, v.allow, v.deny, v.confine.map((c) => [c.match, c.profile]), v.emulation, v.log])
  return key(a) === key(b)
}

function holdsRule(view: PolicyView, rule: ConfineRule): boolean {
  const text = ruleText(rule.match)
  return view.confine.some((c) => c.match === text && c.profile === rule.profile)
}

/** The register preload's options, when the installation in force is exactly those. */
function registerOptions(view: PolicyView): InterceptOptions | null {
  let env: InterceptOptions
  try {
    env = readEnvConfig(process.env).intercept
  } catch {
    return null
  }
  return sameView(viewOf(resolveInterceptOptions(env)), view) ? env : null
}

function reinstall(state: Ours): void {
  const rules = [...state.rules.values()].map((h) => h.rule)
  install({ ...state.base, confine: [...rules, ...(state.base.confine ?? [])] })
}

function lease(mainFile: string, state: InterceptionState): RuleLease {
  let released = false
  return {
    state,
    release() {
      if (released) return
      released = true
      if (ours === null) return
      const held = ours.rules.get(mainFile)
      if (held === undefined) return
      held.holders--
      if (held.holders > 0) return
      ours.rules.delete(mainFile)
      const policy = status().policy
      // Somebody replaced the installation since: leave theirs alone.
      if (policy === null || !holdsRule(policy, held.rule)) {
        if (ours.rules.size === 0) ours = null
        return
      }
      if (ours.rules.size > 0) reinstall(ours)
      else {
        if (ours.mode === 'installed') uninstall()
        else install(ours.base)
        ours = null
      }
    },
  }
}

/**
 * Makes spawns of `mainFile` start in `profile` (through core's exec interception) until the
 * returned lease is released. Throws ERR_AA_OPTIONS when that cannot be done without dropping
 * somebody else's policy, or when another Worker already asked for another profile for the
 * same file (the child's command line cannot tell the two apart).
 */
export function acquireProcessorRule(mainFile: string, rule: ConfineRule, intercept: InterceptOptions): RuleLease {
  const current = status()
  if (ours !== null) {
    const held = ours.rules.get(mainFile)
    if (held !== undefined && held.rule.profile !== rule.profile) {
      throw optionsError(
        `another Worker of this process starts its processor children (${mainFile}) in '${held.rule.profile}'; ` +
          `children of one BullMQ installation cannot be told apart at exec time, so they cannot also start in '${rule.profile}'`,
      )
    }
    const still = current.policy !== null && [...ours.rules.values()].every((h) => holdsRule(current.policy as PolicyView, h.rule))
    if (!still) {
      throw optionsError('the exec interception was re-installed by someone else after this adapter added its processor rule; its policy cannot be extended')
    }
    if (held !== undefined) held.holders++
    else {
      ours.rules.set(mainFile, { rule, holders: 1 })
      reinstall(ours)
    }
    return lease(mainFile, ours.mode)
  }
  if (current.installed && current.policy !== null) {
    if (holdsRule(current.policy, rule)) return { state: 'already-present', release() {} }
    const env = registerOptions(current.policy)
    if (env === null) {
      throw optionsError(
        "core's exec interception is already installed with a policy this adapter cannot reproduce (core offers no way to add " +
          `a rule to it), so processor children could not be confined. Install it yourself with the rule included: ` +
          `confine: [processorConfineRule(${JSON.stringify(mainFile)}, ${JSON.stringify(rule.profile)})], or start this Worker first`,
      )
    }
    ours = { mode: 'extended', base: env, rules: new Map([[mainFile, { rule, holders: 1 }]]) }
  } else {
    ours = { mode: 'installed', base: intercept, rules: new Map([[mainFile, { rule, holders: 1 }]]) }
  }
  try {
    reinstall(ours)
  } catch (err) {
    ours = null
    throw err
  }
  return lease(mainFile, ours.mode)
}
