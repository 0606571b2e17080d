// The handler: joins gateways, routes their packets to sessions, hands requests to the
// application (async iteration or a callback), and runs one housekeeping tick for keep-alives,
// pings and silent gateways. See docs/handler.md for the API.
//
// Invariants:
// - A malformed or unexpected packet is logged (rate-limited), counted and dropped; it never
//   reaches application code (zhttp.md 1.5 treats ours the same way).
// - Sessions are keyed by gateway instance and id: two gateways may issue the same id.
// - A packet for a gateway whose SUB subscription has not reached our PUB yet is held, not
//   dropped (a PUB drops what no subscriber wants); an unsubscription means the gateway went
//   away, and its sessions end at once.
// - One timer for the whole handler (no per-session timers); it does not keep the process up.

import { HandlerError, HandlerStateError } from './errors.ts'
import { Delivery } from './delivery.ts'
import { decodeHead, writeBatches } from './packets.ts'
import { HANDOFF_STATE_VERSION, keyBytes, type HandoffState, type RequestHead } from './head.ts'
import { defaultLog, RateLimitedLog, type LogFn } from './log.ts'
import {
  FROM_MAX_BYTES,
  HELD_PACKETS_MAX,
  resolveOptions,
  tickMs,
  type ResolvedOptions,
  type TuningOptions,
} from './options.ts'
import { Request } from './request.ts'
import {
  END_GATEWAY_GONE,
  END_GATEWAY_SILENT,
  END_HANDLER_CLOSED,
  END_SEQ,
  Session,
  type GatewayLink,
  type SessionHost,
} from './session.ts'
import { expandSpec, specKey, type Endpoint, type GatewaySpec } from './spec.ts'
import { spanKey, spanText } from './text.ts'
import { loadTransport } from './load-transport.ts'
import {
  SOCK_PUB,
  SOCK_PULL,
  SOCK_REQ,
  SOCK_ROUTER,
  type InMessage,
  type SocketKind,
  type Transport,
  type TransportFactory,
} from './transport.ts'
import { GatewayPacket, gatewayPacketErrorText, GP_OK, parseGatewayPacket, PT_DATA } from './wire-in.ts'
import { PacketWriter, utf8Bytes } from './wire-out.ts'

/** Options of createHandler(). */
export interface HandlerOptions extends TuningOptions {
  /** Gateways to join now (more later with handler.connect()). */
  connect?: GatewaySpec | GatewaySpec[]
  /** The handler's address (`from`, its ROUTER identity), 1-64 bytes; default random. */
  id?: string
  /** Callback form: called for every request. A throw or rejection answers 500 (or the
   * error's `status`) and is logged; a returned web Response is sent. */
  onRequest?: (req: Request) => unknown
  /** Log sink (default: warnings and errors to stderr). */
  log?: LogFn
  /** @internal Replaces the ZeroMQ transport (zgate/handler/testing). */
  transport?: TransportFactory
}

/** Counters, for tests and metrics. */
export interface HandlerStats {
  requests: number
  websockets: number
  /** Packets that did not parse. */
  malformed: number
  /** Packets that parsed but made no sense here (wrong type, duplicate id, no from). */
  unexpected: number
  /** Packets for ids we do not know (finished or someone else's): harmless. */
  unknownSession: number
  seqErrors: number
  appErrors: number
}

interface GatewayRecord {
  link: GatewayLink
  subscribed: boolean
  held: Uint8Array[]
}

/** A running handler. Iterate it for requests, or give `onRequest`. */
export class Handler implements AsyncIterable<Request>, AsyncDisposable, SessionHost {
  /** Our `from`. */
  readonly id: string
  readonly fromBytes: Uint8Array
  readonly opts: ResolvedOptions
  readonly writer = new PacketWriter()
  private readonly counters = {
    requests: 0,
    websockets: 0,
    malformed: 0,
    unexpected: 0,
    unknownSession: 0,
    seqErrors: 0,
  }
  private readonly transport: Transport
  private readonly logFn: LogFn
  private readonly limited: RateLimitedLog
  private readonly sessions = new Map<string, Session>()
  private readonly gateways = new Map<string, GatewayRecord>()
  private readonly endpoints = new Map<string, Endpoint>()
  private streamBases = 0
  private readonly pkt = new GatewayPacket()
  private readonly delivery: Delivery
  private readyWaiters: (() => void)[] = []
  private flushScheduled = false
  private readonly flushBound = () => this.flushNow()
  private timer: ReturnType<typeof setInterval> | null
  private closing: Promise<void> | null = null
  private reqCounter = 0

  /** @internal Use createHandler(). */
  constructor(o: HandlerOptions, factory: TransportFactory) {
    this.id = o.id ?? `zgh-${Math.random().toString(36).slice(2, 10)}`
    this.fromBytes = utf8Bytes(this.id)
    if (this.fromBytes.length === 0 || this.fromBytes.length > FROM_MAX_BYTES || this.id.includes(' ')) {
      throw new HandlerError('ZGH_ID', `handler id must be 1-${FROM_MAX_BYTES} bytes without spaces`)
    }
    this.opts = resolveOptions(o)
    this.logFn = o.log ?? defaultLog
    this.limited = new RateLimitedLog(this.logFn)
    this.delivery = new Delivery(o.onRequest, this.logFn)
    this.transport = factory({ identity: this.fromBytes, lingerMs: this.opts.lingerMs })
    this.transport.start((kind, msg) => this.onMessage(kind, msg))
    this.timer = setInterval(() => this.tick(), tickMs(this.opts))
    ;(this.timer as { unref?: () => void }).unref?.()
    const specs = o.connect === undefined ? [] : Array.isArray(o.connect) ? o.connect : [o.connect]
    for (const s of specs) this.connect(s)
  }

  /** Counters, for tests and metrics. */
  get stats(): HandlerStats {
    return { ...this.counters, appErrors: this.delivery.appErrors }
  }

  // --- SessionHost ---

  now(): number {
    return Date.now()
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.logFn(level, message)
  }

  sendStream(gw: GatewayLink, packet: Uint8Array): void {
    const rec = this.gateways.get(gw.name)
    if (rec !== undefined && !rec.subscribed) {
      if (rec.held.length >= HELD_PACKETS_MAX) rec.held.shift()
      rec.held.push(packet.slice())
      return
    }
    this.transport.send(SOCK_PUB, [packet])
    this.scheduleFlush()
  }

  sendReq(envelope: readonly Uint8Array[], packet: Uint8Array): void {
    this.transport.send(SOCK_REQ, [...envelope, packet])
    this.scheduleFlush()
  }

  release(s: Session): void {
    this.sessions.delete(s.key)
  }

  // --- connections ---

  /** Joins a gateway (stream spec base, or { req }); works while running. */
  connect(spec: GatewaySpec): void {
    for (const e of expandSpec(spec)) {
      const k = specKey(e)
      if (this.endpoints.has(k)) continue
      this.transport.connect(e.kind, e.endpoint, e.bind)
      this.endpoints.set(k, e)
      if (e.kind === SOCK_PUB) this.streamBases++
    }
  }

  /** Leaves a gateway joined with connect(); its sessions end when it unsubscribes. */
  disconnect(spec: GatewaySpec): void {
    for (const e of expandSpec(spec)) {
      const k = specKey(e)
      if (!this.endpoints.has(k)) continue
      this.transport.disconnect(e.kind, e.endpoint, e.bind)
      this.endpoints.delete(k)
      if (e.kind === SOCK_PUB) this.streamBases--
    }
  }

  /**
   * Resolves true once as many gateways have subscribed to our PUB as stream spec bases are
   * joined (packets sent before that are held, not lost), false after `timeoutMs`.
   */
  async ready(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.subscribedCount() < this.streamBases) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50))
        this.readyWaiters.push(() => {
          clearTimeout(t)
          r()
        })
      })
    }
    return true
  }

  private subscribedCount(): number {
    let n = 0
    for (const g of this.gateways.values()) if (g.subscribed) n++
    return n
  }

  /** Open sessions (requests not yet answered, streams, WebSockets). */
  get openSessions(): number {
    return this.sessions.size
  }

  // --- inbound ---

  private onMessage(kind: SocketKind, m: InMessage): void {
    // While closing only subscriptions matter: they release packets held for a gateway.
    if (this.closing !== null && kind !== SOCK_PUB) return
    switch (kind) {
      case SOCK_PULL:
        this.onFirst(m.buf(0), m.start(0), m.end(0))
        return
      case SOCK_ROUTER: {
        // [gateway identity, "", T...] (zhttp.md 1.3)
        const f = m.frames - 1
        this.onLater(m.buf(f), m.start(f), m.end(f))
        return
      }
      case SOCK_PUB:
        this.onSubscription(m.buf(0), m.start(0), m.end(0))
        return
      case SOCK_REQ:
        this.onReq(m)
        return
    }
  }

  private malformed(rc: number, where: string): void {
    this.counters.malformed++
    this.limited.warn(this.now(), `dropped a malformed packet on ${where}: ${gatewayPacketErrorText(rc)}`)
  }

  private unexpected(why: string): void {
    this.counters.unexpected++
    this.limited.warn(this.now(), `dropped an unexpected packet: ${why}`)
  }

  private gatewayFor(buf: Uint8Array, s: number, e: number): GatewayRecord {
    const name = spanKey(buf, s, e)
    let rec = this.gateways.get(name)
    if (rec === undefined) {
      rec = { link: { instance: buf.slice(s, e), name }, subscribed: false, held: [] }
      this.gateways.set(name, rec)
    }
    return rec
  }

  /** The first packet of a request (PULL, zhttp.md 4.3, 5.2). */
  private onFirst(buf: Uint8Array, start: number, end: number): void {
    const p = this.pkt
    const rc = parseGatewayPacket(buf, start, end, p)
    if (rc !== GP_OK) return this.malformed(rc, 'pull')
    if (p.type !== PT_DATA || p.idCount !== 1 || p.fromStart < 0 || p.methodStart < 0 || p.uriStart < 0) {
      return this.unexpected(`first packet of type '${p.typeName()}' with ${p.idCount} id(s)`)
    }
    if (p.idSeq[0] > 0) return this.unexpected('first packet with seq > 0')
    const gw = this.gatewayFor(buf, p.fromStart, p.fromEnd)
    const idText = spanKey(buf, p.idStart[0], p.idEnd[0])
    const key = `${gw.link.name} ${idText}`
    if (this.sessions.has(key)) return this.unexpected(`duplicate id ${idText}`)
    const s = new Session(this, gw.link, buf.slice(p.idStart[0], p.idEnd[0]), idText, key, null)
    s.credits = p.credits > 0 ? p.credits : 0
    const uri = spanText(buf, p.uriStart, p.uriEnd)
    // A WebSocket is the first packet without `stream` and with a ws uri (zhttp.md 5.2).
    const websocket = !p.stream && (uri.startsWith('ws://') || uri.startsWith('wss://'))
    this.start(s, decodeHead(p, gw.link.name, websocket, null), uri)
  }

  /** A req-mode request (zhttp.md 4.11): [envelope..., "", T...]. */
  private onReq(m: InMessage): void {
    let d = -1
    for (let f = 0; f < m.frames; f++) {
      if (m.end(f) === m.start(f)) {
        d = f
        break
      }
    }
    if (d < 0 || d + 1 >= m.frames) return this.unexpected('req message without an envelope delimiter')
    const buf = m.buf(d + 1)
    const p = this.pkt
    const rc = parseGatewayPacket(buf, m.start(d + 1), m.end(d + 1), p)
    if (rc !== GP_OK) return this.malformed(rc, 'req')
    if (p.type !== PT_DATA) return // zhttp.md 4.11: other types are ignored in req mode
    if (p.idCount !== 1 || p.methodStart < 0 || p.uriStart < 0) return this.unexpected('req packet without id, method or uri')
    const envelope: Uint8Array[] = []
    for (let f = 0; f <= d; f++) envelope.push(m.buf(f).slice(m.start(f), m.end(f)))
    const idText = spanKey(buf, p.idStart[0], p.idEnd[0])
    const key = `req ${++this.reqCounter}`
    const s = new Session(this, null, buf.slice(p.idStart[0], p.idEnd[0]), idText, key, envelope)
    const body = p.bodyStart < 0 ? null : buf.slice(p.bodyStart, p.bodyEnd)
    const uri = spanText(buf, p.uriStart, p.uriEnd)
    this.start(s, decodeHead(p, '', false, body), uri)
  }

  private start(s: Session, head: RequestHead, uri: string): void {
    head.uri = uri
    const req = new Request(s, head)
    s.sink = req
    this.sessions.set(s.key, s)
    this.counters.requests++
    if (head.websocket) this.counters.websockets++
    this.deliver(req)
  }

  /** Later packets of sessions (ROUTER, zhttp.md 4.4-4.10, 5.4-5.6). */
  private onLater(buf: Uint8Array, start: number, end: number): void {
    const p = this.pkt
    const rc = parseGatewayPacket(buf, start, end, p)
    if (rc !== GP_OK) return this.malformed(rc, 'router')
    if (p.fromStart < 0) return this.unexpected('packet without from')
    const gwName = spanKey(buf, p.fromStart, p.fromEnd)
    const now = this.now()
    for (let k = 0; k < p.idCount; k++) {
      const key = `${gwName} ${spanKey(buf, p.idStart[k], p.idEnd[k])}`
      const s = this.sessions.get(key)
      if (s === undefined) {
        this.counters.unknownSession++
        continue
      }
      s.lastHeardMs = now
      if (!s.checkSeq(p.idSeq[k])) {
        // zhttp.md 4.5: a gap means the session is broken; tell the gateway to drop it.
        this.counters.seqErrors++
        this.limited.warn(now, `session ${s.idText}: seq ${p.idSeq[k]}, expected ${s.seqIn}: cancelled`)
        s.cancel(END_SEQ)
        continue
      }
      s.sink?.onPacket(p, s)
    }
  }

  /** XPUB subscription messages: `\x01<instance> ` on, `\x00<instance> ` off. */
  private onSubscription(buf: Uint8Array, s: number, e: number): void {
    if (e - s < 2 || buf[e - 1] !== 0x20) return
    const rec = this.gatewayFor(buf, s + 1, e - 1)
    if (buf[s] === 1) {
      rec.subscribed = true
      for (const h of rec.held.splice(0)) this.transport.send(SOCK_PUB, [h])
      this.scheduleFlush()
      for (const w of this.readyWaiters.splice(0)) w()
    } else if (buf[s] === 0) {
      rec.subscribed = false
      for (const sess of [...this.sessions.values()]) if (sess.gw === rec.link) sess.end(END_GATEWAY_GONE)
    }
  }

  // --- delivery to the application ---

  private deliver(req: Request): void {
    this.delivery.deliver(req)
  }

  /** The next request, or null once the handler is closed (the iterator's step). */
  next(): Promise<Request | null> {
    return this.delivery.next()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Request> {
    for (;;) {
      const r = await this.next()
      if (r === null) return
      yield r
    }
  }

  // --- handoff (zhttp.md 4.10) ---

  /**
   * Continues a session another process handed off (session.handoff()). This handler must be
   * joined to the same gateway; its first packet (a keep-alive, sent now) makes the gateway
   * route the session here. For a WebSocket, call accept() on the returned request to get the
   * socket back (nothing is sent for it).
   */
  resume(state: HandoffState): Request {
    if (state.v !== HANDOFF_STATE_VERSION) throw new HandlerStateError(`unknown handoff state version ${state.v}`)
    if (this.closing !== null) throw new HandlerStateError('the handler is closed')
    const gwBytes = keyBytes(state.gateway)
    const gw = this.gatewayFor(gwBytes, 0, gwBytes.length)
    const key = `${gw.link.name} ${state.id}`
    if (this.sessions.has(key)) throw new HandlerStateError(`session ${state.id} is already here`)
    const s = new Session(this, gw.link, keyBytes(state.id), state.id, key, null)
    s.seqOut = state.seqOut
    s.seqIn = state.seqIn
    s.credits = state.credits
    const head: RequestHead = {
      method: state.method,
      uri: state.uri,
      headers: state.headers,
      peer: state.peer,
      from: gw.link.name,
      more: state.bodyPending,
      body: null,
      websocket: state.kind === 'websocket',
    }
    const req = new Request(s, head, state)
    s.sink = req
    this.sessions.set(key, s)
    s.sendControl('keep-alive')
    return req
  }

  // --- housekeeping ---

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(this.flushBound)
  }

  private flushNow(): void {
    this.flushScheduled = false
    this.transport.flush()
  }

  /** Keep-alives for quiet held sessions, session ticks (pings), silent gateways. */
  private tick(): void {
    const now = this.now()
    const o = this.opts
    const due = new Map<GatewayLink, Session[]>()
    for (const s of [...this.sessions.values()]) {
      if (s.gw === null) continue
      if (now - s.lastHeardMs >= o.gatewaySilenceMs) {
        s.end(END_GATEWAY_SILENT)
        continue
      }
      s.sink?.onTick(now)
      if (s.ended || now - s.lastSentMs < o.keepAliveIntervalMs) continue
      let list = due.get(s.gw)
      if (list === undefined) due.set(s.gw, (list = []))
      list.push(s)
    }
    for (const [gw, list] of due) this.sendBatch(gw, list, 'keep-alive')
  }

  private sendBatch(gw: GatewayLink, list: Session[], type: string): void {
    writeBatches(this.writer, this.fromBytes, gw, list, type, this.now(), (p) => this.sendStream(gw, p))
  }

  // --- shutdown ---

  /**
   * Cancels open sessions politely (one batched cancel per gateway), ends the iterator and
   * closes every socket and the ZeroMQ context, waiting at most `lingerMs` for unsent packets
   * even when a gateway is dead.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    // Packets held for a gateway whose subscription is on its way (a short-lived process
    // that answers and closes at once) get the linger time to go out.
    const deadline = this.now() + this.opts.lingerMs
    while (this.now() < deadline && [...this.gateways.values()].some((g) => g.held.length > 0)) {
      await new Promise((r) => setTimeout(r, 5))
    }
    const byGw = new Map<GatewayLink, Session[]>()
    for (const s of this.sessions.values()) {
      if (s.gw === null || !s.addressed) continue
      let l = byGw.get(s.gw)
      if (l === undefined) byGw.set(s.gw, (l = []))
      l.push(s)
    }
    for (const [gw, l] of byGw) this.sendBatch(gw, l, 'cancel')
    for (const s of [...this.sessions.values()]) s.end(END_HANDLER_CLOSED)
    this.delivery.end()
    this.transport.flush()
    await this.transport.close()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/** Starts a handler (loading the transport for this runtime) and joins `opts.connect`. */
export async function createHandler(opts: HandlerOptions = {}): Promise<Handler> {
  const factory = opts.transport ?? (await loadTransport())
  return new Handler(opts, factory)
}
