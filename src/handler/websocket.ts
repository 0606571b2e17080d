// An accepted WebSocket session (zhttp.md 5.3-5.6), with the Transceiver's care: incoming
// messages reassembled up to a limit (or handed over piece by piece), credits returned to the
// gateway only as the application consumes, sends within the gateway's credits, a ping every
// pingIntervalMs and a close when no pong comes within pongTimeoutMs, and a close handshake
// bounded in time.
//
// States (numeric, zhttp.md 5.6):
//   WS_OPEN     call: send, ping, close. next: WS_CLOSING (we close), WS_CLOSED (client close,
//               cancel, ping timeout)
//   WS_CLOSING  our close frame is out; waiting for the client's. next: WS_CLOSED
//   WS_CLOSED   nothing more is sent.

import { concatBytes } from './bytes.ts'
import { CLOSE_TIMEOUT_DEFAULT_MS, WS_MESSAGE_LIMIT_DEFAULT_BYTES } from './options.ts'
import { HandlerStateError, SessionClosedError } from './errors.ts'
import { handoffSession } from './handoff.ts'
import type { HandoffState, RequestHead } from './head.ts'
import { END_CANCEL, END_DONE, type PacketSink, type Session } from './session.ts'
import { PT_CANCEL, PT_CLOSE, PT_CREDIT, PT_DATA, PT_HANDOFF_PROCEED, PT_KEEP_ALIVE, PT_PING, PT_PONG, type GatewayPacket } from './wire-in.ts'

const WS_OPEN = 0
const WS_CLOSING = 1
const WS_CLOSED = 2

/** Close codes (RFC 6455 7.4.1). */
export const CLOSE_NORMAL = 1000
export const CLOSE_GOING_AWAY = 1001
export const CLOSE_TOO_BIG = 1009
export const CLOSE_NO_STATUS = 1005
export const CLOSE_ABNORMAL = 1006

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** One incoming message (or, with `fragments: true`, one piece of it). */
export interface WebSocketMessage {
  readonly type: 'text' | 'binary'
  readonly data: Uint8Array
  /** False for a piece that more of the same message follows (only with `fragments`). */
  readonly last: boolean
  /** The data as UTF-8 text. */
  text(): string
}

/** How the session ended. */
export interface CloseInfo {
  /** The close code (1005 when none was given, 1006 when the connection just ended). */
  code: number
  reason: string
  /** Who ended it: 'client' (its close frame), 'handler' (our close answered), 'cancel'
   * (gateway cancel or client disconnect), 'ping-timeout', 'too-big', or a session end reason. */
  by: string
}

/** Options of req.accept(). */
export interface AcceptOptions {
  /** Extra response headers (e.g. Sec-WebSocket-Protocol). */
  headers?: ReadonlyArray<readonly [string, string]> | Record<string, string>
  /** Client → handler bytes granted up front and kept available (default 64 KiB). */
  credits?: number
  /** Largest reassembled message; larger closes with 1009 (default 1 MiB). */
  maxMessageBytes?: number
  /** Hand over message pieces as they arrive instead of whole messages. */
  fragments?: boolean
  /** Callback form; a returned promise holds the credits of that message until it settles. */
  onMessage?: (m: WebSocketMessage, ws: WebSocket) => unknown
  pingIntervalMs?: number
  pongTimeoutMs?: number
}

class Message implements WebSocketMessage {
  constructor(
    readonly type: 'text' | 'binary',
    readonly data: Uint8Array,
    readonly last: boolean,
    /** Credits held until the application has consumed it. */
    readonly credits: number,
  ) {}
  text(): string {
    return utf8Decoder.decode(this.data)
  }
}

interface OutMessage {
  data: Uint8Array
  off: number
  binary: boolean
  resolve: () => void
  reject: (e: Error) => void
}

/** An open WebSocket. Iterate it for messages, or pass `onMessage` to accept(). */
export class WebSocket implements PacketSink, AsyncIterable<WebSocketMessage> {
  private readonly session: Session
  private state = WS_OPEN
  private readonly maxMessageBytes: number
  private readonly fragments: boolean
  private readonly onMessage: AcceptOptions['onMessage']
  private readonly pingIntervalMs: number
  private readonly pongTimeoutMs: number
  // incoming
  private parts: Uint8Array[] = []
  private partsBytes = 0
  private partsBinary = false
  private inMessage = false
  /** Credits of the current message's first pieces, held while the application lags. */
  private partialHeld = 0
  /** Messages delivered and not yet consumed (queued, or their onMessage not settled). */
  private unconsumed = 0
  private readonly inbox: Message[] = []
  private inboxHead = 0
  private waiter: (() => void) | null = null
  /** Consumed bytes whose credits the gateway has not got back yet. */
  private creditsOwed = 0
  private creditsScheduled = false
  // outgoing
  private readonly outq: OutMessage[] = []
  private pumping = false
  // timers (read by onTick)
  private nextPingMs: number
  private pongDeadlineMs = 0
  private closeDeadlineMs = 0
  private closeInfo: CloseInfo | null = null
  private resolveClosed!: (c: CloseInfo) => void
  /** Resolves once the session is over, with how it ended. */
  readonly closed: Promise<CloseInfo>

  private readonly head: RequestHead

  /** @internal Use req.accept(). */
  constructor(session: Session, o: AcceptOptions, head: RequestHead) {
    this.session = session
    this.head = head
    const opts = session.host.opts
    this.maxMessageBytes = o.maxMessageBytes ?? WS_MESSAGE_LIMIT_DEFAULT_BYTES
    this.fragments = o.fragments === true
    this.onMessage = o.onMessage
    this.pingIntervalMs = o.pingIntervalMs ?? opts.pingIntervalMs
    this.pongTimeoutMs = o.pongTimeoutMs ?? opts.pongTimeoutMs
    this.nextPingMs = session.host.now() + this.pingIntervalMs
    this.closed = new Promise((r) => {
      this.resolveClosed = r
    })
  }

  /** Aborts when the session ends. */
  get signal(): AbortSignal {
    return this.session.signal
  }

  /** The session id (opaque). */
  get id(): string {
    return this.session.idText
  }

  /** True until a close was sent or received. */
  get open(): boolean {
    return this.state === WS_OPEN
  }

  // --- incoming (PacketSink) ---

  /** @internal */
  onPacket(p: GatewayPacket, s: Session): void {
    switch (p.type) {
      case PT_DATA:
        this.onData(p)
        return
      case PT_CREDIT:
        if (p.credits > 0) s.addCredits(p.credits)
        return
      case PT_PING:
        // The gateway does not answer pings itself (zhttp.md 5.4): we do, with the same body.
        this.owe(p.bodyLength)
        if (this.state !== WS_CLOSED && !s.ended) {
          const w = s.begin(p.bodyLength)
          w.type('pong')
          if (p.bodyLength > 0) w.body(p.buf, p.bodyStart, p.bodyEnd)
          this.piggyback(w)
          s.send()
        }
        return
      case PT_PONG:
        this.owe(p.bodyLength)
        this.pongDeadlineMs = 0
        return
      case PT_CLOSE: {
        this.owe(p.bodyLength)
        const code = p.code >= 0 ? p.code : CLOSE_NO_STATUS
        const reason = p.bodyLength > 0 ? utf8Decoder.decode(p.buf.subarray(p.bodyStart, p.bodyEnd)) : ''
        if (this.state === WS_OPEN) {
          // Answer with the same code (RFC 6455 5.5.1); the gateway then closes TCP (zhttp.md 5.6).
          const w = s.begin(0)
          w.type('close')
          if (p.code >= 0) w.int('code', p.code)
          s.send()
          this.finish({ code, reason, by: 'client' })
        } else {
          this.finish({ code, reason, by: 'handler' })
        }
        return
      }
      case PT_CANCEL:
        s.end(END_CANCEL)
        return
      case PT_HANDOFF_PROCEED:
        s.proceedHandoff()
        return
      case PT_KEEP_ALIVE:
        return
      default:
        s.host.log('debug', `websocket ${s.idText}: ignored packet type ${p.typeName()}`)
    }
  }

  private onData(p: GatewayPacket): void {
    const n = p.bodyLength
    if (this.state === WS_CLOSED) return
    if (!this.inMessage) {
      this.inMessage = true
      this.partsBinary = p.binary
    }
    if (!p.more) this.inMessage = false
    const type = this.partsBinary ? 'binary' : 'text'
    if (this.fragments) {
      if (n > 0 || !p.more) this.deliver(new Message(type, p.buf.slice(p.bodyStart, p.bodyEnd), !p.more, n))
      return
    }
    if (this.partsBytes + n > this.maxMessageBytes) {
      this.owe(n + this.partialHeld)
      this.partialHeld = 0
      this.parts = []
      this.partsBytes = 0
      this.closeInfo = { code: CLOSE_TOO_BIG, reason: 'message too big', by: 'too-big' }
      this.close(CLOSE_TOO_BIG, 'message too big').catch(() => {})
      return
    }
    if (n > 0) this.parts.push(p.buf.slice(p.bodyStart, p.bodyEnd))
    this.partsBytes += n
    if (p.more) {
      // A message is only delivered whole, so holding the credits of its first pieces could
      // stall the client forever (a message larger than the credits). They are returned at
      // once while the application keeps up (the message limit bounds them); while it lags,
      // they wait with the rest.
      if (this.unconsumed === 0) this.owe(n)
      else this.partialHeld += n
      return
    }
    const data = concatBytes(this.parts)
    const held = this.partialHeld + n
    this.parts = []
    this.partsBytes = 0
    this.partialHeld = 0
    this.deliver(new Message(type, data, true, held))
  }

  /** The application has consumed `m`: its credits go back. */
  private consumed(m: Message): void {
    this.unconsumed--
    let n = m.credits
    if (this.unconsumed === 0 && this.partialHeld > 0) {
      n += this.partialHeld
      this.partialHeld = 0
    }
    this.owe(n)
  }

  private deliver(m: Message): void {
    this.unconsumed++
    if (this.onMessage !== undefined) {
      let r: unknown
      try {
        r = this.onMessage(m, this)
      } catch (err) {
        this.appError(err)
      }
      if (r instanceof Promise) {
        r.then(
          () => this.consumed(m),
          (err) => {
            this.consumed(m)
            this.appError(err)
          },
        )
      } else {
        this.consumed(m)
      }
      return
    }
    this.inbox.push(m)
    const w = this.waiter
    if (w !== null) {
      this.waiter = null
      w()
    }
  }

  private appError(err: unknown): void {
    this.session.host.log('error', `websocket ${this.session.idText}: onMessage threw: ${errText(err)}`)
    this.close(1011, 'internal error').catch(() => {})
  }

  /** Returns `n` consumed bytes to the gateway: piggybacked on the next packet we send this
   * turn, or in one credit packet at the end of it. */
  private owe(n: number): void {
    if (n <= 0) return
    this.creditsOwed += n
    if (!this.creditsScheduled) this.scheduleCredits()
  }

  private scheduleCredits(): void {
    this.creditsScheduled = true
    queueMicrotask(() => {
      this.creditsScheduled = false
      if (this.creditsOwed > 0 && !this.session.ended) {
        const n = this.creditsOwed
        this.creditsOwed = 0
        this.session.sendCredit(n)
      }
    })
  }

  private piggyback(w: { int(name: string, n: number): void }): void {
    if (this.creditsOwed > 0) {
      w.int('credits', this.creditsOwed)
      this.creditsOwed = 0
    }
  }

  /** The next message, or null once the session is over. */
  async receive(): Promise<WebSocketMessage | null> {
    for (;;) {
      if (this.inboxHead < this.inbox.length) {
        const m = this.inbox[this.inboxHead++]
        if (this.inboxHead === this.inbox.length) {
          this.inbox.length = 0
          this.inboxHead = 0
        }
        this.consumed(m)
        return m
      }
      if (this.state === WS_CLOSED || this.session.ended) return null
      await new Promise<void>((r) => {
        this.waiter = r
      })
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WebSocketMessage> {
    for (;;) {
      const m = await this.receive()
      if (m === null) return
      yield m
    }
  }

  // --- outgoing ---

  /** Sends a text (string) or binary (bytes) message; resolves when the credits let it all go. */
  send(data: string | Uint8Array, opts?: { binary?: boolean }): Promise<void> {
    if (this.state !== WS_OPEN || this.session.ended) {
      return Promise.reject(new SessionClosedError(this.session.ended ? this.session.endReason : 'websocket closing'))
    }
    const bytes = typeof data === 'string' ? utf8.encode(data) : data
    const binary = opts?.binary ?? typeof data !== 'string'
    return new Promise((resolve, reject) => {
      this.outq.push({ data: bytes, off: 0, binary, resolve, reject })
      void this.pump()
    })
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    const s = this.session
    try {
      while (this.outq.length > 0) {
        if (s.ended) throw new SessionClosedError(s.endReason)
        const m = this.outq[0]
        const remaining = m.data.length - m.off
        const n = s.sendable(remaining)
        if (n === 0 && remaining > 0) {
          await s.waitCredits()
          continue
        }
        const w = s.begin(n)
        if (m.binary) w.text('content-type', 'binary')
        if (n > 0) w.body(m.data, m.off, m.off + n)
        if (n < remaining) w.flag('more') // zhttp.md 5.5: the message continues
        this.piggyback(w)
        s.send()
        s.credits -= n
        m.off += n
        if (m.off === m.data.length) {
          this.outq.shift()
          m.resolve()
        }
      }
    } catch (err) {
      for (const m of this.outq.splice(0)) m.reject(err as Error)
    } finally {
      this.pumping = false
    }
  }

  /** Sends a ping now (pings also go out every pingIntervalMs by themselves). */
  ping(): void {
    const s = this.session
    if (this.state !== WS_OPEN || s.ended) return
    const w = s.begin(0)
    w.type('ping')
    this.piggyback(w)
    s.send()
    if (this.pongDeadlineMs === 0) this.pongDeadlineMs = s.host.now() + this.pongTimeoutMs
  }

  /** Starts the close handshake (zhttp.md 5.6); resolves when the session is over. */
  close(code = CLOSE_NORMAL, reason = ''): Promise<CloseInfo> {
    const s = this.session
    if (this.state === WS_OPEN && !s.ended) {
      this.state = WS_CLOSING
      const body = utf8.encode(reason)
      const w = s.begin(body.length)
      w.type('close')
      w.int('code', code)
      if (body.length > 0) w.body(body)
      s.send()
      this.closeDeadlineMs = s.host.now() + CLOSE_TIMEOUT_DEFAULT_MS
      this.closeInfo = { code, reason, by: 'handler' }
    }
    return this.closed
  }

  /**
   * Hands the socket to another process (zhttp.md 4.10): credits for consumed messages go
   * back first; messages not yet consumed here are dropped. Only between sends.
   */
  async handoff(): Promise<HandoffState> {
    if (this.state !== WS_OPEN) throw new HandlerStateError('the websocket is closing')
    if (this.outq.length > 0) throw new HandlerStateError('a send is in progress')
    const owed = this.creditsOwed + this.partialHeld
    this.creditsOwed = 0
    this.partialHeld = 0
    this.session.sendCredit(owed)
    return handoffSession(this.session, this.head, 'websocket', false, true)
  }

  /** @internal Housekeeping: pings, pong and close deadlines. */
  onTick(now: number): void {
    const s = this.session
    if (s.ended) return
    if (this.state === WS_CLOSING) {
      if (now >= this.closeDeadlineMs) {
        s.cancel(this.closeInfo?.by ?? 'close-timeout')
      }
      return
    }
    if (this.state !== WS_OPEN) return
    if (this.pongDeadlineMs !== 0 && now >= this.pongDeadlineMs) {
      // The Transceiver's rule: no pong in time, the peer is gone. A close frame the client
      // will not answer is pointless: cancel, and the gateway drops the connection.
      this.closeInfo = { code: CLOSE_ABNORMAL, reason: 'no pong', by: 'ping-timeout' }
      s.cancel('ping-timeout')
      return
    }
    if (now >= this.nextPingMs) {
      this.nextPingMs = now + this.pingIntervalMs
      this.ping()
    }
  }

  private finish(info: CloseInfo): void {
    if (this.closeInfo === null || this.closeInfo.by === 'handler') this.closeInfo = info
    this.state = WS_CLOSED
    this.session.end(END_DONE)
  }

  /** @internal The session ended. */
  onEnd(reason: string): void {
    this.state = WS_CLOSED
    const info = this.closeInfo ?? { code: CLOSE_ABNORMAL, reason: '', by: reason }
    this.resolveClosed(info)
    for (const m of this.outq.splice(0)) m.reject(new SessionClosedError(reason))
    const w = this.waiter
    this.waiter = null
    if (w !== null) w()
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err)
}
