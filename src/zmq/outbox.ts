// The batched send buffer of a ZmqSocket (split out of socket.ts; re-exported from there).
//
// Invariants
// - Layout (what zg_send_batch in native/shim/send.c walks), repeated per frame:
//     [u32 LE: length | FRAME_MORE_FLAG when another frame of the message follows][bytes]
//   Bytes [0, committed) are complete messages; [committed, pos) is the message being
//   written. ZmqSocket.flush() consumes a prefix that ends on a message boundary and moves
//   the rest to the front, so a multipart message is never half sent.
// - Writing allocates nothing; only ensure() grows `buf` (rare, bounded by
//   OUTBOX_SIZE_MAX_BYTES).
// - Depends only on shim-abi.ts (the frame constants): no import of socket.ts, so no cycle.

import { FRAME_HEADER_BYTES, FRAME_MORE_FLAG, FRAME_SIZE_MAX_BYTES } from './shim-abi.ts'
import { copyBytes } from '../util/bytes.ts'

/** The outbox never grows past this: ensure() returns false instead (caller backs off). */
export const OUTBOX_SIZE_MAX_BYTES = 64 << 20
/** Outbox growth granularity. */
export const OUTBOX_GROWTH_STEP_BYTES = 64 << 10

/** What the outbox needs from its socket. */
export interface Flusher {
  flush(): boolean
}

/**
 * Batched send buffer; the session code serializes packets straight into `buf`.
 *
 *   if (!ob.ensure(maxBytes)) backOff()     // before beginMessage; may replace `buf`
 *   ob.beginMessage()
 *   let p = ob.beginFrame()                 // data starts at p
 *   p = writePacket(ob.buf, p)
 *   ob.endFrame(p, false)                   // false: last frame of the message
 *   ob.endMessage()
 *
 * `maxBytes` counts FRAME_HEADER_BYTES per frame plus the frame data.
 */
export class Outbox {
  /** Replaced when ensure() grows it: re-read after ensure(). */
  buf: Uint8Array
  /** Write cursor. */
  pos = 0
  /** End of the last complete message: bytes [0, committed) are ready to send. */
  committed = 0
  /** Complete messages waiting in [0, committed). */
  messages = 0
  private msgStart = -1
  private frameHdr = -1
  private lastMore = false
  private readonly owner: Flusher

  constructor(owner: Flusher, capacity: number) {
    this.owner = owner
    this.buf = new Uint8Array(capacity)
  }

  /** Bytes of complete messages not yet sent. */
  get pending(): number {
    return this.committed
  }

  /** True between beginMessage() and endMessage()/cancelMessage(). */
  get isOpen(): boolean {
    return this.msgStart >= 0
  }

  /**
   * Make room for `bytes` more bytes (a whole message, headers included). Flushes first
   * when no message is open; grows the buffer when that is not enough (allocates, rare).
   * Inside an open message it only grows, so offsets already handed out stay valid.
   * False when even OUTBOX_SIZE_MAX_BYTES would not hold it: do not write the message.
   */
  ensure(bytes: number): boolean {
    if (this.buf.length - this.pos >= bytes) return true
    if (this.msgStart < 0 && this.committed > 0) {
      this.owner.flush()
      if (this.buf.length - this.pos >= bytes) return true
    }
    const need = this.pos + bytes
    if (need > OUTBOX_SIZE_MAX_BYTES) return false
    let size = Math.max(this.buf.length * 2, need)
    size = Math.min(OUTBOX_SIZE_MAX_BYTES, Math.ceil(size / OUTBOX_GROWTH_STEP_BYTES) * OUTBOX_GROWTH_STEP_BYTES)
    const grown = new Uint8Array(size)
    grown.set(this.buf.subarray(0, this.pos))
    this.buf = grown
    return true
  }

  beginMessage(): void {
    if (this.msgStart >= 0) outboxMisuse('beginMessage() inside an open message')
    this.msgStart = this.pos
    this.lastMore = true
  }

  /** Reserve a frame header; returns the offset where the frame's data starts. */
  beginFrame(): number {
    if (this.msgStart < 0 || this.frameHdr >= 0 || !this.lastMore) {
      outboxMisuse('beginFrame() needs an open message whose previous frame had more=true')
    }
    if (this.pos + FRAME_HEADER_BYTES > this.buf.length) {
      outboxMisuse('beginFrame() past the end: call ensure() first')
    }
    this.frameHdr = this.pos
    this.pos += FRAME_HEADER_BYTES
    return this.pos
  }

  /** The frame's data is buf[start, dataEnd); `more` when another frame follows. */
  endFrame(dataEnd: number, more: boolean): void {
    const h = this.frameHdr
    const len = dataEnd - h - FRAME_HEADER_BYTES
    // Written as negations so that NaN (a caller's bad arithmetic) is refused too.
    if (h < 0 || !(len >= 0) || !(dataEnd <= this.buf.length) || len > FRAME_SIZE_MAX_BYTES) {
      outboxMisuse('endFrame() without beginFrame() or with a bad dataEnd')
    }
    const b = this.buf
    b[h] = len & 0xff
    b[h + 1] = (len >>> 8) & 0xff
    b[h + 2] = (len >>> 16) & 0xff
    b[h + 3] = ((len >>> 24) & 0x7f) | (more ? FRAME_MORE_FLAG >>> 24 : 0)
    this.pos = dataEnd
    this.frameHdr = -1
    this.lastMore = more
  }

  endMessage(): void {
    if (this.msgStart < 0 || this.frameHdr >= 0 || this.lastMore) {
      outboxMisuse('endMessage() needs an open message whose last frame had more=false')
    }
    this.committed = this.pos
    this.messages++
    this.msgStart = -1
  }

  /** Abandon the open message (nothing of it is sent). No-op when none is open. */
  cancelMessage(): void {
    if (this.msgStart < 0) return
    this.pos = this.msgStart
    this.msgStart = -1
    this.frameHdr = -1
    this.lastMore = false
  }

  /** Append src[s, e) as one frame of the open message. */
  frameBytes(src: Uint8Array, s: number, e: number, more: boolean): void {
    const d = this.beginFrame()
    const n = e - s
    if (n < 0 || d + n > this.buf.length) {
      this.pos = this.frameHdr
      this.frameHdr = -1
      outboxMisuse('frameBytes() does not fit: call ensure() first')
    }
    // Short frames (ids, addresses) are copied by a loop, long ones with one view each.
    this.endFrame(copyBytes(this.buf, d, src, s, e), more)
  }

  /** @internal The first `bytes` (a message boundary) were sent: move the rest to the front. */
  consume(bytes: number, messages: number): void {
    if (bytes <= 0) return
    this.buf.copyWithin(0, bytes, this.pos)
    this.pos -= bytes
    this.committed -= bytes
    this.messages -= messages
    if (this.msgStart >= 0) this.msgStart -= bytes
    if (this.frameHdr >= 0) this.frameHdr -= bytes
  }
}

/** @internal A caller bug, not a runtime condition. ZmqSocket.flush() reports through it too. */
export function outboxMisuse(what: string): never {
  throw new RangeError(`Outbox: ${what}`)
}
