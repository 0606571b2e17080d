// Zero-copy HTTP/1.x request-head parser (RFC 9112 sections 2-6, RFC 9110 section 5).
//
// Invariants:
// - Nothing here allocates while parsing. The input is (buf, start, end) and every result is an
//   offset into buf, written into a caller-owned RequestHead whose fields are all created in its
//   constructor (so the object keeps one hidden class). No strings, no subarray, no closures.
// - Failures are negative PARSE_ERR_* codes, never exceptions: a client sending garbage is an
//   expected event. parseErrorStatus() names the HTTP status each code corresponds to; Condure
//   itself answers every one of them by closing without a response (zhttp.md 4.2, 4.13).
// - The parser reads only bytes in [start, end).
//
// Deliberate choices, each checked against the slow reference in test/helpers/http-reference.ts:
// - Bare LF is accepted as a line terminator everywhere (RFC 9112 2.2); a bare CR is an error.
// - Empty lines before the request line are skipped (RFC 9112 2.2).
// - The request-target accepts visible ASCII only (RFC 9112 3.2; other bytes must be
//   percent-encoded): CTLs, SP, DEL and bytes >= 0x80 are refused, although httparse (Condure's
//   parser) passes obs-text on. Its form is checked (RFC 9112 3.2.1-3.2.4): origin-form, or an
//   absolute-form `http`/`https` URI whose authority is a valid host (it then replaces Host in
//   the uri, never joined to it); CONNECT and OPTIONS * are refused with 501 (a ZHTTP uri has
//   no form for them), any other target with 400.
// - Host (RFC 9112 3.2): an HTTP/1.1 request needs exactly one; a repeated Host or a value that
//   is not `uri-host [":" port]` is refused on any version. HTTP/1.0 may omit it (the uri then
//   names localhost, as Condure does).
// - Connection options are matched ignoring case (RFC 9110 7.6.1); Condure matches `close`
//   case-sensitively.
// - Whitespace between a field name and the colon is refused (RFC 9112 5.1), and so is any line
//   starting with whitespace: obs-fold (RFC 9112 5.2) or whitespace after the start-line
//   (RFC 9112 2.2).
// - Content-Length together with Transfer-Encoding is refused (RFC 9112 6.1, anti-smuggling),
//   although Condure would let chunked win.

import { spanEqualsAscii, spanEqualsLower } from '../util/bytes.ts'
import { REQUEST_HEADERS_MAX, URI_SIZE_MAX_BYTES } from '../limits.ts'
import { isHostValue } from './host.ts'
import { RequestHead } from './request-head.ts'
import {
  PARSE_ERR_INCOMPLETE,
  PARSE_ERR_REQUEST_LINE,
  PARSE_ERR_METHOD,
  PARSE_ERR_TARGET,
  PARSE_ERR_URI_TOO_LONG,
  PARSE_ERR_VERSION,
  PARSE_ERR_HEADER_NAME,
  PARSE_ERR_HEADER_NAME_WS,
  PARSE_ERR_HEADER_VALUE,
  PARSE_ERR_OBS_FOLD,
  PARSE_ERR_TOO_MANY_HEADERS,
  PARSE_ERR_CONTENT_LENGTH,
  PARSE_ERR_CONTENT_LENGTH_CONFLICT,
  PARSE_ERR_CL_AND_TE,
  PARSE_ERR_TRANSFER_ENCODING,
  PARSE_ERR_HOST,
  PARSE_ERR_TARGET_FORM,
  PARSE_ERR_UNSUPPORTED,
} from './request-head.ts'

// The head and its error codes live in request-head.ts; importers of the parser get them here.
export * from './request-head.ts'

/** Largest Content-Length held exactly by a JS number; larger values are refused (400). */
const CONTENT_LENGTH_MAX_BYTES = Number.MAX_SAFE_INTEGER
/**
 * Empty lines skipped before a request line (RFC 9112 2.2: at least one SHOULD be ignored).
 * Bounded because findHeadEnd() re-skips them on every call: unbounded, a client trickling
 * CRLFs would cost quadratic time. Past the bound, the next CR or LF starts the request line,
 * which is then malformed (400).
 */
const LEADING_EMPTY_LINES_MAX_BYTES = 64
/** Length of `HTTP/x.y`, the only HTTP-version shape (RFC 9112 2.3). */
const HTTP_VERSION_SIZE_BYTES = 8

// --- byte classes, built once at load time ---
/** tchar (RFC 9110 5.6.2): methods and field names. */
const TOKEN = new Uint8Array(256)
/** request-target bytes: VCHAR only (RFC 9112 3.2, RFC 3986 2). */
const TARGET = new Uint8Array(256)
/** field-content bytes: VCHAR, obs-text, SP, HTAB (RFC 9110 5.5). */
const FIELD_VALUE = new Uint8Array(256)

function buildByteClasses(): void {
  for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1 // 0-9
  for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1 // A-Z
  for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1 // a-z
  const punct = "!#$%&'*+-.^_`|~"
  for (let i = 0; i < punct.length; i++) TOKEN[punct.charCodeAt(i)] = 1
  // 0x21 '!' .. 0x7e '~' are VCHAR; 0x80-0xff obs-text
  for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = FIELD_VALUE[c] = 1
  for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1
  FIELD_VALUE[0x09] = 1 // HTAB
  FIELD_VALUE[0x20] = 1 // SP
}
buildByteClasses()

/**
 * Skips the empty lines (CRLF or bare LF) RFC 9112 2.2 lets a server ignore before the request
 * line, up to LEADING_EMPTY_LINES_MAX_BYTES. Returns the first offset that is not part of one,
 * or -1 when the input ends inside a CR that may still become CRLF.
 */
function skipLeadingEmptyLines(buf: Uint8Array, start: number, end: number): number {
  let i = start
  const limit = start + LEADING_EMPTY_LINES_MAX_BYTES
  while (i < end && i < limit) {
    const c = buf[i]
    if (c === 0x0a) {
      i++ // LF
    } else if (c === 0x0d) {
      // CR
      if (i + 1 === end) return -1
      if (buf[i + 1] !== 0x0a) return i // bare CR: let the parser refuse it
      i += 2
    } else {
      return i
    }
  }
  return i
}

/**
 * Incremental search for the empty line that ends a request head (RFC 9112 2.1).
 * Returns the offset just past it, or -1 if [start, end) does not hold a complete head yet.
 *
 * Resuming: pass `scanFrom` = start on the first call and the previous call's `end` after that.
 * A terminator straddling the old end (LF CR LF or LF LF) begins at most 2 bytes before it, so
 * the function backs up 2 bytes itself and never rescans more. Leading empty lines are skipped
 * again on each call (a short loop bounded by the caller's buffer) so they never count as the
 * terminator.
 *
 * The terminator is LF LF or LF CR LF: two line-end bytes in a row. So the scan looks at every
 * second byte only, and where it meets a CR or LF checks whether a terminator starts there or
 * one byte before. This halves the reads of the common case, a head full of text.
 */
export function findHeadEnd(buf: Uint8Array, start: number, end: number, scanFrom: number): number {
  const lineStart = skipLeadingEmptyLines(buf, start, end)
  if (lineStart < 0) return -1
  let i = scanFrom - 2
  if (i < lineStart) i = lineStart
  for (; i < end; i += 2) {
    const c = buf[i]
    if (c !== 0x0a && c !== 0x0d) continue // LF, CR
    // The terminator's first LF is at i - 1 or i (the other byte of the pair is then a CR or
    // LF too); checking i - 1 first keeps the earliest match.
    if (i > lineStart) {
      const found = terminatorAt(buf, i - 1, end)
      if (found >= 0) return found
    }
    const found = terminatorAt(buf, i, end)
    if (found >= 0) return found
  }
  return -1
}

/** Offset past an LF LF or LF CR LF starting at j and complete before end, else -1. */
function terminatorAt(buf: Uint8Array, j: number, end: number): number {
  if (buf[j] !== 0x0a || j + 1 >= end) return -1 // LF
  const c = buf[j + 1]
  if (c === 0x0a) return j + 2 // LF
  if (c === 0x0d && j + 2 < end && buf[j + 2] === 0x0a) return j + 3 // CR LF
  return -1
}

/**
 * A comma-separated list value (RFC 9110 5.6.1) has an element equal to `lit` once OWS is
 * trimmed. Splits on every comma like Condure's header_contains_param (tokens hold no quotes).
 * With `foldCase`, `lit` must be lower case and the match ignores ASCII case.
 */
function listHas(buf: Uint8Array, s: number, e: number, lit: string, foldCase: boolean): boolean {
  let i = s
  while (i <= e) {
    let elemEnd = i
    while (elemEnd < e && buf[elemEnd] !== 0x2c) elemEnd++ // ','
    let a = i
    let b = elemEnd
    while (a < b && (buf[a] === 0x20 || buf[a] === 0x09)) a++ // SP, HTAB
    while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--
    if (foldCase ? spanEqualsLower(buf, a, b, lit) : spanEqualsAscii(buf, a, b, lit)) return true
    i = elemEnd + 1
  }
  return false
}


/** The method token equals a literal, byte for byte (methods are case-sensitive, RFC 9110 9.1). */
function methodIs(buf: Uint8Array, out: RequestHead, lit: string): boolean {
  return spanEqualsAscii(buf, out.methodStart, out.methodEnd, lit)
}

/**
 * Checks the form of the request-target in buf[s, e) (RFC 9112 3.2) and records where its path
 * starts (and for absolute-form its authority). 0 or a PARSE_ERR_* code.
 */
function checkTargetForm(buf: Uint8Array, s: number, e: number, out: RequestHead): number {
  // CONNECT (authority-form, 3.2.3) asks for a tunnel, which ZHTTP cannot carry.
  if (methodIs(buf, out, 'CONNECT')) return PARSE_ERR_UNSUPPORTED
  const c = buf[s]
  if (c === 0x2f) {
    // '/': origin-form (3.2.1)
    out.pathStart = s
    return 0
  }
  if (c === 0x2a && e - s === 1) {
    // '*': asterisk-form (3.2.4), for OPTIONS only; it asks about the server as a whole, which
    // has no uri to give a handler
    return methodIs(buf, out, 'OPTIONS') ? PARSE_ERR_UNSUPPORTED : PARSE_ERR_TARGET_FORM
  }
  // absolute-form (3.2.2): "http" or "https" (any case, RFC 3986 3.1) "://" authority, then
  // path-abempty and query. Other schemes are not for a gateway of http handlers.
  let i = s
  if (
    e - i < 7 ||
    (buf[i] | 0x20) !== 0x68 || // h
    (buf[i + 1] | 0x20) !== 0x74 || // t
    (buf[i + 2] | 0x20) !== 0x74 || // t
    (buf[i + 3] | 0x20) !== 0x70 // p
  ) {
    return PARSE_ERR_TARGET_FORM
  }
  i += 4
  const https = (buf[i] | 0x20) === 0x73 // s
  if (https) i++
  if (e - i < 3 || buf[i] !== 0x3a || buf[i + 1] !== 0x2f || buf[i + 2] !== 0x2f) {
    return PARSE_ERR_TARGET_FORM // not "://"
  }
  i += 3
  const authorityStart = i
  while (i < e && buf[i] !== 0x2f && buf[i] !== 0x3f && buf[i] !== 0x23) i++ // '/', '?', '#'
  if (!isHostValue(buf, authorityStart, i)) return PARSE_ERR_TARGET_FORM
  out.authorityStart = authorityStart
  out.authorityEnd = i
  out.targetHttps = https
  out.pathStart = i
  return 0
}

/**
 * Parses a Content-Length value: `1*DIGIT`, or a comma list of identical ones (RFC 9110 8.6
 * lets a recipient collapse those). Returns the length or a negative PARSE_ERR_* code.
 */
function parseContentLength(buf: Uint8Array, s: number, e: number): number {
  let result = -1
  let i = s
  for (;;) {
    while (i < e && (buf[i] === 0x20 || buf[i] === 0x09)) i++ // OWS before an element
    let n = 0
    const digitsStart = i
    while (i < e) {
      const d = buf[i] - 0x30 // '0'
      if (d < 0 || d > 9) break
      if (n > (CONTENT_LENGTH_MAX_BYTES - d) / 10) return PARSE_ERR_CONTENT_LENGTH
      n = n * 10 + d
      i++
    }
    if (i === digitsStart) return PARSE_ERR_CONTENT_LENGTH // empty element or not a digit
    while (i < e && (buf[i] === 0x20 || buf[i] === 0x09)) i++ // OWS after it
    if (i < e && buf[i] !== 0x2c) return PARSE_ERR_CONTENT_LENGTH // not ','
    if (result !== -1 && n !== result) return PARSE_ERR_CONTENT_LENGTH_CONFLICT
    result = n
    if (i === e) return result
    i++ // ','
  }
}

/** Records what one header means for framing, persistence and upgrades. 0 or PARSE_ERR_*. */
function interpretHeader(buf: Uint8Array, out: RequestHead, index: number): number {
  const ns = out.nameStart[index]
  const ne = out.nameEnd[index]
  const vs = out.valueStart[index]
  const ve = out.valueEnd[index]
  // Dispatch on the name length first so most headers cost one comparison.
  switch (ne - ns) {
    case 4:
      if (!spanEqualsLower(buf, ns, ne, 'host')) return 0
      // one Host, and a host in it (RFC 9112 3.2): a value such as `a/evil?` would otherwise
      // become part of the uri's path
      if (out.hostIndex >= 0 || !isHostValue(buf, vs, ve)) return PARSE_ERR_HOST
      out.hostIndex = index
      return 0
    case 6:
      // RFC 9110 10.1.1; Condure matches the token case-sensitively, HTTP/1.1 only (checked
      // once the version is known, in parseRequestHead)
      if (spanEqualsLower(buf, ns, ne, 'expect') && listHas(buf, vs, ve, '100-continue', false)) {
        out.expectContinue = true
      }
      return 0
    case 7:
      // The protocol name is case-insensitive (RFC 6455 4.2.1, RFC 9110 7.8); Condure wants
      // `websocket` byte-exact and answers Autobahn's `WebSocket` as plain HTTP.
      if (spanEqualsLower(buf, ns, ne, 'upgrade') && spanEqualsLower(buf, vs, ve, 'websocket')) {
        out.upgradeWebsocket = true
      }
      return 0
    case 10:
      // Connection is a token list and may repeat (RFC 9110 7.6.1)
      if (spanEqualsLower(buf, ns, ne, 'connection')) {
        if (listHas(buf, vs, ve, 'close', true)) out.connClose = true
        if (listHas(buf, vs, ve, 'keep-alive', true)) out.connKeepAlive = true
      }
      return 0
    case 14: {
      if (!spanEqualsLower(buf, ns, ne, 'content-length')) return 0
      const n = parseContentLength(buf, vs, ve)
      if (n < 0) return n
      // a second Content-Length header must repeat the same value (RFC 9110 8.6)
      if (out.contentLength !== -1 && out.contentLength !== n) {
        return PARSE_ERR_CONTENT_LENGTH_CONFLICT
      }
      out.contentLength = n
      return 0
    }
    case 17:
      if (spanEqualsLower(buf, ns, ne, 'transfer-encoding')) {
        // Only a single, byte-exact `chunked` is supported (zhttp.md 4.2). A repeated header
        // means chunked twice (RFC 9112 6.1 forbids that) or another coding: both unsupported.
        if (out.chunked || !spanEqualsAscii(buf, vs, ve, 'chunked')) return PARSE_ERR_TRANSFER_ENCODING
        out.chunked = true
      } else if (out.wsKeyIndex < 0 && spanEqualsLower(buf, ns, ne, 'sec-websocket-key')) {
        out.wsKeyIndex = index
      }
      return 0
    case 21:
      if (out.wsVersionIndex < 0 && spanEqualsLower(buf, ns, ne, 'sec-websocket-version')) {
        out.wsVersionIndex = index
      }
      return 0
    case 24:
      if (out.wsExtensionsIndex < 0 && spanEqualsLower(buf, ns, ne, 'sec-websocket-extensions')) {
        out.wsExtensionsIndex = index
      }
      return 0
    default:
      return 0
  }
}

function resetHead(out: RequestHead): void {
  out.methodStart = 0
  out.methodEnd = 0
  out.targetStart = 0
  out.targetEnd = 0
  out.versionMinor = 1
  out.headerCount = 0
  out.headEnd = 0
  out.contentLength = -1
  out.chunked = false
  out.connClose = false
  out.connKeepAlive = false
  out.keepAlive = false
  out.expectContinue = false
  out.hostIndex = -1
  out.authorityStart = -1
  out.authorityEnd = -1
  out.targetHttps = false
  out.pathStart = 0
  out.upgradeWebsocket = false
  out.wsVersionIndex = -1
  out.wsKeyIndex = -1
  out.wsExtensionsIndex = -1
}

/**
 * Parses the request line (RFC 9112 3): `method SP request-target SP HTTP-version CRLF`.
 * Returns the offset of the first header line, or a PARSE_ERR_* code.
 */
function parseRequestLine(buf: Uint8Array, start: number, end: number, out: RequestHead): number {
  let i = start
  // method = token (RFC 9110 9.1)
  while (i < end && TOKEN[buf[i]] === 1) i++
  if (i === end) return PARSE_ERR_INCOMPLETE
  if (buf[i] !== 0x20) {
    // SP
    const c = buf[i]
    return c === 0x0d || c === 0x0a ? PARSE_ERR_REQUEST_LINE : PARSE_ERR_METHOD // CR, LF
  }
  if (i === start) return PARSE_ERR_REQUEST_LINE // empty method
  out.methodStart = start
  out.methodEnd = i
  i++

  const targetStart = i
  while (i < end && TARGET[buf[i]] === 1) i++
  if (i === end) return PARSE_ERR_INCOMPLETE
  if (buf[i] !== 0x20) {
    // SP
    const c = buf[i]
    return c === 0x0d || c === 0x0a ? PARSE_ERR_REQUEST_LINE : PARSE_ERR_TARGET // CR, LF
  }
  if (i === targetStart) return PARSE_ERR_REQUEST_LINE // empty target or a double SP
  if (i - targetStart > URI_SIZE_MAX_BYTES) return PARSE_ERR_URI_TOO_LONG
  out.targetStart = targetStart
  out.targetEnd = i
  i++

  // HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3)
  if (end - i < HTTP_VERSION_SIZE_BYTES + 1) return PARSE_ERR_REQUEST_LINE
  if (
    buf[i] !== 0x48 || // H
    buf[i + 1] !== 0x54 || // T
    buf[i + 2] !== 0x54 || // T
    buf[i + 3] !== 0x50 || // P
    buf[i + 4] !== 0x2f || // /
    buf[i + 6] !== 0x2e // .
  ) {
    return PARSE_ERR_REQUEST_LINE
  }
  const major = buf[i + 5] - 0x30 // '0'
  const minor = buf[i + 7] - 0x30
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return PARSE_ERR_REQUEST_LINE
  i += HTTP_VERSION_SIZE_BYTES
  // the line must end right after the version: CRLF or a bare LF (RFC 9112 2.2)
  if (buf[i] === 0x0d) {
    // CR
    if (i + 1 === end || buf[i + 1] !== 0x0a) return PARSE_ERR_REQUEST_LINE
    i += 2
  } else if (buf[i] === 0x0a) {
    i++ // LF
  } else {
    return PARSE_ERR_REQUEST_LINE
  }
  const formErr = checkTargetForm(buf, out.targetStart, out.targetEnd, out)
  if (formErr !== 0) return formErr
  // 505 only once the line is known to be well formed, so `HTTX/1.1` stays a 400
  if (major !== 1 || minor > 1) return PARSE_ERR_VERSION
  out.versionMinor = minor
  return i
}

/**
 * Parses a complete request head from buf[start, end), where end is normally what findHeadEnd()
 * returned (bytes past the empty line are left alone; out.headEnd tells where it ended).
 * Returns 0 and fills `out`, or returns a negative PARSE_ERR_* code (out is then unspecified).
 */
export function parseRequestHead(
  buf: Uint8Array,
  start: number,
  end: number,
  out: RequestHead,
): number {
  resetHead(out)
  const lineStart = skipLeadingEmptyLines(buf, start, end)
  if (lineStart < 0 || lineStart === end) return PARSE_ERR_INCOMPLETE
  let i = parseRequestLine(buf, lineStart, end, out)
  if (i < 0) return i

  // field-line = field-name ":" OWS field-value OWS (RFC 9112 5)
  for (;;) {
    if (i === end) return PARSE_ERR_INCOMPLETE
    let c = buf[i]
    if (c === 0x0d) {
      // CR: the empty line that ends the head
      if (i + 1 === end) return PARSE_ERR_INCOMPLETE
      if (buf[i + 1] !== 0x0a) return PARSE_ERR_HEADER_NAME // bare CR
      out.headEnd = i + 2
      break
    }
    if (c === 0x0a) {
      // LF
      out.headEnd = i + 1
      break
    }
    if (c === 0x20 || c === 0x09) return PARSE_ERR_OBS_FOLD // SP, HTAB
    const index = out.headerCount
    if (index === REQUEST_HEADERS_MAX) return PARSE_ERR_TOO_MANY_HEADERS

    const nameStart = i
    while (i < end && TOKEN[buf[i]] === 1) i++
    if (i === end) return PARSE_ERR_INCOMPLETE
    c = buf[i]
    if (c !== 0x3a) {
      // not ':'
      if (i > nameStart && (c === 0x20 || c === 0x09)) return PARSE_ERR_HEADER_NAME_WS
      return PARSE_ERR_HEADER_NAME
    }
    if (i === nameStart) return PARSE_ERR_HEADER_NAME
    const nameEnd = i
    i++

    while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++ // leading OWS
    const valueStart = i
    while (i < end && FIELD_VALUE[buf[i]] === 1) i++
    if (i === end) return PARSE_ERR_INCOMPLETE
    c = buf[i]
    // trailing OWS is not part of the value (RFC 9110 5.5); walking back is cheaper than
    // tracking the last non-OWS byte in the loop above
    let valueEnd = i
    while (valueEnd > valueStart && (buf[valueEnd - 1] === 0x20 || buf[valueEnd - 1] === 0x09)) {
      valueEnd--
    }
    if (c === 0x0d) {
      // CR must start CRLF
      if (i + 1 === end) return PARSE_ERR_INCOMPLETE
      if (buf[i + 1] !== 0x0a) return PARSE_ERR_HEADER_VALUE
      i += 2
    } else if (c === 0x0a) {
      i++ // LF
    } else {
      return PARSE_ERR_HEADER_VALUE // NUL, another CTL or DEL
    }

    out.nameStart[index] = nameStart
    out.nameEnd[index] = nameEnd
    out.valueStart[index] = valueStart
    out.valueEnd[index] = valueEnd
    out.headerCount = index + 1
    const err = interpretHeader(buf, out, index)
    if (err !== 0) return err
  }

  // A sender must not send both; a message with both is a smuggling vector (RFC 9112 6.1).
  if (out.chunked && out.contentLength !== -1) return PARSE_ERR_CL_AND_TE
  const v11 = out.versionMinor === 1
  // RFC 9112 3.2: an HTTP/1.1 request without Host is a 400, even in absolute-form.
  if (v11 && out.hostIndex < 0) return PARSE_ERR_HOST
  if (!v11) out.expectContinue = false // Expect is HTTP/1.1 only (RFC 9110 10.1.1)
  // Persistence (RFC 9112 9.3, zhttp.md 4.7): 1.1 persists unless `close`; 1.0 only with
  // `keep-alive`. Chunked framing on HTTP/1.0 is faulty framing, so never reuse the
  // connection after it (RFC 9112 6.1).
  out.keepAlive = v11 ? !out.connClose : out.connKeepAlive && !out.connClose && !out.chunked
  return 0
}

/** checkRequestLine(): the request line has not ended yet. */
export const REQUEST_LINE_PENDING = 1

/**
 * Checks the request line of a head that is not complete yet, so that a line which can never
 * start a valid head (an HTTP/0.9 `GET /x` with no version, a bad version, a bad target) is
 * refused as soon as it ends instead of when the head times out. Returns REQUEST_LINE_PENDING
 * while no LF has ended the line in [start, end), 0 once it ended and is well formed, or the
 * PARSE_ERR_* code parseRequestHead() would return for it. `scanFrom` is where the previous
 * pending call's input ended (start on the first call): no LF of the line lies before it.
 * `out` is scratch (the request line's offsets are written into it).
 */
export function checkRequestLine(
  buf: Uint8Array,
  start: number,
  end: number,
  scanFrom: number,
  out: RequestHead,
): number {
  const lineStart = skipLeadingEmptyLines(buf, start, end)
  if (lineStart < 0) return REQUEST_LINE_PENDING
  let i = scanFrom > lineStart ? scanFrom : lineStart
  while (i < end && buf[i] !== 0x0a) i++ // LF
  if (i === end) return REQUEST_LINE_PENDING
  const r = parseRequestLine(buf, lineStart, i + 1, out)
  return r < 0 ? r : 0
}
