// The state of one WebSocket session (zhttp.md section 5): the frame decoder's position, the
// message in progress each way, permessage-deflate, and the --messages-max accounting of
// messages queued towards the client. One per stream connection, made on the slot's first
// upgrade and reset for each later one; ws-session.ts runs the protocol over it.

import { FrameHeader } from '../ws/frame.ts'
import { Utf8Validator } from '../ws/utf8.ts'
import type { WsDeflate } from '../ws/deflate.ts'
import { WS_KEY_SIZE_MAX_BYTES } from '../limits.ts'

export class WsSession {
  readonly header = new FrameHeader()
  readonly utf8 = new Utf8Validator()
  /** Sec-WebSocket-Key of the upgrade, kept for the 101 (the request buffer is gone then). */
  readonly key = new Uint8Array(WS_KEY_SIZE_MAX_BYTES)
  keyLength = 0

  // --- client → handler ---
  /** Inside a data frame's payload. */
  inFrame = false
  frameFin = false
  frameMask = 0
  /** Payload bytes of the current frame not yet forwarded, and those already forwarded. */
  frameRemaining = 0
  frameOffset = 0
  /** Opcode of the client message in progress (OP_TEXT / OP_BINARY), 0 when none. */
  msgOpcode = 0
  /** The client's close frame was forwarded: nothing more is read (5.6). */
  clientClosed = false
  /** The message in progress is compressed (RSV1 on its first frame, RFC 7692 6.1). */
  msgCompressed = false
  /**
   * The last inflate step filled its output room, so zlib may hold inflated bytes that no
   * client byte still to come will push out: they are drained as soon as credits allow.
   */
  inflatePending = false

  /** negotiateExtensions() result of the upgrade when --compression allows it, else 0. */
  extensions = 0
  /** permessage-deflate state, made on the first upgrade that negotiates it (zlib memory is
   * taken only on first use, and given back when the session ends). */
  deflate: WsDeflate | null = null
  /** The `extensions` value `deflate` was made for. */
  deflateFor = 0

  // --- handler → client ---
  /** A handler message is open (its last packet had `more`): next frames are continuations. */
  outMsgOpen = false
  /** The close frame went out: handler data is no longer accepted (5.6). */
  serverClosed = false
  /**
   * --messages-max (zhttp.md 5.5): where each message still in the write queue ends, in bytes
   * drained from the queue since the upgrade; a ring of `messagesMax + 1` entries.
   */
  private readonly msgEnds: Float64Array
  private msgHead = 0
  private msgCount = 0
  private drained = 0

  constructor(readonly messagesMax: number) {
    this.msgEnds = new Float64Array(messagesMax + 1)
  }

  /** Gives back the compression state's memory (the session ended). */
  release(): void {
    if (this.deflate !== null) this.deflate.close()
  }

  reset(): void {
    this.release()
    this.extensions = 0
    this.msgCompressed = false
    this.inflatePending = false
    this.inFrame = false
    this.frameRemaining = 0
    this.frameOffset = 0
    this.msgOpcode = 0
    this.clientClosed = false
    this.outMsgOpen = false
    this.serverClosed = false
    this.msgHead = 0
    this.msgCount = 0
    this.drained = 0
  }

  /** A handler message ended with its last byte `queued` bytes into the write queue. False
   * when that makes more than messagesMax messages waiting. */
  messageQueued(queued: number): boolean {
    if (this.msgCount === this.messagesMax + 1) return false
    const ring = this.msgEnds.length
    this.msgEnds[(this.msgHead + this.msgCount) % ring] = this.drained + queued
    this.msgCount++
    return this.msgCount <= this.messagesMax
  }

  /** n bytes of the write queue reached the kernel. */
  drainedBytes(n: number): void {
    const d = (this.drained += n)
    const ring = this.msgEnds.length
    while (this.msgCount > 0 && this.msgEnds[this.msgHead] <= d) {
      this.msgHead = (this.msgHead + 1) % ring
      this.msgCount--
    }
  }
}
