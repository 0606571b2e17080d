// What a client connection may ask of the worker that owns it, and nothing more.
//
// Connections (connection.ts, req-connection.ts) and the protocol phases they run
// (request-reader.ts, ws-session.ts) depend on these interfaces, never on the worker class
// (server.ts), so dependencies point one way: server → connections → this file. A unit test
// drives a connection through a small object that implements them (test/unit/connection-*.ts).
//
// Everything here is per worker and single-threaded: `now`, the shared request head and the
// scratch buffer are valid only until the connection returns to the event loop.

import type { RequestHead } from '../http/parser.ts'
import type { BufferSource } from '../mem/byte-queue.ts'
import type { HandlerTable } from '../zhttp/handler-table.ts'
import type { StreamClient } from '../zhttp/stream-client.ts'

/** Anything holding a timer-wheel handle; `slot` is the value the wheel hands back. */
export interface TimerOwner {
  timer: number
  timerAt: number
  readonly slot: number
}

/** A connection that owes its handler a credit packet (sent at the worker's next flush). */
export interface CreditOwner {
  flushCredits(): void
}

/**
 * Bad handler input: counted, and logged under one rate limit per worker (handler-faults.ts),
 * so that a flood of bad packets costs a few lines, not one each.
 */
export interface HandlerFaults {
  /** Whether a warning about a handler packet at `level` may be logged now. */
  warnAllowed(level: number): boolean
  /** `n` messages were dropped unread for their size (ZmqSocket.recvDropped). */
  tooLarge(n: number): void
  /** A handler response zgate refused (an INVALID_* reason of response-check.ts). */
  invalidResponse(reason: number, outcome: string): void
}

/** The worker services shared by both connection kinds. */
export interface WorkerContext extends BufferSource {
  /** performance.now() of the event being handled, refreshed by the worker per callback. */
  readonly now: number
  /** Client buffer size in bytes (--buffer-size): the unit of reads, pauses and credits. */
  readonly bufferSize: number
  /** One parsed request head per worker, overwritten by the next parse. */
  readonly head: RequestHead
  /** Counting and rate-limited logging of bad handler input. */
  readonly faults: HandlerFaults
  /** The N of the next session id `W-K-N-X` (zhttp.md 1.5, src/zhttp/session-id.ts). */
  nextCounter(): number
  /** Arms (or moves earlier) t's one timer; later deadlines are re-armed when it fires. */
  armTimer(t: TimerOwner, at: number): void
  disarmTimer(t: TimerOwner): void
  /** A shared output buffer of at least n bytes, for composing one write. */
  scratchFor(n: number): Uint8Array
  /** Packets were queued: send them in this event-loop turn's one batched flush. */
  scheduleFlush(): void
}

/** What a stream-mode connection needs besides: its timeouts, handlers and packet socket set. */
export interface StreamContext extends WorkerContext {
  readonly streamTimeoutMs: number
  readonly sessionTimeoutMs: number
  /** --messages-max: WebSocket messages queued towards a client (zhttp.md 5.5). */
  readonly messagesMax: number
  /** --compression: permessage-deflate may be agreed (zhttp.md 5.7). */
  readonly compression: boolean
  readonly handlers: HandlerTable
  readonly stream: StreamClient
  queueCredits(c: CreditOwner): void
  /** The connection in `slot` is finished (socket and session): its slot is free again. */
  freeSlot(slot: number): void
}
