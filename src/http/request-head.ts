// A parsed HTTP/1.x request head (parser.ts fills it) and the parser's error codes: offsets
// into the caller's buffer, every field created in the constructor so the object keeps one
// hidden class, reused for every request a worker parses.

import { REQUEST_HEADERS_MAX } from '../limits.ts'

// --- error codes (all negative; 0 is success) ---
/** No empty line inside [start, end): the caller passed less than findHeadEnd() found. */
export const PARSE_ERR_INCOMPLETE = -1
/** Request line not `method SP target SP HTTP/d.d` with single spaces (400). */
export const PARSE_ERR_REQUEST_LINE = -2
/** A method byte outside tchar (400, RFC 9110 9.1 / 5.6.2). */
export const PARSE_ERR_METHOD = -3
/** A request-target byte that is a CTL, SP or DEL (400, RFC 9112 3.2). */
export const PARSE_ERR_TARGET = -4
/** The request-target alone is longer than URI_SIZE_MAX_BYTES (414, RFC 9112 3). */
export const PARSE_ERR_URI_TOO_LONG = -5
/** Well-formed HTTP-version other than 1.0 or 1.1 (505, RFC 9110 15.6.6). */
export const PARSE_ERR_VERSION = -6
/** Empty field name, a byte outside tchar in it, or a line without a colon (400). */
export const PARSE_ERR_HEADER_NAME = -7
/** Whitespace between a field name and its colon (400, RFC 9112 5.1). */
export const PARSE_ERR_HEADER_NAME_WS = -8
/** A CTL other than HTAB, or a bare CR, in a field value (400, RFC 9110 5.5). */
export const PARSE_ERR_HEADER_VALUE = -9
/** A header line starting with SP/HTAB: obs-fold (400, RFC 9112 5.2 and 2.2). */
export const PARSE_ERR_OBS_FOLD = -10
/** More than REQUEST_HEADERS_MAX header fields (431, RFC 6585 5). */
export const PARSE_ERR_TOO_MANY_HEADERS = -11
/** Content-Length not `1*DIGIT` (or a list of them), or too large (400, RFC 9110 8.6). */
export const PARSE_ERR_CONTENT_LENGTH = -12
/** Content-Length values that differ (400, RFC 9110 8.6, RFC 9112 6.3 item 5). */
export const PARSE_ERR_CONTENT_LENGTH_CONFLICT = -13
/** Both Content-Length and Transfer-Encoding (400, RFC 9112 6.1 / 6.3 item 3). */
export const PARSE_ERR_CL_AND_TE = -14
/** Transfer-Encoding other than exactly `chunked` (501, RFC 9112 6.1; zhttp.md 4.2). */
export const PARSE_ERR_TRANSFER_ENCODING = -15
/** HTTP/1.1 without Host, a second Host, or a Host value that is not a host (400, RFC 9112 3.2). */
export const PARSE_ERR_HOST = -16
/** A target neither origin-form nor http(s) absolute-form with a valid authority (400). */
export const PARSE_ERR_TARGET_FORM = -17
/** CONNECT, or OPTIONS with the asterisk-form `*` (501, RFC 9110 15.6.2): not served here. */
export const PARSE_ERR_UNSUPPORTED = -18

/** The HTTP status a PARSE_ERR_* code stands for (0 for PARSE_ERR_INCOMPLETE, a caller bug). */
export function parseErrorStatus(code: number): number {
  switch (code) {
    case PARSE_ERR_INCOMPLETE:
      return 0
    case PARSE_ERR_URI_TOO_LONG:
      return 414
    case PARSE_ERR_VERSION:
      return 505
    case PARSE_ERR_TOO_MANY_HEADERS:
      return 431
    case PARSE_ERR_TRANSFER_ENCODING:
    case PARSE_ERR_UNSUPPORTED:
      return 501
    default:
      return 400
  }
}

/**
 * Parsed request head: offsets into the buffer handed to parseRequestHead(), plus the framing
 * and persistence facts derived in the same pass. Reused across requests; every field is reset
 * by parseRequestHead() and is meaningful only after it returned 0.
 */
export class RequestHead {
  methodStart: number
  methodEnd: number
  targetStart: number
  targetEnd: number
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: number
  headerCount: number
  /** Field name and trimmed value offsets of header i, in arrival order, duplicates kept. */
  nameStart: Int32Array
  nameEnd: Int32Array
  valueStart: Int32Array
  valueEnd: Int32Array
  /** Offset just past the empty line ending the head: where the body (or next request) starts. */
  headEnd: number
  /** Content-Length value, or -1 when absent. */
  contentLength: number
  /** `Transfer-Encoding: chunked`. */
  chunked: boolean
  /** A Connection token `close` in any case (RFC 9110 7.6.1; Condure: lower case, zhttp.md 4.7). */
  connClose: boolean
  /** A Connection token `keep-alive` (case-insensitive, zhttp.md 4.7). */
  connKeepAlive: boolean
  /** Whether the connection may serve another request after this one (zhttp.md 4.7). */
  keepAlive: boolean
  /** `Expect` lists `100-continue` (case-sensitive) on HTTP/1.1 (zhttp.md 4.4). */
  expectContinue: boolean
  /** Index of the Host header (at most one is accepted), -1 if none. */
  hostIndex: number
  /** Absolute-form target: its authority, which the uri uses instead of Host; -1 if none. */
  authorityStart: number
  authorityEnd: number
  /** Absolute-form target with the `https` scheme (else `http`). */
  targetHttps: boolean
  /** Start of the target's path and query: targetStart, or authorityEnd for absolute-form. */
  pathStart: number
  /** Some `Upgrade` header is `websocket`, in any ASCII case (RFC 6455 4.2.1, zhttp.md 5.1). */
  upgradeWebsocket: boolean
  /** Indexes of the first Sec-WebSocket-Version / -Key / -Extensions header, -1 if none. */
  wsVersionIndex: number
  wsKeyIndex: number
  wsExtensionsIndex: number

  constructor() {
    this.methodStart = 0
    this.methodEnd = 0
    this.targetStart = 0
    this.targetEnd = 0
    this.versionMinor = 1
    this.headerCount = 0
    this.nameStart = new Int32Array(REQUEST_HEADERS_MAX)
    this.nameEnd = new Int32Array(REQUEST_HEADERS_MAX)
    this.valueStart = new Int32Array(REQUEST_HEADERS_MAX)
    this.valueEnd = new Int32Array(REQUEST_HEADERS_MAX)
    this.headEnd = 0
    this.contentLength = -1
    this.chunked = false
    this.connClose = false
    this.connKeepAlive = false
    this.keepAlive = false
    this.expectContinue = false
    this.hostIndex = -1
    this.authorityStart = -1
    this.authorityEnd = -1
    this.targetHttps = false
    this.pathStart = 0
    this.upgradeWebsocket = false
    this.wsVersionIndex = -1
    this.wsKeyIndex = -1
    this.wsExtensionsIndex = -1
  }
}
