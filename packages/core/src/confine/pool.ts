import * as fs from 'node:fs'
import * as net from 'node:net'
import { randomBytes } from 'node:crypto'
import { AppArmorError, ErrorCodes } from '../errors'
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

async function openPair(name: string, server: net.Server): Promise<Park> {
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve))
  const reader = net.connect({ path: name })
  reader.pause()
  await new Promise<void>((resolve, reject) => {
    reader.once('connect', resolve)
    reader.once('error', reject)
  })
  const writer = await accepted
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
}): Promise<{ pool: number[]; results: PoolThreadResult[] }> {
  const readNr = readSyscallNumber()
  if (readNr === undefined) {
    throw new AppArmorError(ErrorCodes.UNSUPPORTED, `cannot relabel libuv's threadpool on ${process.arch}: unknown read(2) syscall number`)
  }
  const name = `\0apparmor-monkeys-park-${process.pid}-${randomBytes(6).toString('hex')}`
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ path: name }, resolve)
  })
  const parks: Park[] = []
  try {
    for (let i = 0; i < opts.size; i++) parks.push(await openPair(name, server))
  } finally {
    server.close()
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
    const deadline = Date.now() + opts.timeoutMs
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
      let afd: number
      try {
        afd = fs.openSync(opts.attr(tid), fs.constants.O_WRONLY)
      } catch (err) {
        results.push({ tid, result: (err as NodeJS.ErrnoException).code ?? 'EIO' })
        continue
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
