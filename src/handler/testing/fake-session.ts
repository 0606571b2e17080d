// The fake gateway's view of one session: what a real gateway would do with the handler's
// packets (zhttp.md 4.4-4.10, 5.3-5.6), simplified to what tests need: request bodies sent under
// the handler's credits, responses reassembled, credits returned as a client would consume,
// WebSocket messages both ways, pings answered, closes and cancels.

import { concatBytes } from '../bytes.ts'
import { fieldText, type TnValue } from './tn-value.ts'

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** One packet the handler sent, decoded. */
export interface SentPacket {
  type: string
  seq: number
  fields: Map<string, TnValue>
  body: Uint8Array
  more: boolean
}

/** What a session needs from the fake gateway. */
export interface FakeWire {
  readonly instance: string
  readonly bufferSize: number
  /** Sends a gateway → handler packet on the ROUTER path (later packets). */
  sendLater(fields: Record<string, unknown>): void
  /** Sends the first packet on PULL (stream) or the req socket. */
  sendFirst(fields: Record<string, unknown>, req: boolean): void
}

/** Waits until `test()` holds, re-checked on every packet; rejects after `timeoutMs`. */
class Notifier {
  private waiters: (() => void)[] = []
  wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }
  async until<T>(test: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const v = test()
      if (v !== undefined) return v
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`fake gateway: timed out waiting for ${what}`)
      await new Promise<void>((r) => {
        const t = setTimeout(r, left)
        this.waiters.push(() => {
          clearTimeout(t)
          r()
        })
      })
    }
  }
}

/** A completed (or partial) HTTP response. */
export interface FakeResponse {
  status: number
  reason: string
  headers: [string, string][]
  body: Uint8Array
  text(): string
  header(name: string): string | undefined
}

export class FakeSessionBase {
  readonly id: string
  readonly packets: SentPacket[] = []
  /** Protocol violations by the handler seen on this session. */
  readonly errors: string[] = []
  protected seqOut = 0
  private seqIn = 0
  /** The handler spoke: later packets may go to it (zhttp.md 4.4). */
  handlerKnown = false
  /** The handler cancelled the session (or the fake ended it). */
  cancelled = false
  ended = false
  /** Credits the handler granted us (request body / client messages). */
  protected handlerCredits = 0
  /** Credits we granted the handler and it has not used. */
  protected ourCredits: number
  protected readonly n = new Notifier()

  constructor(
    protected readonly wire: FakeWire,
    id: string,
  ) {
    this.id = id
    this.ourCredits = wire.bufferSize
  }

  protected sendPacket(fields: Record<string, unknown>): void {
    this.wire.sendLater({ from: this.wire.instance, id: this.id, seq: this.seqOut++, ext: { multi: true }, ...fields })
  }

  /** The gateway side sends `cancel` (a client disconnect, zhttp.md 4.9). */
  disconnect(): void {
    if (this.ended) return
    this.sendPacket({ type: 'cancel' })
    this.ended = true
    this.n.wake()
  }

  /** Sends a gateway keep-alive (zhttp.md 4.8). */
  keepAlive(): void {
    this.sendPacket({ type: 'keep-alive' })
  }

  /** Sends a packet with a wrong seq (tests the handler's seq check). */
  sendWithSeq(seq: number, fields: Record<string, unknown>): void {
    this.wire.sendLater({ from: this.wire.instance, id: this.id, seq, ...fields })
  }

  /** @internal A handler packet for this session. */
  receive(p: SentPacket): void {
    if (p.seq >= 0) {
      if (p.seq !== this.seqIn) this.errors.push(`seq ${p.seq}, expected ${this.seqIn}`)
      this.seqIn = p.seq + 1
    }
    this.packets.push(p)
    this.handlerKnown = true
    if (p.fields.has('credits') && p.type !== 'credit' && typeof p.fields.get('credits') === 'number') {
      this.handlerCredits += p.fields.get('credits') as number
    }
    switch (p.type) {
      case 'credit':
        this.handlerCredits += p.fields.get('credits') as number
        break
      case 'cancel':
        this.cancelled = true
        this.ended = true
        break
      case 'handoff-start':
        this.sendPacket({ type: 'handoff-proceed' })
        break
    }
    this.onPacket(p)
    this.n.wake()
  }

  protected onPacket(_p: SentPacket): void {}

  /** Packets of `type` the handler sent so far. */
  sent(type: string): SentPacket[] {
    return this.packets.filter((p) => p.type === type)
  }

  /** Waits for a packet of `type` from the handler. */
  waitPacket(type: string, timeoutMs = 2000): Promise<SentPacket> {
    const seen = this.packets.length
    return this.n.until(() => this.packets.slice(seen).find((p) => p.type === type), timeoutMs, `a ${type || 'data'} packet`)
  }

  /** Waits until the handler cancelled or the session ended. */
  waitEnd(timeoutMs = 2000): Promise<void> {
    return this.n.until(() => (this.ended ? true : undefined), timeoutMs, 'the session to end').then(() => {})
  }

  /** Sends `bytes` as packets of at most min(credits, buffer size), waiting for credits. */
  protected async sendUnderCredits(bytes: Uint8Array, extra: Record<string, unknown>, timeoutMs: number): Promise<void> {
    let off = 0
    do {
      await this.n.until(() => (this.ended || (this.handlerKnown && (this.handlerCredits > 0 || bytes.length === off)) ? true : undefined), timeoutMs, 'credits')
      if (this.ended) throw new Error('fake gateway: session ended while sending')
      const n = Math.min(bytes.length - off, this.handlerCredits, this.wire.bufferSize)
      const last = off + n === bytes.length
      this.handlerCredits -= n
      this.sendPacket({ ...extra, ...(n > 0 ? { body: bytes.subarray(off, off + n) } : {}), ...(last ? {} : { more: true }) })
      off += n
    } while (off < bytes.length)
  }
}

/** An HTTP request the fake gateway sent; read the response with response(). */
export class FakeRequest extends FakeSessionBase {
  /** Bytes of response body to return as credits at once (a fast client), or hold. */
  autoCredit = true
  private status = -1
  private reason = ''
  private headers: [string, string][] = []
  private body: Uint8Array[] = []
  done = false
  private readonly req: boolean

  constructor(wire: FakeWire, id: string, req: boolean) {
    super(wire, id)
    this.req = req
  }

  protected override onPacket(p: SentPacket): void {
    if (p.type !== '') return
    if (this.status < 0) {
      this.status = (p.fields.get('code') as number) ?? 0
      this.reason = fieldText(p.fields, 'reason') ?? ''
      const h = (p.fields.get('headers') as TnValue[] | undefined) ?? []
      this.headers = h.map((pair) => (pair as Uint8Array[]).map((x) => utf8Decoder.decode(x)) as [string, string])
    }
    if (!this.req) {
      if (p.body.length > this.ourCredits) this.errors.push(`body of ${p.body.length} bytes over ${this.ourCredits} credits`)
      this.ourCredits -= p.body.length
    }
    this.body.push(p.body)
    if (this.req || !p.more) {
      this.done = true
      this.ended = true
    }
    if (!this.req && this.autoCredit && p.body.length > 0 && !this.ended) this.grant(p.body.length)
  }

  /** Returns `n` credits to the handler, as the gateway does once bytes reach the client. */
  grant(n: number): void {
    this.ourCredits += n
    this.sendPacket({ type: 'credit', credits: n })
  }

  /** Sends the request body under the handler's credits (the first packet had `more`). */
  sendBody(body: string | Uint8Array, timeoutMs = 5000): Promise<void> {
    return this.sendUnderCredits(typeof body === 'string' ? utf8.encode(body) : body, {}, timeoutMs)
  }

  /** The response so far (complete once `done`). */
  current(): FakeResponse {
    const total = this.body.reduce((n, b) => n + b.length, 0)
    const body = new Uint8Array(total)
    let o = 0
    for (const b of this.body) {
      body.set(b, o)
      o += b.length
    }
    const headers = this.headers
    return {
      status: this.status,
      reason: this.reason,
      headers,
      body,
      text: () => utf8Decoder.decode(body),
      header: (name) => headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1],
    }
  }

  /** Waits for the complete response. */
  async response(timeoutMs = 2000): Promise<FakeResponse> {
    await this.n.until(() => (this.done ? true : this.cancelled ? true : undefined), timeoutMs, 'the response')
    if (!this.done) throw new Error('fake gateway: the handler cancelled the request')
    return this.current()
  }

  /** Waits for the response head (streamed responses). */
  async head(timeoutMs = 2000): Promise<FakeResponse> {
    await this.n.until(() => (this.status >= 0 ? true : undefined), timeoutMs, 'the response head')
    return this.current()
  }

  /** Waits until the response body holds at least `n` bytes. */
  async bodyAtLeast(n: number, timeoutMs = 2000): Promise<FakeResponse> {
    await this.n.until(() => (this.current().body.length >= n ? true : undefined), timeoutMs, `${n} body bytes`)
    return this.current()
  }
}

/** A WebSocket message as the fake client received it. */
export interface FakeMessage {
  type: 'text' | 'binary'
  data: Uint8Array
  text(): string
}

/** A WebSocket client behind the fake gateway. */
export class FakeWebSocket extends FakeSessionBase {
  /** Answer the handler's pings (a live client); set false to play a silent one. */
  autoPong = true
  accepted = false
  rejected: FakeResponse | null = null
  acceptHeaders: [string, string][] = []
  readonly messages: FakeMessage[] = []
  pingsReceived = 0
  /** The handler's close frame: code and reason. */
  handlerClose: { code: number; reason: string } | null = null
  private clientClosed = false
  private parts: Uint8Array[] = []
  private partsBinary = false

  protected override onPacket(p: SentPacket): void {
    const f = p.fields
    if (!this.accepted && this.rejected === null) {
      if (p.type === 'error' && fieldText(f, 'condition') === 'rejected') {
        const h = (f.get('headers') as TnValue[] | undefined) ?? []
        const headers = h.map((pair) => (pair as Uint8Array[]).map((x) => utf8Decoder.decode(x)) as [string, string])
        const body = p.body
        this.rejected = {
          status: f.get('code') as number,
          reason: fieldText(f, 'reason') ?? '',
          headers,
          body,
          text: () => utf8Decoder.decode(body),
          header: (name) => headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1],
        }
        this.ended = true
        return
      }
      if (p.type === '') {
        this.accepted = true
        const h = (f.get('headers') as TnValue[] | undefined) ?? []
        this.acceptHeaders = h.map((pair) => (pair as Uint8Array[]).map((x) => utf8Decoder.decode(x)) as [string, string])
        // zhttp.md 5.3: an accept without credits gets a buffer's worth.
        if (!f.has('credits')) this.handlerCredits += this.wire.bufferSize
        return
      }
    }
    switch (p.type) {
      case '': {
        if (p.body.length > this.ourCredits) this.errors.push(`message bytes ${p.body.length} over ${this.ourCredits} credits`)
        this.ourCredits -= p.body.length
        if (this.parts.length === 0) this.partsBinary = fieldText(f, 'content-type') === 'binary'
        this.parts.push(p.body)
        if (!p.more) {
          const data = concatBytes(this.parts)
          this.parts = []
          this.messages.push({ type: this.partsBinary ? 'binary' : 'text', data, text: () => utf8Decoder.decode(data) })
        }
        this.returnCredits(p.body.length)
        return
      }
      case 'ping':
        this.pingsReceived++
        this.returnCredits(p.body.length)
        if (this.autoPong && !this.clientClosed) this.sendUnder({ type: 'pong', ...(p.body.length ? { body: p.body } : {}) })
        return
      case 'close': {
        const code = (f.get('code') as number | undefined) ?? 1000
        this.handlerClose = { code, reason: utf8Decoder.decode(p.body) }
        if (this.clientClosed) this.ended = true
        else {
          // A well-behaved client answers with the same code; the gateway then closes TCP.
          this.clientClosed = true
          this.sendPacket({ type: 'close', code })
          this.ended = true
        }
        return
      }
    }
  }

  private returnCredits(n: number): void {
    if (n <= 0 || this.ended) return
    this.ourCredits += n
    this.sendPacket({ type: 'credit', credits: n })
  }

  private sendUnder(fields: Record<string, unknown>): void {
    const b = fields.body as Uint8Array | undefined
    if (b !== undefined) this.handlerCredits -= b.length
    this.sendPacket(fields)
  }

  /** Waits for the handler's accept (resolves true) or rejection (false). */
  async opened(timeoutMs = 2000): Promise<boolean> {
    await this.n.until(() => (this.accepted || this.rejected !== null || this.ended ? true : undefined), timeoutMs, 'accept or reject')
    return this.accepted
  }

  /** Sends a client message under the handler's credits; `pieceBytes` splits it in packets. */
  async send(data: string | Uint8Array, opts: { binary?: boolean; pieceBytes?: number; timeoutMs?: number } = {}): Promise<void> {
    const bytes = typeof data === 'string' ? utf8.encode(data) : data
    const binary = opts.binary ?? typeof data !== 'string'
    const piece = opts.pieceBytes ?? this.wire.bufferSize
    const timeoutMs = opts.timeoutMs ?? 5000
    let off = 0
    do {
      await this.n.until(() => (this.ended || this.handlerCredits > 0 || off === bytes.length ? true : undefined), timeoutMs, 'message credits')
      if (this.ended) throw new Error('fake gateway: websocket ended while sending')
      const n = Math.min(bytes.length - off, this.handlerCredits, piece, this.wire.bufferSize)
      const last = off + n === bytes.length
      this.handlerCredits -= n
      this.sendPacket({
        ...(binary ? { 'content-type': 'binary' } : { 'content-type': 'text' }),
        ...(n > 0 ? { body: bytes.subarray(off, off + n) } : {}),
        ...(last ? {} : { more: true }),
      })
      off += n
    } while (off < bytes.length)
  }

  /** The client pings the handler (it should answer with a pong). */
  ping(body = ''): void {
    this.sendUnder({ type: 'ping', ...(body ? { body: utf8.encode(body) } : {}) })
  }

  /** The client closes (zhttp.md 5.4: code + reason). */
  close(code = 1000, reason = ''): void {
    this.clientClosed = true
    this.sendUnder({ type: 'close', code, ...(reason ? { body: utf8.encode(reason) } : {}) })
    if (this.handlerClose !== null) this.ended = true
  }

  /** Waits for the handler's n-th message (1-based). */
  message(n: number, timeoutMs = 2000): Promise<FakeMessage> {
    return this.n.until(() => this.messages[n - 1], timeoutMs, `message ${n}`)
  }

  /** Waits for the handler's close frame. */
  closedByHandler(timeoutMs = 2000): Promise<{ code: number; reason: string }> {
    return this.n.until(() => this.handlerClose ?? undefined, timeoutMs, 'the handler close')
  }
}


