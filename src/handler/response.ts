// Writing an HTTP response under the gateway's credits (zhttp.md 4.7): the head goes with the
// first packet, body bytes go out only as far as the credits allow (a packet larger than the
// free buffer makes the gateway close the client), and the last packet has no `more`.
// In req mode the whole response is one packet (zhttp.md 4.11).

import { concatBytes } from './bytes.ts'
import { HandlerStateError, SessionClosedError } from './errors.ts'
import { END_DONE, type Session } from './session.ts'
import { headersSizeBound, type HeaderInit } from './wire-out.ts'

const utf8 = new TextEncoder()
const EMPTY = new Uint8Array(0)

/** Body data the application may pass. */
export type BodyInit = string | Uint8Array | ArrayBuffer

export function bodyBytes(b: BodyInit | undefined | null): Uint8Array {
  if (b === undefined || b === null) return EMPTY
  if (typeof b === 'string') return utf8.encode(b)
  if (b instanceof Uint8Array) return b
  return new Uint8Array(b)
}

const REASONS: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted',
  204: 'No Content', 206: 'Partial Content', 301: 'Moved Permanently', 302: 'Found',
  303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict', 410: 'Gone',
  413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
}

/** The standard reason phrase of `status` ('' when unknown). */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? ''
}

/** Statuses that never carry a body (RFC 9110 15.2, 15.3.5, 15.4.5). */
function bodiless(status: number): boolean {
  return (status >= 100 && status < 200) || status === 204 || status === 304
}

function hasHeader(h: HeaderInit | undefined, name: string): boolean {
  if (h === undefined) return false
  const n = name.toLowerCase()
  if (Array.isArray(h)) return (h as ReadonlyArray<readonly [string, string]>).some(([k]) => k.toLowerCase() === n)
  return Object.keys(h).some((k) => k.toLowerCase() === n)
}

interface Pending {
  data: Uint8Array
  off: number
  final: boolean
  resolve: () => void
  reject: (e: Error) => void
}

/**
 * A response being written: returned by `req.stream()`. `write()` resolves once the chunk is
 * handed to the gateway, which happens only as its credits allow; `end()` finishes.
 */
export class ResponseStream {
  private readonly session: Session
  private readonly status: number
  /** @internal */
  readonly reason: string
  private headers: HeaderInit | undefined
  private headSent = false
  private finished = false
  private ending = false
  private readonly queue: Pending[] = []
  private pumping = false
  /** req mode: everything is sent at end() in one packet. */
  private readonly gathered: Uint8Array[] = []

  /** @internal Use req.stream() or req.respond(). */
  constructor(session: Session, status: number, headers: HeaderInit | undefined, reason?: string) {
    this.session = session
    this.status = status
    this.reason = reason ?? reasonPhrase(status)
    this.headers = headers
  }

  /** The head was sent (or, in req mode, the response is committed). */
  get started(): boolean {
    return this.headSent
  }

  /** The last packet was sent. */
  get done(): boolean {
    return this.finished
  }

  /** Sends `chunk` (resolves when the gateway's credits let it all go). */
  write(chunk: string | Uint8Array): Promise<void> {
    if (this.ending) return Promise.reject(new HandlerStateError('write() after end()'))
    return this.enqueue(bodyBytes(chunk), false)
  }

  /** Sends the optional last chunk and ends the response. */
  end(chunk?: string | Uint8Array): Promise<void> {
    if (this.ending) return Promise.reject(new HandlerStateError('end() called twice'))
    this.ending = true
    return this.enqueue(bodyBytes(chunk), true)
  }

  /** No write is waiting for credits (a handoff may happen now). */
  get idle(): boolean {
    return this.queue.length === 0
  }

  /** @internal Sent whole by Request.respond()'s one-packet path. */
  markDone(): void {
    this.headSent = this.finished = this.ending = true
  }

  /** @internal A resumed response whose head another process sent. */
  markStarted(): void {
    this.headSent = true
  }

  /** @internal Sends the head at once (stream()), before any body. */
  flushHead(): void {
    this.enqueue(EMPTY, false).catch(() => {})
  }

  /** @internal A whole known body: adds Content-Length when it will not fit in one packet. */
  whole(body: Uint8Array): Promise<void> {
    const s = this.session
    if (!s.reqMode && !bodiless(this.status) && body.length > s.sendable(body.length) && !hasHeader(this.headers, 'content-length')) {
      // Split over several packets, the gateway would chunk it; a length is kinder (zhttp.md 4.7).
      const h = Array.isArray(this.headers) ? [...this.headers] : Object.entries(this.headers ?? {})
      h.push(['Content-Length', String(body.length)])
      this.headers = h
    }
    this.ending = true
    return this.enqueue(body, true)
  }

  private enqueue(data: Uint8Array, final: boolean): Promise<void> {
    const s = this.session
    if (s.ended) return Promise.reject(new SessionClosedError(s.endReason))
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, off: 0, final, resolve, reject })
      if (s.reqMode) this.gather()
      else void this.pump()
    })
  }

  /** req mode: collect, send once at the end. */
  private gather(): void {
    while (this.queue.length > 0) {
      const e = this.queue.shift()!
      if (e.data.length > 0) this.gathered.push(e.data)
      if (e.final) {
        const body = concatBytes(this.gathered)
        const s = this.session
        const w = s.begin(body.length + headersSizeBound(this.headers))
        w.head(this.status, this.reason, this.headers)
        if (body.length > 0) w.body(body)
        s.send()
        this.headSent = this.finished = true
        s.end(END_DONE)
      }
      e.resolve()
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    const s = this.session
    try {
      while (this.queue.length > 0) {
        if (s.ended) throw new SessionClosedError(s.endReason)
        const e = this.queue[0]
        const remaining = e.data.length - e.off
        const n = s.sendable(remaining)
        if (n === 0 && remaining > 0 && this.headSent) {
          await s.waitCredits()
          continue
        }
        const last = e.final && n === remaining
        const w = s.begin(n + (this.headSent ? 0 : headersSizeBound(this.headers)))
        if (!this.headSent) w.head(this.status, this.reason, this.headers)
        if (n > 0) w.body(e.data, e.off, e.off + n)
        if (!last) w.flag('more')
        s.send()
        this.headSent = true
        s.credits -= n
        e.off += n
        if (e.off === e.data.length) {
          this.queue.shift()
          e.resolve()
        }
        if (last) {
          this.finished = true
          s.end(END_DONE)
          return
        }
      }
    } catch (err) {
      for (const e of this.queue.splice(0)) e.reject(err as Error)
    } finally {
      this.pumping = false
    }
  }
}
