/**
 * The guest half of scripts/demo.mjs (runs inside the AppArmor VM): examples/fastify-app run
 * twice, with apparmor-monkeys (fastify-app-boot → fastify-app) and without it (the one
 * profile fastify-app-single), the same requests sent to both over loopback. Prints one JSON
 * document on stdout; the host formats it.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { auditSince, request, startApp, type Reply } from './app'

const APP = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'fastify-app')
const SERVER = path.join(APP, 'server.js')
const TOKEN = (JSON.parse(fs.readFileSync(path.join(APP, 'config', 'secrets.json'), 'utf8')) as { apiToken: string }).apiToken
const PORT = 3000

interface Exchange {
  method: string
  path: string
  status: number
  summary: string
}

function summary(r: Reply): string {
  if (r.json === undefined) return `${r.headers['content-type'] ?? ''} (${r.body.length} bytes)`
  const j = r.json as Record<string, unknown>
  if ('instance' in j) return j['instance'] === 'unknown' ? 'instance unknown' : `instance ${String(j['instance']).slice(0, 16)}…`
  if ('error' in j) return `error ${String(j['error'])}`
  if ('reloaded' in j) return `reloaded: ${String(j['reloaded'])}`
  if ('id' in j) return `note #${String(j['id'])} created`
  return JSON.stringify(j).slice(0, 60)
}

async function exercise(port: number): Promise<Exchange[]> {
  const out: Exchange[] = []
  const send = async (method: string, p: string, opts: { headers?: Record<string, string>; body?: unknown } = {}) => {
    const r = await request(port, method, p, opts)
    out.push({ method, path: p, status: r.status, summary: summary(r) })
    return r
  }
  await send('GET', '/')
  await send('GET', '/api/health')
  await send('POST', '/api/notes', { body: { text: 'hello from the demo' }, headers: { authorization: `Bearer ${TOKEN}` } })
  await send('GET', '/api/reload-secrets?via=sync')
  await send('GET', '/api/reload-secrets?via=async')
  return out
}

async function run(profile: string, env: Record<string, string>) {
  await auditSince()
  const started = Date.now()
  const app = await startApp([process.execPath, SERVER], PORT, { profile, cwd: APP, env: { LOG_LEVEL: 'warn', ...env } })
  const startMs = Date.now() - started
  const labels = (await request(PORT, 'GET', '/api/apparmor')).json as {
    current: string
    threads: Array<{ tid: number; main: boolean; label: string }>
    status: { report: { durationMs: number; pool: string; threads: Array<{ tid: number; role: string }> } } | null
  }
  const exchanges = await exercise(PORT)
  const exit = await app.stop()
  const audit = await auditSince()
  const decisions = exit.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { command: string; decision: string; reason: string; durationNs: number; api: string })
  return { profile, startMs, labels, exchanges, exitCode: exit.code, decisions, audit, stderr: exit.stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n') }
}

async function main(): Promise<void> {
  const withAam = await run('fastify-app-boot', { APP_EXEC_LOG: 'stderr' })
  const without = await run('fastify-app-single', { APP_APPARMOR: 'off' })
  process.stdout.write(`${JSON.stringify({ with: withAam, without })}\n`)
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
