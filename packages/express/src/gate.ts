import type * as http from 'node:http'
import type * as net from 'node:net'

type Listener = (...args: unknown[]) => void
/** The server events that start application work with (req, res). */
const RESPONSE_EVENTS = ['request', 'checkContinue', 'checkExpectation']
/** The server events that hand the application a raw socket: (req, socket, head). */
const SOCKET_EVENTS = ['upgrade', 'connect']

/**
 * Holds every request (and upgrade, CONNECT, Expect: 100-continue) that arrives while the
 * process is being confined: the application sees none of them before the change is verified.
 * Events nobody listens to are left alone (Node answers them itself), except 'request'.
 */
export class Gate {
  readonly #server: net.Server
  readonly #listeners = new Map<string, Listener[]>()
  readonly #holders = new Map<string, Listener>()
  readonly #queue: Array<{ event: string; args: unknown[] }> = []

  constructor(server: net.Server) {
    this.#server = server
    for (const event of [...RESPONSE_EVENTS, ...SOCKET_EVENTS]) {
      const listeners = server.listeners(event) as Listener[]
      if (listeners.length === 0 && event !== 'request') continue
      this.#listeners.set(event, listeners)
      for (const l of listeners) server.removeListener(event, l)
      const hold: Listener = (...args) => {
        this.#queue.push({ event, args })
      }
      this.#holders.set(event, hold)
      server.on(event, hold)
    }
  }

  /** Gives the server its listeners back and replays what was held, in arrival order. */
  open(): void {
    this.#restore()
    for (const { event, args } of this.#queue.splice(0)) {
      for (const l of this.#listeners.get(event) ?? []) l.apply(this.#server, args)
    }
  }

  /** Refuses what was held: 503 for requests, a destroyed socket for upgrades and CONNECTs. */
  refuse(code: string): void {
    this.#restore()
    for (const { event, args } of this.#queue.splice(0)) {
      if (RESPONSE_EVENTS.includes(event)) {
        const res = args[1] as http.ServerResponse
        const body = JSON.stringify({ statusCode: 503, code, error: 'Service Unavailable', message: 'the process is not confined in its AppArmor profile' })
        res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', connection: 'close', 'content-length': Buffer.byteLength(body) })
        res.end(body)
      } else {
        ;(args[1] as net.Socket).destroy()
      }
    }
  }

  #restore(): void {
    for (const [event, hold] of this.#holders) {
      this.#server.removeListener(event, hold)
      for (const l of this.#listeners.get(event) ?? []) this.#server.on(event, l)
    }
    this.#holders.clear()
  }
}
