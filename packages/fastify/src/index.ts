/**
 * `@apparmor-monkeys/fastify`: `app.register(apparmorMonkeys, { profile })`.
 *
 * On register: validates the options and installs the exec interception (unless the register
 * preload already did). Then confines the whole process in `profile`: in `onReady` by default
 * (a failure aborts startup: `ready()` / `listen()` reject with the coded AppArmorError), or
 * once the server listens (`when: 'listen'`: requests wait for the confinement; a failure
 * closes the server and is thrown as an uncaught exception). `fastify.apparmor` reports it.
 * Per-request hats are not offered: an event loop serves many requests on one thread.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { leaseInterception } from '@apparmor-monkeys/core'
import type { InterceptOptions as CoreInterceptOptions, InterceptionState as State } from '@apparmor-monkeys/core'
import { resolveOptions } from './options'
import type { ApparmorMonkeysOptions as Options, ConfineWhen as When } from './options'
import { Confinement } from './status'
import type {
  ApparmorMonkeysStatus as Status,
  ApparmorMonkeysStatusJSON as StatusJSON,
  ConfinementState as CState,
} from './status'

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's AppArmor confinement, as set up by `@apparmor-monkeys/fastify`. */
    readonly apparmor: apparmorMonkeys.ApparmorMonkeysStatus
  }
}

const NAME = '@apparmor-monkeys/fastify'

/** The plugin. Register it once, on the root instance (it is not encapsulated). */
async function apparmorMonkeys(fastify: FastifyInstance, options: apparmorMonkeys.ApparmorMonkeysOptions): Promise<void> {
  const opts = resolveOptions(options)
  const lease = leaseInterception(opts.intercept)
  const confinement = new Confinement(opts, lease.state)
  try {
    fastify.decorate('apparmor', confinement)
  } catch (err) {
    lease.release()
    throw err
  }
  fastify.addHook('onClose', (_instance, done) => {
    lease.release()
    done()
  })

  if (opts.when === 'ready') {
    fastify.addHook('onReady', async () => {
      await confinement.run()
    })
    return
  }

  // when: 'listen'. Nothing is served before the process is confined: requests that arrive
  // while the change runs wait for it; any other state (failed, or never started because the
  // server never listened, as with inject()) is refused with 503.
  fastify.addHook('onRequest', (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (confinement.state === 'confined') {
      done()
      return
    }
    if (confinement.state === 'confining') {
      void confinement.settled().then(() => {
        if (confinement.state === 'confined') done()
        else refuse(reply, confinement)
      })
      return
    }
    refuse(reply, confinement)
  })
  fastify.addHook('onListen', async function onListen(this: FastifyInstance) {
    try {
      await confinement.run()
    } catch (err) {
      // Fastify logs and ignores onListen errors: fail closed by hand.
      this.log.fatal({ err }, 'AppArmor confinement failed: closing the server')
      try {
        await fastify.close()
      } finally {
        process.nextTick(() => {
          throw err
        })
      }
    }
  })
}

function refuse(reply: FastifyReply, confinement: Confinement): void {
  const code = confinement.error?.code ?? 'ERR_AA_NOT_CONFINED'
  void reply
    .code(503)
    .header('connection', 'close')
    .send({
      statusCode: 503,
      code,
      error: 'Service Unavailable',
      message: `the process is not confined in its AppArmor profile (state: ${confinement.state})`,
    })
}

fp(apparmorMonkeys, { fastify: '5.x', name: NAME })
apparmorMonkeys.default = apparmorMonkeys
apparmorMonkeys.apparmorMonkeys = apparmorMonkeys

declare namespace apparmorMonkeys {
  export type ApparmorMonkeysOptions = Options
  export type ApparmorMonkeysStatus = Status
  export type ApparmorMonkeysStatusJSON = StatusJSON
  export type ConfineWhen = When
  export type ConfinementState = CState
  export type InterceptionState = State
  export type InterceptOptions = CoreInterceptOptions
}

export = apparmorMonkeys

// Node's ESM loader learns a CommonJS module's named exports by scanning its source
// (cjs-module-lexer): it detects `module.exports.NAME = …` but not `apparmorMonkeys.NAME = …`.
// These two lines are for that scan (the same technique as core's index.ts): TypeScript emits
// `module.exports = apparmorMonkeys` after them, and the function already carries both
// properties (above), so `import { apparmorMonkeys } from '@apparmor-monkeys/fastify'` and
// `import apparmorMonkeys from …` both work as the types say (test/packaging checks it).
module.exports.default = apparmorMonkeys
module.exports.apparmorMonkeys = apparmorMonkeys
