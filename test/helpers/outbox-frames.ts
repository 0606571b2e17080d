// Reads back what a socket's outbox holds (layout: src/zmq/outbox.ts), so unit tests can
// compare the packets the production encoders wrote without sending them anywhere.

import { FRAME_HEADER_BYTES } from '../../src/zmq/socket.ts'

/** The frames of every message in buf[0, end), a slice of an outbox. */
export function outboxFrames(buf: Uint8Array, end: number): Uint8Array[][] {
  const out: Uint8Array[][] = []
  let msg: Uint8Array[] = []
  for (let p = 0; p < end; ) {
    const word = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)
    const more = (word & 0x80000000) !== 0
    const len = word & 0x7fffffff
    msg.push(buf.slice(p + FRAME_HEADER_BYTES, p + FRAME_HEADER_BYTES + len))
    p += FRAME_HEADER_BYTES + len
    if (!more) {
      out.push(msg)
      msg = []
    }
  }
  return out
}
