// Typed, allocation-free ZeroMQ socket layer over ffi.ts.
//
// Invariants
// - One FFI crossing per batch: flush() sends every complete message it can, recvBatch()
//   receives every whole message that fits. Neither allocates.
// - Outbox layout (what native/zgate-shim.c zg_send_batch walks), repeated per frame:
//     [u32 LE: length | FRAME_MORE_FLAG when another frame of the message follows][bytes]
//   Bytes [0, committed) are complete messages; [committed, pos) is the message being
//   written. flush() consumes a prefix that ends on a message boundary and moves the rest
//   to the front, so a multipart message is never half sent.
// - Inbox layout: frame bytes back to back in `buf`, located by `index` (see Inbox).
// - Only the JS thread touches sockets; the poller thread only watches ZMQ_FD descriptors.
// - ZMQ_FD is edge-like: it signals when the socket's command mailbox gets work, and any
//   zmq call on the socket may consume that signal. So after each flush() of a polled
//   socket and before every re-arm we read ZMQ_EVENTS and re-notify ourselves if input is
//   already waiting. The same fd signals when a blocked sender may write again (the peer
//   read enough to send "activate_write"), so a polled socket needs no send-retry timer.

import type { JSCallback, Pointer } from 'bun:ffi'
import { INBOUND_MESSAGE_SIZE_MAX_BYTES, OUTBOX_SIZE_MIN_BYTES } from '../limits.ts'
import {
  ENDPOINT_BIND,
  ENDPOINT_CONNECT,
  ENDPOINT_DISCONNECT,
  ENDPOINT_UNBIND,
  FRAME_HEADER_BYTES,
  FRAME_MORE_FLAG,
  FRAME_SIZE_MAX_BYTES,
  loadZmq,
  STAT_BLOCKED,
  STAT_BYTES,
  STAT_DROPPED,
  STAT_ERRNO,
  STAT_EVENTS,
  STAT_MESSAGES,
  STATS_LENGTH,
  threadsafeCallback,
  type ZmqLib,
} from './ffi.ts'

export { FRAME_HEADER_BYTES, FRAME_MORE_FLAG } from './ffi.ts'

/** Messages one recvBatch() delivers at most (sizes the inbox index). */
export const INBOX_MESSAGES_MAX = 1024
/** Frames one recvBatch() delivers at most; a message with more frames is dropped. */
export const INBOX_FRAMES_MAX = 4096
/** The outbox never grows past this: ensure() returns false instead (caller backs off). */
export const OUTBOX_SIZE_MAX_BYTES = 64 << 20
/** Outbox growth granularity. */
export const OUTBOX_GROWTH_STEP_BYTES = 64 << 10
/** Longest string option read by getString() (endpoints, routing ids). */
export const OPTION_STRING_SIZE_MAX_BYTES = 1024
/** A stopped poller's JSCallback is freed after this, once queued calls have drained. */
export const POLLER_CALLBACK_CLOSE_DELAY_MS = 1_000

// --- socket types (zmq.h) ---
export const ZMQ_PAIR = 0
export const ZMQ_PUB = 1
export const ZMQ_SUB = 2
export const ZMQ_REQ = 3
export const ZMQ_REP = 4
export const ZMQ_DEALER = 5
export const ZMQ_ROUTER = 6
export const ZMQ_PULL = 7
export const ZMQ_PUSH = 8
export const ZMQ_XPUB = 9
export const ZMQ_XSUB = 10

// --- socket options (zmq.h); all int-valued unless noted ---
export const ZMQ_AFFINITY = 4 // uint64: use setBytes
export const ZMQ_ROUTING_ID = 5 // bytes
export const ZMQ_IDENTITY = ZMQ_ROUTING_ID
export const ZMQ_SUBSCRIBE = 6 // bytes
export const ZMQ_UNSUBSCRIBE = 7 // bytes
export const ZMQ_SNDBUF = 11
export const ZMQ_RCVBUF = 12
export const ZMQ_RCVMORE = 13
export const ZMQ_FD = 14
export const ZMQ_EVENTS = 15
export const ZMQ_TYPE = 16
export const ZMQ_LINGER = 17
export const ZMQ_RECONNECT_IVL = 18
export const ZMQ_BACKLOG = 19
export const ZMQ_RECONNECT_IVL_MAX = 21
export const ZMQ_MAXMSGSIZE = 22 // int64: use setBytes
export const ZMQ_SNDHWM = 23
export const ZMQ_RCVHWM = 24
export const ZMQ_RCVTIMEO = 27
export const ZMQ_SNDTIMEO = 28
export const ZMQ_LAST_ENDPOINT = 32 // string
export const ZMQ_ROUTER_MANDATORY = 33
export const ZMQ_TCP_KEEPALIVE = 34
export const ZMQ_IMMEDIATE = 39
export const ZMQ_IPV6 = 42
export const ZMQ_PROBE_ROUTER = 51
export const ZMQ_ROUTER_HANDOVER = 56
export const ZMQ_CONNECT_ROUTING_ID = 61 // bytes
export const ZMQ_HANDSHAKE_IVL = 66
export const ZMQ_HEARTBEAT_IVL = 75
export const ZMQ_HEARTBEAT_TTL = 76
export const ZMQ_HEARTBEAT_TIMEOUT = 77

// --- context options and ZMQ_EVENTS bits (zmq.h) ---
export const ZMQ_IO_THREADS = 1
export const ZMQ_MAX_SOCKETS = 2
export const ZMQ_POLLIN = 1
export const ZMQ_POLLOUT = 2
export const POLLIN = ZMQ_POLLIN
export const POLLOUT = ZMQ_POLLOUT

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

function zmqError(lib: ZmqLib, code: string, what: string, errno: number): ZmqError {
  return new ZmqError(code, errno, `${what}: ${lib.strerror(errno)}`)
}

function closedError(what: string): ZmqError {
  return new ZmqError('ZMQ_CLOSED', 0, `${what}: socket is closed`)
}

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

  constructor(ioThreads = 1) {
    this.lib = loadZmq()
    this.handle = this.lib.ctxNew()
    if (this.handle === null) throw new ZmqError('ZMQ_CTX', 0, 'zmq_ctx_new failed')
    if (ioThreads !== 1 && this.lib.ctxSet(this.handle, ZMQ_IO_THREADS, ioThreads) !== 0) {
      throw new ZmqError('ZMQ_CTX', 0, `zmq_ctx_set io_threads ${ioThreads} failed`)
    }
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

  /** Close every socket with linger 0, then terminate the context. Idempotent. */
  close(): void {
    if (this.handle === null) return
    for (const s of this.sockets) s.close(0)
    const rc = this.lib.ctxTerm(this.handle)
    this.handle = null
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_CTX', 'zmq_ctx_term', -rc)
  }

  /** @internal ZmqSocket.close() unregisters itself. */
  forget(sock: ZmqSocket): void {
    this.sockets.delete(sock)
  }
}

/** What the outbox needs from its socket. */
interface Flusher {
  flush(): boolean
}

/**
 * Batched send buffer; the session code serializes packets straight into `buf`.
 *
 *   if (!ob.ensure(maxBytes)) backOff()     // before beginMessage; may replace `buf`
 *   ob.beginMessage()
 *   let p = ob.beginFrame()                 // data starts at p
 *   p = writePacket(ob.buf, p)
 *   ob.endFrame(p, false)                   // false: last frame of the message
 *   ob.endMessage()
 *
 * `maxBytes` counts FRAME_HEADER_BYTES per frame plus the frame data.
 */
export class Outbox {
  /** Replaced when ensure() grows it: re-read after ensure(). */
  buf: Uint8Array
  /** Write cursor. */
  pos = 0
  /** End of the last complete message: bytes [0, committed) are ready to send. */
  committed = 0
  /** Complete messages waiting in [0, committed). */
  messages = 0
  private msgStart = -1
  private frameHdr = -1
  private lastMore = false
  private readonly owner: Flusher

  constructor(owner: Flusher, capacity: number) {
    this.owner = owner
    this.buf = new Uint8Array(capacity)
  }

  /** Bytes of complete messages not yet sent. */
  get pending(): number {
    return this.committed
  }

  /** True between beginMessage() and endMessage()/cancelMessage(). */
  get isOpen(): boolean {
    return this.msgStart >= 0
  }

  /**
   * Make room for `bytes` more bytes (a whole message, headers included). Flushes first
   * when no message is open; grows the buffer when that is not enough (allocates, rare).
   * Inside an open message it only grows, so offsets already handed out stay valid.
   * False when even OUTBOX_SIZE_MAX_BYTES would not hold it: do not write the message.
   */
  ensure(bytes: number): boolean {
    if (this.buf.length - this.pos >= bytes) return true
    if (this.msgStart < 0 && this.committed > 0) {
      this.owner.flush()
      if (this.buf.length - this.pos >= bytes) return true
    }
    const need = this.pos + bytes
    if (need > OUTBOX_SIZE_MAX_BYTES) return false
    let size = Math.max(this.buf.length * 2, need)
    size = Math.min(OUTBOX_SIZE_MAX_BYTES, Math.ceil(size / OUTBOX_GROWTH_STEP_BYTES) * OUTBOX_GROWTH_STEP_BYTES)
    const grown = new Uint8Array(size)
    grown.set(this.buf.subarray(0, this.pos))
    this.buf = grown
    return true
  }

  beginMessage(): void {
    if (this.msgStart >= 0) misuse('beginMessage() inside an open message')
    this.msgStart = this.pos
    this.lastMore = true
  }

  /** Reserve a frame header; returns the offset where the frame's data starts. */
  beginFrame(): number {
    if (this.msgStart < 0 || this.frameHdr >= 0 || !this.lastMore) {
      misuse('beginFrame() needs an open message whose previous frame had more=true')
    }
    if (this.pos + FRAME_HEADER_BYTES > this.buf.length) misuse('beginFrame() past the end: call ensure() first')
    this.frameHdr = this.pos
    this.pos += FRAME_HEADER_BYTES
    return this.pos
  }

  /** The frame's data is buf[start, dataEnd); `more` when another frame follows. */
  endFrame(dataEnd: number, more: boolean): void {
    const h = this.frameHdr
    const len = dataEnd - h - FRAME_HEADER_BYTES
    if (h < 0 || len < 0 || dataEnd > this.buf.length || len > FRAME_SIZE_MAX_BYTES) {
      misuse('endFrame() without beginFrame() or with a bad dataEnd')
    }
    const b = this.buf
    b[h] = len & 0xff
    b[h + 1] = (len >>> 8) & 0xff
    b[h + 2] = (len >>> 16) & 0xff
    b[h + 3] = ((len >>> 24) & 0x7f) | (more ? FRAME_MORE_FLAG >>> 24 : 0)
    this.pos = dataEnd
    this.frameHdr = -1
    this.lastMore = more
  }

  endMessage(): void {
    if (this.msgStart < 0 || this.frameHdr >= 0 || this.lastMore) {
      misuse('endMessage() needs an open message whose last frame had more=false')
    }
    this.committed = this.pos
    this.messages++
    this.msgStart = -1
  }

  /** Abandon the open message (nothing of it is sent). No-op when none is open. */
  cancelMessage(): void {
    if (this.msgStart < 0) return
    this.pos = this.msgStart
    this.msgStart = -1
    this.frameHdr = -1
    this.lastMore = false
  }

  /** Append src[s, e) as one frame of the open message. */
  frameBytes(src: Uint8Array, s: number, e: number, more: boolean): void {
    const d = this.beginFrame()
    const n = e - s
    if (n < 0 || d + n > this.buf.length) {
      this.pos = this.frameHdr
      this.frameHdr = -1
      misuse('frameBytes() does not fit: call ensure() first')
    }
    const b = this.buf
    if (n <= 32) {
      for (let i = 0; i < n; i++) b[d + i] = src[s + i]
    } else if (s === 0 && e === src.length) {
      b.set(src, d)
    } else {
      b.set(src.subarray(s, e), d) // one view object per large copy, amortized by the copy
    }
    this.endFrame(d + n, more)
  }

  /** @internal The first `bytes` (a message boundary) were sent: move the rest to the front. */
  consume(bytes: number, messages: number): void {
    if (bytes <= 0) return
    this.buf.copyWithin(0, bytes, this.pos)
    this.pos -= bytes
    this.committed -= bytes
    this.messages -= messages
    if (this.msgStart >= 0) this.msgStart -= bytes
    if (this.frameHdr >= 0) this.frameHdr -= bytes
  }
}

function misuse(what: string): never {
  throw new RangeError(`Outbox: ${what}`)
}

/**
 * Messages received by the last recvBatch(), as offsets into `buf` (valid until the next
 * recvBatch()). `index` holds, for message i, its first frame number at index[i] (and the
 * total frame count at index[count]); frame f's [start, end) is at
 * index[frameBase + 2f], index[frameBase + 2f + 1], with frameBase = maxMessages + 1.
 */
export class Inbox {
  readonly buf: Uint8Array
  readonly index: Int32Array
  readonly maxMessages: number
  readonly maxFrames: number
  readonly frameBase: number
  /** Messages in the last batch. */
  count = 0
  /** Bytes of frame data in the last batch. */
  bytes = 0
  /**
   * The last recvBatch() stopped because nothing more was waiting (libzmq said EAGAIN), so
   * ZMQ_FD will signal new input: a drain loop may stop without another (empty) call.
   */
  drained = false

  constructor(capacity: number, maxMessages: number, maxFrames: number) {
    this.buf = new Uint8Array(capacity)
    this.maxMessages = maxMessages
    this.maxFrames = maxFrames
    this.frameBase = maxMessages + 1
    this.index = new Int32Array(this.frameBase + 2 * maxFrames)
  }

  frameCount(i: number): number {
    return this.index[i + 1] - this.index[i]
  }

  frameStart(i: number, f: number): number {
    return this.index[this.frameBase + 2 * (this.index[i] + f)]
  }

  frameEnd(i: number, f: number): number {
    return this.index[this.frameBase + 2 * (this.index[i] + f) + 1]
  }

  frameLength(i: number, f: number): number {
    const k = this.frameBase + 2 * (this.index[i] + f)
    return this.index[k + 1] - this.index[k]
  }

  /** A view of frame f of message i (allocates a view: not for the hot path). */
  frame(i: number, f: number): Uint8Array {
    return this.buf.subarray(this.frameStart(i, f), this.frameEnd(i, f))
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
    if (ob.isOpen) misuse('flush() inside an open message')
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

// Poller states. The C thread is armed in ARMED; it disarms itself when it calls back.
/** call: add, start. next: ARMED */
const POLLER_IDLE = 0
/** C thread watching the fds. call: add, remove, stop. next: NOTIFIED (fd readable or kick) */
const POLLER_ARMED = 1
/** onReady is due or running. call: rearm. next: ARMED, or NOTIFIED again if input waits */
const POLLER_NOTIFIED = 2
/** call: nothing. next: none */
const POLLER_STOPPED = 3

/** Started pollers, joined at process exit so no thread calls into a dying VM. */
const livePollers = new Set<ZmqPoller>()
let exitHookInstalled = false

/**
 * Wakes the JS thread when any registered socket may have work, without spinning: a C
 * thread blocks in poll(2) on their ZMQ_FDs. `onReady` runs on the JS thread, once, and
 * not again until rearm(). onReady must drain every registered socket (recvBatch() until
 * inbox.drained) before calling rearm(), or rearm() will re-notify at once.
 */
/** Period of the poller's keep-alive timer: long, it only has to exist. */
const POLLER_KEEP_ALIVE_MS = 1 << 30

function noop(): void {}

export class ZmqPoller {
  /** onReady calls so far (C wake-ups plus self-notifications). */
  notifications = 0
  private readonly lib: ZmqLib
  private readonly onReady: () => void
  private readonly callback: JSCallback
  private handle: Pointer | null
  private state = POLLER_IDLE
  private readonly sockets: ZmqSocket[] = []
  private readonly fds: number[] = []
  private immediatePending = false
  private readonly fireBound: () => void
  /**
   * A referenced timer while started: without one, Bun's event loop may sleep without
   * dispatching calls queued by the poller thread (and would exit with nothing else to do).
   */
  private keepAlive: ReturnType<typeof setInterval> | null = null

  constructor(onReady: () => void) {
    this.lib = loadZmq()
    this.onReady = onReady
    this.fireBound = () => this.fire()
    // Kept in a field: the C thread holds its pointer until stop().
    this.callback = threadsafeCallback(() => this.onNative())
    const err = new Int32Array(1)
    this.handle = this.lib.pollerNew(this.callback.ptr!, err)
    if (this.handle === null) {
      this.callback.close()
      throw zmqError(this.lib, 'ZMQ_POLLER', 'poller', err[0])
    }
  }

  /** Watch sock's ZMQ_FD (before or after start). */
  add(sock: ZmqSocket): void {
    const h = this.live()
    if (sock.poller !== null) throw new ZmqError('ZMQ_POLLER', 0, 'poller add: socket already has a poller')
    const fd = sock.fd()
    const rc = this.lib.pollerAdd(h, fd)
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_POLLER', 'poller add', -rc)
    sock.poller = this
    this.sockets.push(sock)
    this.fds.push(fd)
  }

  /** Stop watching sock (ZmqSocket.close() calls this). */
  remove(sock: ZmqSocket): void {
    const i = this.sockets.indexOf(sock)
    if (i < 0) return
    const fd = this.fds[i]
    this.sockets.splice(i, 1)
    this.fds.splice(i, 1)
    sock.poller = null
    if (this.handle !== null) this.lib.pollerRemove(this.handle, fd)
  }

  start(): void {
    if (this.state !== POLLER_IDLE) return
    const rc = this.lib.pollerStart(this.live())
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_POLLER', 'poller start', -rc)
    this.state = POLLER_ARMED
    this.keepAlive = setInterval(noop, POLLER_KEEP_ALIVE_MS)
    livePollers.add(this)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on('exit', () => {
        for (const p of livePollers) p.stop()
      })
    }
  }

  /**
   * Call after draining: re-notifies if a socket is already ready, else re-arms the
   * thread. Ready = input waiting, or unsent messages and POLLOUT (not for ROUTER, whose
   * POLLOUT is always set: a ROUTER blocked on one full peer needs a retry timer).
   */
  rearm(): void {
    if (this.state !== POLLER_NOTIFIED) return
    for (let i = 0; i < this.sockets.length; i++) {
      // Reading ZMQ_EVENTS processes the socket's commands and so consumes its fd signal:
      // whatever those commands changed must be acted on now, not left to the thread.
      const s = this.sockets[i]
      const ev = s.events()
      const writable = (ev & ZMQ_POLLOUT) !== 0 && s.outbox.pending > 0 && s.type !== ZMQ_ROUTER
      if ((ev & ZMQ_POLLIN) !== 0 || writable) {
        this.schedule()
        return
      }
    }
    this.state = POLLER_ARMED
    this.lib.pollerRearm(this.handle!)
  }

  /** Join the thread. Idempotent. Sockets stay open. */
  stop(): void {
    if (this.state === POLLER_STOPPED) return
    this.state = POLLER_STOPPED
    if (this.keepAlive !== null) clearInterval(this.keepAlive)
    this.keepAlive = null
    livePollers.delete(this)
    for (const s of this.sockets) s.poller = null
    this.sockets.length = 0
    this.fds.length = 0
    if (this.handle !== null) this.lib.pollerStop(this.handle)
    this.handle = null
    // Calls already queued for the JS thread may still run; free the callback later.
    const cb = this.callback
    setTimeout(() => cb.close(), POLLER_CALLBACK_CLOSE_DELAY_MS).unref()
  }

  /** C thread wake-ups so far. */
  wakeups(): number {
    return this.handle === null ? 0 : this.lib.pollerWakeups(this.handle)
  }

  /** @internal Input is waiting on a registered socket: notify even if the fd stays quiet. */
  kick(): void {
    if (this.state !== POLLER_ARMED) return
    this.state = POLLER_NOTIFIED
    this.schedule()
  }

  private live(): Pointer {
    if (this.handle === null) throw new ZmqError('ZMQ_POLLER', 0, 'poller is stopped')
    return this.handle
  }

  private onNative(): void {
    // A wake-up that lands while NOTIFIED is redundant: rearm() re-checks every socket.
    if (this.state !== POLLER_ARMED) return
    this.state = POLLER_NOTIFIED
    this.notifications++
    this.onReady()
  }

  private schedule(): void {
    if (this.immediatePending) return
    this.immediatePending = true
    setImmediate(this.fireBound)
  }

  private fire(): void {
    this.immediatePending = false
    if (this.state !== POLLER_NOTIFIED) return
    this.notifications++
    this.onReady()
  }
}
