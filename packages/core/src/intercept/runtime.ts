/**
 * What the hooks need once a process is actually started: loaded on the first spawn, so the
 * register preload only loads options.ts and install.ts at boot.
 */
export { Engine } from './engine'
export { applyHandedDown, runSync } from './sync'
export { runAsync, retireProbe } from './async'
export { syncApiReplacements } from './sync-api'
export { openLog } from './log'
export { subscribe } from './diagnostics'
// The defaults install() resolves at the first request, and the emulator's entry for their
// `emulate` (the build makes this module one file with both in it: scripts/bundle.mjs).
export { defaultInterceptOptions } from '../options'
export { emulate } from '@apparmor-monkeys/emulator'
