// The state, writes and endings of a stream-mode connection (zhttp.md section 4), under the
// reading side in connection.ts (which documents the state machine). Here: the request cycle
// and its session id, the client output with the credits it returns to the handler, the
// packets with just a type, every way a connection ends, and its timer.
//
// Invariants (the client I/O ones are in client-io.ts):
// - With `bufferSize` client bytes buffered, reading from the socket pauses; so it does during
//   a handoff and while a kept-alive response is still being written.
// - One timer handle per connection, armed in every state but ST_FREE. Within a request
//   cycle deadlines only move later, so refreshing one is a field store; when the wheel fires
//   early for a moved deadline, the timer is re-armed. Closing moves them earlier (armTimer
//   then re-adds the timer).
// - Response body bytes return their credits to the handler only once the kernel took them.

import { ClientIo } from './client-io.ts'
import type { ClientSocket } from './client-io.ts'
import type { StreamContext } from './worker-context.ts'
import type { StreamConn } from './stream-state.ts'
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
  WS_NONE,
  WS_OPEN,
} from './states.ts'
import type { ChunkedDecoder } from '../http/chunked.ts'
import { FRAMING_NONE } from '../http/response-head.ts'
import * as E from '../http/errors.ts'
import type { HandlerPacket } from '../zhttp/packet.ts'
import { CLOSE_LINGER_MS } from '../limits.ts'
import { WsSession } from './ws-state.ts'
import { wsCloseFrame } from './ws-session.ts'
import { CLOSE_GOING_AWAY } from '../ws/frame.ts'
import { stats } from '../stats.ts'

export abstract class StreamBase extends ClientIo implements StreamConn {
  state = ST_FREE
  /** Response body bytes still in writeq: their credits are returned once they drain. */
  wBodyBytes = 0

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
  /** The current request is HEAD: its response carries no body (response-writer.ts). */
  headRequest = false
  /** Body bytes the response head announced and that are not yet written (FRAMING_LENGTH). */
  lengthLeft = 0
  /** Handoff in progress: nothing moves until the next handler packet (zhttp.md 4.10). */
  paused = false
  /** Scratch flag of a batching pass (housekeeping.ts sendBatched). */
  batched = false
  /** WS_NONE, WS_HANDSHAKE or WS_OPEN (ws-session.ts); `ws` holds the session state. */
  wsState = WS_NONE
  ws: WsSession | null = null

  sessionDeadline = 0
  streamDeadline = 0

  constructor(
    readonly host: StreamContext,
    slot: number,
  ) {
    super(host, slot)
  }

  get connected(): boolean {
    return this.socket !== null
  }

  /** Runs the state machine over buffered client bytes (connection.ts). */
  abstract process(): void
  /** Writes response bytes for a handler data packet (connection.ts). */
  abstract writeResponse(p: HandlerPacket): boolean

  // --- lifecycle ---------------------------------------------------------------------

  open(socket: ClientSocket, now: number, secure: boolean): void {
    this.attach(socket, secure)
    this.startCycle(now)
  }

  /** Starts waiting for the next request head (a new session id). */
  protected startCycle(now: number): void {
    const s = this.host
    this.state = ST_HEAD
    this.counter = s.nextCounter()
    this.scanPos = 0
    this.lineOk = false
    this.releaseHandler()
    this.outSeq = 0
    this.inSeq = 0
    this.credits = 0
    this.respCredits = 0
    this.creditsOwed = 0
    this.respStarted = false
    this.headRequest = false
    this.lengthLeft = 0
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
      ws = new WsSession(this.host.messagesMax)
      this.ws = ws
    } else {
      ws.reset()
    }
    return ws
  }

  protected releaseHandler(): void {
    if (this.handler >= 0) {
      this.host.handlers.release(this.handler)
      this.handler = -1
    }
  }

  /** Stops reading from the socket while a whole buffer of client bytes waits. */
  protected updateReadPause(): void {
    this.setReadPaused(this.readq.length >= this.host.bufferSize || this.paused || this.state === ST_FLUSHING)
  }
  // --- client output -----------------------------------------------------------------

  /**
   * Writes buf[s, e) to the client, keeping whatever the kernel does not take. `bodyBytes`
   * of it are response body whose credits go back to the handler once written.
   */
  writeClient(buf: Uint8Array, s: number, e: number, bodyBytes = 0): void {
    if (this.socket === null) return
    if (!this.writeOut(buf, s, e)) {
      this.wBodyBytes += bodyBytes
      return
    }
    if (bodyBytes > 0) this.returnCredits(bodyBytes)
  }

  /** The socket can take more: write what is pending. */
  onDrain(): void {
    if (this.socket === null || this.writeq.buf === null) return
    const before = this.writeq.length
    const empty = this.flushOut()
    if (this.wsState === WS_OPEN) (this.ws as WsSession).drainedBytes(before - this.writeq.length)
    if (!empty) return
    this.streamDeadline = this.host.now + this.host.streamTimeoutMs
    if (this.wBodyBytes > 0) {
      const b = this.wBodyBytes
      this.wBodyBytes = 0
      this.returnCredits(b)
    }
    if (this.state === ST_CLOSING) {
      this.endSocket()
    } else if (this.state === ST_FLUSHING) {
      this.startCycle(this.host.now)
      this.process()
      this.updateReadPause()
    }
  }

  protected returnCredits(n: number): void {
    if (this.state !== ST_ACTIVE || this.handler < 0) return
    this.creditsOwed += n
    if (!this.paused) this.queueCredits()
  }

  protected queueCredits(): void {
    if (this.creditsQueued) return
    this.creditsQueued = true
    this.host.queueCredits(this)
  }

  /** Called by the worker's flush: one credit packet for all bytes written since the last. */
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
    const ok = this.host.stream.sendTyped(
      this.handler,
      this.slot,
      this.counter,
      this.outSeq,
      type,
      credits,
    )
    if (ok) {
      this.outSeq++
      this.host.scheduleFlush()
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

  protected releaseWrite(): void {
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
  protected awaitDrain(progressMs: number): void {
    const s = this.host
    this.sessionDeadline = Infinity
    this.streamDeadline = s.now + progressMs
    s.armTimer(this, this.streamDeadline)
  }

  protected endSocket(): void {
    this.state = ST_CLOSED
    this.releaseHandler()
    this.readq.clear()
    const sock = this.socket
    if (sock !== null) {
      sock.end()
      // A peer that never closes its side would hold the slot: cut it off after a while.
      const s = this.host
      this.sessionDeadline = this.streamDeadline = s.now + CLOSE_LINGER_MS
      s.armTimer(this, this.sessionDeadline)
    }
    this.maybeFree()
  }

  /** Frees the slot once both the socket and the session are finished. */
  protected maybeFree(): void {
    if (this.state !== ST_CLOSED || this.socket !== null) return
    this.host.disarmTimer(this)
    this.state = ST_FREE
    this.counter = -1
    if (this.ws !== null) this.ws.release() // zlib state of a compressed session
    this.host.freeSlot(this.slot)
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
    this.maybeFree()
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
      this.closeAfterWrite(this.host.streamTimeoutMs)
    }
  }


  /** The wheel fired at or after `timerAt`. */
  onTimer(now: number): void {
    const deadline = Math.min(this.sessionDeadline, this.streamDeadline)
    if (now < deadline) {
      this.host.armTimer(this, deadline)
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
  }}
