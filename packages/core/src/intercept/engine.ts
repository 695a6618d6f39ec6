import type { ResolvedInterceptOptions } from '../options'
import { type SpawnCall, commandLine, shapeOf } from './call'
import { callerStack, hasSubscribers, publish, reportFailOpen } from './diagnostics'
import { type Emulability, EmulatorMisses, type Verdict, decide } from './policy'

/** The single decision point every layer calls: decide, time it, publish it. */
export class Engine {
  /** The requests this install's emulator declined (see EmulatorMisses). */
  private readonly misses = new EmulatorMisses()

  constructor(readonly options: ResolvedInterceptOptions) {}

  decide(call: SpawnCall, emulability: Emulability): Verdict {
    const observed = hasSubscribers()
    const start = observed ? process.hrtime.bigint() : 0n
    const shape = shapeOf(call)
    const verdict = decide(call, shape, emulability, this.options, this.misses)
    if (observed) {
      const durationNs = Number(process.hrtime.bigint() - start)
      publish({
        command: commandLine(shape),
        file: call.file,
        args: call.argv.slice(1),
        decision: verdict.decision,
        reason: verdict.reason,
        ...(verdict.profile === undefined ? {} : { profile: verdict.profile }),
        api: call.api,
        durationNs,
        stack: callerStack(),
        ...(verdict.emulatorError === undefined ? {} : { emulatorError: verdict.emulatorError }),
      })
    }
    return verdict
  }

  /**
   * decide(), failing open: a decision that throws (a bug of this package, never a policy
   * outcome) is reported once on the diagnostics channel (reason `fail-open`) and null is
   * returned, so that the caller makes the native call untouched.
   */
  tryDecide(call: SpawnCall, emulability: Emulability): Verdict | null {
    try {
      return this.decide(call, emulability)
    } catch (err) {
      reportFailOpen(call.api, `the decision failed (${(err as Error)?.message ?? String(err)})`)
      return null
    }
  }
}
