// The req-mode side of a worker (zhttp.md 1.4, 4.11): the DEALER socket, `--req-maxconn`
// connection slots and the routing of handler replies to them. It exists only when some
// listener is in req mode (checklist 4).
//
// Slots are numbered after the stream-mode slots (`base + k`), in ids and in the timer wheel
// alike, so a req id `W-K-N-X` never collides with a stream id of the same worker and one wheel
// serves both kinds (Condure keeps both kinds in one connection table per worker as well).

import type { Config } from '../config.ts'
import type { ClientSocket } from './client-io.ts'
import type { WorkerContext } from './worker-context.ts'
import { log, logEnabled, ERROR, TRACE, WARN } from '../log.ts'
import { ReqConnection, RQ_WAIT } from './req-connection.ts'
import type { ReqHost } from './req-connection.ts'
import { routeIds } from './inbound-router.ts'
import type { IdTarget } from './inbound-router.ts'
import { Slab } from '../mem/slab.ts'
import { HandlerPacket, parseHandlerPacket } from '../zhttp/packet.ts'
import { packetErrorText } from '../zhttp/packet-errors.ts'
import { ReqClient, replyPayloadFrame } from '../zhttp/req-client.ts'
import type { ZmqContext } from '../zmq/socket.ts'
import { stats, DROP_NO_DELIMITER, DROP_PARSE } from '../stats.ts'

export class ReqSlots implements ReqHost, IdTarget {
  readonly client: ReqClient
  readonly timeoutMs: number
  readonly bodyBufferSize: number
  /** Connection objects by slot - base, each made on its slot's first use and reused. */
  private readonly conns: Slab<ReqConnection>
  private readonly packet = new HandlerPacket()

  constructor(
    private readonly io: WorkerContext,
    private readonly worker: number,
    ctx: ZmqContext,
    cfg: Config,
    /** First slot number: the stream-mode slot count. */
    readonly base: number,
  ) {
    this.client = new ReqClient(ctx, cfg, worker)
    this.timeoutMs = cfg.reqTimeoutS * 1000
    this.bodyBufferSize = cfg.bodyBufferSize
    this.conns = new Slab<ReqConnection>(cfg.reqMaxconn)
  }

  /** Live connections (for the housekeeping tick). */
  get active(): number {
    return this.conns.size
  }

  /** Takes a slot for a new client socket; false when all --req-maxconn are busy. */
  open(s: ClientSocket, now: number, secure: boolean): boolean {
    const k = this.conns.reuse()
    if (k < 0) return false
    let c = this.conns.held(k)
    if (c === undefined) {
      c = new ReqConnection(this.io, this, this.base + k)
      this.conns.set(k, c)
    }
    s.data = c
    c.open(s, now, secure)
    return true
  }

  /** A closed connection's slot is free again. */
  free(slot: number): void {
    this.conns.release(slot - this.base)
  }

  /** The connection of req slot `slot` (a wheel value >= base), if it was ever made. */
  at(slot: number): ReqConnection | undefined {
    return this.conns.held(slot - this.base)
  }

  // --- replies from handlers ---------------------------------------------------------

  /** Reads every waiting reply (the poller's onReady must drain each socket). */
  drain(): void {
    const dealer = this.client.dealer
    const inbox = dealer.inbox
    const faults = this.io.faults
    const tooLarge = dealer.recvDropped
    do {
      const n = dealer.recvBatch()
      for (let i = 0; i < n; i++) {
        stats.handlerPacketsIn++
        const f = replyPayloadFrame(inbox, i)
        if (f < 0) {
          stats.handlerPacketsDropped[DROP_NO_DELIMITER]++
          if (faults.warnAllowed(WARN)) log(WARN, 'zgate::server', 'req reply without a delimiter frame dropped')
          continue
        }
        try {
          this.route(inbox.buf, inbox.frameStart(i, f), inbox.frameEnd(i, f))
        } catch (err) {
          // One bad packet must not cost the rest of the batch.
          if (faults.warnAllowed(ERROR)) log(ERROR, 'zgate::server', `handler packet dropped: ${(err as Error).message}`)
        }
      }
    } while (!inbox.drained)
    faults.tooLarge(dealer.recvDropped - tooLarge)
  }

  /** One reply payload `T...`: to the connection whose current request has its id (1.5). */
  private route(buf: Uint8Array, start: number, end: number): void {
    const p = this.packet
    const err = parseHandlerPacket(buf, start, end, p)
    if (err !== 0) {
      stats.handlerPacketsDropped[DROP_PARSE]++
      if (this.io.faults.warnAllowed(WARN)) log(WARN, 'zgate::server', `zhttp parse error: ${packetErrorText(err)}`)
      return
    }
    if (logEnabled(TRACE)) {
      log(TRACE, 'zgate::server', `IN req ${new TextDecoder().decode(buf.subarray(start, end))}`)
    }
    routeIds(p, this.worker, this)
  }

  deliver(p: HandlerPacket, _i: number, slot: number, counter: number): boolean {
    const c = this.conns.held(slot - this.base)
    // A stale id (timed out, or an earlier request on this slot) is ignored (checklist 87).
    if (c === undefined || c.counter !== counter || c.state !== RQ_WAIT) return false
    c.onReply(p)
    return true
  }

  otherWorker(): void {
    // Req listeners are worker 0's alone: another worker's id is no session of this mode.
  }

  // --- shutdown ----------------------------------------------------------------------

  /** Graceful shutdown: idle connections close, the rest close after their reply. */
  beginShutdown(): void {
    for (let k = 0; k < this.conns.capacity; k++) {
      const c = this.conns.held(k)
      if (c !== undefined && c.socket !== null) c.beginShutdown()
    }
  }

  inFlight(): boolean {
    for (let k = 0; k < this.conns.capacity; k++) {
      const c = this.conns.held(k)
      if (c !== undefined && c.socket !== null && c.inFlight()) return true
    }
    return false
  }

  shutdown(): void {
    for (let k = 0; k < this.conns.capacity; k++) {
      const c = this.conns.held(k)
      if (c !== undefined && c.socket !== null) c.shutdownClose()
    }
    this.client.flush()
  }
}
