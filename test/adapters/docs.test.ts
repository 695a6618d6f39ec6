// docs/deployment.md, checked against the repository: every snippet marked
// `<!-- check: NAME -->` uses profile names, paths and routes that exist in examples/, the
// systemd unit parses with the expected keys (and systemd-analyze accepts it when present),
// the Kubernetes manifest has the expected fields, and the profile files the docs load compile.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { exampleDir, profileNames, profileSource, renderProfileText, repoRoot } from './profiles'

const ROOT = repoRoot()
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'deployment.md'), 'utf8')
const APP = exampleDir('fastify-app')
const PROFILE_TEXT = fs.readFileSync(profileSource('fastify-app'), 'utf8')
const PROFILES = profileNames(PROFILE_TEXT)
const FEATURES = '/usr/share/apparmor-features/features'

/** The fenced block that follows `<!-- check: name -->`. */
function snippet(name: string): { lang: string; text: string } {
  const re = new RegExp(`<!-- check: ${name} -->\\n\`\`\`(\\w*)\\n([\\s\\S]*?)\\n\`\`\`\\n`)
  const m = re.exec(DOC)
  if (!m) throw new Error(`docs/deployment.md has no checked snippet "${name}"`)
  return { lang: m[1] as string, text: m[2] as string }
}

/** The default value of `@{NAME}=` in a profile file. */
function variable(text: string, name: string): string {
  const m = new RegExp(`^@\\{${name}\\}=(.*)$`, 'm').exec(text)
  if (!m) throw new Error(`no @{${name}}`)
  return (m[1] as string).trim()
}

/** systemd's INI: sections of `Key=value` lines (repeated keys kept in order). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const section = /^\[([A-Za-z]+)\]$/.exec(line)
    if (section) {
      current = new Map()
      sections.set(section[1] as string, current)
      continue
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (!kv || !current) throw new Error(`not INI: ${JSON.stringify(line)}`)
    current.set(kv[1] as string, [...(current.get(kv[1] as string) ?? []), kv[2] as string])
  }
  return sections
}

type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml }

function scalar(s: string): Yaml {
  if (/^-?\d+$/.test(s)) return Number(s)
  if (s === 'true' || s === 'false') return s === 'true'
  if (s === '' || s === 'null' || s === '~') return null
  if (/^(['"]).*\1$/.test(s)) return s.slice(1, -1)
  return s
}

/**
 * The YAML subset Kubernetes manifests use here: block mappings, block sequences (of mappings
 * or scalars), plain scalars. Anything else (flow style, anchors, multi-line strings) throws.
 */
function parseYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() }))
  let i = 0
  const block = (indent: number): Yaml => {
    const first = lines[i]
    if (!first || first.indent < indent) return null
    if (first.text.startsWith('- ') || first.text === '-') {
      const list: Yaml[] = []
      while (i < lines.length && (lines[i] as { indent: number }).indent === indent && (lines[i] as { text: string }).text.startsWith('-')) {
        const item = lines[i] as { indent: number; text: string }
        const rest = item.text.slice(1).trimStart()
        if (/^[\w.-]+:( |$)/.test(rest)) {
          // a mapping item: rewrite "- key: v" as a line of the mapping at indent + 2
          item.indent = indent + 2
          item.text = rest
          list.push(block(indent + 2))
        } else {
          i++
          list.push(scalar(rest))
        }
      }
      return list
    }
    const map: { [k: string]: Yaml } = {}
    while (i < lines.length && (lines[i] as { indent: number }).indent === indent) {
      const { text: line } = lines[i] as { text: string }
      const m = /^([\w.-]+):(?: (.*))?$/.exec(line)
      if (!m || /^[[{|>&*]/.test(m[2] ?? '')) throw new Error(`YAML outside the supported subset: ${JSON.stringify(line)}`)
      i++
      const key = m[1] as string
      if (m[2] !== undefined && m[2] !== '') map[key] = scalar(m[2])
      else {
        const next = lines[i]
        map[key] = next && next.indent > indent ? block(next.indent) : next && next.indent === indent && next.text.startsWith('-') ? block(indent) : null
      }
    }
    return map
  }
  const doc = block(0)
  if (i !== lines.length) throw new Error(`YAML: unparsed from line ${JSON.stringify(lines[i])}`)
  return doc
}

/** The rules of `profile NAME { … }`, comments dropped (profiles end with a `}` alone on its line). */
const body = (name: string) =>
  (new RegExp(`^profile ${name} \\{\\n([\\s\\S]*?)\\n\\}$`, 'm').exec(PROFILE_TEXT)?.[1] ?? '')
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join('\n')
const changesInto = (from: string, to: string) => new RegExp(`^\\s*change_profile -> ${to},$`, 'm').test(body(from))

t.test('the profile file defines the boot profile and the narrow one, and the boot one may change into it', async (t) => {
  t.same(PROFILES, ['fastify-app-boot', 'fastify-app'])
  t.ok(changesInto('fastify-app-boot', 'fastify-app'))
  t.notOk(changesInto('fastify-app', 'fastify-app-boot'), 'no way back')
  t.notMatch(body('fastify-app'), /change_profile|\bx\b|ix,|px,|ux,/, 'the narrow profile can neither change nor exec')
})

t.test('load-profiles: the file installed is the example file, loaded under its own name, with the documented variables', async (t) => {
  const { lang, text } = snippet('load-profiles')
  t.equal(lang, 'sh')
  const install = /install -m 0644 (\S+) (\S+)/.exec(text)
  t.ok(install, 'an install command')
  const [, src, dest] = install as RegExpExecArray
  t.equal(path.join(ROOT, src as string), profileSource('fastify-app'), 'the source is the example profile file')
  t.ok(fs.existsSync(path.join(ROOT, src as string)))
  t.match(text, new RegExp(`apparmor_parser -r ${dest}\\n`), 'the installed file is the one loaded')
  t.match(text, `@{APP_DIR}=${variable(PROFILE_TEXT, 'APP_DIR')}`)
  t.match(text, `@{APP_DEPS}=${variable(PROFILE_TEXT, 'APP_DEPS')}`)
  const printed = /should print:\n\n```\n([\s\S]*?)\n```/.exec(DOC)?.[1]
  t.same(printed?.split('\n'), PROFILES.map((p) => `${p} (enforce)`), 'the documented output names exactly the profiles of the file')
})

t.test('start-confined: the process starts in the boot profile and runs the example server', async (t) => {
  const m = /^aa-exec -p (\S+) -- node (\S+)$/.exec(snippet('start-confined').text)
  t.ok(m)
  t.equal(m?.[1], 'fastify-app-boot')
  t.ok(PROFILES.includes(m?.[1] as string))
  t.ok(fs.existsSync(path.join(APP, m?.[2] as string)))
})

t.test('systemd-unit: parses as a unit file with the expected keys', async (t) => {
  const { lang, text } = snippet('systemd-unit')
  t.equal(lang, 'ini')
  const unit = parseUnit(text)
  t.same([...unit.keys()], ['Unit', 'Service', 'Install'])
  const svc = unit.get('Service') as Map<string, string[]>
  t.same(svc.get('AppArmorProfile'), ['fastify-app-boot'], 'one profile, no "-" prefix (which would start it unconfined)')
  t.ok(PROFILES.includes('fastify-app-boot'))
  const appDir = variable(PROFILE_TEXT, 'APP_DIR')
  t.same(svc.get('WorkingDirectory'), [appDir], 'the directory the profile names')
  t.same(svc.get('ExecStart'), [`/usr/bin/node ${appDir}/server.js`])
  t.ok(fs.existsSync(path.join(APP, 'server.js')))
  for (const key of ['NoNewPrivileges', 'DynamicUser', 'SystemCallFilter', 'PrivateTmp', 'ProtectSystem']) {
    t.notOk(svc.has(key), `${key} is not set (no_new_privs or a mount namespace)`)
  }
  const env = Object.fromEntries((svc.get('Environment') ?? []).map((e) => e.split('=') as [string, string]))
  t.same(env, { NODE_ENV: 'production', PORT: '3000', HOST: '127.0.0.1' })
  t.same(unit.get('Unit')?.get('Requires'), ['apparmor.service'])
  t.same(unit.get('Install')?.get('WantedBy'), ['multi-user.target'])
})

t.test('systemd-unit: systemd-analyze verify accepts it without a warning', { skip: spawnSync('systemd-analyze', ['--version']).status === 0 ? false : 'systemd-analyze is not installed' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-unit-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'fastify-app.service')
  fs.writeFileSync(file, `${snippet('systemd-unit').text}\n`)
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr.trim(), '', 'no unknown key, no unknown section')
})

t.test('dockerfile: the app lands where the profile expects it and node is started without a shell', async (t) => {
  const { lang, text } = snippet('dockerfile')
  t.equal(lang, 'dockerfile')
  const appDir = variable(PROFILE_TEXT, 'APP_DIR')
  t.match(text, new RegExp(`^WORKDIR ${appDir}$`, 'm'))
  t.equal(variable(PROFILE_TEXT, 'APP_DEPS'), `${appDir}/node_modules`, 'npm installs node_modules under WORKDIR')
  const cmd = /^CMD (.*)$/m.exec(text)?.[1] as string
  const argv = JSON.parse(cmd) as string[]
  t.same(argv, ['node', 'server.js'], 'exec form, node itself: npm or sh would need an exec rule')
  for (const m of text.matchAll(/^COPY (\S+) \S+$/gm)) {
    if (m[1] === 'package-lock.json' || m[1]?.includes('package-lock')) continue
    t.ok(fs.existsSync(path.join(APP, m[1] as string)), `COPY ${m[1]} exists in examples/fastify-app`)
  }
  t.match(text, /^ENV HOST=0\.0\.0\.0 /m)
})

t.test('docker-run: the boot profile by name, and no no-new-privileges', async (t) => {
  const text = snippet('docker-run').text
  const m = /--security-opt apparmor=(\S+)/.exec(text)
  t.equal(m?.[1], 'fastify-app-boot')
  t.notMatch(text, /no-new-privileges/)
})

t.test('kubernetes: a Deployment whose container runs in the Localhost boot profile', async (t) => {
  const { lang, text } = snippet('kubernetes')
  t.equal(lang, 'yaml')
  const doc = parseYaml(text) as any
  t.equal(doc.apiVersion, 'apps/v1')
  t.equal(doc.kind, 'Deployment')
  const containers = doc.spec.template.spec.containers as any[]
  t.equal(containers.length, 1)
  const c = containers[0]
  t.same(c.securityContext.appArmorProfile, { type: 'Localhost', localhostProfile: 'fastify-app-boot' })
  t.ok(PROFILES.includes(c.securityContext.appArmorProfile.localhostProfile))
  t.notOk('allowPrivilegeEscalation' in c.securityContext, 'allowPrivilegeEscalation: false would set no_new_privs')
  t.same(c.env, [{ name: 'HOST', value: '0.0.0.0' }])
  const server = fs.readFileSync(path.join(APP, 'server.js'), 'utf8')
  t.equal(c.ports[0].containerPort, 3000)
  t.match(server, /port: Number\(env\.PORT \?\? 3000\)/, "the app's default port")
  t.equal(c.readinessProbe.httpGet.port, 3000)
  t.match(server, new RegExp(`app\\.get\\('${c.readinessProbe.httpGet.path}'`), 'the probe path is a route of the app')
  t.same(doc.spec.selector.matchLabels, doc.spec.template.metadata.labels)
})

t.test('the YAML reader is strict: flow style is refused, so the manifest really is plain block YAML', async (t) => {
  t.throws(() => parseYaml('a: {b: 1}'), /outside the supported subset/)
  t.same(parseYaml('a:\n  - b: 1\n    c: x\n  - 2\n'), { a: [{ b: 1, c: 'x' }, 2] })
})

const parser = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'].find((p) => fs.existsSync(p))
t.test('every example profile file compiles, as shipped and rendered for this checkout', { skip: parser && fs.existsSync(FEATURES) ? false : 'apparmor_parser or its feature file is not installed' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aam-profiles-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const files: Array<[string, string]> = [
    ['fastify-app', 'fastify-app'],
    ['fastify-app', 'fastify-app-single'],
    ['express-app', 'express-app'],
  ]
  for (const [app, file] of files) {
    const shipped = profileSource(app as 'fastify-app', file)
    const rendered = path.join(dir, file)
    fs.writeFileSync(rendered, renderProfileText(app as 'fastify-app', { file }))
    for (const f of [shipped, rendered]) {
      const r = spawnSync(parser as string, ['-Q', '-K', '-S', '--abort-on-error', '--kernel-features', FEATURES, f], { encoding: 'buffer' })
      t.equal(r.status, 0, `${f}: ${r.stderr.toString()}`)
      t.ok(r.stdout.length > 0)
    }
  }
})
