// Byte → string helpers for packet fields. Strings come from native slices of a Buffer view of
// the receive buffer (one view per buffer, cached): no per-character concatenation garbage.

const utf8Decoder = new TextDecoder()

let lastBuf: Uint8Array | null = null
let lastView: Buffer | null = null

/** A Buffer over the same memory as `buf` (made once per receive buffer). */
function view(buf: Uint8Array): Buffer {
  if (buf !== lastBuf) {
    lastBuf = buf
    lastView = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  }
  return lastView!
}

/** buf[s, e) as text: ASCII as is, UTF-8 (replacement chars for bad bytes) otherwise. */
export function spanText(buf: Uint8Array, s: number, e: number): string {
  for (let i = s; i < e; i++) {
    if (buf[i] >= 0x80) return utf8Decoder.decode(buf.subarray(s, e))
  }
  return view(buf).toString('latin1', s, e)
}

/** buf[s, e) one char per byte: an injective key for routing tables, whatever the bytes. */
export function spanKey(buf: Uint8Array, s: number, e: number): string {
  return view(buf).toString('latin1', s, e)
}
