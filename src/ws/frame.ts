// WebSocket frame headers (RFC 6455 section 5.2): decoding client frame headers in place and
// encoding the unmasked headers of server frames. Payloads never pass through here: the session
// forwards them as offsets into the read buffer, unmasked in place (5.3).
//
// Invariants:
// - decodeFrameHeader allocates nothing; it fills a caller-owned FrameHeader and returns the
//   header length, 0 when more bytes are needed, or a WS_ERR_* code. The caller keeps partial
//   headers in its read buffer (at most FRAME_HEADER_SIZE_MAX_BYTES), so no spill is needed.
// - Protocol rules that depend on the session (fragmentation, RSV1 with deflate) are checked by
//   the session, not here; this file checks only what one header alone can violate.

import { WS_CONTROL_PAYLOAD_MAX_BYTES } from '../limits.ts'

/** 2 bytes of flags and length, up to 8 of extended length, 4 of mask (RFC 6455 5.2). */
export const FRAME_HEADER_SIZE_MAX_BYTES = 14
/** A server frame header: no mask (RFC 6455 5.1: servers never mask). */
export const SERVER_FRAME_HEADER_SIZE_MAX_BYTES = 10

// Opcodes (RFC 6455 5.2, 11.8).
export const OP_CONTINUATION = 0x0
export const OP_TEXT = 0x1
export const OP_BINARY = 0x2
export const OP_CLOSE = 0x8
export const OP_PING = 0x9
export const OP_PONG = 0xa

// Close codes zgate sends (RFC 6455 7.4.1).
export const CLOSE_NORMAL = 1000
export const CLOSE_GOING_AWAY = 1001
export const CLOSE_PROTOCOL_ERROR = 1002
export const CLOSE_INVALID_PAYLOAD = 1007
export const CLOSE_MESSAGE_TOO_BIG = 1009

// Header errors (negative, so they never look like a header length).
/** A reserved opcode (3-7, 11-15). */
export const WS_ERR_OPCODE = -1
/** RSV2 or RSV3 set: no extension zgate negotiates defines them (RFC 6455 5.2). */
export const WS_ERR_RSV = -2
/** A control frame that is fragmented, too long, or compressed (RFC 6455 5.5, RFC 7692 6). */
export const WS_ERR_CONTROL = -3
/** A 64-bit length with the most significant bit set (RFC 6455 5.2). */
export const WS_ERR_LENGTH = -4
/** A length that is valid but beyond what zgate can represent exactly (2^53). */
export const WS_ERR_TOO_BIG = -5
/** The mask bit is clear: a client MUST mask every frame (RFC 6455 5.1, 5.3). */
export const WS_ERR_UNMASKED = -6

/** The decoded fields of one client frame header. */
export class FrameHeader {
  fin = false
  rsv1 = false
  opcode = 0
  /** Always true once decoded: unmasked client frames are refused (WS_ERR_UNMASKED). */
  masked = false
  /** The 4 mask bytes as one big-endian integer (a zero key is valid: unmasking is a no-op). */
  mask = 0
  payloadLength = 0
}

/**
 * Decodes the frame header at buf[start, end). Returns its length (2-14), 0 when the header is
 * not complete yet, or a WS_ERR_* code.
 */
export function decodeFrameHeader(buf: Uint8Array, start: number, end: number, out: FrameHeader): number {
  if (end - start < 2) return 0
  const b0 = buf[start]
  const b1 = buf[start + 1]
  const opcode = b0 & 0x0f
  if ((b0 & 0x30) !== 0) return WS_ERR_RSV
  const control = (opcode & 0x08) !== 0
  if (opcode > OP_BINARY && !control) return WS_ERR_OPCODE
  if (opcode > OP_PONG) return WS_ERR_OPCODE
  const fin = (b0 & 0x80) !== 0
  const rsv1 = (b0 & 0x40) !== 0
  let len = b1 & 0x7f
  let pos = start + 2
  if (control && (!fin || rsv1 || len > WS_CONTROL_PAYLOAD_MAX_BYTES)) return WS_ERR_CONTROL
  // RFC 6455 5.1: the server MUST close on an unmasked client frame (Condure accepts them);
  // known at the second byte, so a long extended length is never waited for.
  if ((b1 & 0x80) === 0) return WS_ERR_UNMASKED
  if (len === 126) {
    if (end - pos < 2) return 0
    len = (buf[pos] << 8) | buf[pos + 1]
    pos += 2
  } else if (len === 127) {
    if (end - pos < 8) return 0
    const hi = buf[pos]
    if (hi & 0x80) return WS_ERR_LENGTH
    // Lengths up to 2^53 are exact in a double; anything longer cannot be streamed correctly.
    if (hi !== 0 || buf[pos + 1] > 0x1f) return WS_ERR_TOO_BIG
    const high = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
    const low = ((buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]) >>> 0
    len = high * 0x1_0000_0000 + low
    pos += 8
  }
  if (end - pos < 4) return 0
  const mask = ((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0
  pos += 4
  out.fin = fin
  out.rsv1 = rsv1
  out.opcode = opcode
  out.masked = true
  out.mask = mask
  out.payloadLength = len
  return pos - start
}

/** Payloads at least this long are unmasked a 32-bit word at a time. */
const UNMASK_WORDS_MIN_BYTES = 64
/** Word-wise unmasking below assumes little-endian words (every platform Bun runs on). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** The last buffer seen as 32-bit words: connection buffers come from a few pooled slabs, so
 * the view is almost always reused rather than made. */
let wordsOf: ArrayBufferLike | null = null
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0)

/**
 * Unmasks buf[s, e) in place (RFC 6455 5.3). `offset` is the position of buf[s] within the
 * frame payload, so a payload unmasked in several pieces uses the right mask bytes.
 */
export function unmask(buf: Uint8Array, s: number, e: number, mask: number, offset: number): void {
  if (mask === 0) return
  const key0 = mask >>> 24
  const key1 = (mask >>> 16) & 0xff
  const key2 = (mask >>> 8) & 0xff
  const key3 = mask & 0xff
  let k = offset & 3
  let i = s
  if (e - s >= UNMASK_WORDS_MIN_BYTES && LITTLE_ENDIAN) {
    // Bytes up to a 4-byte boundary of the underlying memory, then whole words whose mask is
    // the key rotated to the phase of their first byte.
    while (((buf.byteOffset + i) & 3) !== 0) {
      buf[i++] ^= k === 0 ? key0 : k === 1 ? key1 : k === 2 ? key2 : key3
      k = (k + 1) & 3
    }
    const ab = buf.buffer
    if (wordsOf !== ab) {
      wordsOf = ab
      words = new Uint32Array(ab, 0, ab.byteLength >>> 2)
    }
    const k0 = k === 0 ? key0 : k === 1 ? key1 : k === 2 ? key2 : key3
    const k1 = k === 0 ? key1 : k === 1 ? key2 : k === 2 ? key3 : key0
    const k2 = k === 0 ? key2 : k === 1 ? key3 : k === 2 ? key0 : key1
    const k3 = k === 0 ? key3 : k === 1 ? key0 : k === 2 ? key1 : key2
    const m = (k0 | (k1 << 8) | (k2 << 16) | (k3 << 24)) >>> 0
    const w0 = (buf.byteOffset + i) >>> 2
    const wn = (e - i) >>> 2
    for (let w = w0; w < w0 + wn; w++) words[w] ^= m
    i += wn << 2
  } else {
    // Align to the mask, then four bytes per step.
    while (i < e && k !== 0) {
      buf[i++] ^= k === 1 ? key1 : k === 2 ? key2 : key3
      k = (k + 1) & 3
    }
    for (; i + 4 <= e; i += 4) {
      buf[i] ^= key0
      buf[i + 1] ^= key1
      buf[i + 2] ^= key2
      buf[i + 3] ^= key3
    }
  }
  for (; i < e; i++) {
    buf[i] ^= k === 0 ? key0 : k === 1 ? key1 : k === 2 ? key2 : key3
    k = (k + 1) & 3
  }
}

/**
 * Writes an unmasked server frame header at out[pos] and returns the new position
 * (RFC 6455 5.2: the shortest length encoding). `rsv1` marks a compressed message (RFC 7692 6).
 */
export function writeFrameHeader(
  out: Uint8Array,
  pos: number,
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  len: number,
): number {
  out[pos++] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode
  if (len < 126) {
    out[pos++] = len
  } else if (len < 0x10000) {
    out[pos++] = 126
    out[pos++] = len >>> 8
    out[pos++] = len & 0xff
  } else {
    out[pos++] = 127
    const high = Math.floor(len / 0x1_0000_0000)
    const low = len >>> 0
    out[pos++] = 0
    out[pos++] = (high >>> 16) & 0xff
    out[pos++] = (high >>> 8) & 0xff
    out[pos++] = high & 0xff
    out[pos++] = low >>> 24
    out[pos++] = (low >>> 16) & 0xff
    out[pos++] = (low >>> 8) & 0xff
    out[pos++] = low & 0xff
  }
  return pos
}

/**
 * Whether a client may send `code` in a close frame (RFC 6455 7.4.1, 7.4.2): the defined codes
 * except the ones that must never appear on the wire (1004-1006, 1015), and 3000-4999.
 */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true
  if (code < 1000 || code > 1014) return false
  return code !== 1004 && code !== 1005 && code !== 1006
}
