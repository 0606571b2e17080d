// Turns one handler response data packet into client bytes (zhttp.md 4.7): the head on the
// first packet, then the body in the framing the head chose — raw for a known length or a
// close-delimited body, chunked (lower-case hex sizes, at most 0xffff bytes per chunk) for an
// unknown length on HTTP/1.1, nothing for 1xx/204/304 and HEAD — and the last-chunk when the
// packet ends the response. Everything goes into one output buffer so the client gets one write.
//
// The client must be able to find the end of every response from its bytes alone, whatever
// the handler sends (Condure trusts the handler here, zhttp.md 4.7):
// - the head is checked first (response-check.ts); a bad one is refused before any byte;
// - under a known length, a packet that would go past it is refused whole (its extra bytes
//   would be read as the next response), and a response that ends short of it is written and
//   the connection then closes (the client sees a short body, never a desync). In the first
//   packet both are refused before anything is written;
// - a HEAD response carries no body (RFC 9110 9.3.2): handler body bytes are discarded.

import type { HandlerPacket } from '../zhttp/packet.ts'
import {
  writeResponseHead,
  responseHeadSizeMax,
  headResult,
  FRAMING_CHUNKED,
  FRAMING_LENGTH,
  FRAMING_NONE,
} from '../http/response-head.ts'
import {
  checkResponseHead,
  INVALID_NONE,
  INVALID_CONTENT_LENGTH,
  INVALID_BODY_OVER_LENGTH,
  INVALID_BODY_UNDER_LENGTH,
} from '../http/response-check.ts'
import { RESPONSE_CHUNK_SIZE_MAX_BYTES } from '../limits.ts'
import { writeHex } from '../util/digits.ts'

/** The per-response facts the writer reads and, on the first packet, sets. */
export interface ResponseState {
  respStarted: boolean
  framing: number
  keepAlive: boolean
  http10: boolean
  /** The request's method is HEAD: no body bytes go out (set per request). */
  headRequest: boolean
  /** FRAMING_LENGTH: body bytes the head announced and that are not yet written. */
  lengthLeft: number
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
 * packet is refused (`composed.invalid` says why; nothing of it may be written: the caller
 * answers 502 or closes, and cancels). A response that ended short of its length returns its
 * bytes with `composed.invalid` set and `st.keepAlive` false. `composed.bodyWritten` tells how
 * many body bytes were framed (they consume the handler's credits).
 */
export function composeResponse(out: Uint8Array, p: HandlerPacket, st: ResponseState): number {
  composed.bodyWritten = 0
  composed.invalid = INVALID_NONE
  const bodyLen = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
  let pos = 0
  let framing = st.framing
  let lengthLeft = st.lengthLeft
  let keepAlive = st.keepAlive
  const first = !st.respStarted
  if (first) {
    const bad = checkResponseHead(p, false)
    if (bad !== INVALID_NONE) return refuse(bad)
    writeResponseHead(out, 0, p, st.http10, st.keepAlive)
    if (headResult.badLength) return refuse(INVALID_CONTENT_LENGTH)
    pos = headResult.pos
    framing = st.headRequest ? FRAMING_NONE : headResult.framing
    lengthLeft = headResult.length
    keepAlive = headResult.keepAlive
  }
  if (framing === FRAMING_LENGTH) {
    if (bodyLen > lengthLeft) return refuse(INVALID_BODY_OVER_LENGTH)
    lengthLeft -= bodyLen
    if (!p.more && lengthLeft > 0) {
      if (first) return refuse(INVALID_BODY_UNDER_LENGTH)
      composed.invalid = INVALID_BODY_UNDER_LENGTH
      keepAlive = false
    }
  }
  st.respStarted = true
  st.framing = framing
  st.lengthLeft = lengthLeft
  st.keepAlive = keepAlive
  if (bodyLen > 0 && framing !== FRAMING_NONE) {
    if (framing === FRAMING_CHUNKED) {
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
  if (!p.more && framing === FRAMING_CHUNKED) {
    out.set(LAST_CHUNK, pos)
    pos += LAST_CHUNK.length
  }
  return pos
}

function refuse(reason: number): number {
  composed.invalid = reason
  return -1
}

/** Side results of composeResponse (read right after the call). */
export const composed = { bodyWritten: 0, invalid: INVALID_NONE }
