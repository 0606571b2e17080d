// One client TCP connection on a req-mode listener (zhttp.md 4.11): reads a whole request —
// head and body, the body buffered up to --body-buffer-size — sends it as one packet on the
// DEALER, waits for the handler's one data reply, writes it with `Content-Length: len(body)`,
// and repeats on kept-alive connections. One request at a time; --req-timeout bounds each
// whole exchange (head, body, reply, write), restarted for every request (zhttp.md 4.8).
//
// Invariants (the client I/O ones are in client-io.ts):
// - The request being read lives in `readq` from its first byte until its packet is queued:
//   head offsets stay valid, and a Content-Length body is sent straight from there. A chunked
//   body is de-chunked in place behind the head (decoded data never outruns the raw bytes it
//   came from), so the packet's body is again one range of `readq`.
// - One timer handle per connection, armed in every state but RQ_FREE; `deadline` is the one
//   deadline (the exchange's, or the linger of a closing socket).
// - A request is identified by (slot, counter): `counter` changes for every request, so a late
//   reply for a timed-out or earlier request is ignored (checklist 87).
//
// States (`state`):
//   RQ_HEAD      call: onData            next: RQ_BODY, or RQ_CLOSING on bad input
//   RQ_BODY      call: onData            next: RQ_WAIT (packet queued), RQ_CLOSING (413, 503)
//   RQ_WAIT      call: onReply           next: RQ_HEAD (kept alive, written), RQ_FLUSHING,
//                                              RQ_CLOSING, RQ_CLOSED
//   RQ_FLUSHING  reply not yet written on a kept-alive connection; reading waits
//                call: onDrain           next: RQ_HEAD
//   RQ_CLOSING   waits for written bytes to drain, then ends the socket
//                call: onDrain           next: RQ_CLOSED
//   RQ_CLOSED    socket ended; the slot is freed when the socket reports its close
//   RQ_FREE      call: open              next: RQ_HEAD

import { ClientIo, CONTINUE_100 } from './client-io.ts'
import type { ClientSocket } from './client-io.ts'
import type { WorkerContext } from './worker-context.ts'
import type { ReqClient } from '../zhttp/req-client.ts'
import { findHeadEnd, parseRequestHead } from '../http/parser.ts'
import { ChunkedDecoder } from '../http/chunked.ts'
import { writeResponseHead, responseHeadSizeMax, headResult, FRAMING_LENGTH, isHeadMethod } from '../http/response-head.ts'
import { checkResponseHead, INVALID_NONE } from '../http/response-check.ts'
import * as E from '../http/errors.ts'
import type { HandlerPacket } from '../zhttp/packet.ts'
import { TYPE_DATA } from '../zhttp/packet-types.ts'
import { findUriHost, hostRange, targetSchemeMatches, uriLength, uriScheme } from '../zhttp/request-fields.ts'
import { CLOSE_LINGER_MS, URI_SIZE_MAX_BYTES } from '../limits.ts'
import { copyBytes } from '../util/bytes.ts'
import { mapParseError } from './parse-errors.ts'
import { BODY_NONE, BODY_LENGTH, BODY_CHUNKED } from './states.ts'
import { stats } from '../stats.ts'

export const RQ_HEAD = 0
export const RQ_BODY = 1
export const RQ_WAIT = 2
export const RQ_FLUSHING = 3
export const RQ_CLOSING = 4
export const RQ_CLOSED = 5
export const RQ_FREE = 6

const ENC = new TextEncoder()
/**
 * Condure's own answer to a WebSocket upgrade on a req listener (zhttp.md 4.11, checklist 86),
 * byte for byte: no Connection header, the connection closes after it. The status line follows
 * the request's version (observed with 1.9.1).
 */
const WS_NOT_SUPPORTED_BODY = 'WebSockets not supported on req mode interface.\n'
function wsRefusal(minor: number): Uint8Array {
  return ENC.encode(
    `HTTP/1.${minor} 400 Bad Request\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${WS_NOT_SUPPORTED_BODY.length}\r\n\r\n${WS_NOT_SUPPORTED_BODY}`,
  )
}
const WS_REFUSAL_11 = wsRefusal(1)
const WS_REFUSAL_10 = wsRefusal(0)

/** What a req connection needs from the req side of its worker (req-slots.ts). */
export interface ReqHost {
  /** --req-timeout in ms: one whole exchange, head to written reply (zhttp.md 4.8). */
  readonly timeoutMs: number
  /** --body-buffer-size: the largest request or reply body, in bytes. */
  readonly bodyBufferSize: number
  readonly client: Pick<ReqClient, 'sendRequest'>
  /** The connection in `slot` closed: its slot is free again. */
  free(slot: number): void
}

export class ReqConnection extends ClientIo {
  state = RQ_FREE
  /** The current request is HEAD: the reply's body is not written (RFC 9110 9.3.2). */
  headRequest = false
  /** Length of the current request's head at the front of readq. */
  headLen = 0
  bodyKind = BODY_NONE
  /** Content-Length, or the chunked body bytes decoded so far (behind the head). */
  bodyLen = 0
  /** Chunked: where undecoded raw bytes start, relative to readq.start. */
  rawPos = 0
  chunked: ChunkedDecoder | null = null

  deadline = 0

  constructor(
    readonly io: WorkerContext,
    readonly slots: ReqHost,
    /** Slot number in ids and timers: past the stream slots, so ids never collide (1.5). */
    slot: number,
  ) {
    super(io, slot)
  }

  // --- lifecycle ---------------------------------------------------------------------

  open(socket: ClientSocket, now: number, secure: boolean): void {
    this.attach(socket, secure)
    this.startCycle(now)
  }

  /** Starts waiting for the next request (a new id, a new --req-timeout window). */
  private startCycle(now: number): void {
    this.state = RQ_HEAD
    this.counter = this.io.nextCounter()
    this.scanPos = 0
    this.lineOk = false
    this.headLen = 0
    this.bodyKind = BODY_NONE
    this.bodyLen = 0
    this.deadline = now + this.slots.timeoutMs
    this.io.armTimer(this, this.deadline)
  }

  // --- client input ------------------------------------------------------------------

  onData(chunk: Uint8Array): void {
    const st = this.state
    if (st === RQ_CLOSED || st === RQ_CLOSING) return
    this.readq.append(chunk, 0, chunk.length)
    this.process()
    this.updateReadPause()
  }

  /** Runs the state machine over the buffered client bytes. */
  private process(): void {
    for (;;) {
      if (this.state === RQ_HEAD) {
        if (!this.readHead()) return
      } else if (this.state === RQ_BODY) {
        if (!this.readBody()) return
      } else {
        return
      }
    }
  }

  /** Stops reading while a request's worth of bytes waits, or while a reply is being written. */
  private updateReadPause(): void {
    const bufferSize = this.io.bufferSize
    const limit = this.state === RQ_BODY ? this.headLen + this.slots.bodyBufferSize + bufferSize : bufferSize
    this.setReadPaused(this.readq.length >= limit || this.state === RQ_FLUSHING)
  }

  /** Looks for a complete head; true when the state moved on. */
  private readHead(): boolean {
    const q = this.readq
    if (q.buf === null) return false
    const buf = q.buf
    const bufferSize = this.io.bufferSize
    const headEnd = findHeadEnd(buf, q.start, q.end, q.start + this.scanPos)
    if (headEnd < 0) {
      const bad = this.checkLine(buf, q.start, q.end, this.io.head)
      if (bad < 0) {
        this.fail(mapParseError(bad))
        return false
      }
      if (q.length >= bufferSize) this.fail(E.RESP_HEADERS_TOO_LARGE)
      else this.scanPos = q.length
      return false
    }
    if (headEnd - q.start > bufferSize) {
      this.fail(E.RESP_HEADERS_TOO_LARGE)
      return false
    }
    const h = this.io.head
    const err = parseRequestHead(buf, q.start, headEnd, h)
    if (err !== 0) {
      this.fail(mapParseError(err))
      return false
    }
    this.http10 = h.versionMinor === 0
    this.keepAlive = h.keepAlive && !this.clientEnded
    this.headRequest = isHeadMethod(buf, h.methodStart, h.methodEnd)
    if (h.upgradeWebsocket) {
      // Condure's exact 400 (checklist 86); the handler is not contacted.
      const r = this.http10 ? WS_REFUSAL_10 : WS_REFUSAL_11
      stats.clientErrors[E.RESP_BAD_REQUEST]++
      this.writeClient(r, 0, r.length)
      this.closeAfterWrite(CLOSE_LINGER_MS)
      return false
    }
    if (!targetSchemeMatches(h, this.secure)) {
      this.fail(E.RESP_BAD_REQUEST)
      return false
    }
    findUriHost(buf, h)
    if (uriLength(hostRange.start, hostRange.end, h.pathStart, h.targetEnd, uriScheme(this.secure, false)) > URI_SIZE_MAX_BYTES) {
      this.fail(E.RESP_URI_TOO_LONG)
      return false
    }
    this.headLen = headEnd - q.start
    this.bodyLen = 0
    if (h.chunked) {
      this.bodyKind = BODY_CHUNKED
      if (this.chunked === null) this.chunked = new ChunkedDecoder()
      else this.chunked.reset()
      this.rawPos = this.headLen
    } else if (h.contentLength > 0) {
      // Known too large up front: refuse without reading it (Condure closes, 4.11).
      if (h.contentLength > this.slots.bodyBufferSize) {
        this.fail(E.RESP_CONTENT_TOO_LARGE)
        return false
      }
      this.bodyKind = BODY_LENGTH
      this.bodyLen = h.contentLength
    } else {
      this.bodyKind = BODY_NONE
    }
    // Condure answers Expect before reading the body in req mode (observed with 1.9.1).
    if (h.expectContinue && this.bodyKind !== BODY_NONE) {
      this.writeClient(CONTINUE_100, 0, CONTINUE_100.length)
    }
    this.state = RQ_BODY
    return true
  }

  /** Buffers the body; once complete, queues the request packet. True when it was sent. */
  private readBody(): boolean {
    const q = this.readq
    let bodyEnd: number
    let used: number
    if (this.bodyKind === BODY_CHUNKED) {
      if (!this.decodeChunked()) return false
      bodyEnd = this.headLen + this.bodyLen
      used = this.rawPos
    } else {
      bodyEnd = this.headLen + this.bodyLen
      if (q.length < bodyEnd) return false
      used = bodyEnd
    }
    // The head is parsed again: the shared RequestHead may hold another connection's head now.
    const buf = q.buf as Uint8Array
    const s = this.slots
    const h = this.io.head
    parseRequestHead(buf, q.start, q.start + this.headLen, h)
    findUriHost(buf, h)
    const ok = s.client.sendRequest(
      this.slot,
      this.counter,
      buf,
      h,
      hostRange.start,
      hostRange.end,
      buf,
      q.start + this.headLen,
      q.start + bodyEnd,
      this.peerAddress,
      this.peerPort,
      this.secure,
    )
    if (!ok) {
      // The outbox holds OUTBOX_SIZE_MAX_BYTES no handler is reading.
      this.fail(E.RESP_SERVICE_UNAVAILABLE)
      return false
    }
    this.io.scheduleFlush()
    stats.requestsReq++
    q.consume(used)
    this.state = RQ_WAIT
    return false
  }

  /**
   * De-chunks what arrived of a chunked body (RFC 9112 7.1) in place, right behind the head
   * and the data decoded so far. True when the last chunk and trailers are consumed.
   */
  private decodeChunked(): boolean {
    const q = this.readq
    const buf = q.buf
    if (buf === null) return false
    const d = this.chunked as ChunkedDecoder
    const max = this.slots.bodyBufferSize
    let pos = q.start + this.rawPos
    while (!d.done) {
      const next = d.step(buf, pos, q.end, max - this.bodyLen + 1)
      if (d.error < 0) {
        this.fail(E.RESP_BAD_REQUEST)
        return false
      }
      const n = d.dataEnd - d.dataStart
      if (n > 0) {
        if (this.bodyLen + n > max) {
          this.fail(E.RESP_CONTENT_TOO_LARGE)
          return false
        }
        buf.copyWithin(q.start + this.headLen + this.bodyLen, d.dataStart, d.dataEnd)
        this.bodyLen += n
      }
      if (next === pos && n === 0) break
      pos = next
    }
    this.rawPos = pos - q.start
    if (d.done) return true
    // Close the gap between the decoded data and the undecoded rest, so that readq never
    // holds more than head + body + one partial chunk line.
    const gapStart = q.start + this.headLen + this.bodyLen
    if (gapStart < pos) {
      buf.copyWithin(gapStart, pos, q.end)
      q.end -= pos - gapStart
      this.rawPos = this.headLen + this.bodyLen
    }
    return false
  }

  // --- handler input -----------------------------------------------------------------

  /** A reply addressed to this connection's current request (checked by the caller). */
  onReply(p: HandlerPacket): void {
    if (this.state !== RQ_WAIT) return
    // Only data packets answer; keep-alive and every other type are ignored (checklist 84).
    if (p.type !== TYPE_DATA) return
    const s = this.slots
    const bodyLen = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
    if (bodyLen > s.bodyBufferSize) {
      // Condure writes the head and closes; zgate says the reply was unusable.
      this.fail(E.RESP_BAD_GATEWAY)
      return
    }
    const bad = checkResponseHead(p, false)
    if (bad !== INVALID_NONE) {
      // Nothing of it is written (response-check.ts): the client learns the reply was unusable.
      this.io.faults.invalidResponse(bad, '502 sent')
      this.fail(E.RESP_BAD_GATEWAY)
      return
    }
    const out = this.io.scratchFor(responseHeadSizeMax(p) + bodyLen)
    // Length is always the body's; `more` and handler framing headers are ignored (4.11).
    writeResponseHead(out, 0, p, this.http10, this.keepAlive, true)
    let pos = headResult.pos
    if (headResult.framing === FRAMING_LENGTH && bodyLen > 0 && !this.headRequest) pos = copyBytes(out, pos, p.buf, p.bodyStart, p.bodyEnd)
    this.keepAlive = headResult.keepAlive
    this.writeClient(out, 0, pos)
    if (this.socket === null) return
    if (!this.keepAlive) {
      this.closeAfterWrite(CLOSE_LINGER_MS)
    } else if (this.writeq.length > 0) {
      this.state = RQ_FLUSHING
      this.updateReadPause()
    } else {
      this.nextRequest()
    }
  }

  /** The reply is written on a kept-alive connection: serve what the client pipelined. */
  private nextRequest(): void {
    this.startCycle(this.io.now)
    this.process()
    this.updateReadPause()
  }

  // --- client output -----------------------------------------------------------------

  private writeClient(buf: Uint8Array, s: number, e: number): void {
    this.writeOut(buf, s, e)
  }

  onDrain(): void {
    if (!this.flushOut()) return
    if (this.state === RQ_CLOSING) this.endSocket()
    else if (this.state === RQ_FLUSHING) this.nextRequest()
  }

  // --- endings -----------------------------------------------------------------------

  /** A prebuilt error response (zgate's policy towards clients, README), then close. */
  private fail(which: number): void {
    const r = E.errorResponse(which, this.http10)
    stats.clientErrors[which]++
    this.writeClient(r, 0, r.length)
    this.closeAfterWrite(CLOSE_LINGER_MS)
  }

  /** Ends the socket once pending bytes are written, giving them `lingerMs` at most. */
  private closeAfterWrite(lingerMs: number): void {
    if (this.writeq.length === 0) {
      this.endSocket()
      return
    }
    this.state = RQ_CLOSING
    this.readq.clear()
    this.deadline = this.io.now + lingerMs
    this.io.armTimer(this, this.deadline)
  }

  private endSocket(): void {
    this.state = RQ_CLOSED
    this.readq.clear()
    this.writeq.clear()
    const sock = this.socket
    if (sock === null) {
      this.free()
      return
    }
    sock.end()
    // A peer that never closes its side would hold the slot: cut it off after a while.
    this.deadline = this.io.now + CLOSE_LINGER_MS
    this.io.armTimer(this, this.deadline)
  }

  /** The socket closed (by either side): the slot is free again. */
  onSocketClose(): void {
    this.socket = null
    this.readq.clear()
    this.writeq.clear()
    this.state = RQ_CLOSED
    this.free()
  }

  /** Gives the slot back; its timer goes with it. */
  private free(): void {
    if (this.state === RQ_FREE) return
    this.io.disarmTimer(this)
    this.state = RQ_FREE
    this.counter = -1
    this.slots.free(this.slot)
  }

  /**
   * The client shut down its sending side. A request already sent still gets its reply
   * (written, then the connection closes); anything less than a whole request is dropped.
   */
  onClientEnd(): void {
    this.clientEnded = true
    this.keepAlive = false
    if (this.state === RQ_HEAD || this.state === RQ_BODY) this.endSocket()
    else if (this.state === RQ_FLUSHING) this.closeAfterWrite(CLOSE_LINGER_MS)
  }

  /** Graceful shutdown begins: an idle connection closes; a request under way closes after its reply. */
  beginShutdown(): void {
    this.keepAlive = false
    if (this.state === RQ_HEAD) this.endSocket()
    else if (this.state === RQ_FLUSHING) this.closeAfterWrite(CLOSE_LINGER_MS)
  }

  /** A request is being read, answered or written. */
  inFlight(): boolean {
    const st = this.state
    return st === RQ_BODY || st === RQ_WAIT || st === RQ_FLUSHING || st === RQ_CLOSING
  }

  /** Shutdown: no packet to send in req mode, just close. */
  shutdownClose(): void {
    this.state = RQ_CLOSED
    this.readq.clear()
    this.writeq.clear()
    const sock = this.socket
    if (sock !== null) sock.end()
  }

  /** The wheel fired at or after `timerAt`. */
  onTimer(now: number): void {
    if (now < this.deadline) {
      this.io.armTimer(this, this.deadline)
      return
    }
    switch (this.state) {
      case RQ_HEAD:
        // A partial head gets 408; an idle kept-alive connection just closes (4.8).
        if (this.readq.length > 0) this.fail(E.RESP_REQUEST_TIMEOUT)
        else this.endSocket()
        break
      case RQ_BODY:
        this.fail(E.RESP_REQUEST_TIMEOUT)
        break
      case RQ_WAIT:
        // No reply within --req-timeout: 504 (Condure closes silently, checklist 85).
        this.fail(E.RESP_GATEWAY_TIMEOUT)
        break
      case RQ_FLUSHING:
      case RQ_CLOSING:
        // The client stopped reading.
        this.writeq.clear()
        this.endSocket()
        break
      case RQ_CLOSED:
        if (this.socket !== null) this.socket.terminate()
        break
      default:
        break
    }
  }
}
