// The client side of a connection, shared by both kinds (stream mode: connection.ts, req mode:
// req-connection.ts): the socket, the read and write queues, read pausing, ordered writes.
//
// Invariants ("always be reading, but never more than a buffer"):
// - Client bytes not yet consumed live in `readq`, a pooled buffer held only while such bytes
//   exist; the subclass decides when enough is buffered and calls setReadPaused().
// - Bytes for the client not yet accepted by the kernel live in `writeq`, pooled, held only
//   while the socket is backed up. Nothing is ever written around them: a write goes straight
//   to the kernel only when the queue is empty, and a drain writes the queue first.
// - One timer handle per connection (`timer`, -1 when none), owned through the worker.

import type { Socket } from 'bun'
import { checkRequestLine } from '../http/parser.ts'
import type { RequestHead } from '../http/parser.ts'
import { ByteQueue } from '../mem/byte-queue.ts'
import { stats } from '../stats.ts'
import type { WorkerContext } from './worker-context.ts'

/** A client socket; its data is the connection object once accepted (null: refused/closed). */
export type ClientSocket = Socket<ClientIo | null>

/** `HTTP/1.1 100 Continue` (RFC 9110 10.1.1), written before the body is read. */
export const CONTINUE_100 = new TextEncoder().encode('HTTP/1.1 100 Continue\r\n\r\n')

export abstract class ClientIo {
  socket: ClientSocket | null = null
  /** The N of the current session id `W-K-N` (zhttp.md 1.5). */
  counter = 0
  /** Client address text and port for request packets; '' and 0 on unix sockets. */
  peerAddress = ''
  peerPort = 0
  /** Accepted on a `tls` listener: `uri` schemes are https and wss (zhttp.md 4.3). */
  secure = false
  /** The client half-closed: no further requests will come. */
  clientEnded = false
  http10 = false
  keepAlive = false

  /** Client bytes not yet consumed (pooled buffer only while non-empty). */
  readonly readq: ByteQueue
  /** Resume offset for findHeadEnd, relative to the first unconsumed byte. */
  scanPos = 0
  /** The current head's request line ended and was well formed (checkRequestLine). */
  lineOk = false
  readPaused = false
  /** Bytes for the client that the kernel did not take yet. */
  readonly writeq: ByteQueue

  timer = -1
  timerAt = 0

  constructor(
    io: WorkerContext,
    /** Slot number in ids and in the timer wheel. */
    readonly slot: number,
  ) {
    this.readq = new ByteQueue(io)
    this.writeq = new ByteQueue(io)
  }

  // --- what the listener calls -------------------------------------------------------

  abstract onData(chunk: Uint8Array): void
  /** The socket can take more bytes. */
  abstract onDrain(): void
  /** The socket closed (by either side). */
  abstract onSocketClose(): void
  /** The client shut down its sending side (EOF). */
  abstract onClientEnd(): void
  /** The timer wheel fired at or after `timerAt`. */
  abstract onTimer(now: number): void

  // --- for the subclasses ------------------------------------------------------------

  /** Takes a freshly accepted socket. */
  protected attach(socket: ClientSocket, secure: boolean): void {
    this.socket = socket
    this.secure = secure
    this.clientEnded = false
    this.peerAddress = peerAddressOf(socket)
    this.peerPort = this.peerAddress === '' ? 0 : socket.remotePort
    this.readPaused = false
  }

  /**
   * While a head is incomplete in buf[start, end): a request line that can never start a valid
   * head (HTTP/0.9 `GET /x`) is refused as soon as it ends, not when the head times out.
   * Returns its PARSE_ERR_* code (< 0), or 0 while the line is fine or not yet complete.
   */
  protected checkLine(buf: Uint8Array, start: number, end: number, head: RequestHead): number {
    if (this.lineOk) return 0
    const r = checkRequestLine(buf, start, end, start + this.scanPos, head)
    if (r < 0) return r
    this.lineOk = r === 0
    return 0
  }

  /** Pauses reading from the socket while `full`, resumes once it is not. */
  protected setReadPaused(full: boolean): void {
    const sock = this.socket
    if (sock === null) return
    if (full && !this.readPaused) {
      sock.pause()
      this.readPaused = true
    } else if (!full && this.readPaused) {
      sock.resume()
      this.readPaused = false
    }
  }

  /** Writes buf[s, e) or queues what the kernel does not take; true when all of it went now. */
  protected writeOut(buf: Uint8Array, s: number, e: number): boolean {
    const sock = this.socket
    if (sock === null) return false
    const q = this.writeq
    stats.bytesOut += e - s
    if (q.length > 0) {
      q.append(buf, s, e)
      return false
    }
    const n = sock.write(buf, s, e - s)
    if (n < 0) return false
    if (n < e - s) {
      q.append(buf, s + n, e)
      return false
    }
    return true
  }

  /** Writes what the write queue holds; true when it is now empty. */
  protected flushOut(): boolean {
    const sock = this.socket
    const q = this.writeq
    if (sock === null || q.buf === null) return false
    const n = sock.write(q.buf, q.start, q.length)
    if (n < 0) return false
    q.consume(n)
    return q.length === 0
  }
}

/** The client address as Condure shows it; '' for unix sockets. */
export function peerAddressOf(s: { readonly remoteAddress: string }): string {
  const a = s.remoteAddress
  if (a === undefined || a === '') return ''
  // Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6; Condure shows plain IPv4.
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a
}
