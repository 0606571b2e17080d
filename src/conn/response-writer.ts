// Turns one handler response data packet into client bytes (zhttp.md 4.7): the head on the
// first packet, then the body in the framing the head chose — raw for a known length or a
// close-delimited body, chunked (lower-case hex sizes, at most 0xffff bytes per chunk) for an
// unknown length on HTTP/1.1, nothing for 1xx/204/304 — and the last-chunk when the packet
// ends the response. Everything goes into one output buffer so the client gets one write.

import type { HandlerPacket } from '../zhttp/packet.ts'
import {
  writeResponseHead,
  responseHeadSizeMax,
  headResult,
  FRAMING_CHUNKED,
  FRAMING_NONE,
} from '../http/response-head.ts'
import { RESPONSE_CHUNK_SIZE_MAX_BYTES } from '../limits.ts'
import { writeHex } from '../util/digits.ts'

/** The per-response facts the writer reads and, on the first packet, sets. */
export interface ResponseState {
  respStarted: boolean
  framing: number
  keepAlive: boolean
  http10: boolean
}

const LAST_CHUNK = new TextEncoder().encode('0\r\n\r\n')
/** Chunk-size line and CRLFs around one chunk, at most. */
const CHUNK_FRAMING_BYTES = 12

/** Bytes `p` may need in the output buffer, whatever the framing. */
export function responseSizeMax(p: HandlerPacket): number {
  const body = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
  const chunks = Math.ceil(body / RESPONSE_CHUNK_SIZE_MAX_BYTES) + 1
  return responseHeadSizeMax(p) + body + chunks * CHUNK_FRAMING_BYTES + LAST_CHUNK.length
}

/**
 * Writes the client bytes for `p` into out from 0 and returns their length, or -1 when the
 * handler's Content-Length is not a number (the caller closes and cancels). `bodyWritten`
 * tells how many body bytes were framed (they consume the handler's credits).
 */
export function composeResponse(out: Uint8Array, p: HandlerPacket, st: ResponseState): number {
  let pos = 0
  if (!st.respStarted) {
    writeResponseHead(out, 0, p, st.http10, st.keepAlive)
    if (headResult.badLength) return -1
    pos = headResult.pos
    st.framing = headResult.framing
    st.keepAlive = headResult.keepAlive
    st.respStarted = true
  }
  composed.bodyWritten = 0
  const bodyLen = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
  if (bodyLen > 0 && st.framing !== FRAMING_NONE) {
    if (st.framing === FRAMING_CHUNKED) {
      for (let o = p.bodyStart; o < p.bodyEnd; ) {
        const n = Math.min(RESPONSE_CHUNK_SIZE_MAX_BYTES, p.bodyEnd - o)
        pos = writeHex(out, pos, n)
        out[pos++] = 0x0d
        out[pos++] = 0x0a
        out.set(p.buf.subarray(o, o + n), pos)
        pos += n
        out[pos++] = 0x0d
        out[pos++] = 0x0a
        o += n
      }
    } else {
      out.set(p.buf.subarray(p.bodyStart, p.bodyEnd), pos)
      pos += bodyLen
    }
    composed.bodyWritten = bodyLen
  }
  if (!p.more && st.framing === FRAMING_CHUNKED) {
    out.set(LAST_CHUNK, pos)
    pos += LAST_CHUNK.length
  }
  return pos
}

/** Side result of composeResponse (read right after the call). */
export const composed = { bodyWritten: 0 }
