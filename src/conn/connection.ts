// One client TCP connection in stream mode (zhttp.md section 4): reads request heads, sends
// the first packet of each request, forwards the request body under the handler's credits,
// writes the handler's response, and repeats on kept-alive connections. This file is the
// reading side (client bytes and handler packets in); stream-base.ts holds the state, the
// writes, the endings and the timer.
//
// Invariants (the I/O and timer ones are in client-io.ts and stream-base.ts):
// - A session (one request cycle) is identified by (slot, counter); `counter` changes for
//   every request, so packets for an earlier request on the same slot are ignored.
//
// States (`state`):
//   ST_HEAD          call: onData            next: ST_WAIT_HANDLER, or closed on bad input
//   ST_WAIT_HANDLER  call: onHandlerPacket   next: ST_ACTIVE (first handler packet)
//   ST_ACTIVE        call: onHandlerPacket, onData (body), onDrain
//                    next: ST_HEAD (response complete, keep-alive), ST_FLUSHING, ST_CLOSING
//   ST_FLUSHING      response complete but not yet written: reading waits for the drain
//                    call: onDrain               next: ST_HEAD
//   ST_CLOSING       waits for written bytes to drain, then ends the socket
//   ST_ORPHAN        client gone before the handler spoke: waits for a handler packet to
//                    answer with cancel (zhttp.md 4.9), or for the session timer
//   ST_CLOSED        socket ended; the slot is freed when both socket and session are done
//   ST_FREE          call: open              next: ST_HEAD

import { CONTINUE_100 } from './client-io.ts'
import { StreamBase } from './stream-base.ts'
import {
  ST_HEAD,
  ST_WAIT_HANDLER,
  ST_ACTIVE,
  ST_CLOSING,
  ST_ORPHAN,
  ST_CLOSED,
  ST_FLUSHING,
  WS_NONE,
  WS_HANDSHAKE,
  WS_OPEN,
} from './states.ts'
import { startRequest, forwardBody } from './request-reader.ts'
import { findHeadEnd } from '../http/parser.ts'
import { composeResponse, composed, responseSizeMax } from './response-writer.ts'
import { checkResponseHead, INVALID_NONE, INVALID_BODY_UNDER_LENGTH } from '../http/response-check.ts'
import { isHeadMethod } from '../http/response-head.ts'
import * as E from '../http/errors.ts'
import { mapParseError } from './parse-errors.ts'
import type { HandlerPacket } from '../zhttp/packet.ts'
import * as P from '../zhttp/packet-types.ts'
import { wsRead, wsHandlerData, wsHandlerControl, wsReject } from './ws-session.ts'
import { OP_CLOSE, OP_PING, OP_PONG } from '../ws/frame.ts'
import { spanEqualsAscii } from '../util/bytes.ts'

/** The empty input of a state-machine pass that only moves what is held (process()). */
const NO_BYTES = new Uint8Array(0)

export class Connection extends StreamBase {
  // --- client input ------------------------------------------------------------------

  onData(chunk: Uint8Array): void {
    if (this.state === ST_CLOSED || this.state === ST_CLOSING || this.state === ST_ORPHAN) return
    this.streamDeadline = this.host.now + this.host.streamTimeoutMs
    if (this.readq.length > 0) {
      this.readq.append(chunk, 0, chunk.length)
      this.process()
    } else {
      // Common case: parse straight from the chunk; only leftovers are copied.
      const used = this.consume(chunk, 0, chunk.length)
      if (used < chunk.length && this.state !== ST_CLOSED && this.state !== ST_CLOSING) {
        this.readq.append(chunk, used, chunk.length)
      }
    }
    this.updateReadPause()
  }

  /**
   * Re-runs the state machine over buffered client bytes; called after every handler packet,
   * since any of them may carry credits or end a handoff pause.
   */
  process(): void {
    const q = this.readq
    if (q.buf === null) {
      // No client bytes wait, but a WebSocket frame may still be open with inflated output
      // held inside zlib (all its input taken): the credits that just came must move it, since
      // the client may send nothing more until it gets its echo.
      if (this.wsState === WS_OPEN && this.state === ST_ACTIVE) wsRead(this, NO_BYTES, 0, 0)
      return
    }
    const used = this.consume(q.buf, q.start, q.end)
    if (q.buf === null) return // closed meanwhile
    q.consume(used - q.start)
  }


  /** Runs the state machine over buf[start, end); returns how far it consumed. */
  private consume(buf: Uint8Array, start: number, end: number): number {
    for (;;) {
      if (this.state === ST_HEAD) {
        if (start === end) return start
        const headEnd = findHeadEnd(buf, start, end, start + this.scanPos)
        if (headEnd < 0) {
          const bad = this.checkLine(buf, start, end, this.host.head)
          if (bad < 0) {
            this.fail(mapParseError(bad))
            return end
          }
          if (end - start >= this.host.bufferSize) {
            this.fail(E.RESP_HEADERS_TOO_LARGE)
            return end
          }
          this.scanPos = end - start
          return start
        }
        if (headEnd - start > this.host.bufferSize) {
          this.fail(E.RESP_HEADERS_TOO_LARGE)
          return end
        }
        if (!startRequest(this, buf, start, headEnd)) return end
        const h = this.host.head
        this.headRequest = isHeadMethod(buf, h.methodStart, h.methodEnd)
        start = headEnd
        continue
      }
      if (this.wsState === WS_OPEN) return this.state === ST_ACTIVE ? wsRead(this, buf, start, end) : start
      if (this.state === ST_ACTIVE && !this.bodyDone && !this.paused && this.credits > 0 && this.handler >= 0) {
        const next = forwardBody(this, buf, start, end)
        if (next === start) return start
        start = next
        continue
      }
      return start
    }
  }

  // --- handler input -----------------------------------------------------------------

  /** A packet (or one id of a multi-id packet) addressed to this connection's session. */
  onHandlerPacket(p: HandlerPacket, idIndex: number): void {
    const s = this.host
    const seq = p.idSeq[idIndex]
    if (seq >= 0) {
      // zhttp.md 4.5: a gap breaks the session; close without cancel.
      if (seq !== this.inSeq) {
        this.abort(false)
        return
      }
      this.inSeq++
    }
    if (p.fromStart >= 0) {
      if (this.handler < 0 || !s.handlers.matches(this.handler, p.buf, p.fromStart, p.fromEnd)) {
        // A new addressee (first packet, or a handoff to another handler, zhttp.md 4.6).
        // acquire refuses a `from` over 64 bytes: that closes the session without cancel.
        const h = s.handlers.acquire(p.buf, p.fromStart, p.fromEnd)
        if (h < 0) {
          this.abort(false)
          return
        }
        this.releaseHandler()
        this.handler = h
      }
    }
    this.sessionDeadline = s.now + s.sessionTimeoutMs
    if (this.state === ST_ORPHAN) {
      // The client left before the handler spoke: now there is someone to tell.
      this.sendTyped('cancel', -1)
      this.endSocket()
      return
    }
    if (this.paused) {
      this.paused = false
      if (this.creditsOwed > 0) this.queueCredits()
    }
    const first = this.state === ST_WAIT_HANDLER
    if (first) this.state = ST_ACTIVE
    switch (p.type) {
      case P.TYPE_KEEP_ALIVE:
        break
      case P.TYPE_CREDIT:
        if (p.credits > 0) this.credits += p.credits
        break
      case P.TYPE_HANDOFF_START:
        this.sendTyped('handoff-proceed', -1)
        this.paused = true
        break
      case P.TYPE_ERROR:
        if (this.wsState === WS_HANDSHAKE && isRejected(p)) {
          // zhttp.md 5.3: the handler's refusal goes to the client, if it is a response.
          if (this.headAcceptable(p, false)) wsReject(this, p)
          return
        }
        this.abort(false)
        return
      case P.TYPE_CANCEL:
        this.abort(false)
        return
      case P.TYPE_DATA:
        if (p.credits > 0) this.credits += p.credits
        if (this.wsState !== WS_NONE) {
          // The accept's head is checked here; any other answer is checked as a response.
          if (this.wsState === WS_HANDSHAKE && p.code === 101 && !this.headAcceptable(p, true)) return
          if (!wsHandlerData(this, p)) return
        } else if (!this.writeResponse(p)) {
          return
        }
        break
      case P.TYPE_CLOSE:
      case P.TYPE_PING:
      case P.TYPE_PONG:
        if (p.credits > 0) this.credits += p.credits
        if (this.wsState === WS_OPEN) {
          const op = p.type === P.TYPE_CLOSE ? OP_CLOSE : p.type === P.TYPE_PING ? OP_PING : OP_PONG
          if (!wsHandlerControl(this, p, op)) return
          break
        }
        this.abort(false) // not on an HTTP session (zhttp.md 4.4)
        return
      default:
        // close/ping/pong/unknown on an HTTP session: protocol violation, no cancel (4.4).
        this.abort(false)
        return
    }
    if (first && this.expectContinue && !this.bodyDone && !this.respStarted) {
      this.writeClient(CONTINUE_100, 0, CONTINUE_100.length)
    }
    this.process()
    this.updateReadPause()
  }

  /**
   * Writes response bytes for a data packet; false when the connection was closed. A completed
   * response on a kept-alive connection starts the next request cycle.
   */
  writeResponse(p: HandlerPacket): boolean {
    const s = this.host
    const bodyLen = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
    // zhttp.md 4.7: response data beyond the free buffer space closes and cancels.
    if (bodyLen > this.respCredits) {
      this.abort(true)
      return false
    }
    if (!this.respStarted && !this.bodyDone) {
      // Early response: the rest of the request body is not read; no reuse (4.4 step 3).
      this.keepAlive = false
      this.bodyDone = true
    }
    const out = s.scratchFor(responseSizeMax(p))
    const pos = composeResponse(out, p, this)
    if (pos < 0) {
      this.refuseResponse(composed.invalid)
      return false
    }
    // A body that ended short of its length is written; keepAlive is now off, so it closes.
    if (composed.invalid !== INVALID_NONE) this.reportInvalid(composed.invalid)
    const bodyWritten = composed.bodyWritten
    this.respCredits -= bodyWritten
    const done = !p.more
    this.streamDeadline = s.now + s.streamTimeoutMs
    this.writeClient(out, 0, pos, done ? 0 : bodyWritten)
    if (this.state === ST_CLOSED) return false
    if (done) {
      if (!this.keepAlive) {
        this.closeAfterWrite(s.streamTimeoutMs)
        return false
      }
      if (this.writeq.length > 0) {
        // The next request is read only once this response is written (zhttp.md 4.7):
        // a client that pipelines without reading cannot pile responses up here.
        this.state = ST_FLUSHING
        this.releaseHandler()
        this.awaitDrain(s.streamTimeoutMs)
        this.updateReadPause()
        return false
      }
      this.startCycle(s.now)
    }
    return true
  }

  /** Checks a handshake answer's head (response-check.ts); false when it was refused. */
  private headAcceptable(p: HandlerPacket, switching: boolean): boolean {
    const bad = checkResponseHead(p, switching)
    if (bad === INVALID_NONE) return true
    this.refuseResponse(bad)
    return false
  }

  /**
   * A handler response zgate will not write: a 502 while nothing of it reached the client,
   * else a close (fail decides); the handler gets a cancel either way, as for a bad
   * Content-Length in Condure (zhttp.md 4.7).
   */
  private refuseResponse(reason: number): void {
    this.reportInvalid(reason)
    this.fail(E.RESP_BAD_GATEWAY)
  }

  private reportInvalid(reason: number): void {
    const outcome =
      reason === INVALID_BODY_UNDER_LENGTH ? 'written, then the connection closes' : this.respStarted ? 'connection closed' : '502 sent'
    this.host.faults.invalidResponse(reason, outcome)
  }
}

/** An `error` whose condition is exactly `rejected` (zhttp.md 3.5). */
function isRejected(p: HandlerPacket): boolean {
  return p.conditionStart >= 0 && spanEqualsAscii(p.buf, p.conditionStart, p.conditionEnd, 'rejected')
}
