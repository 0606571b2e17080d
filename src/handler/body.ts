// The request body under credits (zhttp.md 4.4): the gateway reads body bytes from the client
// only as far as we grant credits, so granting them only as the application consumes keeps
// memory flat end to end, however slow the reader. At most `bodyWindowBytes` are granted and
// not yet consumed at any time.

import { concatBytes } from './bytes.ts'
import { BodyTooLargeError, HandlerStateError, SessionClosedError } from './errors.ts'
import { END_DONE, type Session } from './session.ts'
import type { GatewayPacket } from './wire-in.ts'

const EMPTY = new Uint8Array(0)

export class BodyReader {
  private readonly session: Session
  private readonly chunks: Uint8Array[] = []
  private head = 0
  /** Bytes received and not yet consumed. */
  private queued = 0
  /** Credits granted and not yet used by the gateway. */
  private outstanding = 0
  private done: boolean
  private waiter: (() => void) | null = null
  private taken = false
  /** Total bytes received so far. */
  received = 0

  /** `whole`: req mode, the body is all in the first packet (zhttp.md 4.11). */
  constructor(session: Session, more: boolean, whole: Uint8Array | null) {
    this.session = session
    this.done = !more
    if (whole !== null && whole.length > 0) this.push(whole)
  }

  /** No credit was granted yet, so the gateway has sent no body byte (zhttp.md 4.4). */
  get untouched(): boolean {
    return !this.taken && this.received === 0 && this.outstanding === 0
  }

  /** True once every body byte has arrived. */
  get complete(): boolean {
    return this.done
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b)
    this.queued += b.length
    this.received += b.length
  }

  /** A body packet from the gateway. */
  onData(p: GatewayPacket): void {
    if (this.done) return
    const n = p.bodyLength
    if (n > 0) this.push(p.buf.slice(p.bodyStart, p.bodyEnd))
    this.outstanding = Math.max(0, this.outstanding - n)
    if (!p.more) this.done = true
    this.wake()
  }

  /** The session ended: wake a reader so it sees the error. */
  onEnd(): void {
    this.wake()
  }

  private wake(): void {
    const w = this.waiter
    if (w !== null) {
      this.waiter = null
      w()
    }
  }

  /** Keeps `window` bytes granted-or-queued; tops up only by at least half a window. */
  private topUp(): void {
    const s = this.session
    if (this.done || s.ended || s.reqMode) return
    const window = s.host.opts.bodyWindowBytes
    const want = window - this.outstanding - this.queued
    if (want * 2 < window) return
    this.outstanding += want
    s.sendCredit(want)
  }

  /** The next chunk, or null at the end. Throws SessionClosedError if the session ended first. */
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.head < this.chunks.length) {
        const b = this.chunks[this.head]
        this.chunks[this.head++] = EMPTY
        if (this.head === this.chunks.length) {
          this.chunks.length = 0
          this.head = 0
        }
        this.queued -= b.length
        this.topUp()
        return b
      }
      if (this.done) return null
      const s = this.session
      if (s.ended && s.endReason !== END_DONE) throw new SessionClosedError(s.endReason)
      if (s.ended) return null
      this.topUp()
      await new Promise<void>((r) => {
        this.waiter = r
      })
    }
  }

  private take(): void {
    if (this.taken) throw new HandlerStateError('the request body was already read')
    this.taken = true
  }

  /** The whole body; throws BodyTooLargeError past `limit` bytes. */
  async bytes(limit: number): Promise<Uint8Array> {
    this.take()
    const parts: Uint8Array[] = []
    let size = 0
    for (;;) {
      const b = await this.next()
      if (b === null) break
      size += b.length
      if (size > limit) throw new BodyTooLargeError(limit)
      parts.push(b)
    }
    return concatBytes(parts)
  }

  /** The body as a stream; each read grants credits for what was consumed. */
  stream(): ReadableStream<Uint8Array> {
    this.take()
    return new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          const b = await this.next()
          if (b === null) c.close()
          else c.enqueue(b)
        },
      },
      // Nothing is read ahead of the application: credits follow its reads.
      { highWaterMark: 0 },
    )
  }
}
