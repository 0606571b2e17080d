// The errors of the ZeroMQ layer, each with a stable `code` for callers to test.
//
// Invariants
// - A leaf: imports nothing (zmqError takes anything with libzmq's strerror, not ffi.ts's
//   ZmqLib), so ffi.ts, socket.ts and poller.ts all depend downward on it.
// - `code` names the failed operation (ZMQ_BIND, ZMQ_SEND, ZMQ_POLLER, ...), never the errno:
//   the errno is kept separately, as libzmq reported it.

/** A failed ZeroMQ call. `code` is stable (ZMQ_BIND, ZMQ_SEND, ...); errno is libzmq's. */
export class ZmqError extends Error {
  override readonly name = 'ZmqError'
  readonly code: string
  readonly errno: number
  constructor(code: string, errno: number, message: string) {
    super(message)
    this.code = code
    this.errno = errno
  }
}

/** Raised when no libzmq could be loaded or the shim failed to compile. */
export class ZmqLoadError extends Error {
  readonly code = 'ZMQ_LOAD'
  override readonly name = 'ZmqLoadError'
}

/** What zmqError needs from the binding: libzmq's zmq_strerror. */
export interface ErrnoText {
  strerror(errnum: number): string
}

/** @internal A ZmqError for a failed libzmq call, with libzmq's text for errno. */
export function zmqError(lib: ErrnoText, code: string, what: string, errno: number): ZmqError {
  return new ZmqError(code, errno, `${what}: ${lib.strerror(errno)}`)
}

/** @internal The ZmqError for a call on a closed socket. */
export function closedError(what: string): ZmqError {
  return new ZmqError('ZMQ_CLOSED', 0, `${what}: socket is closed`)
}
