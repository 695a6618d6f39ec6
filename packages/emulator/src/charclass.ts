/**
 * The POSIX character classes of the C and C.UTF-8 locales for ASCII bytes: one table for the
 * shell's globbing, grep's and sed's regular expressions and tr's sets. Looked up by name in a
 * Map, so a name like `constructor` or `toString` is no class (GNU's "Invalid character class
 * name"), not an inherited property.
 */

function range(lo: number, hi: number): string {
  let s = ''
  for (let c = lo; c <= hi; c++) s += String.fromCharCode(c)
  return s
}

/**
 * Each class's members in ascending byte order (the order GNU tr enumerates them in). Built on
 * first use: every shell line loads this module (through globbing), few use a class.
 */
let members: ReadonlyMap<string, string> | undefined
function memberTable(): ReadonlyMap<string, string> {
  if (members !== undefined) return members
  const UPPER = range(65, 90)
  const LOWER = range(97, 122)
  const DIGIT = range(48, 57)
  members = new Map([
    ['alpha', UPPER + LOWER],
    ['digit', DIGIT],
    ['alnum', DIGIT + UPPER + LOWER],
    ['upper', UPPER],
    ['lower', LOWER],
    ['space', '\t\n\v\f\r '],
    ['blank', '\t '],
    ['punct', [...range(33, 126)].filter((c) => !(DIGIT + UPPER + LOWER).includes(c)).join('')],
    ['print', range(32, 126)],
    ['graph', range(33, 126)],
    ['cntrl', range(0, 31) + '\x7f'],
    ['xdigit', DIGIT + 'ABCDEF' + 'abcdef'],
  ])
  return members
}

/** A byte as a JS regular-expression escape (`\x2d`). */
export function hexEscape(c: string): string {
  return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')
}

/** The bodies for a JS `[…]` class, built once from the members (on first use). */
let bodies: ReadonlyMap<string, string> | undefined

/** The members of class `name` in ascending byte order, or undefined when there is no such class. */
export function classMembers(name: string): string | undefined {
  return memberTable().get(name)
}

/** The class as the inside of a JS `[…]` (every byte escaped), or undefined when there is no such class. */
export function classBody(name: string): string | undefined {
  bodies ??= new Map([...memberTable()].map(([n, chars]) => [n, [...chars].map(hexEscape).join('')]))
  return bodies.get(name)
}
