// A worker: the client listeners, the connection slots, the ZHTTP stream sockets, timers and
// keep-alives (zhttp.md sections 1.5, 4.1, 4.8, 4.12). One event loop, one JS thread: every
// ZeroMQ socket is touched only here.
//
// Event flow: Bun.listen callbacks drive Connection objects (one shared handler object, no
// per-socket closures); packets for handlers accumulate in the sockets' outboxes and leave in
// one batched send per event-loop turn (`scheduleFlush`); the ZeroMQ poller thread wakes
// `onZmqReady`, which drains the SUB socket in batches and routes each packet by its id's
// slot in O(1). A 100 ms housekeeping tick advances the timer wheel and sends keep-alives.

import type { Socket, SocketHandler, TCPSocketListener, TCPSocketListenOptions, TLSOptions, UnixSocketListener } from 'bun'
import { unlinkSync } from 'node:fs'
import type { Config, ListenSpec } from '../config.ts'
import { MODE_REQ } from '../config.ts'
import { log, logEnabled, DEBUG, ERROR, INFO, WARN, TRACE } from '../log.ts'
import {
  TICK_MS,
  BATCH_IDS_MAX,
  SEND_RETRY_MS,
} from '../limits.ts'
import {
  Connection,
  ST_ACTIVE,
  ST_CLOSED,
  ST_FREE,
  ST_ORPHAN,
  ST_WAIT_HANDLER,
} from './connection.ts'
import { parseConnId, parsedId, COUNTER_MAX } from './conn-id.ts'
import { RequestHead } from '../http/parser.ts'
import { BufferPool } from '../mem/buffer-pool.ts'
import { TimerWheel } from '../time/timer-wheel.ts'
import { HandlerTable } from '../zhttp/handler-table.ts'
import { HandlerPacket, parseHandlerPacket, packetErrorText } from '../zhttp/packet.ts'
import { StreamClient } from '../zhttp/stream-client.ts'
import { writeHeaderList, uriScheme } from '../zhttp/request-fields.ts'
import {
  KEY_METHOD,
  KEY_URI,
  KEY_HEADERS,
  KEY_CREDITS,
  KEY_MORE,
  KEY_STREAM,
  KEY_PEER_ADDRESS,
  KEY_PEER_PORT,
} from '../zhttp/packet-writer.ts'
import { ZmqContext, ZmqPoller } from '../zmq/socket.ts'
import { ReqSlots } from './req-slots.ts'
import { WS_OPEN } from './ws-session.ts'
import { WorkerRelay, relayEndpoints } from './worker-relay.ts'
import { HWM_PERCENT_OF_MAXCONN, INBOUND_MESSAGE_SIZE_MAX_BYTES } from '../limits.ts'
import { LogLimiter } from '../log-limiter.ts'
import { INVALID_REASONS } from '../http/response-check.ts'
import * as E from '../http/errors.ts'
import { stats, DROP_NOT_FOR_US, DROP_PARSE, DROP_UNKNOWN_ID, DROP_TOO_LARGE } from '../stats.ts'
import { applyOwnership } from './unix-socket.ts'
import { TlsIdentities, listenerTls } from '../tls/identities.ts'
import type { NativeContext } from '../tls/identities.ts'

/** Timer entries allocated up front; the wheel grows by doubling beyond it. */
const TIMERS_INITIAL = 1024
/** Output scratch for composing one response; grows for larger packets. */
const SCRATCH_INITIAL_BYTES = 64 * 1024
/** Oversized buffers (beyond the pooled size) get this much headroom. */
const BUFFER_GROWTH_FACTOR = 2

/** Pool slabs are cut into this many connection buffers at a time. */
const BUFFERS_PER_SLAB = 64

/** What a client socket's data is: a stream-mode Connection or a req-mode ReqConnection. */
export interface ClientConn {
  onData(chunk: Uint8Array): void
  onDrain(): void
  onSocketClose(): void
  onClientEnd(): void
}

/** Anything holding a timer-wheel handle; `slot` is the value the wheel hands back. */
interface TimerOwner {
  timer: number
  timerAt: number
  readonly slot: number
}

type ClientSocket = Socket<ClientConn | null>

/** Bun's socket handler, with the SNI hook of TLS listeners (tls/identities.ts). */
type ClientHandler = SocketHandler<ClientConn | null> & {
  serverName?: (data: unknown, name: string) => NativeContext | undefined
}

export class Server {
  readonly bufferSize: number
  readonly streamTimeoutMs: number
  readonly sessionTimeoutMs: number
  readonly handlers = new HandlerTable()
  readonly head = new RequestHead()
  readonly stream: StreamClient
  /** The req-mode socket and slots; null without a req listener (zhttp.md 1.1). */
  readonly req: ReqSlots | null
  now = performance.now()
  /** Every warning about a handler packet goes through this rate limit (handlerWarning). */
  readonly handlerLog: LogLimiter

  private readonly ctx: ZmqContext
  /** Worker 0 of several: forwards the other workers' packets (worker-relay.ts). */
  readonly relay: WorkerRelay | null = null
  private readonly poller: ZmqPoller
  private readonly pool: BufferPool
  private readonly wheel: TimerWheel
  private readonly conns: Array<Connection | null>
  private readonly freeSlots: Int32Array
  private freeCount: number
  private active = 0
  private counter = 0
  private readonly packet = new HandlerPacket()
  private scratch = new Uint8Array(SCRATCH_INITIAL_BYTES)
  private flushScheduled = false
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private readonly creditQueue: Connection[] = []
  private tickTimer: ReturnType<typeof setInterval> | null = null
  private kaCursor = 0
  private readonly listeners: Array<TCPSocketListener<ClientConn | null> | UnixSocketListener<ClientConn | null>> = []
  private readonly unixPaths: string[] = []
  /** Certificates of the `tls` listeners, made by the first one (zhttp.md 7.3). */
  private tlsIds: TlsIdentities | null = null
  private stopping = false
  // Keep-alive batch scratch (zhttp.md 4.8): up to BATCH_IDS_MAX ids per packet.
  private readonly batchSlots = new Int32Array(BATCH_IDS_MAX)
  private readonly batchCounters = new Float64Array(BATCH_IDS_MAX)
  private readonly batchSeqs = new Float64Array(BATCH_IDS_MAX)
  private readonly onReadyBound = (): void => this.onZmqReady()
  private readonly flushBound = (): void => this.flush()
  private readonly tickBound = (): void => this.tick()
  private readonly retryBound = (): void => {
    this.retryTimer = null
    this.flush()
  }

  /**
   * `capacity`: this worker's share of --stream-maxconn (Condure gives each of N workers
   * stream_maxconn / N). `sharedCtx`: a worker besides 0 runs on worker 0's libzmq context
   * (the pointer), with its packets relayed through worker 0.
   */
  constructor(
    readonly cfg: Config,
    readonly worker: number,
    capacity = cfg.streamMaxconn,
    sharedCtx = 0,
  ) {
    this.ctx = sharedCtx !== 0 ? ZmqContext.shared(sharedCtx) : new ZmqContext()
    this.bufferSize = cfg.bufferSize
    this.streamTimeoutMs = cfg.streamTimeoutS * 1000
    this.sessionTimeoutMs = cfg.sessionTimeoutMs
    this.handlerLog = new LogLimiter(WARN, 'zgate::server', 'bad handler packets', cfg.logLimitMs)
    this.pool = new BufferPool(cfg.bufferSize, BUFFERS_PER_SLAB)
    this.conns = new Array<Connection | null>(capacity).fill(null)
    this.freeSlots = new Int32Array(capacity)
    // Lowest slots first, so ids stay short and slots are reused while warm.
    for (let i = 0; i < capacity; i++) this.freeSlots[i] = capacity - 1 - i
    this.freeCount = capacity
    this.wheel = new TimerWheel(TIMERS_INITIAL, TICK_MS, this.now)
    // Stream endpoints are bound only when a stream listener exists, as in Condure (1.1).
    const streamCfg = cfg.listen.some((l) => l.mode !== MODE_REQ) ? cfg : { ...cfg, zclientStream: [] }
    const relayed = worker > 0 ? relayEndpoints(worker) : null
    this.stream = new StreamClient(this.ctx, streamCfg, this.handlers, worker, relayed)
    if (worker === 0 && cfg.workerLoops > 1) {
      const hwm = Math.max(Math.floor(((cfg.reqMaxconn + cfg.streamMaxconn) * HWM_PERCENT_OF_MAXCONN) / 100), 1)
      this.relay = new WorkerRelay(this.ctx, this.stream, cfg.workerLoops, hwm)
    }
    try {
      // Req listeners are served by worker 0 alone (its DEALER is the process's one).
      const wantReq = worker === 0 && cfg.listen.some((l) => l.mode === MODE_REQ)
      this.req = wantReq ? new ReqSlots(this, this.ctx, cfg, capacity) : null
    } catch (err) {
      // Start-up fails: leave no stream ipc files behind (Condure leaves none either).
      this.stream.close()
      removeFiles(this.stream.boundIpcPaths)
      throw err
    }
    this.poller = new ZmqPoller(this.onReadyBound)
    this.poller.add(this.stream.sub)
    if (this.req !== null) this.poller.add(this.req.client.dealer)
    this.poller.start()
    // A socket connected before the poller watched it may have signalled already (inproc
    // peers of a worker thread do): one drain at start consumes that signal and re-arms.
    this.poller.kick()
  }

  /** The libzmq context handle, for the other workers (ZmqContext.shared). */
  get contextPointer(): number {
    return this.ctx.pointer
  }

  /** Actual ports of the TCP listeners, in listen order (port 0 binds an ephemeral one). */
  get boundPorts(): number[] {
    return this.listeners.map((l) => ('port' in l ? l.port : 0))
  }

  // --- listeners ---------------------------------------------------------------------

  listen(spec: ListenSpec): void {
    const server = this
    const req = spec.mode === MODE_REQ
    const mode = spec.mode
    const secure = spec.tls
    const handler: ClientHandler = {
      binaryType: 'uint8array',
      open(s: ClientSocket): void {
        stats.connectionsAccepted++
        if (req) server.onOpenReq(s, secure)
        else server.onOpen(s, secure)
        if (s.data !== null) stats.connectionsOpen[mode]++
      },
      data(s: ClientSocket, chunk: Uint8Array): void {
        const c = s.data
        if (c === null) return
        stats.bytesIn += chunk.length
        server.now = performance.now()
        c.onData(chunk)
      },
      drain(s: ClientSocket): void {
        const c = s.data
        if (c !== null) c.onDrain()
      },
      close(s: ClientSocket): void {
        const c = s.data
        if (c === null) return
        s.data = null
        stats.connectionsOpen[mode]--
        server.now = performance.now()
        c.onSocketClose()
      },
      end(s: ClientSocket): void {
        const c = s.data
        if (c !== null) c.onClientEnd()
      },
      error(s: ClientSocket, err: Error): void {
        if (logEnabled(DEBUG)) log(DEBUG, 'zgate::server', `client socket error: ${err.message}`)
      },
    }
    let tls: TLSOptions | undefined
    if (secure) {
      const t = listenerTls(this.tlsIdentities(), spec.defaultCert)
      tls = t.tls
      handler.serverName = t.serverName
      // With a handshake handler Bun calls `open` at accept, before the handshake, so a
      // client that never completes one still meets the session timer.
      handler.handshake = onHandshake
    }
    if (spec.path !== '') {
      try {
        unlinkSync(spec.path)
      } catch {
        // no stale socket file
      }
      this.listeners.push(
        Bun.listen<ClientConn | null>({ unix: spec.path, socket: handler, data: null, allowHalfOpen: true, tls }),
      )
      this.unixPaths.push(spec.path)
      applyOwnership(spec)
      log(INFO, 'zgate::server', `listening on "${spec.path}" (pathname)`)
      return
    }
    const shared = this.cfg.workerLoops > 1 && !req
    // bun-types 1.x declares reusePort on connect options only; Bun.listen honours it.
    const opts: TCPSocketListenOptions<ClientConn | null> & { reusePort: boolean } = {
      hostname: spec.host,
      port: spec.port,
      // With --workers N every worker binds the same stream port (SO_REUSEPORT) and the
      // kernel spreads new connections over them (zhttp.md 4.1); req ports are worker 0's.
      exclusive: !shared,
      reusePort: shared,
      // zgate decides what a client's EOF means (connection.onClientEnd), not Bun.
      allowHalfOpen: true,
      socket: handler,
      data: null,
      tls,
    }
    const l = Bun.listen<ClientConn | null>(opts)
    this.listeners.push(l)
    const shown = spec.host.includes(':') ? `[${spec.host}]` : spec.host
    log(INFO, 'zgate::server', `listening on ${shown}:${l.port}`)
  }

  /**
   * This worker's TLS identities, loaded and checked on first use (a bad certificate stops
   * start-up with TlsSetupError, zhttp.md 7.3).
   */
  private tlsIdentities(): TlsIdentities {
    if (this.tlsIds !== null) return this.tlsIds
    const ids = new TlsIdentities(this.cfg.tlsIdentitiesDir)
    const defaults = this.cfg.listen.filter((l) => l.tls && l.defaultCert !== '').map((l) => l.defaultCert)
    const n = ids.preload(defaults)
    if (this.worker === 0) {
      if (n === 0) log(WARN, 'zgate::tls', `no tls identities in ${ids.dir}: handshakes fail until some are added`)
      else log(INFO, 'zgate::tls', `tls identities: ${n} loaded from ${ids.dir}`)
    }
    this.tlsIds = ids
    return ids
  }

  private onOpen(s: ClientSocket, secure: boolean): void {
    this.now = performance.now()
    if (this.stopping || this.freeCount === 0) {
      this.refuse(s, secure)
      return
    }
    const slot = this.freeSlots[--this.freeCount]
    let c = this.conns[slot]
    if (c === null) {
      c = new Connection(this, slot)
      this.conns[slot] = c
    }
    this.active++
    s.data = c
    // TCP_NODELAY and SO_KEEPALIVE, as Condure sets them (zhttp.md 4.1).
    s.setNoDelay(true)
    s.setKeepAlive(true)
    c.open(s as unknown as Socket<Connection>, this.now, secure)
    if (this.tickTimer === null) this.startTick()
  }

  /** A client on a req listener (zhttp.md 4.11); --req-maxconn bounds them. */
  private onOpenReq(s: ClientSocket, secure: boolean): void {
    this.now = performance.now()
    if (this.stopping || !(this.req as ReqSlots).open(s, this.now, secure)) {
      this.refuse(s, secure)
      return
    }
    s.setNoDelay(true)
    s.setKeepAlive(true)
    if (this.tickTimer === null) this.startTick()
  }

  /**
   * Condure leaves the connection in the backlog when full; zgate answers 503 and closes. A
   * TLS client is closed before its handshake: a full gateway spends no handshake on it.
   */
  private refuse(s: ClientSocket, secure: boolean): void {
    s.data = null
    if (secure) {
      s.end()
      return
    }
    const r = E.errorResponse(E.RESP_SERVICE_UNAVAILABLE, false)
    stats.clientErrors[E.RESP_SERVICE_UNAVAILABLE]++
    stats.bytesOut += r.length
    s.write(r)
    s.end()
  }

  peerAddressOf(s: { readonly remoteAddress: string }): string {
    const a = s.remoteAddress
    if (a === undefined || a === '') return ''
    // Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6; Condure shows plain IPv4.
    return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a
  }

  /** Frees the slot once both the socket and the session are finished. */
  maybeFree(c: Connection): void {
    if (c.state !== ST_CLOSED || c.socket !== null) return
    if (c.timer >= 0) {
      this.wheel.remove(c.timer)
      c.timer = -1
    }
    c.state = ST_FREE
    c.counter = -1
    if (c.ws !== null) c.ws.release() // zlib state of a compressed session
    this.freeSlots[this.freeCount++] = c.slot
    this.active--
  }

  nextCounter(): number {
    const n = this.counter
    this.counter = n + 1 >= COUNTER_MAX ? 0 : n + 1
    return n
  }

  // --- buffers -----------------------------------------------------------------------

  /** A buffer for at least n bytes: pooled when n fits the buffer size. */
  acquireBuffer(n: number): Uint8Array {
    if (n <= this.bufferSize) return this.pool.acquire()
    return new Uint8Array(n * BUFFER_GROWTH_FACTOR)
  }

  releaseBuffer(b: Uint8Array): void {
    if (b.length === this.bufferSize) this.pool.release(b)
  }

  /** Shared output scratch (one response at a time is composed in it). */
  scratchFor(n: number): Uint8Array {
    if (this.scratch.length < n) this.scratch = new Uint8Array(n * BUFFER_GROWTH_FACTOR)
    return this.scratch
  }

  // --- packets to handlers -----------------------------------------------------------

  /**
   * The first packet of a request on PUSH (zhttp.md 4.3); false when the outbox is full. A
   * WebSocket request (5.2) has a `ws://` (`wss://`) uri, `credits` as given, and no `more` or
   * `stream`.
   */
  sendFirstPacket(
    c: Connection,
    buf: Uint8Array,
    hostS: number,
    hostE: number,
    more: boolean,
    ws = false,
    credits = this.bufferSize,
  ): boolean {
    const st = this.stream
    const h = this.head
    if (!st.beginPush()) return false
    // The packet is about the size of the head plus framing: guess its length prefix.
    const headBytes = h.headEnd - h.methodStart
    st.writeHead(c.slot, c.counter, 0, headBytes + 24 * h.headerCount + 200)
    const w = st.w
    w.encoded(KEY_METHOD)
    w.bytes(buf, h.methodStart, h.methodEnd)
    w.encoded(KEY_URI)
    // uri = scheme host target, assembled as one byte string.
    st.writeUri(buf, hostS, hostE, h.targetStart, h.targetEnd, uriScheme(c.secure, ws))
    if (h.headerCount > 0) {
      w.encoded(KEY_HEADERS)
      writeHeaderList(w, buf, h)
    }
    w.encoded(KEY_CREDITS)
    w.int(credits)
    if (more) {
      w.encoded(KEY_MORE)
      w.bool(true)
    }
    if (!ws) {
      w.encoded(KEY_STREAM)
      w.bool(true)
    }
    if (c.peerAddress !== '') {
      w.encoded(KEY_PEER_ADDRESS)
      w.ascii(c.peerAddress)
      w.encoded(KEY_PEER_PORT)
      w.int(c.peerPort)
    }
    w.endMap()
    st.end(false)
    this.scheduleFlush()
    if (ws) stats.requestsWebsocket++
    else stats.requestsStream++
    return true
  }

  queueCredits(c: Connection): void {
    this.creditQueue.push(c)
    this.scheduleFlush()
  }

  scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(this.flushBound)
  }

  /** Once per event-loop turn: credit packets, then one batched send per socket. */
  flush(): void {
    // Credit packets written below must not schedule yet another flush.
    this.flushScheduled = true
    const q = this.creditQueue
    for (let i = 0; i < q.length; i++) q[i].flushCredits()
    q.length = 0
    this.flushScheduled = false
    let done = false
    try {
      done = this.stream.flush()
      if (this.req !== null && !this.req.client.flush()) done = false
    } catch (err) {
      log(ERROR, 'zgate::server', `handler socket send error: ${(err as Error).message}`)
    }
    if (!done && this.retryTimer === null) {
      // A peer queue is full (HWM) or no handler is connected yet: retry like Condure does.
      this.retryTimer = setTimeout(this.retryBound, SEND_RETRY_MS)
    }
  }

  // --- packets from handlers ---------------------------------------------------------

  private onZmqReady(): void {
    try {
      this.drainHandlers()
    } catch (err) {
      // A failing ZeroMQ call must not take the gateway down with every client on it; the
      // drain is retried shortly (the poller stays notified until a drain re-arms it).
      log(ERROR, 'zgate::server', `handler socket error: ${(err as Error).message}`)
      setTimeout(this.onReadyBound, SEND_RETRY_MS)
    }
  }

  private drainHandlers(): void {
    this.now = performance.now()
    const sub = this.stream.sub
    const inbox = sub.inbox
    const tooLarge = sub.recvDropped
    // Drain until libzmq reports nothing left, so that ZMQ_FD signals again; rearm() then
    // re-checks ZMQ_EVENTS for the race with a message arriving right now.
    do {
      const n = sub.recvBatch()
      for (let i = 0; i < n; i++) {
        try {
          this.routeMessage(inbox.buf, inbox.frameStart(i, 0), inbox.frameEnd(i, 0))
        } catch (err) {
          // One bad packet must not cost the rest of the batch.
          if (this.handlerWarning(ERROR)) log(ERROR, 'zgate::server', `handler packet dropped: ${(err as Error).message}`)
        }
      }
    } while (!inbox.drained)
    this.countTooLarge(sub.recvDropped - tooLarge)
    if (this.relay !== null) this.relay.flush()
    if (this.req !== null) this.req.drain()
    this.poller.rearm()
    const reqPending = this.req !== null && this.req.client.dealer.outbox.pending > 0
    if (reqPending || this.creditQueue.length > 0 || this.stream.push.outbox.pending > 0 || this.stream.router.outbox.pending > 0) {
      this.flush()
    }
  }

  /** One `<instance-id> T...` message from SUB (zhttp.md 2.2, 1.5). */
  private routeMessage(buf: Uint8Array, start: number, end: number): void {
    const id = this.stream.instanceId
    const n = id.length
    stats.handlerPacketsIn++
    if (end - start <= n || buf[start + n] !== 0x20) {
      stats.handlerPacketsDropped[DROP_NOT_FOR_US]++
      if (this.handlerWarning(WARN)) log(WARN, 'zgate::server', 'packet not for us')
      return
    }
    for (let i = 0; i < n; i++) {
      if (buf[start + i] !== id[i]) {
        stats.handlerPacketsDropped[DROP_NOT_FOR_US]++
        if (this.handlerWarning(WARN)) log(WARN, 'zgate::server', 'packet not for us')
        return
      }
    }
    const p = this.packet
    const err = parseHandlerPacket(buf, start + n + 1, end, p)
    if (err !== 0) {
      stats.handlerPacketsDropped[DROP_PARSE]++
      if (this.handlerWarning(WARN)) log(WARN, 'zgate::server', `zhttp parse error: ${packetErrorText(err)}`)
      return
    }
    if (logEnabled(TRACE)) {
      log(TRACE, 'zgate::server', `IN ${new TextDecoder().decode(buf.subarray(start, end))}`)
    }
    const relay = this.relay
    if (relay !== null) relay.nextMessage()
    for (let i = 0; i < p.idCount; i++) {
      // Not ours (another process's nonce, conn-id.ts) or not an id at all: unknown.
      if (!parseConnId(buf, p.idStart[i], p.idEnd[i])) {
        stats.handlerPacketsDropped[DROP_UNKNOWN_ID]++
        continue
      }
      if (parsedId.worker !== this.worker) {
        // Another worker's session (W of `W-K-N-X`, zhttp.md 1.5): the whole message goes
        // there, not a drop. Worker 0 counts an id for a worker that does not exist; the
        // others only see ids of other workers in a multi-id message also meant for them.
        if (relay !== null && parsedId.worker < relay.workers) relay.forward(parsedId.worker, buf, start, end)
        else if (this.worker === 0) stats.handlerPacketsDropped[DROP_UNKNOWN_ID]++
        continue
      }
      const c = parsedId.slot < this.conns.length ? this.conns[parsedId.slot] : null
      const st = c === null ? ST_FREE : c.state
      if (c === null || c.counter !== parsedId.counter || (st !== ST_WAIT_HANDLER && st !== ST_ACTIVE && st !== ST_ORPHAN)) {
        // A closed or never-existing session: ignored, as Condure does (zhttp.md 1.5).
        stats.handlerPacketsDropped[DROP_UNKNOWN_ID]++
        continue
      }
      c.onHandlerPacket(p, i)
    }
  }

  /**
   * Messages the receive path dropped unread for their size (over INBOUND_MESSAGE_SIZE_MAX_BYTES
   * or too many frames, zmq/socket.ts): received from a handler, so counted in and dropped.
   */
  countTooLarge(n: number): void {
    if (n <= 0) return
    stats.handlerPacketsIn += n
    stats.handlerPacketsDropped[DROP_TOO_LARGE] += n
    for (let i = 0; i < n; i++) {
      if (this.handlerWarning(WARN)) log(WARN, 'zgate::server', `handler packet over ${INBOUND_MESSAGE_SIZE_MAX_BYTES} bytes dropped`)
    }
  }

  /** Counts a handler response zgate refused (response-check.ts) and logs it, rate-limited. */
  invalidResponse(reason: number, outcome: string): void {
    stats.handlerResponsesInvalid[reason]++
    if (this.handlerWarning(WARN)) log(WARN, 'zgate::server', `invalid handler response (${INVALID_REASONS[reason]}): ${outcome}`)
  }

  /**
   * Whether a warning about a handler packet (at `level`) may be logged now: the first few
   * per interval are, the rest are counted into one summary line (log-limiter.ts), which the
   * housekeeping tick writes; the tick runs until it has.
   */
  handlerWarning(level: number): boolean {
    if (!logEnabled(level)) return false
    if (this.handlerLog.allow(this.now)) return true
    if (this.tickTimer === null) this.startTick()
    return false
  }

  // --- timers and keep-alives --------------------------------------------------------

  armTimer(c: TimerOwner, at: number): void {
    if (c.timer >= 0) {
      if (c.timerAt <= at) return // fires earlier and re-arms itself then
      this.wheel.remove(c.timer)
    }
    c.timer = this.wheel.add(at, c.slot)
    c.timerAt = at
  }

  /** Drops c's timer (req-mode slots; stream slots drop theirs in maybeFree). */
  disarmTimer(c: TimerOwner): void {
    if (c.timer < 0) return
    this.wheel.remove(c.timer)
    c.timer = -1
  }

  private startTick(): void {
    this.tickTimer = setInterval(this.tickBound, TICK_MS)
  }

  private tick(): void {
    try {
      this.runTick()
    } catch (err) {
      log(ERROR, 'zgate::server', `housekeeping error: ${(err as Error).message}`)
    }
  }

  private runTick(): void {
    const now = performance.now()
    this.now = now
    this.wheel.update(now)
    for (let slot = this.wheel.takeExpired(); slot >= 0; slot = this.wheel.takeExpired()) {
      if (slot >= this.conns.length) {
        if (this.req !== null) this.req.onTimer(slot, now)
        continue
      }
      const c = this.conns[slot]
      if (c === null) continue
      c.timer = -1
      c.onTimer(now)
    }
    this.sendKeepAlives()
    this.handlerLog.flush(now)
    const idle = this.active === 0 && (this.req === null || this.req.active === 0) && !this.handlerLog.pending
    if (idle && this.tickTimer !== null) {
      // Idle gateway: no wake-ups at all until the next connection.
      clearInterval(this.tickTimer)
      this.tickTimer = null
    }
  }

  /**
   * Visits the next slice of slots so each session is visited once per keep-alive period
   * (45 s); sessions with a known handler get a keep-alive, batched per handler (zhttp.md 4.8).
   */
  private sendKeepAlives(): void {
    const slots = this.conns.length
    // Slices per period: each tick visits ceil(slots / slices) slots.
    const slice = Math.ceil(slots / Math.max(1, Math.floor(this.cfg.keepAliveIntervalMs / TICK_MS)))
    const end = Math.min(this.kaCursor + slice, slots)
    if (this.sendBatched('keep-alive', this.kaCursor, end, isKeepAliveTarget)) this.scheduleFlush()
    this.kaCursor = end >= slots ? 0 : end
  }

  /**
   * Sends `type` to every session in slots [from, end) that `select` accepts, grouped per
   * handler address into packets of at most BATCH_IDS_MAX ids. Each listed session consumes
   * one seq, only once its packet is in the outbox. True when anything was sent.
   */
  private sendBatched(type: string, from: number, end: number, select: (c: Connection) => boolean): boolean {
    let any = false
    for (let i = from; i < end; i++) {
      const first = this.conns[i]
      if (first === null || first.batched || !select(first)) continue
      const h = first.handler
      let count = 0
      for (let j = i; j < end; j++) {
        const c = this.conns[j]
        if (c === null || c.batched || c.handler !== h || !select(c)) continue
        c.batched = true
        this.batchSlots[count] = c.slot
        this.batchCounters[count] = c.counter
        this.batchSeqs[count] = c.outSeq
        if (++count === BATCH_IDS_MAX) {
          this.emitBatch(h, type, count)
          count = 0
        }
      }
      if (count > 0) this.emitBatch(h, type, count)
      any = true
    }
    for (let i = from; i < end; i++) {
      const c = this.conns[i]
      if (c !== null) c.batched = false
    }
    return any
  }

  private emitBatch(h: number, type: string, count: number): void {
    if (!this.stream.sendBatch(h, type, this.batchSlots, this.batchCounters, this.batchSeqs, count)) return
    for (let k = 0; k < count; k++) (this.conns[this.batchSlots[k]] as Connection).outSeq++
  }

  // --- shutdown ----------------------------------------------------------------------

  /**
   * The graceful part of a shutdown (--shutdown-timeout > 0): stops accepting; idle
   * connections close now; WebSocket sessions, which never end by themselves, get a batched
   * cancel (zhttp.md 4.12) and a 1001 close frame; requests in flight go on, each connection
   * closing once its response is written. shutdown() ends whatever is left.
   */
  beginShutdown(): void {
    this.stopping = true
    for (const l of this.listeners) l.stop(false)
    this.sendBatched('cancel', 0, this.conns.length, isWsCancelTarget)
    for (const c of this.conns) {
      if (c !== null && c.socket !== null) c.beginShutdown()
    }
    if (this.req !== null) this.req.beginShutdown()
    this.flush()
  }

  /** Whether some client still waits for (the rest of) a response. */
  inFlight(): boolean {
    for (const c of this.conns) {
      if (c !== null && c.socket !== null && c.inFlight()) return true
    }
    return this.req !== null && this.req.inFlight()
  }

  /** Stops accepting, cancels live sessions (batched per handler), closes everything. */
  shutdown(): void {
    this.stopping = true
    for (const l of this.listeners) l.stop(false)
    // Batched cancels per handler address (zhttp.md 4.12).
    this.sendBatched('cancel', 0, this.conns.length, isCancelTarget)
    for (const c of this.conns) {
      if (c !== null && c.socket !== null) c.shutdownClose()
    }
    if (this.req !== null) this.req.shutdown()
    this.stream.flush()
    if (this.tickTimer !== null) clearInterval(this.tickTimer)
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
  }

  /**
   * Releases ZeroMQ resources and removes the files zgate bound. `terminate` false leaves the
   * libzmq context unterminated (it would wait for sockets other threads still hold).
   */
  close(terminate = true): void {
    this.poller.stop()
    if (this.relay !== null) this.relay.close()
    this.stream.close()
    if (this.req !== null) this.req.client.close()
    this.ctx.close(terminate)
    const reqPaths = this.req === null ? [] : this.req.client.boundIpcPaths
    removeFiles([...this.stream.boundIpcPaths, ...reqPaths, ...this.unixPaths])
    if (logEnabled(DEBUG)) log(DEBUG, 'zgate::server', 'closed')
  }
}

/** Removes the ipc and unix socket files zgate bound. */
function removeFiles(paths: string[]): void {
  for (const p of paths) {
    try {
      unlinkSync(p)
    } catch {
      // already gone (libzmq removes ipc files it bound)
    }
  }
}

/** A failed TLS handshake (Bun closes the socket next); counted and logged at debug level. */
function onHandshake(s: ClientSocket, ok: boolean, err: Error | null): void {
  if (ok) return
  stats.tlsHandshakeFailures++
  if (logEnabled(DEBUG)) {
    log(DEBUG, 'zgate::server', `tls handshake failed (sni ${s.getServername() || 'none'}): ${err === null ? 'unknown' : err.message}`)
  }
}

function isKeepAliveTarget(c: Connection): boolean {
  return c.state === ST_ACTIVE && c.handler >= 0 && !c.paused
}

function isCancelTarget(c: Connection): boolean {
  return c.state === ST_ACTIVE && c.handler >= 0
}

function isWsCancelTarget(c: Connection): boolean {
  return isCancelTarget(c) && c.wsState === WS_OPEN
}
