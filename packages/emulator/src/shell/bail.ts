/**
 * Control flow of the interpreter. `Unsupported` means "this line cannot be answered exactly in
 * process": it unwinds everything and `emulate()` returns null. It is thrown as a plain object
 * (no stack capture), so giving up stays cheap.
 */
export class Unsupported {
  constructor(readonly reason: string) {}
}

/** Abort the emulation of the whole line. */
export function bail(reason: string): never {
  throw new Unsupported(reason)
}

/** `exit` unwinding the current (sub)shell with a status. */
export class ExitUnwind {
  constructor(readonly status: number) {}
}
