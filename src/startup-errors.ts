// One line for a native library that failed to load, with what to do about it: the `[ERR]`
// line of `zgate serve` and the libzmq line of `zgate --version` both use it.

import { ZmqLoadError } from './zmq/errors.ts'

/** What a user can do when no libzmq loads (README, "Environment"). */
const LIBZMQ_HINT =
  'Reinstall zgate so that the zeromq package is present, install libzmq ' +
  '(Debian: apt-get install libzmq5), or set ZGATE_LIBZMQ to a libzmq.so.5.'

/** `err` as one line; a libzmq load failure gains the hint unless it already names the fix. */
export function startupErrorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const line = text.replace(/\s*\n\s*/g, ' ').trim()
  if (err instanceof ZmqLoadError && !line.includes('ZGATE_LIBZMQ')) return `${line} ${LIBZMQ_HINT}`
  return line
}
