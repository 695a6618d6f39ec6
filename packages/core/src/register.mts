/**
 * The ESM entry of the register preload (`node --import @apparmor-monkeys/core/register`).
 * It runs the same preload as the CommonJS entry and then waits, with top-level await, for the
 * whole-process confinement asked by APPARMOR_MONKEYS_PROFILE: under --import the ESM loader
 * has already started libuv's threadpool, so confinement is asynchronous (the pool threads are
 * relabelled one by one), and the application must not load before it is complete. A failure
 * rejects here and Node stops before the application's first line.
 *
 * The package's build (scripts/bundle.mjs) makes this file one ES module with the CommonJS
 * entry built in, so an --import start loads no CommonJS file: the first one a process loads
 * costs it Node's CommonJS loader set-up (~1.7 ms on the machine the benchmarks run on, measured
 * in #13), which an application of ES modules would not otherwise pay at start. tsc's output
 * of this file (unbundled) imports the CommonJS entry instead.
 */
import './register.js'

const pending = (globalThis as Record<symbol, unknown>)[Symbol.for('apparmor-monkeys.register.boot')]
if (pending instanceof Promise) await pending
