// Call shapes of the child_process API that the interception leaves to Node's original (sync-api.ts
// normalize(), syncEmulability and asyncEmulability in sync.ts/async.ts, and the emulator's
// exec-size limit): plain and intercepted give the same result.
import t from 'tap'
import { jsonFixture } from './helpers'

interface Result {
  real: Record<string, unknown>
  intercepted: Record<string, unknown>
  decisions: [string, string][]
  getterReads: number[]
}

t.test('odd but legal call shapes reach Node untouched', async (t) => {
  const dir = t.testdir({})
  const { result: r, run } = jsonFixture<Result>(dir, 'api-shapes.cjs')
  t.equal(run.status, 0, run.stderr)
  for (const api of Object.keys(r.real)) t.same(r.intercepted[api], r.real[api], api)
  t.same(r.getterReads, [1, 1], 'an option getter runs once, as Node runs it')
  t.match(r.real, {
    emptyEncoding: { returned: { $buffer: /./ } },
    numberEncoding: { threw: { props: { code: 'ERR_UNKNOWN_ENCODING' } } },
    symbolEnv: { threw: { $error: 'TypeError' } },
    bigScript: { threw: { props: { code: 'E2BIG' } } },
    bigEnv: { threw: { props: { code: 'E2BIG' } } },
    closedFd: { returned: { error: { props: { code: 'EBADF' } } } },
  })
  // Those an answer in process would get wrong are left to the kernel; the rest (an empty or
  // unknown encoding, an inherited option) reach Node's original, whose binding call may then
  // be answered exactly.
  const emulated = new Set(r.decisions.filter(([, d]) => d === 'emulate').map(([c]) => c))
  for (const line of ['uname -n', 'uname -v', 'uname -o', 'getconf PAGESIZE', 'getconf LONG_BIT', 'uname -p']) t.notOk(emulated.has(line), `${line}: not emulated`)
  t.notOk([...emulated].some((c) => c.startsWith('echo xxx')), 'the over-long script: not emulated')
})
