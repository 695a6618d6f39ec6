// The request gate of listenConfined, on a real http server over loopback: what arrives while
// the process is being confined is held, then replayed (or refused) in arrival order.
import t from 'tap'
import * as http from 'node:http'
import * as net from 'node:net'
import { Gate } from '../src/gate'

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)))
}

function get(port: number, path: string, body?: string): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', agent: false }, (res) => {
      let data = ''
      res.on('data', (c: Buffer) => (data += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, connection: res.headers.connection }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

t.test('holds requests until open(), then replays them in order to the original listener; later ones go straight', async (t) => {
  const seen: string[] = []
  const app: http.RequestListener = (req, res) => {
    seen.push(req.url ?? '')
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => res.end(`${req.url} ${body}`))
  }
  const server = http.createServer(app)
  t.teardown(() => server.close())
  const gate = new Gate(server)
  t.equal(server.listeners('request').includes(app), false, 'the app is off the server while the gate holds')
  const port = await listen(server)
  let arrived = 0
  server.prependListener('request', () => arrived++)
  const a = get(port, '/a')
  await until(() => arrived === 1)
  const b = get(port, '/b', 'posted while held')
  await until(() => arrived === 2)
  await new Promise((r) => setTimeout(r, 50))
  t.same(seen, [], 'nothing reached the app')
  gate.open()
  t.same((await Promise.all([a, b])).map((r) => r.body), ['/a ', '/b posted while held'], 'bodies sent while held are read after')
  t.same(seen, ['/a', '/b'])
  t.equal(server.listeners('request').includes(app), true)
  t.equal((await get(port, '/c')).body, '/c ')
})

t.test('refuse(): every held request gets 503 with the code and Connection: close; the app sees none', async (t) => {
  let calls = 0
  const server = http.createServer(() => calls++)
  t.teardown(() => server.close())
  const gate = new Gate(server)
  const port = await listen(server)
  let arrived = 0
  server.prependListener('request', () => arrived++)
  const held = [get(port, '/x'), get(port, '/y')]
  await until(() => arrived === 2)
  gate.refuse('ERR_AA_NOT_PERMITTED')
  for (const r of await Promise.all(held)) {
    t.equal(r.status, 503)
    t.equal(r.connection, 'close')
    t.same(JSON.parse(r.body), { statusCode: 503, code: 'ERR_AA_NOT_PERMITTED', error: 'Service Unavailable', message: 'the process is not confined in its AppArmor profile' })
  }
  t.equal(calls, 0)
})

function upgrade(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: demo\r\n\r\n'))
    let data = ''
    s.on('data', (c: Buffer) => (data += c.toString()))
    s.on('close', () => resolve(data))
    s.on('error', () => resolve(data))
  })
}

t.test("upgrades are held and replayed to the app's 'upgrade' listener, or destroyed on refuse()", async (t) => {
  for (const outcome of ['open', 'refuse'] as const) {
    const server = http.createServer()
    server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\nupgraded'))
    const gate = new Gate(server)
    const port = await listen(server)
    let arrived = 0
    server.prependListener('upgrade', () => arrived++)
    const got = upgrade(port)
    await until(() => arrived === 1)
    if (outcome === 'open') gate.open()
    else gate.refuse('ERR_AA_DISABLED')
    const text = await got
    if (outcome === 'open') t.match(text, /101 Switching Protocols\r\n\r\nupgraded$/)
    else t.equal(text, '', 'the socket was destroyed without an answer')
    server.close()
  }
})

t.test('events nobody listens to are not gated (Node keeps answering them itself)', async (t) => {
  const server = http.createServer(() => {})
  new Gate(server)
  t.equal(server.listenerCount('upgrade'), 0)
  t.equal(server.listenerCount('connect'), 0)
  t.equal(server.listenerCount('checkContinue'), 0)
  t.equal(server.listenerCount('request'), 1, 'only the gate')
})
