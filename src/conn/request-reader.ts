// Reading one request from the client (zhttp.md 4.2-4.4): the head becomes the first packet
// on PUSH, the body follows to the handler's address under its credits, each packet carrying
// at most min(credits, buffer size) bytes; a chunked body is de-chunked on the way.

import type { StreamConn } from './stream-state.ts'
import { parseRequestHead, type RequestHead } from '../http/parser.ts'
import { negotiateExtensions, EXT_NONE, EXT_MALFORMED, EXT_DEFLATE } from '../ws/extensions.ts'
import { ChunkedDecoder } from '../http/chunked.ts'
import * as E from '../http/errors.ts'
import { URI_SIZE_MAX_BYTES } from '../limits.ts'
import { mapParseError } from './parse-errors.ts'
import { checkUpgrade, UPGRADE_OK } from '../ws/handshake.ts'
import { copyBytes, spanEqualsLower } from '../util/bytes.ts'
import { ST_WAIT_HANDLER, BODY_NONE, BODY_LENGTH, BODY_CHUNKED, WS_HANDSHAKE } from './states.ts'
import { findUriHost, hostRange, targetSchemeMatches, uriLength, uriScheme } from '../zhttp/request-fields.ts'
import { stats } from '../stats.ts'

/** Parses a complete head and sends the first packet; false when the connection closed. */
export function startRequest(c: StreamConn, buf: Uint8Array, start: number, headEnd: number): boolean {
  const s = c.host
  const h = s.head
  const err = parseRequestHead(buf, start, headEnd, h)
  if (err !== 0) {
    c.fail(mapParseError(err))
    return false
  }
  c.http10 = h.versionMinor === 0
  c.keepAlive = h.keepAlive
  c.expectContinue = h.expectContinue // the parser sets it for HTTP/1.1 only
  const ws = h.upgradeWebsocket
  let credits = s.bufferSize
  if (ws) {
    // zhttp.md 5.1: Condure closes silently on an invalid upgrade; zgate answers 400.
    if (checkUpgrade(buf, h) !== UPGRADE_OK) {
      c.fail(E.RESP_BAD_REQUEST)
      return false
    }
    const ext = h.wsExtensionsIndex < 0 ? EXT_NONE : offeredExtensions(buf, h)
    // zhttp.md 5.1: a malformed offer closes even when compression is off (zgate: 400).
    if (ext === EXT_MALFORMED) {
      c.fail(E.RESP_BAD_REQUEST)
      return false
    }
    const session = c.wsSession()
    const k = h.wsKeyIndex
    session.keyLength = copyBytes(session.key, 0, buf, h.valueStart[k], h.valueEnd[k])
    if (s.compression && (ext & EXT_DEFLATE) !== 0) {
      session.extensions = ext
      // Condure 1.10.1 keeps a quarter of the buffer for compressor output (zhttp.md 5.7).
      credits = Math.floor((s.bufferSize * DEFLATE_CREDITS_NUMERATOR) / DEFLATE_CREDITS_DENOMINATOR)
    }
    c.wsState = WS_HANDSHAKE
    c.bodyKind = BODY_NONE
    c.bodyDone = true
  } else if (h.chunked) {
    c.bodyKind = BODY_CHUNKED
    if (c.chunked === null) c.chunked = new ChunkedDecoder()
    else c.chunked.reset()
    c.bodyDone = false
  } else if (h.contentLength > 0) {
    c.bodyKind = BODY_LENGTH
    c.bodyRemaining = h.contentLength
    c.bodyDone = false
  } else {
    c.bodyKind = BODY_NONE
    c.bodyDone = true
  }
  // uri = scheme "://" authority path (zhttp.md 4.3; request-fields.ts findUriHost)
  if (!targetSchemeMatches(h, c.secure)) {
    c.fail(E.RESP_BAD_REQUEST)
    return false
  }
  findUriHost(buf, h)
  const hostS = hostRange.start
  const hostE = hostRange.end
  if (uriLength(hostS, hostE, h.pathStart, h.targetEnd, uriScheme(c.secure, ws)) > URI_SIZE_MAX_BYTES) {
    c.fail(E.RESP_URI_TOO_LONG)
    return false
  }
  if (!sendFirstPacket(c, buf, hostS, hostE, !c.bodyDone, ws, credits)) {
    c.fail(E.RESP_SERVICE_UNAVAILABLE)
    return false
  }
  c.outSeq = 1
  // The first packet granted `bufferSize` response credits (zhttp.md 4.3).
  c.respCredits = s.bufferSize
  c.state = ST_WAIT_HANDLER
  c.streamDeadline = s.now + s.streamTimeoutMs
  return true
}

/**
 * The first packet of a request on PUSH (zhttp.md 4.3, composed by StreamClient); false when
 * the outbox is full. A WebSocket request (5.2) has a `ws://` (`wss://`) uri, `credits` as
 * given, and no `more` or `stream`. The head is the worker's shared one, parsed from buf just
 * before.
 */
function sendFirstPacket(
  c: StreamConn,
  buf: Uint8Array,
  hostS: number,
  hostE: number,
  more: boolean,
  ws: boolean,
  credits: number,
): boolean {
  const s = c.host
  const scheme = uriScheme(c.secure, ws)
  const sent = s.stream.sendFirstPacket(
    c.slot,
    c.counter,
    buf,
    s.head,
    hostS,
    hostE,
    scheme,
    credits,
    more,
    !ws,
    c.peerAddress,
    c.peerPort,
  )
  if (!sent) return false
  s.scheduleFlush()
  if (ws) stats.requestsWebsocket++
  else stats.requestsStream++
  return true
}

/** Share of the buffer granted as credits when permessage-deflate is agreed (zhttp.md 4.3). */
const DEFLATE_CREDITS_NUMERATOR = 3
const DEFLATE_CREDITS_DENOMINATOR = 4

/** Every Sec-WebSocket-Extensions value of the request folded in order (RFC 9110 5.3). */
function offeredExtensions(buf: Uint8Array, h: RequestHead): number {
  let ext = EXT_NONE
  for (let i = h.wsExtensionsIndex; i < h.headerCount; i++) {
    if (spanEqualsLower(buf, h.nameStart[i], h.nameEnd[i], 'sec-websocket-extensions')) {
      ext = negotiateExtensions(ext, buf, h.valueStart[i], h.valueEnd[i])
    }
  }
  return ext
}

/** Sends request body bytes from buf[start, end) within the credits; returns the new start. */
export function forwardBody(c: StreamConn, buf: Uint8Array, start: number, end: number): number {
  const s = c.host
  const chunkMax = Math.min(c.credits, s.bufferSize)
  if (c.bodyKind === BODY_LENGTH) {
    const n = Math.min(end - start, c.bodyRemaining, chunkMax)
    if (n === 0) return start
    const last = n === c.bodyRemaining
    if (!s.stream.sendBody(c.handler, c.slot, c.counter, c.outSeq, buf, start, start + n, !last)) {
      return outboxFull(c, end)
    }
    c.outSeq++
    c.credits -= n
    c.bodyRemaining -= n
    if (last) c.bodyDone = true
    s.scheduleFlush()
    return start + n
  }
  // Chunked (RFC 9112 7.1): de-chunk; the handler sees data bytes only, and the end of the
  // body is a packet with neither body nor more (zhttp.md 4.4, checklist 33).
  const d = c.chunked as ChunkedDecoder
  const pos = d.step(buf, start, end, chunkMax)
  if (d.error < 0) {
    c.fail(E.RESP_BAD_REQUEST)
    return end
  }
  const n = d.dataEnd - d.dataStart
  if (n > 0) {
    // Data always travels with `more`: the end of a chunked body is a packet of its own
    // without body, even when the last-chunk arrived in the same read (Condure does so).
    if (!s.stream.sendBody(c.handler, c.slot, c.counter, c.outSeq, buf, d.dataStart, d.dataEnd, true)) {
      return outboxFull(c, end)
    }
    c.outSeq++
    c.credits -= n
    s.scheduleFlush()
  }
  if (d.done) {
    if (!s.stream.sendBody(c.handler, c.slot, c.counter, c.outSeq, buf, 0, 0, false)) {
      return outboxFull(c, end)
    }
    c.outSeq++
    c.bodyDone = true
    s.scheduleFlush()
  }
  return pos
}

/**
 * The outbox could not take a packet: it holds OUTBOX_SIZE_MAX_BYTES that handlers are not
 * reading. The session cannot continue without losing body bytes, so it ends here.
 */
function outboxFull(c: StreamConn, end: number): number {
  c.abort(false)
  return end
}
