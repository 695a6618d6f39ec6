/**
 * The ESM entry of the register preload (`node --import @apparmor-monkeys/core/register`).
 * It runs the same preload as the CommonJS entry and then waits, with top-level await, for the
 * whole-process confinement asked by APPARMOR_MONKEYS_PROFILE: under --import the ESM loader
 * has already started libuv's threadpool, so confinement is asynchronous (the pool threads are
 * relabelled one by one), and the application must not load before it is complete. A failure
 * rejects here and Node stops before the application's first line.
 *
 * The CommonJS entry is loaded with require, not imported: an `import` of a CommonJS file makes
 * Node's ESM loader scan its source for named exports (cjs-module-lexer), which cost this
 * preload ~3 ms at every start (bench/intercept.mjs).
 */
import { createRequire } from 'node:module'

createRequire(import.meta.url)('./register.js')

const pending = (globalThis as Record<symbol, unknown>)[Symbol.for('apparmor-monkeys.register.boot')]
if (pending instanceof Promise) await pending
