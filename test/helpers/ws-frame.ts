// A deliberately plain RFC 6455 frame codec for the e2e tests: builds any frame a client could
// put on the wire (masked or not, any opcode, RSV bits, length encoding, even a lying length
// field) and parses what a gateway sends, complete frames only, from an offset. Written from
// RFC 6455 section 5.2 and independent of src/, so a bug in the gateway's codec cannot hide
// itself here. Speed does not matter: buffers are copied freely.

import { concat } from './tnetstring-reference.ts'

export { concat }

export const OP_CONT = 0x0
export const OP_TEXT = 0x1
export const OP_BINARY = 0x2
export const OP_CLOSE = 0x8
export const OP_PING = 0x9
export const OP_PONG = 0xa

/** RSV bits as they sit in the first header byte (RFC 6455 5.2). */
export const RSV1 = 0x40
export const RSV2 = 0x20
export const RSV3 = 0x10

/** Largest payload a 7-bit length can say (RFC 6455 5.2); also the control payload cap (5.5). */
export const LEN7_MAX = 125
const LEN16_MARK = 126
const LEN64_MARK = 127
const LEN16_MAX = 0xffff

/** A fixed mask keeps test failures reproducible; masking is still exercised. */
export const TEST_MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d])

export interface FrameSpec {
  opcode: number
  payload?: Uint8Array | string
  /** Default true. */
  fin?: boolean
  /** RSV bits to set (RSV1 | RSV2 | RSV3 values); default none. */
  rsv?: number
  /** A 4-byte key, or false for an unmasked frame; default TEST_MASK. */
  mask?: Uint8Array | false
  /** Length encoding; default the shortest (RFC 6455 5.2 minimal encoding). */
  lengthForm?: 'auto' | 7 | 16 | 64
  /** Writes this value in the length field instead of the payload's real length. */
  declaredLength?: bigint
}

export interface WsFrame {
  fin: boolean
  /** RSV bits, masked from the first byte (RSV1 = 0x40 ...). */
  rsv: number
  opcode: number
  masked: boolean
  /** Payload, unmasked. */
  payload: Uint8Array
  /** Bytes the frame took on the wire. */
  wireLength: number
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b)
}

/** The bytes of one frame as `spec` describes it. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const payload = typeof spec.payload === 'string' ? utf8(spec.payload) : (spec.payload ?? new Uint8Array(0))
  const mask = spec.mask === undefined ? TEST_MASK : spec.mask
  const declared = spec.declaredLength ?? BigInt(payload.length)
  let form = spec.lengthForm ?? 'auto'
  if (form === 'auto') form = declared <= BigInt(LEN7_MAX) ? 7 : declared <= BigInt(LEN16_MAX) ? 16 : 64
  const head: number[] = [(spec.fin === false ? 0 : 0x80) | (spec.rsv ?? 0) | (spec.opcode & 0x0f)]
  const maskBit = mask ? 0x80 : 0
  if (form === 7) head.push(maskBit | Number(declared))
  else if (form === 16) head.push(maskBit | LEN16_MARK, Number(declared >> 8n) & 0xff, Number(declared) & 0xff)
  else {
    head.push(maskBit | LEN64_MARK)
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((declared >> shift) & 0xffn))
  }
  if (mask) head.push(...mask)
  const out = new Uint8Array(head.length + payload.length)
  out.set(head)
  for (let i = 0; i < payload.length; i++) out[head.length + i] = mask ? payload[i]! ^ mask[i % 4]! : payload[i]!
  return out
}

/** Several frames back to back. */
export function buildFrames(specs: FrameSpec[]): Uint8Array {
  return concat(specs.map(buildFrame))
}

/** A close frame payload: 2-byte big-endian code then the reason (RFC 6455 5.5.1). */
export function closePayload(code: number, reason: Uint8Array | string = ''): Uint8Array {
  const r = typeof reason === 'string' ? utf8(reason) : reason
  return concat([new Uint8Array([code >> 8, code & 0xff]), r])
}

/** Code and reason bytes of a close payload; code undefined when the payload is shorter than 2. */
export function parseClose(payload: Uint8Array): { code?: number; reason: Uint8Array } {
  if (payload.length < 2) return { reason: new Uint8Array(0) }
  return { code: (payload[0]! << 8) | payload[1]!, reason: payload.slice(2) }
}

/**
 * Parses the complete frame at `bytes[at]`; null when more bytes are needed. Throws when a
 * length cannot be represented (the gateway never legitimately sends such a frame).
 */
export function parseFrameAt(bytes: Uint8Array, at: number): WsFrame | null {
  if (bytes.length - at < 2) return null
  const b0 = bytes[at]!
  const b1 = bytes[at + 1]!
  const masked = (b1 & 0x80) !== 0
  let len = b1 & 0x7f
  let pos = at + 2
  if (len === LEN16_MARK) {
    if (bytes.length - pos < 2) return null
    len = (bytes[pos]! << 8) | bytes[pos + 1]!
    pos += 2
  } else if (len === LEN64_MARK) {
    if (bytes.length - pos < 8) return null
    let big = 0n
    for (let i = 0; i < 8; i++) big = (big << 8n) | BigInt(bytes[pos + i]!)
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`frame at ${at}: 64-bit length ${big}`)
    len = Number(big)
    pos += 8
  }
  let key: Uint8Array | undefined
  if (masked) {
    if (bytes.length - pos < 4) return null
    key = bytes.slice(pos, pos + 4)
    pos += 4
  }
  if (bytes.length - pos < len) return null
  const payload = bytes.slice(pos, pos + len)
  if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!
  return { fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload, wireLength: pos + len - at }
}

/** All complete frames from `at`, and the offset after the last one. */
export function parseFrames(bytes: Uint8Array, at = 0): { frames: WsFrame[]; end: number } {
  const frames: WsFrame[] = []
  for (;;) {
    const f = parseFrameAt(bytes, at)
    if (f === null) return { frames, end: at }
    frames.push(f)
    at += f.wireLength
  }
}

export interface WsMessage {
  opcode: number
  /** RSV bits of the first frame (RSV1 = compressed, RFC 7692 6). */
  rsv: number
  payload: Uint8Array
  /** Frames it was written as. */
  frames: number
}

/** Data frames grouped into messages (control frames interleaved are skipped); an unfinished tail is left out. */
export function messagesOf(frames: WsFrame[]): WsMessage[] {
  const out: WsMessage[] = []
  let cur: { first: WsFrame; parts: Uint8Array[] } | undefined
  for (const f of frames) {
    if (f.opcode >= OP_CLOSE) continue
    if (f.opcode !== OP_CONT) cur = { first: f, parts: [] }
    if (!cur) throw new Error('continuation frame without a message')
    cur.parts.push(f.payload)
    if (f.fin) {
      out.push({ opcode: cur.first.opcode, rsv: cur.first.rsv, payload: concat(cur.parts), frames: cur.parts.length })
      cur = undefined
    }
  }
  return out
}

/** Sec-WebSocket-Accept for `key` (RFC 6455 4.2.2), computed here independently of src/. */
export function acceptFor(key: string): string {
  const h = new Bun.CryptoHasher('sha1')
  h.update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
  return h.digest('base64')
}
