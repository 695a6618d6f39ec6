// The export triplet and the fastify-plugin metadata, on the built package as published.
import t from 'tap'
import * as path from 'node:path'

const PKG = path.resolve(__dirname, '..')

t.test('module.exports is the plugin; .default and the named apparmorMonkeys are the same function', async (t) => {
  const plugin = require(PKG) as Function & Record<string, unknown>
  t.type(plugin, 'function')
  t.equal(plugin.default, plugin)
  t.equal(plugin.apparmorMonkeys, plugin)
  t.equal(plugin.length, 2, '(fastify, options): an async plugin')
})

t.test('fastify-plugin metadata: name, Fastify 5, not encapsulated', async (t) => {
  const plugin = require(PKG) as Record<symbol, unknown>
  t.same(plugin[Symbol.for('plugin-meta')], { fastify: '5.x', name: '@apparmor-monkeys/fastify' })
  t.equal(plugin[Symbol.for('skip-override')], true)
  t.equal(plugin[Symbol.for('fastify.display-name')], '@apparmor-monkeys/fastify')
})

t.test('the metadata name is the package name', async (t) => {
  const pkg = require(path.join(PKG, 'package.json')) as { name: string; main: string; types: string }
  const plugin = require(PKG) as Record<symbol, { name: string }>
  t.equal(plugin[Symbol.for('plugin-meta')]?.name, pkg.name)
  t.equal(require.resolve(PKG), path.join(PKG, pkg.main))
})

t.test('ESM import gets the same function as default and as the named export', async (t) => {
  const mod = (await import(path.join(PKG, 'dist', 'index.js'))) as { default: Function & { apparmorMonkeys: Function }; apparmorMonkeys?: Function }
  t.equal(mod.default, require(PKG))
  t.equal(mod.default.apparmorMonkeys, mod.default)
  // Node's scan of the CommonJS source (cjs-module-lexer) must find the named export.
  t.equal(mod.apparmorMonkeys, mod.default, "import { apparmorMonkeys } from '@apparmor-monkeys/fastify'")
})
