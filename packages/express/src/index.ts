/**
 * `@apparmor-monkeys/express`: `await listenConfined(app, { profile, port })`.
 *
 * Express (4 and 5) and Connect have no lifecycle hooks, so the helper owns the moment the
 * server starts: it installs the exec interception (unless the register preload did), listens,
 * then confines the whole process in `profile` (or confines first with `before: true`).
 * Requests that arrive before the process is confined wait; if the confinement fails, they
 * get 503, the server is closed and the promise rejects with the coded AppArmorError.
 * Typed against `node:http` only: any `(req, res)` listener or an existing http(s) server works.
 */
import * as http from 'node:http'
import type * as https from 'node:https'
import * as net from 'node:net'
import { AppArmorError, ErrorCodes, confine } from '@apparmor-monkeys/core'
import { adapterError } from '@apparmor-monkeys/core/adapter'
import type { ConfineReport } from '@apparmor-monkeys/core'
import { Gate } from './gate'
import { leaseInterception } from '@apparmor-monkeys/core'
import type { InterceptionState } from '@apparmor-monkeys/core'
import { resolveOptions } from './options'
import type { ListenConfinedOptions, ResolvedOptions } from './options'

export type { InterceptOptions, InterceptionState } from '@apparmor-monkeys/core'
export type { ListenConfinedOptions } from './options'


/** A listening server whose process is confined. */
export interface ConfinedServer<S extends net.Server = http.Server> {
  readonly server: S
  /** The bound address (port included). */
  readonly address: net.AddressInfo
  /** The verified report of `confine()`: every thread and its label. */
  readonly report: ConfineReport
  /** Who set up the exec interception: this helper, the register preload, or nobody. */
  readonly interception: InterceptionState
  /** Closes the server (and every connection) and gives the interception back. */
  close(): Promise<void>
}

function listen(server: net.Server, opts: ResolvedOptions): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen({ port: opts.port, ...(opts.host === undefined ? {} : { host: opts.host }) }, () => {
      server.removeListener('error', onError)
      resolve(server.address() as net.AddressInfo)
    })
  })
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve()
      return
    }
    server.close(() => resolve())
    ;(server as http.Server).closeAllConnections?.()
  })
}

/** Adds the helper's context to a failure, keeping its stable code, details and cause. */
function confineError(err: unknown, opts: ResolvedOptions, where: string): AppArmorError {
  return adapterError(err, {
    prefix: `@apparmor-monkeys/express: the process could not be confined in AppArmor profile '${opts.profile}' (${where})`,
    profile: opts.profile,
  })
}

function isServer(app: unknown): app is net.Server {
  return app instanceof net.Server
}

/**
 * Starts `app` on `options.port` with the whole process confined in `options.profile`.
 * Resolves once the server listens AND every thread that can run application I/O is in the
 * profile. Rejects (fail closed) with AppArmorError: `ERR_AA_OPTIONS` for wrong options, or
 * the confinement's own code (`ERR_AA_NOT_FOUND`, `ERR_AA_NOT_PERMITTED`, `ERR_AA_DISABLED`,
 * `ERR_AA_INCOMPLETE`, …) after closing the server. A listen error (EADDRINUSE, …) rejects as is.
 */
export async function listenConfined<S extends http.Server | https.Server = http.Server>(
  app: http.RequestListener | S,
  options: ListenConfinedOptions,
): Promise<ConfinedServer<S>> {
  const opts = resolveOptions(options)
  if (typeof app !== 'function' && !isServer(app)) {
    throw new AppArmorError(ErrorCodes.OPTIONS, '@apparmor-monkeys/express: app must be a request listener (an Express or Connect app) or an http(s) server', {
      operation: 'options',
    })
  }
  const server = (isServer(app) ? app : http.createServer(app as http.RequestListener)) as S
  if (server.listening) {
    throw new AppArmorError(ErrorCodes.OPTIONS, '@apparmor-monkeys/express: the server is already listening; pass it before listen()', { operation: 'options' })
  }
  const lease = leaseInterception(opts.intercept)
  let report: ConfineReport
  let address: net.AddressInfo
  try {
    if (opts.before) {
      try {
        report = await confine(opts.profile, { strict: opts.strict })
      } catch (err) {
        throw confineError(err, opts, 'before listening; the server was not started')
      }
      address = await listen(server, opts)
    } else {
      const gate = new Gate(server)
      address = await listen(server, opts)
      try {
        report = await confine(opts.profile, { strict: opts.strict })
      } catch (err) {
        const error = confineError(err, opts, `after listening on port ${address.port}; the server was closed`)
        gate.refuse(error.code)
        await closeServer(server)
        throw error
      }
      gate.open()
    }
  } catch (err) {
    lease.release()
    throw err
  }
  return {
    server,
    address,
    report,
    interception: lease.state,
    async close() {
      await closeServer(server)
      lease.release()
    },
  }
}
