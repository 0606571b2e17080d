// The request fields every request packet carries, stream mode's first packet and req mode's
// one packet alike (zhttp.md 3.3, 4.3, 4.11): `method`, `uri` (and the Host it uses),
// `headers`, `peer-address`/`peer-port`, and the guess at the packet's length. Written straight
// from the client's request bytes with no intermediate copy. StreamClient.sendFirstPacket and
// ReqClient.sendRequest add the fields of their mode around these.

import type { RequestHead } from '../http/parser.ts'
import type { TnWriter } from './tnetstring.ts'
import {
  KEY_HEADERS,
  KEY_METHOD,
  KEY_PEER_ADDRESS,
  KEY_PEER_PORT,
  KEY_URI,
} from './packet-types.ts'
import { decimalDigits, writeDecimal } from '../util/digits.ts'
import { copyBytes, writeAscii } from '../util/bytes.ts'

/** `uri` schemes (zhttp.md 4.3, 5.2; checklist 19): https and wss on a `tls` listener. */
const HTTP_SCHEME = 'http://'
const WS_SCHEME = 'ws://'
const HTTPS_SCHEME = 'https://'
const WSS_SCHEME = 'wss://'

/** The `uri` scheme of a request on a TLS (`secure`) or plain listener. */
export function uriScheme(secure: boolean, ws: boolean): string {
  if (secure) return ws ? WSS_SCHEME : HTTPS_SCHEME
  return ws ? WS_SCHEME : HTTP_SCHEME
}
const LOCALHOST = 'localhost'

/** Length of the `uri` writeUriValue produces; hostS < 0 stands for the default host. */
export function uriLength(hostS: number, hostE: number, tS: number, tE: number, scheme: string): number {
  return scheme.length + (hostS < 0 ? LOCALHOST.length : hostE - hostS) + (tE - tS)
}

/**
 * The authority the `uri` uses (zhttp.md 4.3), followed there by buf[h.pathStart, h.targetEnd):
 * - an absolute-form target's own authority: it wins over Host (RFC 9112 3.2.2), and the two
 *   are never joined (Condure writes `http://<Host>http://<authority>/...`);
 * - else the Host header's value;
 * - else none (HTTP/1.0 without Host), for which the caller writes `localhost` as Condure does.
 * The parser checked both against the host grammar, which is ASCII, so Condure's rule for a
 * Host that is not UTF-8 (localhost) has nothing left to catch. Sets hostRange.start/end;
 * start -1 for none.
 */
export function findUriHost(buf: Uint8Array, h: RequestHead): void {
  hostRange.start = -1
  hostRange.end = -1
  if (h.authorityStart >= 0) {
    hostRange.start = h.authorityStart
    hostRange.end = h.authorityEnd
  } else if (h.hostIndex >= 0) {
    hostRange.start = h.valueStart[h.hostIndex]
    hostRange.end = h.valueEnd[h.hostIndex]
  }
}

/**
 * An absolute-form target names the listener's own scheme: `http` on a plain listener, `https`
 * on a TLS one. The uri's scheme tells the handler how the client connected, so a target that
 * claims the other one is refused (400) rather than passed on or rewritten.
 */
export function targetSchemeMatches(h: RequestHead, secure: boolean): boolean {
  return h.authorityStart < 0 || h.targetHttps === secure
}

/** Result of findUriHost (shared scratch, read right after the call). */
export const hostRange = { start: -1, end: -1 }

/**
 * The `uri` value: scheme + host (or "localhost" when hostS < 0) + target, written as one
 * tnetstring byte string (zhttp.md 4.3).
 */
export function writeUriValue(
  w: TnWriter,
  buf: Uint8Array,
  hostS: number,
  hostE: number,
  tS: number,
  tE: number,
  scheme: string,
): void {
  const len = uriLength(hostS, hostE, tS, tE, scheme)
  const out = w.buf
  let pos = w.pos
  pos = writeDecimal(out, pos, len)
  out[pos++] = 0x3a // ':'
  pos = writeAscii(out, pos, scheme)
  if (hostS < 0) pos = writeAscii(out, pos, LOCALHOST)
  else pos = copyBytes(out, pos, buf, hostS, hostE)
  pos = copyBytes(out, pos, buf, tS, tE)
  out[pos++] = 0x2c // ','
  w.pos = pos
}

/** The `headers` value: every request header as [name, value], in arrival order (4.3). */
export function writeHeaderList(w: TnWriter, buf: Uint8Array, h: RequestHead): void {
  const headBytes = h.headEnd - h.methodStart
  w.beginList(decimalDigits(headBytes + HEADER_FRAMING_GUESS_BYTES * h.headerCount))
  for (let i = 0; i < h.headerCount; i++) {
    w.beginList()
    w.bytes(buf, h.nameStart[i], h.nameEnd[i])
    w.bytes(buf, h.valueStart[i], h.valueEnd[i])
    w.endList()
  }
  w.endList()
}

/**
 * Tnetstring framing per request header (a pair's `<len>:` and `]`, each string's `<len>:` and
 * `,`: 9 to 15 bytes for names under 100 bytes and values under 1000), generously, for the
 * length-prefix guesses of a request packet and of its `headers` list.
 */
const HEADER_FRAMING_GUESS_BYTES = 24
/** A request packet's fields besides the head bytes and headers, for the same guess. */
const REQUEST_FIELDS_GUESS_BYTES = 200

/**
 * A guess at the length of a request packet's map, so that its length prefix rarely needs a
 * move (TnWriter.endMap fixes a wrong guess, so it never changes the bytes): the head bytes,
 * framing per header, the other fields, and `extraBytes` the caller adds (body, peer address).
 */
export function requestPacketSizeGuess(h: RequestHead, extraBytes: number): number {
  const headBytes = h.headEnd - h.methodStart
  const framing = HEADER_FRAMING_GUESS_BYTES * h.headerCount
  return headBytes + framing + REQUEST_FIELDS_GUESS_BYTES + extraBytes
}

/**
 * `method`, `uri` (scheme + host, or "localhost" when hostS < 0, + target) and `headers`
 * (omitted when the request has none), in Condure's order (zhttp.md 4.3, 4.11).
 */
export function writeRequestFields(
  w: TnWriter,
  buf: Uint8Array,
  h: RequestHead,
  hostS: number,
  hostE: number,
  scheme: string,
): void {
  w.encoded(KEY_METHOD)
  w.bytes(buf, h.methodStart, h.methodEnd)
  w.encoded(KEY_URI)
  writeUriValue(w, buf, hostS, hostE, h.pathStart, h.targetEnd, scheme)
  if (h.headerCount > 0) {
    w.encoded(KEY_HEADERS)
    writeHeaderList(w, buf, h)
  }
}

/** `peer-address` and `peer-port`; both omitted for a unix-socket client (address '', 4.3). */
export function writePeerFields(w: TnWriter, address: string, port: number): void {
  if (address === '') return
  w.encoded(KEY_PEER_ADDRESS)
  w.ascii(address)
  w.encoded(KEY_PEER_PORT)
  w.int(port)
}
