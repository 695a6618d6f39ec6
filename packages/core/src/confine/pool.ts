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
 * The socket's abstract name is visible in /proc/net/unix to every process of the network
 * namespace, so any of them can connect to it. Pairing is therefore authenticated: each
 * reader sends a fresh 16-byte random secret first, and the server uses a connection as a
 * thread's writer only when it presents the secret of the pair being made. Any other
 * connection (wrong bytes, too many bytes, or still silent when pairing ends) is destroyed.
 * A flood that keeps the pairs from forming ends in ERR_AA_PARK_FAILED at the deadline;
 * nothing is parked until every pair is made, so no pool thread is left parked
 * (docs/security.md).
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
/** Unauthenticated connections kept at most at once (the oldest is closed first). */
const MAX_PENDING = 256

/** The server side of the park channel: hands out connections that proved the current secret. */
class Pairing {
  #secret: Buffer | undefined
  #resolve: ((s: net.Socket) => void) | undefined
  readonly #unproven = new Set<net.Socket>()
  /** Connections refused because they were not ours. */
  strangers = 0

  constructor(server: net.Server) {
    server.on('connection', (socket) => this.#accept(socket))
  }

  #refuse(socket: net.Socket): void {
    this.strangers++
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
      const secret = this.#secret
      const resolve = this.#resolve
      if (got.length !== SECRET_BYTES || secret === undefined || resolve === undefined || !timingSafeEqual(got, secret)) {
        this.#refuse(socket)
        return
      }
      socket.off('data', onData)
      socket.pause()
      this.#unproven.delete(socket)
      this.#secret = undefined
      this.#resolve = undefined
      resolve(socket)
    }
    socket.on('data', onData)
  }

  /** The next connection that presents `secret`. */
  expect(secret: Buffer): Promise<net.Socket> {
    return new Promise((resolve) => {
      this.#secret = secret
      this.#resolve = resolve
    })
  }

  /** Closes every connection that has not proved itself. */
  close(): void {
    for (const s of this.#unproven) this.#refuse(s)
    this.#secret = undefined
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

async function connectReader(name: string, deadline: number, failed: () => Error): Promise<net.Socket> {
  for (;;) {
    const reader = net.connect({ path: name })
    reader.pause()
    try {
      await before(
        new Promise<void>((resolve, reject) => {
          reader.once('connect', resolve)
          reader.once('error', reject)
        }),
        deadline,
        failed,
      )
      // Later errors (a peer that went away) end the pool thread's read; nothing to report.
      reader.on('error', () => {})
      return reader
    } catch (err) {
      reader.destroy()
      // A full accept backlog (a flood of strangers): try again until the deadline.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) throw err
      await sleep(1)
    }
  }
}

async function openPair(name: string, pairing: Pairing, deadline: number, failed: () => Error): Promise<Park> {
  const secret = randomBytes(SECRET_BYTES)
  const accepted = pairing.expect(secret)
  const reader = await connectReader(name, deadline, failed)
  let writer: net.Socket
  try {
    await before(
      new Promise<void>((resolve, reject) => reader.write(secret, (err) => (err ? reject(err) : resolve()))),
      deadline,
      failed,
    )
    writer = await before(accepted, deadline, failed)
  } catch (err) {
    reader.destroy()
    throw err
  }
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
  const name = `\0apparmor-monkeys-park-${process.pid}-${randomBytes(6).toString('hex')}`
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ path: name }, resolve)
  })
  const pairing = new Pairing(server)
  const deadline = Date.now() + opts.timeoutMs
  const call = `confine(${JSON.stringify(opts.profile ?? '')})`
  const failed = () =>
    parkFailed(
      `${call}: libuv's pool threads could not be paired with their park connections within ${opts.timeoutMs} ms` +
        (pairing.strangers > 0
          ? `: ${pairing.strangers} connection(s) from other processes to the park socket were refused (someone in this network namespace is connecting to it)`
          : '') +
        '. Nothing was changed and no pool thread is parked; retry, or start the process confined (apparmor-monkeys exec -p PROFILE, aa-exec)',
      opts.profile,
    )
  const parks: Park[] = []
  try {
    for (let i = 0; i < opts.size; i++) parks.push(await openPair(name, pairing, deadline, failed))
  } catch (err) {
    for (const p of parks) {
      p.reader.destroy()
      p.writer.destroy()
    }
    throw err
  } finally {
    server.close()
    pairing.close()
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
