// One ZHTTP session as the handler sees it: the ids, both seq counters, the gateway's credits
// for our bytes, the clocks the housekeeping tick reads, and the abort signal the application
// sees. Request (HTTP) and WebSocket drive it; the handler routes packets to it.
//
// Invariants:
// - Outgoing seq starts at 0 and grows by one per packet we send (zhttp.md 4.5). Incoming seq
//   must be exactly the next expected; the handler checks it before delivery (checkSeq).
// - A session ends once (end()): the signal aborts with the reason, waiters wake, the host
//   forgets it. Nothing is sent after that.
// - In req mode (zhttp.md 4.11) there is no seq, no credit and no keep-alive: one reply.

import { PACKET_BODY_MAX_BYTES, type ResolvedOptions } from './options.ts'
import type { GatewayPacket } from './wire-in.ts'
import type { PacketWriter } from './wire-out.ts'

/** The gateway a stream-mode session belongs to. */
export interface GatewayLink {
  /** Its instance id: the `from` of its packets and the PUB prefix of ours (zhttp.md 2.2). */
  readonly instance: Uint8Array
  readonly name: string
}

/** What a session needs from its handler (implemented by handler.ts). */
export interface SessionHost {
  readonly opts: ResolvedOptions
  readonly writer: PacketWriter
  /** Our `from` (≤ 64 bytes, zhttp.md 4.6). */
  readonly fromBytes: Uint8Array
  now(): number
  /** The stream-mode packet just written goes to `gw`. */
  sendStream(gw: GatewayLink, packet: Uint8Array): void
  /** The req-mode reply goes back through the ROUTER envelope it came with. */
  sendReq(envelope: readonly Uint8Array[], packet: Uint8Array): void
  /** The session ended: drop it from the routing table. */
  release(s: Session): void
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void
}

/** Who handles a session's packets: the request, then its WebSocket once accepted. */
export interface PacketSink {
  onPacket(p: GatewayPacket, s: Session): void
  /** The housekeeping tick (pings, close deadlines). */
  onTick(now: number): void
  /** The session ended; wake anything waiting. */
  onEnd(reason: string): void
}

/** Why sessions end; also the AbortSignal's reason (`signal.reason.message`). */
export const END_CANCEL = 'cancel'
export const END_SEQ = 'seq-gap'
export const END_GATEWAY_SILENT = 'gateway-silent'
export const END_GATEWAY_GONE = 'gateway-gone'
export const END_HANDLER_CLOSED = 'handler-closed'
export const END_DONE = 'done'
export const END_HANDOFF = 'handed-off'

export class Session {
  readonly host: SessionHost
  /** null in req mode. */
  readonly gw: GatewayLink | null
  readonly id: Uint8Array
  readonly idText: string
  /** Routing key: gateway instance and id (two gateways may issue the same id). */
  readonly key: string
  /** req mode: the ROUTER envelope to reply through. */
  readonly envelope: Uint8Array[] | null
  seqOut = 0
  seqIn = 1
  /** Bytes the gateway lets us send (response body or WebSocket messages). */
  credits = 0
  lastSentMs: number
  lastHeardMs: number
  ended = false
  endReason = ''
  /** The gateway has our address (we sent it a packet), so it routes later packets to us. */
  addressed = false
  /** Made on first use of `signal`: most requests never look at it. */
  private controller: AbortController | null = null
  sink: PacketSink | null = null
  private creditWaiter: (() => void) | null = null
  /** Set by handoff(): waiting for handoff-proceed. */
  handoffWaiter: ((ok: boolean) => void) | null = null

  constructor(host: SessionHost, gw: GatewayLink | null, id: Uint8Array, idText: string, key: string, envelope: Uint8Array[] | null) {
    this.host = host
    this.gw = gw
    this.id = id
    this.idText = idText
    this.key = key
    this.envelope = envelope
    this.lastSentMs = this.lastHeardMs = host.now()
  }

  get reqMode(): boolean {
    return this.gw === null
  }

  /** Starts a stream packet for this session with the next seq; finish with send(). */
  begin(extraBytes: number): PacketWriter {
    const w = this.host.writer
    if (this.gw === null) w.beginReq(this.id, extraBytes)
    else w.beginStream(this.gw.instance, this.host.fromBytes, this.id, this.seqOut++, extraBytes)
    return w
  }

  send(): void {
    const packet = this.host.writer.end()
    if (this.gw === null) this.host.sendReq(this.envelope!, packet)
    else this.host.sendStream(this.gw, packet)
    this.lastSentMs = this.host.now()
    if (!this.addressed) {
      // The gateway only speaks to (and keeps alive) sessions whose address it knows
      // (zhttp.md 4.8): its silence counts from here.
      this.addressed = true
      this.lastHeardMs = this.lastSentMs
    }
  }

  /** A packet of `type` with no other fields (keep-alive, cancel, handoff-start). */
  sendControl(type: string): void {
    if (this.ended || this.gw === null) return
    this.begin(0).type(type)
    this.send()
  }

  /** Grants the gateway `n` more bytes of request body or client messages (zhttp.md 3.6). */
  sendCredit(n: number): void {
    if (this.ended || this.gw === null || n <= 0) return
    const w = this.begin(0)
    w.type('credit')
    w.int('credits', n)
    this.send()
  }

  /** The gateway's handoff-proceed arrived (zhttp.md 4.10): wake handoff(). */
  proceedHandoff(): void {
    const hw = this.handoffWaiter
    this.handoffWaiter = null
    if (hw !== null) hw(true)
  }

  /** Incoming seq check (zhttp.md 4.5): true when in order (and advances it). */
  checkSeq(seq: number): boolean {
    if (seq < 0) return true
    if (seq !== this.seqIn) return false
    this.seqIn++
    return true
  }

  addCredits(n: number): void {
    this.credits += n
    const w = this.creditWaiter
    if (w !== null) {
      this.creditWaiter = null
      w()
    }
  }

  /** Resolves when credits arrive or the session ends. */
  waitCredits(): Promise<void> {
    return new Promise((resolve) => {
      this.creditWaiter = resolve
    })
  }

  /** Largest body piece to send now. */
  sendable(remaining: number): number {
    if (this.gw === null) return remaining
    return Math.min(remaining, this.credits, PACKET_BODY_MAX_BYTES)
  }

  /** Cancels the session towards the gateway (it closes the client), then ends it. */
  cancel(reason: string): void {
    if (this.ended) return
    this.sendControl('cancel')
    this.end(reason)
  }

  /** Ends the session locally (no packet). Idempotent. */
  end(reason: string): void {
    if (this.ended) return
    this.ended = true
    this.endReason = reason
    this.host.release(this)
    const w = this.creditWaiter
    this.creditWaiter = null
    if (w !== null) w()
    const hw = this.handoffWaiter
    this.handoffWaiter = null
    if (hw !== null) hw(false)
    this.sink?.onEnd(reason)
    if (reason !== END_DONE) this.controller?.abort(new SessionEndReason(reason))
  }

  /** Aborted when the session ends early (not when it completes). */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController()
      if (this.ended && this.endReason !== END_DONE) this.controller.abort(new SessionEndReason(this.endReason))
    }
    return this.controller.signal
  }
}

/** The AbortSignal's reason when a session ends early; `message` is the END_* text. */
export class SessionEndReason extends Error {
  override readonly name = 'AbortError'
  constructor(readonly reason: string) {
    super(reason)
  }
}
