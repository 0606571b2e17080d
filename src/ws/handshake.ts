// The WebSocket opening handshake, server side (RFC 6455 section 4.2; zhttp.md 5.1, 5.3):
// checking an upgrade request, computing Sec-WebSocket-Accept, and writing the handler's 101
// (or its rejection) with the headers only the gateway may set.
//
// A request is an upgrade iff an `Upgrade` header is `websocket` in any ASCII case (RFC 6455
// 4.2.1; the parser records that; Condure wants it lower-case, zhttp.md 5.1). `Connection` is
// not compared, as in Condure. It is valid iff the method is GET, there is no body,
// Sec-WebSocket-Version is exactly 13 and a Sec-WebSocket-Key exists.

import type { RequestHead } from '../http/parser.ts'
import type { ResponseHeadSpans, ResponseSpans } from '../http/response-spans.ts'
// Names kept short at the call sites: nameIs compares a header name ignoring ASCII case.
import { copyBytes, spanEqualsLower as nameIs, writeAscii as ascii } from '../util/bytes.ts'
import { writeDecimal } from '../util/digits.ts'
import { WS_KEY_SIZE_MAX_BYTES } from '../limits.ts'

export const UPGRADE_OK = 0
/** Not GET, a body, a version other than 13, or no key: refused before any packet (5.1). */
export const UPGRADE_INVALID = 1

/** RFC 6455 1.3: appended to the client's key before hashing. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
/** Base64 of a 20-byte SHA-1 digest. */
export const ACCEPT_SIZE_BYTES = 28
const SHA1_SIZE_BYTES = 20

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const keyScratch = new Uint8Array(WS_KEY_SIZE_MAX_BYTES + ACCEPT_GUID.length)
const digest = new Uint8Array(SHA1_SIZE_BYTES)
for (let i = 0; i < ACCEPT_GUID.length; i++) keyScratch[WS_KEY_SIZE_MAX_BYTES + i] = ACCEPT_GUID.charCodeAt(i)

/** Checks the upgrade request in `h` (parsed from buf). */
export function checkUpgrade(buf: Uint8Array, h: RequestHead): number {
  const m = h.methodStart
  if (h.methodEnd - m !== 3 || buf[m] !== 0x47 || buf[m + 1] !== 0x45 || buf[m + 2] !== 0x54) {
    return UPGRADE_INVALID // GET, case-sensitive (RFC 9110 9.1)
  }
  if (h.chunked || h.contentLength > 0) return UPGRADE_INVALID
  const v = h.wsVersionIndex
  if (v < 0) return UPGRADE_INVALID
  const vs = h.valueStart[v]
  if (h.valueEnd[v] - vs !== 2 || buf[vs] !== 0x31 || buf[vs + 1] !== 0x33) return UPGRADE_INVALID
  const k = h.wsKeyIndex
  if (k < 0 || h.valueEnd[k] - h.valueStart[k] > WS_KEY_SIZE_MAX_BYTES) return UPGRADE_INVALID
  return UPGRADE_OK
}

/**
 * Writes base64(SHA-1(key + GUID)) for the key buf[ks, ke) at out[pos] (RFC 6455 4.2.2 item
 * 5.4); returns pos + ACCEPT_SIZE_BYTES. The key is taken verbatim, as Condure does.
 */
export function writeAcceptKey(out: Uint8Array, pos: number, buf: Uint8Array, ks: number, ke: number): number {
  const n = ke - ks
  const from = WS_KEY_SIZE_MAX_BYTES - n
  copyBytes(keyScratch, from, buf, ks, ke)
  Bun.SHA1.hash(keyScratch.subarray(from), digest)
  // 20 bytes: six full 3-byte groups, then two bytes with one '=' of padding.
  let i = 0
  for (; i + 3 <= SHA1_SIZE_BYTES; i += 3) {
    const v = (digest[i] << 16) | (digest[i + 1] << 8) | digest[i + 2]
    out[pos++] = BASE64.charCodeAt(v >>> 18)
    out[pos++] = BASE64.charCodeAt((v >>> 12) & 63)
    out[pos++] = BASE64.charCodeAt((v >>> 6) & 63)
    out[pos++] = BASE64.charCodeAt(v & 63)
  }
  const v = (digest[i] << 16) | (digest[i + 1] << 8)
  out[pos++] = BASE64.charCodeAt(v >>> 18)
  out[pos++] = BASE64.charCodeAt((v >>> 12) & 63)
  out[pos++] = BASE64.charCodeAt((v >>> 6) & 63)
  out[pos++] = 0x3d // '='
  return pos
}

/**
 * Headers the gateway owns on a handshake response (zhttp.md 5.3): the four WebSocket ones,
 * plus the framing and persistence headers, which a 101 must not carry and which the gateway
 * computes itself on a rejection.
 */
function isGatewayHeader(buf: Uint8Array, s: number, e: number): boolean {
  switch (e - s) {
    case 7:
      return nameIs(buf, s, e, 'upgrade')
    case 10:
      return nameIs(buf, s, e, 'connection')
    case 14:
      return nameIs(buf, s, e, 'content-length')
    case 17:
      return nameIs(buf, s, e, 'transfer-encoding')
    case 20:
      return nameIs(buf, s, e, 'sec-websocket-accept')
    case 24:
      return nameIs(buf, s, e, 'sec-websocket-extensions')
    default:
      return false
  }
}

/** Status line and the handler's headers except the gateway's own (no final CRLF). */
function writeStatusAndHeaders(out: Uint8Array, pos: number, p: ResponseHeadSpans, code: number, http10: boolean): number {
  const buf = p.buf
  // zhttp.md 5.1: an HTTP/1.0 upgrade is answered with an HTTP/1.0 status line.
  pos = ascii(out, pos, http10 ? 'HTTP/1.0 ' : 'HTTP/1.1 ')
  pos = writeDecimal(out, pos, code)
  out[pos++] = 0x20
  if (p.reasonStart >= 0) pos = copyBytes(out, pos, buf, p.reasonStart, p.reasonEnd)
  pos = ascii(out, pos, '\r\n')
  for (let i = 0; i < p.headerCount; i++) {
    const ns = p.headerNameStart[i]
    const ne = p.headerNameEnd[i]
    if (isGatewayHeader(buf, ns, ne)) continue
    pos = copyBytes(out, pos, buf, ns, ne)
    pos = ascii(out, pos, ': ')
    pos = copyBytes(out, pos, buf, p.headerValueStart[i], p.headerValueEnd[i])
    pos = ascii(out, pos, '\r\n')
  }
  return pos
}

/**
 * The handler's 101 (zhttp.md 5.3): its status and headers, then Upgrade, Connection, the
 * computed Sec-WebSocket-Accept and, when negotiated, Sec-WebSocket-Extensions (`ext` bytes).
 * Returns the end position.
 */
export function writeAcceptHead(
  out: Uint8Array,
  pos: number,
  p: ResponseHeadSpans,
  http10: boolean,
  reqBuf: Uint8Array,
  keyStart: number,
  keyEnd: number,
  ext: Uint8Array | null,
): number {
  pos = writeStatusAndHeaders(out, pos, p, 101, http10)
  pos = ascii(out, pos, 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ')
  pos = writeAcceptKey(out, pos, reqBuf, keyStart, keyEnd)
  pos = ascii(out, pos, '\r\n')
  if (ext !== null) {
    pos = ascii(out, pos, 'Sec-WebSocket-Extensions: ')
    pos = copyBytes(out, pos, ext, 0, ext.length)
    pos = ascii(out, pos, '\r\n')
  }
  return ascii(out, pos, '\r\n')
}

/**
 * A rejection (`error` with condition `rejected`, zhttp.md 5.3): the handler's status, headers
 * and body with a computed Content-Length; the connection closes after it, which
 * `Connection: close` tells the client (Condure leaves that header out).
 */
export function writeRejection(
  out: Uint8Array,
  pos: number,
  p: ResponseSpans,
  http10: boolean,
): number {
  const bodyLen = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
  pos = writeStatusAndHeaders(out, pos, p, p.code < 0 ? 0 : p.code, http10)
  pos = ascii(out, pos, 'Content-Length: ')
  pos = writeDecimal(out, pos, bodyLen)
  pos = ascii(out, pos, '\r\nConnection: close\r\n\r\n')
  if (bodyLen > 0) pos = copyBytes(out, pos, p.buf, p.bodyStart, p.bodyEnd)
  return pos
}

/** Upper bound of writeAcceptHead / writeRejection output for `p`. */
export function handshakeSizeMax(p: ResponseSpans, extBytes: number): number {
  let n = 256 + extBytes + (p.reasonStart >= 0 ? p.reasonEnd - p.reasonStart : 0)
  if (p.bodyStart >= 0) n += p.bodyEnd - p.bodyStart
  for (let i = 0; i < p.headerCount; i++) {
    n += p.headerNameEnd[i] - p.headerNameStart[i] + p.headerValueEnd[i] - p.headerValueStart[i] + 4
  }
  return n
}
