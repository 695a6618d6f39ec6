import t from 'tap'
import { inRequest, perRequest } from '../src/request'

t.test('perRequest remembers a fact for one request only', async (t) => {
  let computed = 0
  const fact = (key: unknown) => perRequest('fact', key, () => ++computed)
  t.equal(fact('a'), 1, 'outside a request: computed')
  t.equal(fact('a'), 2, 'and computed again (nothing is remembered)')
  inRequest(() => {
    t.equal(fact('a'), 3)
    t.equal(fact('a'), 3, 'the same request: remembered')
    t.equal(fact('b'), 4, 'another key: its own value')
    t.equal(perRequest('other fact', 'a', () => 'x'), 'x', 'another fact with the same key: its own value')
  })
  inRequest(() => t.equal(fact('a'), 5, 'the next request starts afresh'))
})

t.test('objects are keys by identity, and a nested request has its own memory', async (t) => {
  const env1 = { PATH: '/bin' }
  const env2 = { PATH: '/bin' }
  const seen: object[] = []
  const check = (env: object) => perRequest('env', env, () => seen.push(env))
  inRequest(() => {
    check(env1)
    check(env2)
    check(env1)
    t.same(seen, [env1, env2], 'equal contents, two objects: two checks; the same object: one')
    inRequest(() => check(env1))
    t.equal(seen.length, 3, 'nested: checked again')
    check(env1)
    t.equal(seen.length, 3, 'and the outer memory is back after it')
  })
})

t.test('a request that throws leaves no memory behind', async (t) => {
  let n = 0
  t.throws(() => inRequest(() => {
    perRequest('f', 1, () => ++n)
    throw new Error('boom')
  }))
  t.equal(perRequest('f', 1, () => ++n), 2, 'outside again: computed')
})
