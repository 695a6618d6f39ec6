import * as fs from 'node:fs'
import * as net from 'node:net'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { AppArmorError, ErrorCodes } from '../errors'
import { Procfs } from '../kernel/procfs'
import { readSyscallNumber } from './threads'

/**
 * Relabelling libuv's threadpool from JavaScript, deterministically ("park and pin"):
 *
 * 1. Park every pool thread: one blocking read(2) per thread, each on its own socket (a
 *    connected pair over an abstract unix socket; the reading end is put in blocking mode).
 *    `/proc/self/task/<tid>/syscall` tells which thread sits on which fd.
 * 2. For each parked thread T: the main thread opens T's attr file, queues the write of the
 *    command, queues a new park read right behind it, and releases only T (one byte on T's
 *    socket). T is then the only free pool thread: it runs the write (the kernel accepts an
 *    attr write only from the task it belongs to, so a write that landed elsewhere would fail
 *    with EACCES and change nothing), and parks again.
 * 3. Release everyone, close everything.
 *
 * No exec and no FIFO is needed. The sockets require `unix` stream permission in the profile
 * the pool threads are in while parking (abstractions/base grants it).
 *
 * Abstract socket names are visible in /proc/net/unix to every process of the network
 * namespace, so any of them can connect. Pairing is therefore authenticated: each pair has its
 * own listening socket on a fresh random name (backlog 4, closed once the pair is made), the
 * reader connects at once and sends a fresh 16-byte random secret, and the server uses a
 * connection as the thread's writer only when it presents that secret. Every other
 * connection (wrong bytes, too many bytes, or still silent when the pair is made) is
 * destroyed. A pair that strangers keep from forming is retried on a new name; at the
 * deadline it ends in ERR_AA_PARK_FAILED. Nothing is parked until every pair exists, so no
 * pool thread is left parked (docs/security.md).
 */

interface Park {
  reader: net.Socket
  writer: net.Socket
  fd: number
  reads: Array<Promise<void>>
}

export interface PoolThreadResult {
  tid: number
  /** Bytes the write reported, or the error code. */
  result: 'written' | string
}

function blockingRead(fd: number): Promise<void> {
  return new Promise((resolve) => {
    fs.read(fd, Buffer.alloc(1), 0, 1, null, () => resolve())
  })
}

const SECRET_BYTES = 16
/** Unauthenticated connections kept at most at once per listening socket (the oldest is closed first). */
const MAX_PENDING = 64
/** The listen backlog of a park socket: ours is the first connection; strangers beyond it get EAGAIN. */
const BACKLOG = 4

/**
 * The server side of one pair: a listening socket on a fresh random abstract name, which hands
 * out the one connection that presents `secret` and destroys every other.
 */
class Pairing {
  readonly #secret: Buffer
  readonly #unproven = new Set<net.Socket>()
  readonly #counter: { strangers: number }
  readonly server = net.createServer()
  readonly accepted: Promise<net.Socket>
  #resolve: ((s: net.Socket) => void) | undefined

  constructor(secret: Buffer, counter: { strangers: number }) {
    this.#secret = secret
    this.#counter = counter
    this.accepted = new Promise((resolve) => {
      this.#resolve = resolve
    })
    this.server.on('connection', (socket) => this.#accept(socket))
    this.server.on('error', () => {})
  }

  #refuse(socket: net.Socket): void {
    this.#counter.strangers++
    this.#unproven.delete(socket)
    socket.destroy()
  }

  #accept(socket: net.Socket): void {
    this.#unproven.add(socket)
    if (this.#unproven.size > MAX_PENDING) {
      const oldest = this.#unproven.values().next().value as net.Socket
      this.#refuse(oldest)
    }
    socket.on('error', () => {
      if (this.#unproven.has(socket)) this.#refuse(socket)
    })
    let got = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk])
      if (got.length < SECRET_BYTES) return
      const resolve = this.#resolve
      if (got.length !== SECRET_BYTES || resolve === undefined || !timingSafeEqual(got, this.#secret)) {
        this.#refuse(socket)
        return
      }
      socket.off('data', onData)
      socket.pause()
      this.#unproven.delete(socket)
      this.#resolve = undefined
      resolve(socket)
    }
    socket.on('data', onData)
  }

  listen(name: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      // exclusive: a cluster worker listens itself instead of asking its primary for the handle.
      this.server.listen({ path: name, backlog: BACKLOG, exclusive: true }, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
  }

  /** Stops listening and closes every connection that has not proved itself. */
  close(): void {
    this.server.close()
    for (const s of this.#unproven) this.#refuse(s)
    this.#resolve = undefined
  }
}

function parkFailed(message: string, profile: string | undefined): AppArmorError {
  return new AppArmorError(ErrorCodes.PARK_FAILED, message, { operation: 'confine', profile })
}

/** Rejects with `make()` when `deadline` (Date.now() ms) passes first. */
function before<T>(p: Promise<T>, deadline: number, make: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(make()), Math.max(0, deadline - Date.now()))
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/**
 * Makes one pair: a fresh listening socket on a random abstract name, our reader connected to
 * it at once (a stranger must find the name in /proc/net/unix and connect within that window
 * to get ahead of it in the accept queue), the reader's secret, and the server's check of it.
 * A full backlog or a connection the server never sees (strangers first in the queue of a
 * starved process) is retried on a new name until the deadline.
 */
async function openPair(counter: { strangers: number }, deadline: number, failed: () => Error): Promise<Park> {
  for (;;) {
    const secret = randomBytes(SECRET_BYTES)
    const pairing = new Pairing(secret, counter)
    const name = `\0apparmor-monkeys-park-${process.pid}-${randomBytes(8).toString('hex')}`
    let reader: net.Socket | undefined
    try {
      await before(pairing.listen(name), deadline, failed)
      reader = net.connect({ path: name })
      reader.pause()
      const r = reader
      await before(
        new Promise<void>((resolve, reject) => {
          r.once('connect', resolve)
          r.once('error', reject)
        }),
        deadline,
        failed,
      )
      // Later errors (a peer that went away) end the pool thread's read; nothing to report.
      r.on('error', () => {})
      await before(
        new Promise<void>((resolve, reject) => r.write(secret, (err) => (err ? reject(err) : resolve()))),
        deadline,
        failed,
      )
      // Ours is normally the first connection accepted; a slice of the time left bounds the wait
      // behind strangers, then a new name is tried.
      const slice = Math.min(deadline, Date.now() + Math.max(200, (deadline - Date.now()) / 4))
      const writer = await before(pairing.accepted, slice, () => new RetryPair())
      pairing.close()
      return park(reader, writer)
    } catch (err) {
      pairing.close()
      reader?.destroy()
      const retry = err instanceof RetryPair || (err as NodeJS.ErrnoException).code === 'EAGAIN'
      if (!retry || Date.now() >= deadline) throw err instanceof RetryPair ? failed() : err
      await sleep(1)
    }
  }
}

class RetryPair extends Error {}

function park(reader: net.Socket, writer: net.Socket): Park {
  const handle = (reader as unknown as { _handle: { fd: number; setBlocking(b: boolean): number; readStop(): number } })._handle
  handle.readStop()
  const rc = handle.setBlocking(true)
  if (rc !== 0) throw new Error(`setBlocking failed (${rc})`)
  return { reader, writer, fd: handle.fd, reads: [] }
}

function parkedTids(parks: Park[], readNr: number): Map<number, number> {
  const byFd = new Map(parks.map((p) => [p.fd, p]))
  const out = new Map<number, number>() // fd -> tid
  for (const t of fs.readdirSync('/proc/self/task')) {
    let sc: string
    try {
      sc = fs.readFileSync(`/proc/self/task/${t}/syscall`, 'latin1')
    } catch {
      continue
    }
    const [nr, arg0] = sc.split(' ')
    if (Number(nr) !== readNr || arg0 === undefined) continue
    const fd = Number.parseInt(arg0, 16)
    if (byFd.has(fd)) out.set(fd, Number(t))
  }
  return out
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Runs `command` (e.g. `changeprofile web-worker`) on every libuv pool thread whose tid passes
 * `needs`. Returns the pool's tids and the per-thread result. Throws UNSUPPORTED when the pool
 * cannot be parked (an unknown architecture, a pool thread busy past the timeout).
 */
export async function relabelPool(opts: {
  command: string
  size: number
  attr: (tid: number) => string
  needs: (tid: number) => boolean
  /** Runs once every pool thread is parked, before any relabel (e.g. to change the main thread). */
  parked: () => void
  timeoutMs: number
  /** Checks the attr file just opened on `fd` (that it is procfs's); throws to stop. */
  opened?: (fd: number) => void
  /** The profile, for error messages. */
  profile?: string
}): Promise<{ pool: number[]; results: PoolThreadResult[] }> {
  const readNr = readSyscallNumber()
  if (readNr === undefined) {
    throw new AppArmorError(ErrorCodes.UNSUPPORTED, `cannot relabel libuv's threadpool on ${process.arch}: unknown read(2) syscall number`)
  }
  // Which thread sits on which fd is read from /proc/self/task/*/syscall: procfs's, or nothing.
  new Procfs().assertProcfs(['/proc', '/proc/self/task'], { operation: 'confine', name: opts.profile })
  const counter = { strangers: 0 }
  const deadline = Date.now() + opts.timeoutMs
  const call = `confine(${JSON.stringify(opts.profile ?? '')})`
  const failed = () =>
    parkFailed(
      `${call}: libuv's pool threads could not be paired with their park connections within ${opts.timeoutMs} ms` +
        (counter.strangers > 0
          ? `: ${counter.strangers} connection(s) from other processes to the park sockets were refused (someone in this network namespace is connecting to them)`
          : '') +
        '. Nothing was changed and no pool thread is parked; retry, or start the process confined (apparmor-monkeys exec -p PROFILE, aa-exec)',
      opts.profile,
    )
  const parks: Park[] = []
  try {
    for (let i = 0; i < opts.size; i++) parks.push(await openPair(counter, deadline, failed))
  } catch (err) {
    for (const p of parks) {
      p.reader.destroy()
      p.writer.destroy()
    }
    throw err
  }
  const cleanup = async () => {
    for (const p of parks) p.writer.write('x'.repeat(Math.max(1, p.reads.length)))
    await Promise.all(parks.flatMap((p) => p.reads))
    for (const p of parks) {
      p.reader.destroy()
      p.writer.destroy()
    }
  }
  try {
    for (const p of parks) p.reads.push(blockingRead(p.fd))
    // Wait until every pool thread sits in its read.
    let map = parkedTids(parks, readNr)
    while (map.size < parks.length) {
      if (Date.now() > deadline) {
        throw new AppArmorError(
          ErrorCodes.UNSUPPORTED,
          `only ${map.size} of ${parks.length} libuv pool threads could be parked within ${opts.timeoutMs} ms ` +
            '(a pool thread is busy with a long job, or UV_THREADPOOL_SIZE changed after start-up)',
        )
      }
      await sleep(2)
      map = parkedTids(parks, readNr)
    }
    opts.parked()
    const results: PoolThreadResult[] = []
    const data = Buffer.from(opts.command, 'utf8')
    for (const p of parks) {
      const tid = map.get(p.fd) as number
      if (!opts.needs(tid)) {
        results.push({ tid, result: 'skipped' })
        continue
      }
      const file = opts.attr(tid) // throws ERR_AA_FAKE_PROCFS: everything is released, nothing more written
      let afd: number
      try {
        afd = fs.openSync(file, fs.constants.O_WRONLY)
      } catch (err) {
        results.push({ tid, result: (err as NodeJS.ErrnoException).code ?? 'EIO' })
        continue
      }
      try {
        opts.opened?.(afd)
      } catch (err) {
        fs.closeSync(afd)
        throw err
      }
      const written = new Promise<string>((resolve) => {
        fs.write(afd, data, 0, data.length, null, (err, n) => {
          resolve(err ? (err.code ?? 'EIO') : n === data.length ? 'written' : `short write ${n}`)
        })
      })
      p.reads.push(blockingRead(p.fd)) // re-park the same thread right after the write
      p.writer.write('x') // release only this thread
      const r = await written
      fs.closeSync(afd)
      results.push({ tid, result: r })
    }
    return { pool: [...map.values()].sort((a, b) => a - b), results }
  } finally {
    await cleanup()
  }
}
