// One client TCP connection in stream mode (zhttp.md section 4): reads request heads, sends
// the first packet of each request, forwards the request body under the handler's credits,
// writes the handler's response, and repeats on kept-alive connections.
//
// Invariants ("always be reading, but never more than a buffer"):
// - Client bytes not yet consumed live in `readq`, a pooled buffer held only while such bytes
//   exist; with `bufferSize` bytes buffered, reading from the socket pauses.
// - Bytes for the client not yet accepted by the kernel live in `writeq`, pooled, held only
//   while the socket is backed up. Nothing is written around them (order is kept).
// - One timer handle per connection, armed in every state but ST_FREE. Within a request
//   cycle deadlines only move later, so refreshing one is a field store; when the wheel fires
//   early for a moved deadline, the timer is re-armed. Closing moves them earlier (armTimer
//   then re-adds the timer).
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

import type { Socket } from 'bun'
import type { Server } from './server.ts'
import {
  ST_HEAD,
  ST_WAIT_HANDLER,
  ST_ACTIVE,
  ST_CLOSING,
  ST_ORPHAN,
  ST_CLOSED,
  ST_FREE,
  ST_FLUSHING,
  BODY_NONE,
} from './states.ts'
import { startRequest, forwardBody } from './request-reader.ts'
import { findHeadEnd } from '../http/parser.ts'
import { ChunkedDecoder } from '../http/chunked.ts'
import { FRAMING_NONE } from '../http/response-head.ts'
import { composeResponse, composed, responseSizeMax } from './response-writer.ts'
import * as E from '../http/errors.ts'
import type { HandlerPacket } from '../zhttp/packet.ts'
import * as P from '../zhttp/packet.ts'
import { CLOSE_LINGER_MS } from '../limits.ts'
import { ByteQueue } from '../mem/byte-queue.ts'
import {
  WsSession,
  WS_NONE,
  WS_HANDSHAKE,
  WS_OPEN,
  wsRead,
  wsHandlerData,
  wsHandlerControl,
  wsReject,
  wsCloseFrame,
} from './ws-session.ts'
import { OP_CLOSE, OP_PING, OP_PONG, CLOSE_GOING_AWAY } from '../ws/frame.ts'
import { spanEqualsAscii } from '../zhttp/tnetstring.ts'
import { writeOrQueue, writeQueued } from './client-output.ts'
import { stats } from '../stats.ts'

export { ST_HEAD, ST_WAIT_HANDLER, ST_ACTIVE, ST_FLUSHING, ST_CLOSING, ST_ORPHAN, ST_CLOSED, ST_FREE }

const CONTINUE_100 = new TextEncoder().encode('HTTP/1.1 100 Continue\r\n\r\n')
/** The empty input of a state-machine pass that only moves what is held (process()). */
const NO_BYTES = new Uint8Array(0)

export type ClientSocket = Socket<Connection>

export class Connection {
  socket: ClientSocket | null = null
  state = ST_FREE
  slot: number
  counter = 0
  /** Client address text and port for the first packet; '' for unix sockets. */
  peerAddress = ''
  peerPort = 0
  /** Accepted on a `tls` listener: `uri` schemes are https and wss (zhttp.md 4.3). */
  secure = false

  /** Client bytes not yet consumed (pooled buffer only while non-empty). */
  readonly readq: ByteQueue
  /** Resume offset for findHeadEnd, relative to the first unconsumed byte. */
  scanPos = 0
  readPaused = false

  /** Bytes for the client that the kernel did not take yet. */
  readonly writeq: ByteQueue
  /** Response body bytes still in writeq: their credits are returned once they drain. */
  wBodyBytes = 0

  http10 = false
  keepAlive = false
  expectContinue = false
  bodyKind = BODY_NONE
  bodyRemaining = 0
  bodyDone = true
  chunked: ChunkedDecoder | null = null

  /** Handler address entry (HandlerTable), -1 until the handler's first packet. */
  handler = -1
  outSeq = 0
  inSeq = 0
  /** Request-body bytes the handler allows us to send. */
  credits = 0
  /** Response-body bytes the handler may still send (our free buffer space). */
  respCredits = 0
  /** Credits to return to the handler at the next flush. */
  creditsOwed = 0
  creditsQueued = false
  respStarted = false
  framing = FRAMING_NONE
  /** Handoff in progress: nothing moves until the next handler packet (zhttp.md 4.10). */
  paused = false
  /** The client half-closed: no further requests will come. */
  clientEnded = false
  /** Scratch flag of a batching pass (server.sendBatched). */
  batched = false
  /** WS_NONE, WS_HANDSHAKE or WS_OPEN (ws-session.ts); `ws` holds the session state. */
  wsState = WS_NONE
  ws: WsSession | null = null

  timer = -1
  timerAt = 0
  sessionDeadline = 0
  streamDeadline = 0

  constructor(
    readonly server: Server,
    slot: number,
  ) {
    this.slot = slot
    this.readq = new ByteQueue(server)
    this.writeq = new ByteQueue(server)
  }

  // --- lifecycle ---------------------------------------------------------------------

  open(socket: ClientSocket, now: number, secure: boolean): void {
    this.socket = socket
    this.secure = secure
    this.clientEnded = false
    this.peerAddress = this.server.peerAddressOf(socket)
    this.peerPort = this.peerAddress === '' ? 0 : socket.remotePort
    this.readPaused = false
    this.startCycle(now)
  }

  /** Starts waiting for the next request head (a new session id). */
  private startCycle(now: number): void {
    const s = this.server
    this.state = ST_HEAD
    this.counter = s.nextCounter()
    this.scanPos = 0
    this.releaseHandler()
    this.outSeq = 0
    this.inSeq = 0
    this.credits = 0
    this.respCredits = 0
    this.creditsOwed = 0
    this.respStarted = false
    this.paused = false
    this.bodyKind = BODY_NONE
    this.bodyDone = true
    this.wBodyBytes = 0
    this.wsState = WS_NONE
    // Condure restarts both timers for each request cycle (zhttp.md 4.2).
    this.sessionDeadline = now + s.sessionTimeoutMs
    this.streamDeadline = now + s.streamTimeoutMs
    s.armTimer(this, Math.min(this.sessionDeadline, this.streamDeadline))
  }

  /** This slot's WebSocket state, made on its first upgrade and reset for each one. */
  wsSession(): WsSession {
    let ws = this.ws
    if (ws === null) {
      ws = new WsSession(this.server.cfg.messagesMax)
      this.ws = ws
    } else {
      ws.reset()
    }
    return ws
  }

  private releaseHandler(): void {
    if (this.handler >= 0) {
      this.server.handlers.release(this.handler)
      this.handler = -1
    }
  }

  // --- client input ------------------------------------------------------------------

  onData(chunk: Uint8Array): void {
    if (this.state === ST_CLOSED || this.state === ST_CLOSING || this.state === ST_ORPHAN) return
    this.streamDeadline = this.server.now + this.server.streamTimeoutMs
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

  /** Stops reading from the socket while a whole buffer of client bytes waits. */
  private updateReadPause(): void {
    const sock = this.socket
    if (sock === null) return
    const full =
      this.readq.length >= this.server.bufferSize || this.paused || this.state === ST_FLUSHING
    if (full && !this.readPaused) {
      sock.pause()
      this.readPaused = true
    } else if (!full && this.readPaused) {
      sock.resume()
      this.readPaused = false
    }
  }

  /** Runs the state machine over buf[start, end); returns how far it consumed. */
  private consume(buf: Uint8Array, start: number, end: number): number {
    for (;;) {
      if (this.state === ST_HEAD) {
        if (start === end) return start
        const headEnd = findHeadEnd(buf, start, end, start + this.scanPos)
        if (headEnd < 0) {
          if (end - start >= this.server.bufferSize) {
            this.fail(E.RESP_HEADERS_TOO_LARGE)
            return end
          }
          this.scanPos = end - start
          return start
        }
        if (headEnd - start > this.server.bufferSize) {
          this.fail(E.RESP_HEADERS_TOO_LARGE)
          return end
        }
        if (!startRequest(this, buf, start, headEnd)) return end
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
    const s = this.server
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
          wsReject(this, p) // zhttp.md 5.3: the handler's refusal goes to the client
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
    const s = this.server
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
      this.abort(true)
      return false
    }
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

  // --- client output -----------------------------------------------------------------

  /**
   * Writes buf[s, e) to the client, keeping whatever the kernel does not take. `bodyBytes`
   * of it are response body whose credits go back to the handler once written.
   */
  writeClient(buf: Uint8Array, s: number, e: number, bodyBytes = 0): void {
    const sock = this.socket
    if (sock === null) return
    if (!writeOrQueue(sock, this.writeq, buf, s, e)) {
      this.wBodyBytes += bodyBytes
      return
    }
    if (bodyBytes > 0) this.returnCredits(bodyBytes)
  }

  /** The socket can take more: write what is pending. */
  onDrain(): void {
    const sock = this.socket
    if (sock === null || this.writeq.buf === null) return
    const before = this.writeq.length
    const empty = writeQueued(sock, this.writeq)
    if (this.wsState === WS_OPEN) (this.ws as WsSession).drainedBytes(before - this.writeq.length)
    if (!empty) return
    this.streamDeadline = this.server.now + this.server.streamTimeoutMs
    if (this.wBodyBytes > 0) {
      const b = this.wBodyBytes
      this.wBodyBytes = 0
      this.returnCredits(b)
    }
    if (this.state === ST_CLOSING) {
      this.endSocket()
    } else if (this.state === ST_FLUSHING) {
      this.startCycle(this.server.now)
      this.process()
      this.updateReadPause()
    }
  }

  private returnCredits(n: number): void {
    if (this.state !== ST_ACTIVE || this.handler < 0) return
    this.creditsOwed += n
    if (!this.paused) this.queueCredits()
  }

  private queueCredits(): void {
    if (this.creditsQueued) return
    this.creditsQueued = true
    this.server.queueCredits(this)
  }

  /** Called by the server's flush: one credit packet for all bytes written since the last. */
  flushCredits(): void {
    this.creditsQueued = false
    if (this.state !== ST_ACTIVE || this.paused || this.creditsOwed === 0 || this.handler < 0) {
      return
    }
    const n = this.creditsOwed
    if (this.sendTyped('credit', n)) {
      this.creditsOwed = 0
      this.respCredits += n
    }
  }

  /** A packet with just a type on this session, to the current handler. */
  sendTyped(type: string, credits: number): boolean {
    if (this.handler < 0) return false
    const ok = this.server.stream.sendTyped(
      this.handler,
      this.slot,
      this.counter,
      this.outSeq,
      type,
      credits,
    )
    if (ok) {
      this.outSeq++
      this.server.scheduleFlush()
    }
    return ok
  }

  // --- endings -----------------------------------------------------------------------

  /** Bad client input or a gateway-side refusal: a prebuilt response, then close. */
  fail(which: number, cancel = true): void {
    if (this.respStarted) {
      // A response is on the wire: another status line would corrupt it. Just end.
      this.abort(cancel)
      return
    }
    // A handler that already took part in this request learns that it is over.
    if (cancel && this.state === ST_ACTIVE) this.sendTyped('cancel', -1)
    const r = E.errorResponse(which, this.http10)
    stats.clientErrors[which]++
    this.writeClient(r, 0, r.length)
    // A client that does not even read a short error response gets little time for it.
    this.closeAfterWrite(CLOSE_LINGER_MS)
  }

  /** Stops the session now; `cancel` tells the handler when its address is known. */
  abort(cancel: boolean): void {
    if (cancel && this.state === ST_ACTIVE) this.sendTyped('cancel', -1)
    this.releaseWrite()
    this.endSocket()
  }

  private releaseWrite(): void {
    this.writeq.clear()
    this.wBodyBytes = 0
  }

  /**
   * Ends the connection once the pending bytes are written; they get `progressMs` without
   * progress (each drain refreshes it) before the connection is cut.
   */
  closeAfterWrite(progressMs: number): void {
    if (this.writeq.length > 0) {
      this.state = ST_CLOSING
      this.releaseHandler()
      this.awaitDrain(progressMs)
      return
    }
    this.endSocket()
  }

  /** Only the stream deadline (write progress) counts while waiting for a drain. */
  private awaitDrain(progressMs: number): void {
    const s = this.server
    this.sessionDeadline = Infinity
    this.streamDeadline = s.now + progressMs
    s.armTimer(this, this.streamDeadline)
  }

  private endSocket(): void {
    this.state = ST_CLOSED
    this.releaseHandler()
    this.readq.clear()
    const sock = this.socket
    if (sock !== null) {
      sock.end()
      // A peer that never closes its side would hold the slot: cut it off after a while.
      const s = this.server
      this.sessionDeadline = this.streamDeadline = s.now + CLOSE_LINGER_MS
      s.armTimer(this, this.sessionDeadline)
    }
    this.server.maybeFree(this)
  }

  /** The client's socket closed (by either side). */
  onSocketClose(): void {
    this.socket = null
    if (this.state === ST_ORPHAN) return // the slot waits for the handler (onClientEnd)
    this.readq.clear()
    this.releaseWrite()
    if (this.state === ST_ACTIVE && this.handler >= 0) {
      // zhttp.md 4.9: the handler learns of the disconnect with the next seq.
      this.sendTyped('cancel', -1)
    } else if (this.state === ST_WAIT_HANDLER) {
      this.state = ST_ORPHAN
      return
    }
    this.state = ST_CLOSED
    this.releaseHandler()
    this.server.maybeFree(this)
  }

  /**
   * Graceful shutdown begins (server.beginShutdown): an idle connection closes now, a request
   * under way closes once its response is written, a WebSocket session (already cancelled in
   * the server's batch) gets its 1001 close frame.
   */
  beginShutdown(): void {
    this.keepAlive = false
    const st = this.state
    if (st === ST_HEAD) this.endSocket()
    else if (st === ST_FLUSHING) this.closeAfterWrite(CLOSE_LINGER_MS)
    else if (this.wsState === WS_OPEN && (st === ST_ACTIVE || st === ST_WAIT_HANDLER)) this.shutdownClose()
  }

  /** A client still waits for (the rest of) a response. */
  inFlight(): boolean {
    const st = this.state
    return st === ST_WAIT_HANDLER || st === ST_ACTIVE || st === ST_FLUSHING || st === ST_CLOSING
  }

  /** Shutdown: the server already sent batched cancels; end without another packet. */
  shutdownClose(): void {
    this.state = ST_CLOSED
    this.releaseHandler()
    this.releaseWrite()
    // A WebSocket client learns why (RFC 6455 7.4.1: 1001, the server is going away).
    if (this.wsState === WS_OPEN) wsCloseFrame(this, CLOSE_GOING_AWAY)
    const sock = this.socket
    if (sock !== null) sock.end()
  }

  /**
   * The client shut down its sending side (EOF). Towards handlers this is a disconnect, as in
   * Condure: a session whose handler has spoken is cancelled now; one still waiting for the
   * handler's first packet is cancelled when that packet arrives (zhttp.md 4.9).
   */
  onClientEnd(): void {
    this.clientEnded = true
    this.keepAlive = false
    if (this.state === ST_WAIT_HANDLER) {
      this.state = ST_ORPHAN
      this.readq.clear()
      this.releaseWrite()
      const sock = this.socket
      if (sock !== null) sock.end()
    } else if (this.state === ST_ACTIVE) {
      this.abort(true)
    } else if (this.state === ST_HEAD) {
      this.endSocket()
    } else if (this.state === ST_FLUSHING) {
      this.closeAfterWrite(this.server.streamTimeoutMs)
    }
  }


  /** The wheel fired at or after `timerAt`. */
  onTimer(now: number): void {
    const deadline = Math.min(this.sessionDeadline, this.streamDeadline)
    if (now < deadline) {
      this.server.armTimer(this, deadline)
      return
    }
    const streamExpired = now >= this.streamDeadline
    switch (this.state) {
      case ST_HEAD:
        // A partial head gets 408; an idle kept-alive connection just closes.
        if (this.readq.length > 0) this.fail(E.RESP_REQUEST_TIMEOUT)
        else this.endSocket()
        break
      case ST_WAIT_HANDLER:
        this.fail(E.RESP_GATEWAY_TIMEOUT, false)
        break
      case ST_ACTIVE:
        if (!this.respStarted) {
          // No response head from the handler in time: 504 (Condure closes silently, 4.8).
          if (streamExpired && this.handler >= 0) this.sendTyped('cancel', -1)
          this.fail(E.RESP_GATEWAY_TIMEOUT, false)
        } else {
          // Stream timeout cancels (Condure 1.10.1); the session timeout does not.
          this.abort(streamExpired)
        }
        break
      case ST_CLOSING:
      case ST_FLUSHING:
        // The client stopped reading.
        this.releaseWrite()
        this.endSocket()
        break
      case ST_ORPHAN:
        this.endSocket()
        break
      case ST_CLOSED:
        if (this.socket !== null) this.socket.terminate()
        break
      default:
        break
    }
  }
}

/** An `error` whose condition is exactly `rejected` (zhttp.md 3.5). */
function isRejected(p: HandlerPacket): boolean {
  return p.conditionStart >= 0 && spanEqualsAscii(p.buf, p.conditionStart, p.conditionEnd, 'rejected')
}
