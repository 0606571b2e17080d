// A worker (zhttp.md 1.5, 4.1, 4.12): one event loop, one JS thread, and everything it owns:
// the client listeners (listeners.ts), the connection slots, the ZHTTP sockets (every ZeroMQ
// socket is touched only from this thread), the timer wheel and keep-alives
// (housekeeping.ts), and the routing of handler packets (inbound-router.ts).
//
// Event flow: Bun.listen callbacks drive the connection objects; packets for handlers
// accumulate in the sockets' outboxes and leave in one batched send per event-loop turn
// (`scheduleFlush`); the ZeroMQ poller thread wakes `onZmqReady`, which drains the SUB socket
// (and the req DEALER) in batches. Connections see this class only through the narrow
// interfaces of worker-context.ts.

import { unlinkSync } from 'node:fs'
import type { Config, ListenSpec } from '../config.ts'
import { MODE_REQ } from '../config.ts'
import { log, logEnabled, DEBUG, ERROR } from '../log.ts'
import { SEND_RETRY_MS, HWM_PERCENT_OF_MAXCONN } from '../limits.ts'
import { RequestHead } from '../http/parser.ts'
import * as E from '../http/errors.ts'
import { BufferPool } from '../mem/buffer-pool.ts'
import { Slab } from '../mem/slab.ts'
import { stats } from '../stats.ts'
import { HandlerTable } from '../zhttp/handler-table.ts'
import { StreamClient } from '../zhttp/stream-client.ts'
import { ZmqContext, ZmqPoller } from '../zmq/socket.ts'
import type { ClientIo, ClientSocket } from './client-io.ts'
import { COUNTER_MAX } from '../zhttp/session-id.ts'
import { Connection } from './connection.ts'
import { Housekeeping, isCancelTarget, isWsCancelTarget } from './housekeeping.ts'
import type { HousekeepingHost } from './housekeeping.ts'
import { InboundRouter } from './inbound-router.ts'
import { HandlerFaultLog } from './handler-faults.ts'
import { Listeners } from './listeners.ts'
import type { Acceptor } from './listeners.ts'
import { ReqSlots } from './req-slots.ts'
import type { CreditOwner, StreamContext, TimerOwner } from './worker-context.ts'
import { WorkerRelay, relayEndpoints } from './worker-relay.ts'

/** Output scratch for composing one response; grows for larger packets. */
const SCRATCH_INITIAL_BYTES = 64 * 1024
/** Oversized buffers (beyond the pooled size) get this much headroom. */
const BUFFER_GROWTH_FACTOR = 2
/** Pool slabs are cut into this many connection buffers at a time. */
const BUFFERS_PER_SLAB = 64

export class Server implements StreamContext, Acceptor, HousekeepingHost {
  readonly bufferSize: number
  readonly streamTimeoutMs: number
  readonly sessionTimeoutMs: number
  readonly messagesMax: number
  readonly compression: boolean
  readonly handlers = new HandlerTable()
  readonly head = new RequestHead()
  readonly stream: StreamClient
  /** The req-mode socket and slots; null without a req listener (zhttp.md 1.1). */
  readonly req: ReqSlots | null
  /** Worker 0 of several: forwards the other workers' packets (worker-relay.ts). */
  readonly relay: WorkerRelay | null = null
  now = performance.now()
  /** Bad handler input: counted, logged under one rate limit (handler-faults.ts). */
  readonly faults: HandlerFaultLog

  private readonly ctx: ZmqContext
  private readonly poller: ZmqPoller
  private readonly pool: BufferPool
  /** Stream connections by slot, each made on its slot's first use and reused after. */
  private readonly conns: Slab<Connection>
  private readonly listeners: Listeners
  private readonly house: Housekeeping
  private readonly router: InboundRouter
  private counter = 0
  private scratch = new Uint8Array(SCRATCH_INITIAL_BYTES)
  private flushScheduled = false
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private readonly creditQueue: CreditOwner[] = []
  private stopping = false
  private readonly onReadyBound = (): void => this.onZmqReady()
  private readonly flushBound = (): void => this.flush()
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
    this.messagesMax = cfg.messagesMax
    this.compression = cfg.compression
    this.pool = new BufferPool(cfg.bufferSize, BUFFERS_PER_SLAB)
    this.conns = new Slab<Connection>(capacity)
    this.listeners = new Listeners(cfg, worker, this)
    // Stream endpoints are bound only when a stream listener exists, as in Condure (1.1).
    const streamCfg = cfg.listen.some((l) => l.mode !== MODE_REQ) ? cfg : { ...cfg, zclientStream: [] }
    const relayed = worker > 0 ? relayEndpoints(worker) : null
    this.stream = new StreamClient(this.ctx, streamCfg, this.handlers, worker, relayed)
    if (worker === 0 && cfg.workerLoops > 1) {
      const hwm = Math.max(Math.floor(((cfg.reqMaxconn + cfg.streamMaxconn) * HWM_PERCENT_OF_MAXCONN) / 100), 1)
      this.relay = new WorkerRelay(this.ctx, this.stream, cfg.workerLoops, hwm)
    }
    this.house = new Housekeeping(this, this.conns, this.stream, cfg.keepAliveIntervalMs)
    this.faults = new HandlerFaultLog(this, cfg.logLimitMs, () => this.house.wake())
    this.router = new InboundRouter(worker, this.stream, this.conns, this.relay, this.faults)
    try {
      // Req listeners are served by worker 0 alone (its DEALER is the process's one).
      const wantReq = worker === 0 && cfg.listen.some((l) => l.mode === MODE_REQ)
      this.req = wantReq ? new ReqSlots(this, worker, this.ctx, cfg, capacity) : null
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
    return this.listeners.boundPorts
  }

  listen(spec: ListenSpec): void {
    this.listeners.listen(spec)
  }

  // --- connections -------------------------------------------------------------------

  /** A new client (listeners.ts); --stream-maxconn / --req-maxconn bound them. */
  accept(s: ClientSocket, req: boolean, secure: boolean): void {
    if (this.stopping || !(req ? this.acceptReq(s, secure) : this.acceptStream(s, secure))) {
      this.refuse(s, secure)
      return
    }
    // TCP_NODELAY and SO_KEEPALIVE, as Condure sets them (zhttp.md 4.1).
    s.setNoDelay(true)
    s.setKeepAlive(true)
    this.house.wake()
  }

  private acceptStream(s: ClientSocket, secure: boolean): boolean {
    const slot = this.conns.reuse()
    if (slot < 0) return false
    let c = this.conns.held(slot)
    if (c === undefined) {
      c = new Connection(this, slot)
      this.conns.set(slot, c)
    }
    s.data = c
    c.open(s, this.now, secure)
    return true
  }

  /** A client on a req listener (zhttp.md 4.11). */
  private acceptReq(s: ClientSocket, secure: boolean): boolean {
    return (this.req as ReqSlots).open(s, this.now, secure)
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

  freeSlot(slot: number): void {
    this.conns.release(slot)
  }

  nextCounter(): number {
    const n = this.counter
    this.counter = n + 1 >= COUNTER_MAX ? 0 : n + 1
    return n
  }

  timerTarget(slot: number): ClientIo | undefined {
    if (slot < this.conns.capacity) return this.conns.held(slot)
    return this.req === null ? undefined : this.req.at(slot)
  }

  idle(): boolean {
    return this.conns.size === 0 && (this.req === null || this.req.active === 0) && !this.faults.pending
  }

  onTick(now: number): void {
    this.faults.flush(now)
  }

  armTimer(t: TimerOwner, at: number): void {
    this.house.armTimer(t, at)
  }

  disarmTimer(t: TimerOwner): void {
    this.house.disarmTimer(t)
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

  queueCredits(c: CreditOwner): void {
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
    this.router.drain()
    if (this.req !== null) this.req.drain()
    // rearm() re-checks ZMQ_EVENTS for the race with a message arriving right now.
    this.poller.rearm()
    const reqPending = this.req !== null && this.req.client.dealer.outbox.pending > 0
    if (reqPending || this.creditQueue.length > 0 || this.stream.push.outbox.pending > 0 || this.stream.router.outbox.pending > 0) {
      this.flush()
    }
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
    this.listeners.stop()
    this.house.sendBatched('cancel', 0, this.conns.capacity, isWsCancelTarget)
    this.forEachOpen((c) => c.beginShutdown())
    if (this.req !== null) this.req.beginShutdown()
    this.flush()
  }

  /** Whether some client still waits for (the rest of) a response. */
  inFlight(): boolean {
    for (let i = 0; i < this.conns.capacity; i++) {
      const c = this.conns.held(i)
      if (c !== undefined && c.socket !== null && c.inFlight()) return true
    }
    return this.req !== null && this.req.inFlight()
  }

  /** Stops accepting, cancels live sessions (batched per handler), closes everything. */
  shutdown(): void {
    this.stopping = true
    this.listeners.stop()
    // Batched cancels per handler address (zhttp.md 4.12).
    this.house.sendBatched('cancel', 0, this.conns.capacity, isCancelTarget)
    this.forEachOpen((c) => c.shutdownClose())
    if (this.req !== null) this.req.shutdown()
    this.stream.flush()
    this.house.stop()
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
  }

  /** Every stream connection with a socket (shutdown only: not a hot path). */
  private forEachOpen(f: (c: Connection) => void): void {
    for (let i = 0; i < this.conns.capacity; i++) {
      const c = this.conns.held(i)
      if (c !== undefined && c.socket !== null) f(c)
    }
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
    removeFiles([...this.stream.boundIpcPaths, ...reqPaths, ...this.listeners.unixPaths])
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
