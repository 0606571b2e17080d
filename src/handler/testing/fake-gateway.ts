// zgate/handler/testing: an in-process fake gateway. It plugs into createHandler() as the
// transport, so a handler can be driven with requests and WebSocket messages without zgate,
// ZeroMQ or sockets, the way Mongrel2's Transceiver Server/Client pair was used in tests:
//
//   const gw = new FakeGateway()
//   const h = await createHandler({ transport: gw.transport, onRequest: (req) => req.respond(200, {}, 'hi') })
//   const res = await gw.request({ path: '/' }).response()
//
// The fake speaks the gateway's side of ZHTTP (zhttp.md 4, 5): first packets with credits,
// later packets with seq, credits returned as a client consumes, and it records every
// protocol slip the handler makes (seq, credits) in `errors`.

import { concatBytes } from '../bytes.ts'
import {
  SOCK_PUB,
  SOCK_PULL,
  SOCK_REQ,
  SOCK_ROUTER,
  type InMessage,
  type MessageSink,
  type SocketKind,
  type Transport,
  type TransportFactory,
  type TransportOptions,
} from '../transport.ts'
import { FakeRequest, FakeWebSocket, type FakeSessionBase, type FakeWire, type SentPacket } from './fake-session.ts'
import { decodeTn, encodeTn, fieldText, type TnValue } from './tn-value.ts'

export { FakeRequest, FakeWebSocket } from './fake-session.ts'
export type { FakeMessage, FakeResponse, SentPacket } from './fake-session.ts'
export { decodeTn, encodeTn } from './tn-value.ts'
export type { TnValue } from './tn-value.ts'

/** The gateway's default --buffer-size: first-packet credits (zhttp.md 4.3). */
export const FAKE_BUFFER_SIZE_BYTES = 8192

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()
const EMPTY = new Uint8Array(0)

class FakeMessageView implements InMessage {
  list: Uint8Array[] = []
  get frames(): number {
    return this.list.length
  }
  buf(f: number): Uint8Array {
    return this.list[f]
  }
  start(): number {
    return 0
  }
  end(f: number): number {
    return this.list[f].length
  }
}

export interface FakeRequestInit {
  method?: string
  path?: string
  host?: string
  headers?: [string, string][]
  /** A body: the first packet says `more`, then sendBody() or `body` is sent under credits. */
  body?: string | Uint8Array
  /** Announce a body (more: true) without sending it yet (use sendBody()). */
  streamBody?: boolean
  /** Send as a req-mode request (zhttp.md 4.11): whole body, no from/seq/credits. */
  req?: boolean
  peer?: { address: string; port: number }
}

export interface FakeGatewayOptions {
  /** Instance id (the gateway's `from`), default `fake-gateway`. */
  instance?: string
  /** Credits of each first packet, default 8192. */
  bufferSize?: number
  /** Send our SUB subscription at start (default true); false plays a gateway not yet heard. */
  subscribe?: boolean
}

/** An in-memory gateway; pass `transport` to createHandler(). */
export class FakeGateway implements FakeWire {
  readonly instance: string
  readonly bufferSize: number
  /** Every packet the handler sent, in order. */
  readonly packets: SentPacket[] = []
  /** Handler packets that broke the protocol or could not be routed. */
  readonly errors: string[] = []
  /** Endpoints the handler connected to. */
  readonly connected: string[] = []
  /** Handlers by their `from`, in the order they started (first packets go round-robin). */
  private readonly sinks = new Map<string, MessageSink>()
  private turn = 0
  /** Which handler each session's later packets go to: the last one that spoke (zhttp.md 4.6). */
  private readonly addressOf = new Map<string, string>()
  private readonly sessions = new Map<string, FakeSessionBase>()
  private nextId = 0
  private readonly queue: { kind: SocketKind; frames: Uint8Array[]; to: string | null }[] = []
  private draining = false
  private readonly view = new FakeMessageView()
  private readonly autoSubscribe: boolean
  closed = false
  /** The transport factory to hand to createHandler(). */
  readonly transport: TransportFactory

  constructor(o: FakeGatewayOptions = {}) {
    this.instance = o.instance ?? 'fake-gateway'
    this.bufferSize = o.bufferSize ?? FAKE_BUFFER_SIZE_BYTES
    this.autoSubscribe = o.subscribe ?? true
    this.transport = (opts) => this.makeTransport(opts)
  }

  private makeTransport(opts: TransportOptions): Transport {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const gw = this
    const me = utf8Decoder.decode(opts.identity)
    return {
      name: 'fake',
      start(sink: MessageSink): void {
        gw.sinks.set(me, sink)
        if (gw.autoSubscribe) gw.deliver(SOCK_PUB, [utf8.encode(`\x01${gw.instance} `)], me)
      },
      connect(kind: SocketKind, endpoint: string): void {
        gw.connected.push(`${kind} ${endpoint}`)
      },
      disconnect(kind: SocketKind, endpoint: string): void {
        const i = gw.connected.indexOf(`${kind} ${endpoint}`)
        if (i >= 0) gw.connected.splice(i, 1)
      },
      send(kind: SocketKind, frames: readonly Uint8Array[]): void {
        gw.fromHandler(kind, frames.map((f) => f.slice()))
      },
      flush(): void {},
      async close(): Promise<void> {
        gw.sinks.delete(me)
        if (gw.sinks.size === 0) gw.closed = true
      },
    }
  }

  /** Our SUB subscribes (`\x01<instance> `): the handlers may now publish to us. */
  subscribe(): void {
    for (const h of this.sinks.keys()) this.deliver(SOCK_PUB, [utf8.encode(`\x01${this.instance} `)], h)
  }

  /** Our SUB goes away (`\x00<instance> `): as if the gateway died. */
  vanish(): void {
    for (const h of this.sinks.keys()) this.deliver(SOCK_PUB, [utf8.encode(`\x00${this.instance} `)], h)
  }

  /** Raw bytes as a first packet on PULL (to test malformed input). */
  sendRawFirst(bytes: Uint8Array): void {
    this.deliver(SOCK_PULL, [bytes], null)
  }

  /** Raw bytes as a later packet on the ROUTER path. */
  sendRawLater(bytes: Uint8Array): void {
    for (const h of this.sinks.keys()) this.deliver(SOCK_ROUTER, [utf8.encode('gw'), EMPTY, bytes], h)
  }

  /** Queues a message for handler `to` (null: the next one round-robin, as PUSH does). */
  private deliver(kind: SocketKind, frames: Uint8Array[], to: string | null): void {
    this.queue.push({ kind, frames, to })
    if (this.draining) return
    this.draining = true
    // Delivered on a later turn, as a socket would: never inside the handler's own call.
    setImmediate(() => {
      this.draining = false
      for (const m of this.queue.splice(0)) {
        let to = m.to
        if (to === null) {
          const names = [...this.sinks.keys()]
          if (names.length === 0) continue
          to = names[this.turn++ % names.length]
        }
        const sink = this.sinks.get(to)
        if (sink === undefined) continue
        this.view.list = m.frames
        sink(m.kind, this.view)
      }
    })
  }

  /** @internal FakeWire */
  sendFirst(fields: Record<string, unknown>, req: boolean): void {
    const payload = concatBytes([utf8.encode('T'), encodeTn(fields as Record<string, TnValue>)])
    if (req) this.deliver(SOCK_REQ, [utf8.encode('peer'), EMPTY, payload], null)
    else this.deliver(SOCK_PULL, [payload], null)
  }

  /** @internal FakeWire */
  sendLater(fields: Record<string, unknown>): void {
    // Later packets go to the session's handler address only (zhttp.md 1.3, 4.6).
    const to = this.addressOf.get(String(fields.id))
    if (to === undefined) return
    this.deliver(SOCK_ROUTER, [utf8.encode('gw'), EMPTY, concatBytes([utf8.encode('T'), encodeTn(fields as Record<string, TnValue>)])], to)
  }

  private newId(): string {
    return `0-0-${(this.nextId++).toString(16)}`
  }

  /** Sends an HTTP request to the handler; read its answer on the returned object. */
  request(init: FakeRequestInit = {}): FakeRequest {
    const id = this.newId()
    const req = init.req === true
    const r = new FakeRequest(this, id, req)
    this.sessions.set(id, r)
    const body = init.body === undefined ? EMPTY : typeof init.body === 'string' ? utf8.encode(init.body) : init.body
    const host = init.host ?? 'example.com'
    const headers = init.headers ?? [['Host', host]]
    const more = !req && (body.length > 0 || init.streamBody === true)
    const peer = init.peer ?? { address: '127.0.0.1', port: 40000 }
    const fields: Record<string, unknown> = req
      ? { id, ext: { multi: true } }
      : { from: this.instance, id, seq: 0, ext: { multi: true } }
    fields.method = init.method ?? (body.length > 0 ? 'POST' : 'GET')
    fields.uri = `http://${host}${init.path ?? '/'}`
    fields.headers = headers
    if (req && body.length > 0) fields.body = body
    if (!req) fields.credits = this.bufferSize
    if (more) fields.more = true
    if (!req) fields.stream = true
    fields['peer-address'] = peer.address
    fields['peer-port'] = peer.port
    this.sendFirst(fields, req)
    if (!req) {
      // The first packet's seq was 0; later ones continue from 1.
      ;(r as unknown as { seqOut: number }).seqOut = 1
      if (body.length > 0) r.sendBody(body).catch(() => {})
    }
    return r
  }

  /** Sends a WebSocket upgrade to the handler. */
  websocket(init: { path?: string; host?: string; headers?: [string, string][] } = {}): FakeWebSocket {
    const id = this.newId()
    const ws = new FakeWebSocket(this, id)
    this.sessions.set(id, ws)
    const host = init.host ?? 'example.com'
    this.sendFirst(
      {
        from: this.instance,
        id,
        seq: 0,
        ext: { multi: true },
        method: 'GET',
        uri: `ws://${host}${init.path ?? '/'}`,
        headers: init.headers ?? [
          ['Host', host],
          ['Upgrade', 'websocket'],
          ['Sec-WebSocket-Version', '13'],
          ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
        ],
        credits: this.bufferSize,
        'peer-address': '127.0.0.1',
        'peer-port': 40001,
      },
      false,
    )
    ;(ws as unknown as { seqOut: number }).seqOut = 1
    return ws
  }

  /** Every packet the handler sent, decoded, arrives here. */
  private fromHandler(kind: SocketKind, frames: Uint8Array[]): void {
    let payload: Uint8Array
    if (kind === SOCK_PUB) {
      const f = frames[0]
      const prefix = utf8.encode(`${this.instance} `)
      if (f.length < prefix.length || !prefix.every((b, i) => f[i] === b)) {
        this.errors.push(`packet for another gateway: ${utf8Decoder.decode(f.subarray(0, 40))}`)
        return
      }
      payload = f.subarray(prefix.length)
    } else if (kind === SOCK_REQ) {
      payload = frames[frames.length - 1]
      if (frames.length < 3 || frames[frames.length - 2].length !== 0) this.errors.push('req reply without an envelope')
    } else {
      this.errors.push(`handler sent on socket ${kind}`)
      return
    }
    if (payload[0] !== 0x54) {
      this.errors.push('payload without T')
      return
    }
    let m: TnValue
    try {
      m = decodeTn(payload.subarray(1))
    } catch (e) {
      this.errors.push(`undecodable packet: ${(e as Error).message}`)
      return
    }
    if (!(m instanceof Map)) {
      this.errors.push('packet is not a map')
      return
    }
    if (kind === SOCK_PUB && fieldText(m, 'from') === undefined) this.errors.push('stream packet without from')
    const type = fieldText(m, 'type') ?? ''
    const body = (m.get('body') as Uint8Array | undefined) ?? EMPTY
    const more = m.get('more') === true
    const ids: [string, number][] = []
    const idv = m.get('id')
    if (idv instanceof Uint8Array) ids.push([utf8Decoder.decode(idv), (m.get('seq') as number | undefined) ?? -1])
    else if (Array.isArray(idv)) {
      for (const e of idv) {
        const em = e as Map<string, TnValue>
        ids.push([fieldText(em, 'id') ?? '', (em.get('seq') as number | undefined) ?? -1])
      }
    }
    const from = fieldText(m, 'from')
    for (const [id, seq] of ids) {
      if (from !== undefined) this.addressOf.set(id, from)
      const p: SentPacket = { type, seq, fields: m, body, more }
      this.packets.push(p)
      const s = this.sessions.get(id)
      if (s === undefined) {
        this.errors.push(`packet for unknown id ${id}`)
        continue
      }
      s.receive(p)
      for (const e of s.errors.splice(0)) this.errors.push(`${id}: ${e}`)
    }
  }

  /** The session (request or WebSocket) with `id`. */
  session(id: string): FakeSessionBase | undefined {
    return this.sessions.get(id)
  }
}

