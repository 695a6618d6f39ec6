/**
 * The scope of one request (the dispatcher's answer()): facts a request needs more than once
 * are read once in it. A request is answered synchronously and nothing else runs meanwhile; a
 * fact read once for a whole line is what the real commands would see if nothing changed
 * while the line ran, one of the orders a concurrent change could take. Environment objects
 * are not changed during a request (the shell builds a new one for a command with
 * assignments), so they can be keys. Outside a request (a program run on its own) nothing is
 * remembered.
 */
/** The facts of the current request: [fact, key, value] triples (a request reads a handful). */
let memo: unknown[] | null = null

/** Runs `fn` as one request, with a memory of its own (nested calls get theirs). */
export function inRequest<T>(fn: () => T): T {
  const outer = memo
  memo = []
  try {
    return fn()
  } finally {
    memo = outer
  }
}

/**
 * `compute()`, once per request for a `key` of the fact named `fact` (keys compare with `===`:
 * objects by identity).
 */
export function perRequest<T>(fact: string, key: unknown, compute: () => T): T {
  const m = memo
  if (m === null) return compute()
  for (let i = 0; i < m.length; i += 3) if (m[i] === fact && m[i + 1] === key) return m[i + 2] as T
  const value = compute()
  m.push(fact, key, value)
  return value
}
