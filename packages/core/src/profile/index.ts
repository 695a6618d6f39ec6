/**
 * `apparmor-monkeys profile`: learn a boot + runtime profile pair from a run of the app.
 * Nothing here runs on import; the CLI loads this entry only for the `profile` command.
 */
export { parseProfileArgs, PROFILE_DEFAULTS } from './options'
export type { ProfileOptions, ReadyProbe } from './options'
export { parseRecord, parseRecords, parseFields, recordsFor } from './records'
export type { AuditRecord } from './records'
export { globToRegExp, globMatches, expandBraces, expandVariables } from './glob'
export type { Variables } from './glob'
export { buildRules, GROUP_ORDER, GROUP_TITLES } from './rules'
export type { ChildSpec, RuleContext, RuleGroup, LearnedProfile, GroupId } from './rules'
export { renderProfileFile } from './writer'
export { generate, learningFile, learnInPlace, runParser, NODE_ABSTRACTION } from './learn'
export type { LearnResult } from './learn'
