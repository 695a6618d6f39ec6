/**
 * The example apps' AppArmor profiles, rendered for this checkout: the files in
 * examples/<app>/apparmor/ name the install location in two variables (`@{APP_DIR}`,
 * `@{APP_DEPS}`); here they are set to where the app and its (pnpm, workspace)
 * dependencies really are, exactly as a deployment edits them. Nothing else changes.
 * Used by the adapter suites and by scripts/demo.mjs. No side effects on import.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'

export type ExampleApp = 'fastify-app' | 'express-app'

/** The repository root (works from test/adapters and test/dist/adapters). */
export function repoRoot(): string {
  let dir = __dirname
  for (;;) {
    if (fs.existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`no pnpm-workspace.yaml above ${__dirname}`)
    dir = up
  }
}

export function exampleDir(app: ExampleApp): string {
  return path.join(repoRoot(), 'examples', app)
}

/** A profile file shipped with an example (default: the one named after the app). */
export function profileSource(app: ExampleApp, file: string = app): string {
  return path.join(exampleDir(app), 'apparmor', file)
}

export interface RenderOptions {
  /** Another file of examples/<app>/apparmor/ (default: the one named after the app). */
  file?: string
  /** Put every profile of the file in complain mode (rule discovery: accesses are logged as ALLOWED). */
  complain?: boolean
}

/** Replaces the one `@{NAME}=…` line of `text`; throws if it is not there exactly once. */
export function setVariable(text: string, name: string, values: readonly string[]): string {
  const re = new RegExp(`^@\\{${name}\\}=.*$`, 'gm')
  const found = text.match(re)?.length ?? 0
  if (found !== 1) throw new Error(`expected one @{${name}}= line, found ${found}`)
  for (const v of values) if (/\s/.test(v)) throw new Error(`@{${name}}: a value with whitespace cannot be written: ${JSON.stringify(v)}`)
  return text.replace(re, `@{${name}}=${values.join(' ')}`)
}

/** The profile text for this checkout. */
export function renderProfileText(app: ExampleApp, opts: RenderOptions = {}): string {
  const root = repoRoot()
  let text = fs.readFileSync(profileSource(app, opts.file), 'utf8')
  text = setVariable(text, 'APP_DIR', [exampleDir(app)])
  // pnpm keeps every dependency under <root>/node_modules/.pnpm and links the workspace
  // packages from <root>/packages: the kernel sees the resolved paths.
  text = setVariable(text, 'APP_DEPS', [path.join(root, 'node_modules'), path.join(root, 'packages')])
  if (opts.complain) {
    text = text.replace(/^(profile \S+)( flags=\(([^)]*)\))? \{$/gm, (_m, head: string, _f, flags?: string) =>
      `${head} flags=(${flags ? `${flags},` : ''}complain) {`,
    )
  }
  return text
}

/** Writes the rendered profile into `outDir` and returns its path. */
export function renderProfile(app: ExampleApp, outDir: string, opts: RenderOptions = {}): string {
  const out = path.join(outDir, `${opts.file ?? app}${opts.complain ? '.complain' : ''}.aa`)
  fs.mkdirSync(outDir, { recursive: true })
  fs.writeFileSync(out, renderProfileText(app, opts))
  return out
}

/** The profile names a profile file defines, in order. */
export function profileNames(text: string): string[] {
  return [...text.matchAll(/^profile (\S+)/gm)].map((m) => m[1] as string)
}
