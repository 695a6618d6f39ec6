// The normal workload of examples/fastify-app, run against the running app: every route a client
// uses, as the app's tests call them (not /api/reload-secrets: re-reading the secrets at request
// time is what the narrow profile refuses). Exits 0 when every answer is right, 1 on the first
// wrong one.
//
//   node exercise.mjs            (PORT 3000, HOST 127.0.0.1: the app's own defaults)
//
// This is the --exercise of `apparmor-monkeys profile` (README.md, "Learn the profiles").
import { readFileSync } from 'node:fs'

const base = `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 3000}`
const token = JSON.parse(readFileSync(new URL('./config/secrets.json', import.meta.url), 'utf8')).apiToken

/** One request on a fresh connection (the traffic a browser or a load balancer sends). */
async function request(method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), connection: 'close', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, body: text, json }
}

function check(ok, what, reply) {
  if (!ok) {
    process.stderr.write(`FAILED ${what}: ${reply.status} ${reply.body.slice(0, 300)}\n`)
    process.exit(1)
  }
  process.stdout.write(`ok ${what}\n`)
}

const index = await request('GET', '/')
check(index.status === 200 && index.body.includes('<h1>fastify-app</h1>'), 'GET / serves public/index.html', index)
const health = await request('GET', '/api/health')
check(health.status === 200 && health.json?.status === 'ok' && /^([0-9a-f]{64}|unknown)$/.test(health.json.instance), 'GET /api/health', health)
const labels = await request('GET', '/api/apparmor')
check(labels.status === 200 && Array.isArray(labels.json?.threads), 'GET /api/apparmor', labels)
const anonymous = await request('POST', '/api/notes', { text: 'no token' })
check(anonymous.status === 401, 'POST /api/notes without the token is refused', anonymous)
const created = await request('POST', '/api/notes', { text: 'exercise' }, { authorization: `Bearer ${token}` })
check(created.status === 201 && created.json?.text === 'exercise', 'POST /api/notes with the token', created)
const list = await request('GET', '/api/notes')
check(list.status === 200 && list.json?.some((n) => n.text === 'exercise'), 'GET /api/notes lists it', list)
