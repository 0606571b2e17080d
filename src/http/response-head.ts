// Serialises a handler's response head (the first data packet of a response, zhttp.md 4.7)
// into an output buffer, choosing the body framing the way Condure does:
// - handler `Content-Length`, `Transfer-Encoding` and `Connection` headers are dropped;
// - a handler Content-Length value is the length (stream mode); response-writer.ts holds the
//   body to it, where Condure trusts it blindly;
// - else a packet without `more` is the whole body: `Content-Length: <body length>`;
// - else HTTP/1.1 uses chunked encoding (`Connection: Transfer-Encoding` + `Transfer-Encoding:
//   chunked`, exactly the pair Condure writes), and HTTP/1.0 delimits by closing;
// - 1xx, 204 and 304 carry no body and no Content-Length (RFC 9110 6.4.1).
// Persistence: `Connection: close` on HTTP/1.1 when the connection ends after this response,
// `Connection: keep-alive` on HTTP/1.0 when it is kept.

import type { ResponseHeadSpans, ResponseStartSpans } from './response-spans.ts'
import { writeDecimal } from '../util/digits.ts'
// Names kept short at the call sites: nameIs compares a header name ignoring ASCII case.
import { copyBytes, spanEqualsLower as nameIs, writeAscii as ascii } from '../util/bytes.ts'

export const FRAMING_LENGTH = 0
export const FRAMING_CHUNKED = 1
export const FRAMING_CLOSE = 2
export const FRAMING_NONE = 3

/** Result of writeResponseHead (shared scratch, read right after the call). */
export const headResult = {
  pos: 0,
  framing: FRAMING_LENGTH,
  /** Declared length for FRAMING_LENGTH. */
  length: 0,
  keepAlive: false,
  /** True when the handler's Content-Length was not a number, or two disagreed. */
  badLength: false,
}

const CRLF = [0x0d, 0x0a]
/** Digits a handler Content-Length may have: every 15-digit number is below 2^53, so it is
 * read exactly into a double. */
const HANDLER_LENGTH_DIGITS_MAX = 15
/** Bytes writeResponseHead adds besides the reason and the handler's headers, rounded up: the
 * status line without the reason (15), one Connection line (at most 24), the longer framing,
 * the chunked pair (59), and the final CRLF: at most 100. */
const RESPONSE_HEAD_FIXED_BYTES_MAX = 128
/** `: ` and CRLF around each header line. */
const HEADER_LINE_FRAMING_BYTES = 4

/**
 * The request method buf[s, e) is HEAD (case-sensitive, RFC 9110 9.1): its response has no
 * body whatever its headers announce (9.3.2), so handler body bytes must not be written.
 */
export function isHeadMethod(buf: Uint8Array, s: number, e: number): boolean {
  return e - s === 4 && buf[s] === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44
}

/** Parses a decimal Content-Length value (surrounding blanks allowed); -1 when invalid. */
function parseLength(buf: Uint8Array, s: number, e: number): number {
  while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++
  while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--
  if (s === e || e - s > HANDLER_LENGTH_DIGITS_MAX) return -1
  let n = 0
  for (let i = s; i < e; i++) {
    const c = buf[i]
    if (c < 0x30 || c > 0x39) return -1
    n = n * 10 + (c - 0x30)
  }
  return n
}

/**
 * Writes status line and headers of `p` into out at pos. `http10` is the request's version;
 * `keepAlive` whether the request allows reuse (already false after an early response).
 * `wholeBody`: req mode (zhttp.md 4.11), where the packet is the whole response: the length is
 * always the body's, whatever the handler's Content-Length or `more` say.
 */
export function writeResponseHead(
  out: Uint8Array,
  pos: number,
  p: ResponseStartSpans,
  http10: boolean,
  keepAlive: boolean,
  wholeBody = false,
): void {
  const buf = p.buf
  const code = p.code < 0 ? 0 : p.code
  headResult.badLength = false
  pos = ascii(out, pos, http10 ? 'HTTP/1.0 ' : 'HTTP/1.1 ')
  pos = writeDecimal(out, pos, code)
  out[pos++] = 0x20
  if (p.reasonStart >= 0) pos = copyBytes(out, pos, buf, p.reasonStart, p.reasonEnd)
  out[pos++] = CRLF[0]
  out[pos++] = CRLF[1]
  let handlerLength = -1
  for (let i = 0; i < p.headerCount; i++) {
    const ns = p.headerNameStart[i]
    const ne = p.headerNameEnd[i]
    const vs = p.headerValueStart[i]
    const ve = p.headerValueEnd[i]
    if (nameIs(buf, ns, ne, 'content-length')) {
      if (wholeBody) continue
      const n = parseLength(buf, vs, ve)
      // Two lengths that disagree are as unusable as one that is not a number (RFC 9110 8.6).
      if (n < 0 || (handlerLength >= 0 && n !== handlerLength)) headResult.badLength = true
      else handlerLength = n
      continue
    }
    if (nameIs(buf, ns, ne, 'transfer-encoding') || nameIs(buf, ns, ne, 'connection')) continue
    pos = copyBytes(out, pos, buf, ns, ne)
    out[pos++] = 0x3a // ':'
    out[pos++] = 0x20
    pos = copyBytes(out, pos, buf, vs, ve)
    out[pos++] = CRLF[0]
    out[pos++] = CRLF[1]
  }
  let framing: number
  let length = 0
  if ((code >= 100 && code < 200) || code === 204 || code === 304) {
    framing = FRAMING_NONE
  } else if (handlerLength >= 0) {
    framing = FRAMING_LENGTH
    length = handlerLength
  } else if (!p.more || wholeBody) {
    framing = FRAMING_LENGTH
    length = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
  } else if (!http10) {
    framing = FRAMING_CHUNKED
  } else {
    // HTTP/1.0 cannot frame a body of unknown size except by closing (RFC 1945 7.2.2).
    // Condure keeps such a connection open unframed when the client asked for keep-alive;
    // zgate closes instead, which is the only way the client can find the body's end.
    framing = FRAMING_CLOSE
    keepAlive = false
  }
  // Condure's order: the persistence header first, then the framing headers.
  if (!keepAlive && !http10) pos = ascii(out, pos, 'Connection: close\r\n')
  else if (keepAlive && http10) pos = ascii(out, pos, 'Connection: keep-alive\r\n')
  if (framing === FRAMING_LENGTH) {
    pos = ascii(out, pos, 'Content-Length: ')
    pos = writeDecimal(out, pos, length)
    out[pos++] = CRLF[0]
    out[pos++] = CRLF[1]
  } else if (framing === FRAMING_CHUNKED) {
    pos = ascii(out, pos, 'Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n')
  }
  out[pos++] = CRLF[0]
  out[pos++] = CRLF[1]
  headResult.pos = pos
  headResult.framing = framing
  headResult.length = length
  headResult.keepAlive = keepAlive
}

/** Upper bound of writeResponseHead's output for `p`, to size the output buffer. */
export function responseHeadSizeMax(p: ResponseHeadSpans): number {
  let n = RESPONSE_HEAD_FIXED_BYTES_MAX + (p.reasonStart >= 0 ? p.reasonEnd - p.reasonStart : 0)
  for (let i = 0; i < p.headerCount; i++) {
    n += p.headerNameEnd[i] - p.headerNameStart[i] + p.headerValueEnd[i] - p.headerValueStart[i]
    n += HEADER_LINE_FRAMING_BYTES
  }
  return n
}
