/**
 * The preload every sandboxed processor child loads (the parent adds `--import <this file>`
 * to the child's execArgv; see sandbox.ts): it runs before BullMQ's child code and before any
 * processor module, checks that EVERY thread of the child is in the processor profile (the
 * exec-time confinement puts them all there), and otherwise stops the child at once, so no
 * job runs in a child that is not confined. This file has side effects by design; it is never
 * imported by the package's other entries.
 *
 * A refusal is reported three ways: a line on stderr (BullMQ pipes it to the worker's
 * stderr), exit status 78 (EX_CONFIG), and, when the IPC channel uses JSON serialization,
 * BullMQ's own InitFailed message, so the job fails with this error's text. That message is
 * written synchronously on the channel's fd (the process exits right after, before any
 * asynchronous send could complete); its shape is BullMQ's `{ cmd: ParentCommand.InitFailed
 * (3), err: { message, stack } }`, the same in BullMQ 5 and 6.
 */
import * as fs from 'node:fs'
import { isMainThread } from 'node:worker_threads'
import { kernel } from '@apparmor-monkeys/core'
import { CHECK_ENV, type ProcessorCheck } from './sandbox'

const EX_CONFIG = 78
const INIT_FAILED = 3

function refuse(message: string, ipc: ProcessorCheck['ipc']): never {
  const text = `@apparmor-monkeys/bullmq: ${message}; this processor child refuses to run jobs`
  const err = new Error(text)
  try {
    fs.writeSync(2, `${text}\n`)
  } catch {
    // no stderr: the exit status and the IPC message remain
  }
  const channel = (process as { channel?: { fd?: number } }).channel
  if (ipc === 'json' && typeof channel?.fd === 'number' && channel.fd >= 0) {
    try {
      fs.writeSync(channel.fd, `${JSON.stringify({ cmd: INIT_FAILED, err: { message: text, stack: err.stack } })}\n`)
    } catch {
      // the parent still sees the exit status
    }
  }
  process.exit(EX_CONFIG)
}

function check(): void {
  const raw = process.env[CHECK_ENV]
  if (!isMainThread || raw === undefined) return
  // This child's own children must not inherit the check (they may run in other profiles; a
  // child forked with this execArgv finds no variable and does nothing).
  delete process.env[CHECK_ENV]
  let spec: ProcessorCheck
  try {
    spec = JSON.parse(raw) as ProcessorCheck
  } catch {
    refuse(`${CHECK_ENV} is not valid JSON`, 'json')
  }
  let labels: ReturnType<ReturnType<typeof kernel>['threadLabels']>
  try {
    labels = kernel().threadLabels()
  } catch (err) {
    refuse(`its threads' AppArmor labels could not be read (${(err as Error).message})`, spec.ipc)
  }
  const outside = labels.filter((l) => l.label !== spec.profile)
  if (outside.length > 0 || labels.length === 0) {
    refuse(
      `it was to start in AppArmor profile '${spec.profile}' but ${outside.length} of ${labels.length} threads are elsewhere: ` +
        outside.map((l) => `tid ${l.tid} in '${l.raw}'`).join(', '),
      spec.ipc,
    )
  }
}

check()
