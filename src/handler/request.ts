// A request as the application sees it (zhttp.md 4.3, 5.2): method, uri, path and query,
// headers, peer, the body under credits, the response, the WebSocket accept/reject, and the
// abort signal for cancels and disconnects.

import { BodyReader } from './body.ts'
import { handoffSession } from './handoff.ts'
import type { HandoffState, Peer, RequestHead } from './head.ts'
import { HandlerStateError, SessionClosedError } from './errors.ts'
import { RequestHeaders } from './headers.ts'
import { WS_CREDITS_DEFAULT_BYTES } from './options.ts'
import { bodyBytes, reasonPhrase, ResponseStream, type BodyInit } from './response.ts'
import { END_CANCEL, END_DONE, type PacketSink, type Session } from './session.ts'
import { WebSocket, type AcceptOptions } from './websocket.ts'
import { PT_CANCEL, PT_CREDIT, PT_DATA, PT_HANDOFF_PROCEED, PT_KEEP_ALIVE, type GatewayPacket } from './wire-in.ts'
import { headersSizeBound, type HeaderInit } from './wire-out.ts'

/** What respond() returns when its one packet is already out (shared: delivery.ts skips it). */
export const RESOLVED = Promise.resolve()

/** One HTTP request or WebSocket upgrade. */
export class Request implements PacketSink {
  /** The method as received (case preserved). */
  readonly method: string
  /** `scheme://host` + request-target, as the gateway built it (zhttp.md 4.3). */
  readonly uri: string
  /** The path of the target, still percent-encoded. */
  readonly path: string
  /** The raw query string without `?` ('' when none). */
  readonly rawQuery: string
  readonly headers: RequestHeaders
  readonly peer: Peer | null
  /** The gateway's instance id (its `from`); '' in req mode. */
  readonly from: string
  /** True for a WebSocket upgrade: answer with accept() or reject(). */
  readonly isWebSocket: boolean
  /** @internal */
  readonly session: Session
  private readonly reader: BodyReader
  private response: ResponseStream | null = null
  private ws: WebSocket | null = null
  private queryParams: URLSearchParams | null = null
  private readonly head: RequestHead
  /** Set when this request was resumed from another process's handoff. */
  private readonly resumed: HandoffState | null

  /** @internal Built by the handler from a first packet, or by handler.resume(). */
  constructor(session: Session, head: RequestHead, resumed: HandoffState | null = null) {
    this.session = session
    this.head = head
    this.resumed = resumed
    this.method = head.method
    this.uri = head.uri
    const [path, query] = splitTarget(head.uri)
    this.path = path
    this.rawQuery = query
    this.headers = new RequestHeaders(head.headers)
    this.peer = head.peer
    this.from = head.from
    this.isWebSocket = head.websocket
    this.reader = new BodyReader(session, head.more, head.body)
  }

  /** True for a request continued here after another process handed it off. */
  get isResumed(): boolean {
    return this.resumed !== null
  }

  /** The session id (opaque, zhttp.md 1.5). */
  get id(): string {
    return this.session.idText
  }

  /** Aborted when the gateway cancels, the client goes away or the handler closes. */
  get signal(): AbortSignal {
    return this.session.signal
  }

  /** Parsed query parameters. */
  get query(): URLSearchParams {
    this.queryParams ??= new URLSearchParams(this.rawQuery)
    return this.queryParams
  }

  /** True once a response head (or WebSocket answer) went out. */
  get responded(): boolean {
    return this.response !== null || this.ws !== null
  }

  // --- body ---

  /** The body as a stream read under credits: the client sends only as fast as you read. */
  get body(): ReadableStream<Uint8Array> {
    return this.reader.stream()
  }

  /** The whole body; BodyTooLargeError (answered 413) past `limitBytes`. */
  bytes(limitBytes = this.session.host.opts.bodyLimitBytes): Promise<Uint8Array> {
    return this.reader.bytes(limitBytes)
  }

  async text(limitBytes?: number): Promise<string> {
    return new TextDecoder().decode(await this.bytes(limitBytes))
  }

  async json<T = unknown>(limitBytes?: number): Promise<T> {
    return JSON.parse(await this.text(limitBytes)) as T
  }

  // --- response ---

  private claim(): void {
    if (this.responded) throw new HandlerStateError('the request was already answered')
  }

  /** Answers with one response; resolves when all of it went out (under credits). */
  respond(status: number, headers?: HeaderInit, body?: BodyInit | null): Promise<void> {
    this.claim()
    const s = this.session
    const b = bodyBytes(body)
    const r = new ResponseStream(s, status, headers)
    this.response = r
    // The common case: a stream-mode response that fits the credits goes out as one packet,
    // written here, with no queue (zhttp.md 4.7: no `more`, the gateway adds Content-Length).
    if (!s.reqMode && !s.ended && b.length <= s.sendable(b.length)) {
      const w = s.begin(b.length + headersSizeBound(headers))
      w.head(status, r.reason, headers)
      if (b.length > 0) w.body(b)
      s.send()
      s.credits -= b.length
      r.markDone()
      s.end(END_DONE)
      return RESOLVED
    }
    return r.whole(b)
  }

  /**
   * Starts a streamed response (the head goes out now); then write() and end(). On a request
   * resumed after its head went out, it continues that response (status and headers unused).
   */
  stream(status: number, headers?: HeaderInit): ResponseStream {
    this.claim()
    const r = new ResponseStream(this.session, status, headers)
    this.response = r
    if (this.resumed?.responseStarted) r.markStarted()
    else r.flushHead()
    return r
  }

  /** Answers with a web Response (status, headers and the whole body). */
  async send(res: Response): Promise<void> {
    const headers: [string, string][] = []
    res.headers.forEach((v, k) => headers.push([k, v]))
    const body = new Uint8Array(await res.arrayBuffer())
    return this.respond(res.status, headers, body)
  }

  // --- WebSocket (zhttp.md 5.3) ---

  /** Accepts the upgrade: a 101 with `headers` and the client → handler credits. */
  accept(opts: AcceptOptions = {}): WebSocket {
    if (!this.isWebSocket) throw new HandlerStateError('accept() on a request that is not a WebSocket upgrade')
    this.claim()
    const s = this.session
    const ws = new WebSocket(s, opts, this.head)
    this.ws = ws
    if (s.ended) return ws
    if (this.resumed !== null) {
      // Accepted by the process that handed it off: just take the messages from here on.
      s.sink = ws
      return ws
    }
    const credits = opts.credits ?? WS_CREDITS_DEFAULT_BYTES
    const w = s.begin(headersSizeBound(opts.headers))
    w.head(101, reasonPhrase(101), opts.headers)
    w.int('credits', credits)
    s.send()
    s.sink = ws
    return ws
  }

  /** Refuses the upgrade with a status, headers and body (zhttp.md 5.3). */
  reject(status: number, headers?: HeaderInit, body?: BodyInit | null): Promise<void> {
    if (!this.isWebSocket) return this.respond(status, headers, body)
    this.claim()
    const s = this.session
    this.response = new ResponseStream(s, status, headers)
    const b = bodyBytes(body)
    const w = s.begin(b.length + headersSizeBound(headers))
    w.type('error')
    w.text('condition', 'rejected')
    w.head(status, reasonPhrase(status), headers)
    w.body(b)
    s.send()
    s.end(END_DONE)
    return Promise.resolve()
  }

  // --- handoff (zhttp.md 4.10) ---

  /**
   * Hands this request to another process: resolves with a portable state for
   * handler.resume() there, once the gateway agreed. This process is then done with it. Only
   * between writes, and not while the body is being read.
   */
  handoff(): Promise<HandoffState> {
    if (this.ws !== null) return this.ws.handoff()
    if (this.response?.done) return Promise.reject(new HandlerStateError('the response is complete'))
    if (this.response !== null && !this.response.idle) return Promise.reject(new HandlerStateError('a write is in progress'))
    if (!this.reader.untouched && !this.reader.complete) return Promise.reject(new HandlerStateError('the body is being read'))
    if (this.session.ended) return Promise.reject(new SessionClosedError(this.session.endReason))
    const bodyPending = this.head.more && this.reader.untouched
    return handoffSession(this.session, this.head, 'http', bodyPending, this.response !== null || (this.resumed?.responseStarted ?? false))
  }

  // --- packets (PacketSink) ---

  /** @internal */
  onPacket(p: GatewayPacket, s: Session): void {
    switch (p.type) {
      case PT_DATA:
        this.reader.onData(p)
        return
      case PT_CREDIT:
        if (p.credits > 0) s.addCredits(p.credits)
        return
      case PT_KEEP_ALIVE:
        return
      case PT_CANCEL:
        s.end(END_CANCEL)
        return
      case PT_HANDOFF_PROCEED:
        s.proceedHandoff()
        return
      default:
        s.host.log('debug', `request ${s.idText}: ignored packet type ${p.typeName()}`)
    }
  }

  /** @internal */
  onTick(): void {}

  /** @internal */
  onEnd(): void {
    this.reader.onEnd()
  }
}

/** Path and query of `scheme://host/target?query`. */
function splitTarget(uri: string): [string, string] {
  const scheme = uri.indexOf('://')
  const slash = scheme < 0 ? uri.indexOf('/') : uri.indexOf('/', scheme + 3)
  if (slash < 0) return ['/', '']
  const q = uri.indexOf('?', slash)
  if (q < 0) return [uri.slice(slash), '']
  const hash = uri.indexOf('#', q)
  return [uri.slice(slash, q), uri.slice(q + 1, hash < 0 ? undefined : hash)]
}
