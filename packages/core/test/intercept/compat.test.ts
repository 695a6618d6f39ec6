// compat.ts: reading each native call by its shape, on any Node line (no version strings).
import t from 'tap'
import { describeCall, detachedFlagOf, hasToken, permissionFlag, readAsyncCall, readSyncCall } from '../../src/intercept/compat'

const stdio = [{ type: 'pipe', handle: {} }, { type: 'inherit', fd: 1 }, { type: 'ignore' }]

/** A stand-in for the native spawn that records the arguments of each call. */
function recorder(): { native: never; calls: unknown[][] } {
  const calls: unknown[][] = []
  const native = function (this: unknown, ...args: unknown[]) {
    calls.push(args)
    return 0
  } as never
  return { native, calls }
}

t.test('the options-object shape of Process.prototype.spawn', async (t) => {
  const o = { file: '/bin/sh', args: ['/bin/sh', '-c', 'x'], cwd: null, envPairs: ['A=1'], stdio, detached: false, windowsHide: false }
  const r = readAsyncCall([o], 1)
  t.ok(r)
  t.equal(r?.options, o, 'the options object itself (Node reads stdio[i].socket back from it)')
  const { native, calls } = recorder()
  r?.call(native, {} as never)
  r?.retire(native, {} as never)
  t.same(calls[0], [o])
  t.match(calls[1], [{ file: '/', args: ['/'], stdio: [{ type: 'fd', fd: -1 }] }], 'retired with an fd of -1, in the same shape')
  t.equal(readAsyncCall([{ ...o, uid: 1000 }], 1)?.options.uid, 1000)
})

t.test('the positional shape (file, args, cwd, envPairs, stdio, flags, uid, gid)', async (t) => {
  const args = ['/bin/echo', ['/bin/echo', 'a'], '/tmp', ['A=1'], stdio, 0, undefined, undefined]
  const r = readAsyncCall(args, 1)
  t.match(r?.options, { file: '/bin/echo', args: ['/bin/echo', 'a'], cwd: '/tmp', envPairs: ['A=1'], detached: false })
  t.equal(r?.options.stdio, stdio, "Node's own stdio array")
  t.notOk('uid' in (r?.options ?? {}))
  t.equal(readAsyncCall(['/bin/echo', ['/bin/echo'], null, ['A=1'], stdio, 1, 5, 6], 1)?.options.detached, true, 'the detached bit')
  t.match(readAsyncCall(['/bin/echo', ['/bin/echo'], null, ['A=1'], stdio, 2, 5, 6], 1)?.options, { detached: false, uid: 5, gid: 6 }, 'windowsHide is not detached')
  t.equal(readAsyncCall(['/bin/echo', ['/bin/echo'], null, ['A=1'], stdio, 2], null)?.options.detached, true, 'without the constant, any flag counts as detached')
  const { native, calls } = recorder()
  r?.call(native, {} as never)
  r?.retire(native, {} as never)
  t.same(calls[0], args, 'the original arguments')
  t.match(calls[1], ['/', ['/'], undefined, [], [{ type: 'fd', fd: -1 }], 0], 'retired in the positional shape')
})

t.test('any other shape is not understood', async (t) => {
  const o = { file: '/bin/sh', args: ['/bin/sh'], stdio }
  for (const args of [
    [],
    [null],
    [{ ...o, file: 1 }],
    [{ ...o, args: 'x' }],
    [{ ...o, stdio: [1] }],
    [{ ...o, uid: 1.5 }],
    [{ ...o, detached: 'yes' }],
    [o, 'extra'],
    ['/bin/sh', ['/bin/sh'], null, [], stdio],
    ['/bin/sh', ['/bin/sh'], null, [], stdio, '0'],
    ['/bin/sh', ['/bin/sh', 1], null, [], stdio, 0],
    ['/bin/sh', ['/bin/sh'], 7, [], stdio, 0],
    ['/bin/sh', ['/bin/sh'], null, [], stdio, 0, undefined, undefined, 'ninth'],
  ]) {
    t.equal(readAsyncCall(args, 1), null, describeCall(args))
  }
  t.equal(readSyncCall([]), null)
  t.equal(readSyncCall([o, 1]), null)
  t.equal(readSyncCall([{ ...o, maxBuffer: '1' }]), null)
  t.equal(readSyncCall(['/bin/sh', ['/bin/sh']]), null)
  const sync = { ...o, envPairs: ['A=1'], maxBuffer: 1024 }
  t.equal(readSyncCall([sync]), sync)
})

t.test('describeCall names types only, never values', async (t) => {
  t.equal(describeCall(['curl -u user:secret', ['a'], null, undefined, 3]), '5 arguments (string, array, null, undefined, number)')
  t.equal(describeCall([{}]), '1 argument (object)')
})

t.test('detachedFlagOf reads the binding constant, or null', async (t) => {
  t.equal(detachedFlagOf({ constants: { kProcessFlagDetached: 1 } }), 1)
  t.equal(detachedFlagOf({}), null)
  t.equal(detachedFlagOf(null), null)
  t.equal(detachedFlagOf({ constants: { kProcessFlagDetached: '1' } }), null)
})

t.test('permissionFlag is a flag this Node accepts', async (t) => {
  const flag = permissionFlag()
  t.ok(flag === '--permission' || flag === '--experimental-permission', String(flag))
  t.ok(process.allowedNodeEnvironmentFlags.has(flag as string))
})

t.test('hasToken answers what /(^|\\s)word(\\s|$)/ answers', async (t) => {
  const word = '--pending-deprecation'
  const re = /(^|\s)--pending-deprecation(\s|$)/
  const pieces = [word, '--pending-deprecationx', 'x--pending-deprecation', '--pending', ' ', '\t', '\n', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u200b', 'a', '"', '-']
  // Every sequence of up to three pieces, and a seeded random sample of longer ones.
  let n = 0
  const check = (s: string) => {
    n++
    if (hasToken(s, word) !== re.test(s)) t.fail(`hasToken(${JSON.stringify(s)})`)
  }
  check('')
  for (const a of pieces) for (const b of pieces) for (const c of pieces) check(a + b + c)
  let seed = 7
  const rand = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k)
  for (let i = 0; i < 20000; i++) check(Array.from({ length: 1 + rand(6) }, () => pieces[rand(pieces.length)]).join(''))
  // Every code point below 0x3100 as the separator on either side.
  for (let c = 0; c < 0x3100; c++) {
    const ch = String.fromCharCode(c)
    check(ch + word)
    check(word + ch)
  }
  t.pass(`${n} strings agree`)
})
