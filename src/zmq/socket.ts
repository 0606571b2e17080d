// Typed, allocation-free ZeroMQ socket layer over ffi.ts: ZmqContext and ZmqSocket. The
// public surface of src/zmq/ is this file: it re-exports what its importers need, so they
// only need './socket.ts':
//   constants.ts  the zmq.h constants (ZMQ_PUSH, ZMQ_SNDHWM, ZMQ_POLLIN, ...)
//   errors.ts     ZmqError (stable `code` + errno) and ZmqLoadError
//   shim-abi.ts   the outbox frame layout (FRAME_HEADER_BYTES, FRAME_MORE_FLAG)
//   outbox.ts     Outbox, the batched send buffer (its layout is described there)
//   inbox.ts      Inbox, the batched receive buffer
//   poller.ts     ZmqPoller, the C thread that wakes the JS thread
//
// Invariants
// - One FFI crossing per batch: flush() sends every complete message it can, recvBatch()
//   receives every whole message that fits. Neither allocates.
// - Only the JS thread touches sockets; the poller thread only watches ZMQ_FD descriptors.
// - ZMQ_FD is edge-like (see poller.ts): flush() of a polled socket may consume its signal,
//   so it kicks the poller itself when ZMQ_EVENTS reports input waiting.
// - Dependencies point one way: this file imports poller.ts, outbox.ts and inbox.ts, and
//   none of them imports it (the poller sees a socket through its PolledSocket interface).

import type { Pointer } from 'bun:ffi'
import { INBOUND_MESSAGE_SIZE_MAX_BYTES, OUTBOX_SIZE_MIN_BYTES } from '../limits.ts'
import { ZMQ_EVENTS, ZMQ_FD, ZMQ_IO_THREADS, ZMQ_LAST_ENDPOINT, ZMQ_POLLIN } from './constants.ts'
import { closedError, ZmqError, zmqError } from './errors.ts'
import { loadZmq, type ZmqLib } from './ffi.ts'
import { Inbox } from './inbox.ts'
import { Outbox, outboxMisuse } from './outbox.ts'
import type { ZmqPoller } from './poller.ts'
import {
  ENDPOINT_BIND,
  ENDPOINT_CONNECT,
  ENDPOINT_DISCONNECT,
  ENDPOINT_UNBIND,
  STAT_BLOCKED,
  STAT_BYTES,
  STAT_DROPPED,
  STAT_ERRNO,
  STAT_EVENTS,
  STAT_MESSAGES,
  STATS_LENGTH,
} from './shim-abi.ts'

export * from './constants.ts'
export { ZmqError, ZmqLoadError, zmqError } from './errors.ts'
export { FRAME_HEADER_BYTES, FRAME_MORE_FLAG } from './shim-abi.ts'
export { Inbox } from './inbox.ts'
export { Outbox, OUTBOX_GROWTH_STEP_BYTES, OUTBOX_SIZE_MAX_BYTES } from './outbox.ts'
export { POLLER_CALLBACK_CLOSE_DELAY_MS, ZmqPoller } from './poller.ts'

/** Messages one recvBatch() delivers at most (sizes the inbox index). */
export const INBOX_MESSAGES_MAX = 1024
/** Frames one recvBatch() delivers at most; a message with more frames is dropped. */
export const INBOX_FRAMES_MAX = 4096
/** Longest string option read by getString() (endpoints, routing ids). */
export const OPTION_STRING_SIZE_MAX_BYTES = 1024

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** NUL-terminated UTF-8 for libzmq (control path only). */
function cString(s: string): Uint8Array {
  const bytes = utf8.encode(s)
  const out = new Uint8Array(bytes.length + 1)
  out.set(bytes)
  return out
}

/** Optional buffer sizes, mostly for tests that need tiny buffers. */
export interface SocketOptions {
  /** Initial outbox capacity; never below OUTBOX_SIZE_MIN_BYTES. */
  outboxBytes?: number
  /** Inbox capacity = the largest message accepted; default INBOUND_MESSAGE_SIZE_MAX_BYTES. */
  inboxBytes?: number
  inboxMessages?: number
  inboxFrames?: number
}

/** Owns the libzmq context and every socket made from it. */
export class ZmqContext {
  private readonly lib: ZmqLib
  private handle: Pointer | null
  private readonly sockets = new Set<ZmqSocket>()

  /** False for a context borrowed from another thread (ZmqContext.shared): it never terminates it. */
  private readonly owned: boolean

  constructor(ioThreads = 1, borrowed: Pointer | null = null) {
    this.lib = loadZmq()
    this.owned = borrowed === null
    this.handle = borrowed ?? this.lib.ctxNew()
    if (this.handle === null) throw new ZmqError('ZMQ_CTX', 0, 'zmq_ctx_new failed')
    if (ioThreads !== 1 && this.lib.ctxSet(this.handle, ZMQ_IO_THREADS, ioThreads) !== 0) {
      throw new ZmqError('ZMQ_CTX', 0, `zmq_ctx_set io_threads ${ioThreads} failed`)
    }
  }

  /**
   * The same libzmq context seen from another thread (a Bun Worker): libzmq contexts are
   * thread-safe, sockets are not, so each thread creates its own sockets on it; inproc
   * endpoints then connect the threads. The owner thread terminates it.
   */
  static shared(handle: number): ZmqContext {
    return new ZmqContext(1, handle as unknown as Pointer)
  }

  /** The raw handle, to pass to ZmqContext.shared() in another thread. */
  get pointer(): number {
    return this.handle as unknown as number
  }

  socket(type: number, options: SocketOptions = {}): ZmqSocket {
    if (this.handle === null) throw new ZmqError('ZMQ_CTX', 0, 'socket: context is closed')
    const err = new Int32Array(1)
    const h = this.lib.socket(this.handle, type, err)
    if (h === null) throw zmqError(this.lib, 'ZMQ_SOCKET', `socket type ${type}`, err[0])
    const rx = this.lib.rxNew()
    if (rx === null) {
      this.lib.close(h, 0)
      throw new ZmqError('ZMQ_SOCKET', 0, 'socket: out of memory for receive state')
    }
    const sock = new ZmqSocket(this, this.lib, h, rx, type, options)
    this.sockets.add(sock)
    return sock
  }

  /**
   * Close every socket with linger 0, then terminate the context (not a borrowed one, nor
   * with `terminate` false). Idempotent.
   */
  close(terminate = true): void {
    if (this.handle === null) return
    for (const s of this.sockets) s.close(0)
    const h = this.handle
    this.handle = null
    if (!this.owned || !terminate) return
    const rc = this.lib.ctxTerm(h)
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_CTX', 'zmq_ctx_term', -rc)
  }

  /** @internal ZmqSocket.close() unregisters itself. */
  forget(sock: ZmqSocket): void {
    this.sockets.delete(sock)
  }
}

/** A ZeroMQ socket with a batched outbox and inbox. Create with ZmqContext.socket(). */
export class ZmqSocket {
  readonly type: number
  readonly outbox: Outbox
  readonly inbox: Inbox
  /** Messages flush() handed to libzmq. */
  sent = 0
  /** Messages flush() dropped: unknown ROUTER_MANDATORY peer, or peer lost mid-message. */
  sendDropped = 0
  /** True when the last flush() stopped at EAGAIN (no peer, or its queue at the HWM). */
  blocked = false
  /** Messages recvBatch() delivered. */
  received = 0
  /** Messages recvBatch() dropped for exceeding the inbox (bytes or frames). */
  recvDropped = 0
  /** @internal Set by ZmqPoller.add(). */
  poller: ZmqPoller | null = null
  private handle: Pointer | null
  private rx: Pointer | null
  private readonly ctx: ZmqContext
  private readonly lib: ZmqLib
  private readonly stats = new Int32Array(STATS_LENGTH)
  private readonly intOut = new Int32Array(1)

  /** @internal Use ZmqContext.socket(). */
  constructor(ctx: ZmqContext, lib: ZmqLib, handle: Pointer, rx: Pointer, type: number, opts: SocketOptions) {
    this.ctx = ctx
    this.lib = lib
    this.handle = handle
    this.rx = rx
    this.type = type
    this.outbox = new Outbox(this, Math.max(opts.outboxBytes ?? 0, OUTBOX_SIZE_MIN_BYTES))
    this.inbox = new Inbox(
      opts.inboxBytes ?? INBOUND_MESSAGE_SIZE_MAX_BYTES,
      opts.inboxMessages ?? INBOX_MESSAGES_MAX,
      opts.inboxFrames ?? INBOX_FRAMES_MAX,
    )
  }

  get closed(): boolean {
    return this.handle === null
  }

  /** The libzmq socket pointer, for benchmarks and diagnostics only: never keep it. */
  nativeHandle(): Pointer {
    return this.live('nativeHandle')
  }

  private live(what: string): Pointer {
    if (this.handle === null) throw closedError(what)
    return this.handle
  }

  setInt(opt: number, value: number): void {
    const rc = this.lib.setsockoptInt(this.live('setsockopt'), opt, value)
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_SETSOCKOPT', `setsockopt ${opt}`, -rc)
  }

  setBytes(opt: number, bytes: Uint8Array): void {
    const rc = this.lib.setsockopt(this.live('setsockopt'), opt, bytes, bytes.length)
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_SETSOCKOPT', `setsockopt ${opt}`, -rc)
  }

  getInt(opt: number): number {
    const rc = this.lib.getsockoptInt(this.live('getsockopt'), opt, this.intOut)
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_GETSOCKOPT', `getsockopt ${opt}`, -rc)
    return this.intOut[0]
  }

  /** A string/bytes option as text, up to its first NUL (e.g. ZMQ_LAST_ENDPOINT). */
  getString(opt: number): string {
    const out = new Uint8Array(OPTION_STRING_SIZE_MAX_BYTES)
    const rc = this.lib.getsockoptBytes(this.live('getsockopt'), opt, out, out.length)
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_GETSOCKOPT', `getsockopt ${opt}`, -rc)
    let end = Math.min(rc, out.length)
    const nul = out.indexOf(0)
    if (nul >= 0 && nul < end) end = nul
    return utf8Decoder.decode(out.subarray(0, end))
  }

  /** The endpoint last bound, with the port chosen for `tcp://host:*`. */
  lastEndpoint(): string {
    return this.getString(ZMQ_LAST_ENDPOINT)
  }

  bind(endpoint: string): void {
    this.endpointOp(ENDPOINT_BIND, 'ZMQ_BIND', 'bind', endpoint)
  }

  connect(endpoint: string): void {
    this.endpointOp(ENDPOINT_CONNECT, 'ZMQ_CONNECT', 'connect', endpoint)
  }

  unbind(endpoint: string): void {
    this.endpointOp(ENDPOINT_UNBIND, 'ZMQ_UNBIND', 'unbind', endpoint)
  }

  disconnect(endpoint: string): void {
    this.endpointOp(ENDPOINT_DISCONNECT, 'ZMQ_DISCONNECT', 'disconnect', endpoint)
  }

  private endpointOp(op: number, code: string, verb: string, endpoint: string): void {
    const rc = this.lib.endpoint(this.live(verb), op, cString(endpoint))
    if (rc < 0) throw zmqError(this.lib, code, `${verb} ${endpoint}`, -rc)
  }

  /** ZMQ_EVENTS: POLLIN/POLLOUT bits. Also lets libzmq process pending commands. */
  events(): number {
    return this.getInt(ZMQ_EVENTS)
  }

  /** ZMQ_FD, the descriptor the poller watches. */
  fd(): number {
    return this.getInt(ZMQ_FD)
  }

  /**
   * Send what libzmq accepts from the outbox in one FFI crossing; the rest stays, moved to
   * the front. True when no complete message is left. Must not be called inside an open
   * message (its offsets would move). Throws ZmqError on a hard failure (after keeping
   * what was not sent).
   */
  flush(): boolean {
    const ob = this.outbox
    if (ob.committed === 0) return true
    if (ob.isOpen) outboxMisuse('flush() inside an open message')
    const h = this.live('send')
    const st = this.stats
    const n = this.lib.sendBatch(h, ob.buf, ob.committed, this.poller !== null ? 1 : 0, st)
    this.sent += st[STAT_MESSAGES]
    this.sendDropped += st[STAT_DROPPED]
    this.blocked = st[STAT_BLOCKED] !== 0
    ob.consume(n, st[STAT_MESSAGES] + st[STAT_DROPPED])
    if (this.poller !== null && (st[STAT_EVENTS] & ZMQ_POLLIN) !== 0) this.poller.kick()
    if (st[STAT_ERRNO] !== 0) throw zmqError(this.lib, 'ZMQ_SEND', 'send', st[STAT_ERRNO])
    return ob.committed === 0
  }

  /**
   * Receive whole messages into `inbox` in one FFI crossing; returns how many (0: none
   * waiting). A message that does not fit stays pending in the shim and comes first next
   * time. Drain until `inbox.drained` (or until it returns 0) so libzmq re-signals ZMQ_FD:
   *   do { const n = sock.recvBatch(); handle(n) } while (!sock.inbox.drained)
   */
  recvBatch(): number {
    const h = this.live('recv')
    const ib = this.inbox
    const st = this.stats
    const n = this.lib.recvBatch(h, this.rx!, ib.buf, ib.buf.length, ib.index, ib.maxMessages, ib.maxFrames, st)
    ib.count = n
    ib.bytes = st[STAT_BYTES]
    ib.drained = st[STAT_BLOCKED] === 0 && st[STAT_ERRNO] === 0
    this.received += n
    this.recvDropped += st[STAT_DROPPED]
    // A hard error after some messages is reported by the next call, which meets it again.
    if (n === 0 && st[STAT_ERRNO] !== 0) throw zmqError(this.lib, 'ZMQ_RECV', 'recv', st[STAT_ERRNO])
    return n
  }

  /** True when the shim holds a received message that did not fit the inbox yet. */
  hasPending(): boolean {
    return this.rx !== null && this.lib.rxPending(this.rx) !== 0
  }

  /** Close (default linger 0: unsent messages are dropped). Idempotent. */
  close(lingerMs = 0): void {
    if (this.handle === null) return
    if (this.poller !== null) this.poller.remove(this)
    if (this.rx !== null) this.lib.rxFree(this.rx)
    this.rx = null
    this.lib.close(this.handle, lingerMs)
    this.handle = null
    this.ctx.forget(this)
  }
}
