// The face a stream-mode connection shows to the protocol phases it runs: request-reader.ts
// (the head becomes a first packet, the body follows under credits) and ws-session.ts (frames
// both ways). Connection (connection.ts) implements it; the phases see only this, so they
// depend on neither Connection nor the worker, and connection.ts → phase → this file is the
// one direction of every import.
//
// The fields are the session state the phases read and move on; the methods are the endings
// and writes that keep the connection's invariants (connection.ts header).

import type { ByteQueue } from '../mem/byte-queue.ts'
import type { ChunkedDecoder } from '../http/chunked.ts'
import type { HandlerPacket } from '../zhttp/packet.ts'
import type { StreamContext } from './worker-context.ts'
import type { WsSession } from './ws-state.ts'

export interface StreamConn {
  readonly host: StreamContext
  readonly slot: number
  readonly counter: number
  readonly secure: boolean
  readonly peerAddress: string
  readonly peerPort: number
  /** The client socket is still there (not closed by either side). */
  readonly connected: boolean
  readonly readq: ByteQueue
  readonly writeq: ByteQueue

  /** ST_* (states.ts). */
  state: number
  http10: boolean
  keepAlive: boolean
  expectContinue: boolean
  /** BODY_* (states.ts), the request body still to forward and whether it is all sent. */
  bodyKind: number
  bodyRemaining: number
  bodyDone: boolean
  chunked: ChunkedDecoder | null
  /** HandlerTable entry of the handler's address, -1 until its first packet. */
  handler: number
  outSeq: number
  /** Request-body (WebSocket: client message) bytes the handler allows us to send. */
  credits: number
  /** Response-body bytes the handler may still send (our free buffer space). */
  respCredits: number
  respStarted: boolean
  /** Handoff in progress: nothing moves until the next handler packet (zhttp.md 4.10). */
  paused: boolean
  streamDeadline: number
  /** WS_* (states.ts); `ws` holds the session state once the slot served an upgrade. */
  wsState: number
  readonly ws: WsSession | null
  /** The slot's WebSocket state, made on first use and reset for this upgrade. */
  wsSession(): WsSession

  /** A prebuilt error response (http/errors.ts RESP_*), then close; cancels by default. */
  fail(which: number, cancel?: boolean): void
  /** Ends the session now; `cancel` tells the handler when its address is known. */
  abort(cancel: boolean): void
  /** Writes to the client in order; `bodyBytes` of it return credits once written. */
  writeClient(buf: Uint8Array, s: number, e: number, bodyBytes?: number): void
  /** Ends the connection once pending bytes are written (progressMs without progress at most). */
  closeAfterWrite(progressMs: number): void
  /** A packet with just a type (and credits when >= 0) to the current handler. */
  sendTyped(type: string, credits: number): boolean
  /** Writes a handler data packet as HTTP response bytes; false when the connection closed. */
  writeResponse(p: HandlerPacket): boolean
}
