// A FIFO of bytes in one pooled buffer, held only while it is non-empty: a connection's
// unread client bytes or unwritten response bytes. Appends compact in place when the buffer
// has room, and move to a larger buffer when it has not (rare: the sizes involved are bounded
// by credits and by pausing the socket).

/** Where queues get their buffers (the server's pool, or a larger one-off allocation). */
export interface BufferSource {
  acquireBuffer(minBytes: number): Uint8Array
  releaseBuffer(buf: Uint8Array): void
}

export class ByteQueue {
  buf: Uint8Array | null = null
  start = 0
  end = 0

  constructor(private readonly source: BufferSource) {}

  get length(): number {
    return this.end - this.start
  }

  append(src: Uint8Array, s: number, e: number): void {
    const n = e - s
    if (n <= 0) return
    let buf = this.buf
    if (buf === null) {
      buf = this.source.acquireBuffer(n)
      this.buf = buf
      this.start = 0
      this.end = 0
    } else if (this.end + n > buf.length) {
      const live = this.end - this.start
      if (live + n <= buf.length) {
        buf.copyWithin(0, this.start, this.end)
      } else {
        const bigger = this.source.acquireBuffer(live + n)
        bigger.set(buf.subarray(this.start, this.end), 0)
        this.source.releaseBuffer(buf)
        buf = bigger
        this.buf = buf
      }
      this.start = 0
      this.end = live
    }
    buf.set(n === src.length ? src : src.subarray(s, e), this.end)
    this.end += n
  }

  /** The first n bytes were used; the buffer goes back to the pool when nothing is left. */
  consume(n: number): void {
    this.start += n
    if (this.start >= this.end) this.clear()
  }

  clear(): void {
    if (this.buf !== null) {
      this.source.releaseBuffer(this.buf)
      this.buf = null
    }
    this.start = 0
    this.end = 0
  }
}
