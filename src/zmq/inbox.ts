// The batched receive buffer of a ZmqSocket (split out of socket.ts; re-exported from there).
//
// Invariants
// - Layout: frame bytes back to back in `buf`, located by `index` (see Inbox). Both are
//   allocated once, in the constructor; ZmqSocket.recvBatch() refills them in one FFI
//   crossing and reading them allocates nothing (except frame(), a convenience view).
// - Offsets are valid until the next recvBatch().
// - No imports: a leaf module.

/**
 * Messages received by the last recvBatch(), as offsets into `buf` (valid until the next
 * recvBatch()). `index` holds, for message i, its first frame number at index[i] (and the
 * total frame count at index[count]); frame f's [start, end) is at
 * index[frameBase + 2f], index[frameBase + 2f + 1], with frameBase = maxMessages + 1.
 */
export class Inbox {
  readonly buf: Uint8Array
  readonly index: Int32Array
  readonly maxMessages: number
  readonly maxFrames: number
  readonly frameBase: number
  /** Messages in the last batch. */
  count = 0
  /** Bytes of frame data in the last batch. */
  bytes = 0
  /**
   * The last recvBatch() stopped because nothing more was waiting (libzmq said EAGAIN), so
   * ZMQ_FD will signal new input: a drain loop may stop without another (empty) call.
   */
  drained = false

  constructor(capacity: number, maxMessages: number, maxFrames: number) {
    this.buf = new Uint8Array(capacity)
    this.maxMessages = maxMessages
    this.maxFrames = maxFrames
    this.frameBase = maxMessages + 1
    this.index = new Int32Array(this.frameBase + 2 * maxFrames)
  }

  frameCount(i: number): number {
    return this.index[i + 1] - this.index[i]
  }

  frameStart(i: number, f: number): number {
    return this.index[this.frameBase + 2 * (this.index[i] + f)]
  }

  frameEnd(i: number, f: number): number {
    return this.index[this.frameBase + 2 * (this.index[i] + f) + 1]
  }

  frameLength(i: number, f: number): number {
    const k = this.frameBase + 2 * (this.index[i] + f)
    return this.index[k + 1] - this.index[k]
  }

  /** A view of frame f of message i (allocates a view: not for the hot path). */
  frame(i: number, f: number): Uint8Array {
    return this.buf.subarray(this.frameStart(i, f), this.frameEnd(i, f))
  }
}
