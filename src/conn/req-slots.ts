// The req-mode side of a worker (zhttp.md 1.4, 4.11): the DEALER socket, `--req-maxconn`
// connection slots and the routing of handler replies to them. It exists only when some
// listener is in req mode (checklist 4).
//
// Slots are numbered after the stream-mode slots (`base + k`), in ids and in the timer wheel
// alike, so a req id `W-K-N-X` never collides with a stream id of the same worker and one wheel
// serves both kinds (Condure keeps both kinds in one connection table per worker as well).

import type { Socket } from 'bun'
import type { Config } from '../config.ts'
import type { Server } from './server.ts'
import { log, logEnabled, ERROR, TRACE, WARN } from '../log.ts'
import { ReqConnection, RQ_FREE, RQ_WAIT } from './req-connection.ts'
import type { ReqSocket } from './req-connection.ts'
import { parseConnId, parsedId } from './conn-id.ts'
import { HandlerPacket, parseHandlerPacket, packetErrorText } from '../zhttp/packet.ts'
import { ReqClient, replyPayloadFrame } from '../zhttp/req-client.ts'
import type { ZmqContext } from '../zmq/socket.ts'
import { stats, DROP_NO_DELIMITER, DROP_PARSE, DROP_UNKNOWN_ID } from '../stats.ts'

export class ReqSlots {
  readonly client: ReqClient
  readonly timeoutMs: number
  readonly bodyBufferSize: number
  /** Live connections (for the housekeeping tick). */
  active = 0
  private readonly conns: Array<ReqConnection | null>
  private readonly freeSlots: Int32Array
  private freeCount: number
  private readonly packet = new HandlerPacket()

  constructor(
    readonly server: Server,
    ctx: ZmqContext,
    cfg: Config,
    /** First slot number: the stream-mode slot count. */
    readonly base: number,
  ) {
    this.client = new ReqClient(ctx, cfg, server.worker)
    this.timeoutMs = cfg.reqTimeoutS * 1000
    this.bodyBufferSize = cfg.bodyBufferSize
    const capacity = cfg.reqMaxconn
    this.conns = new Array<ReqConnection | null>(capacity).fill(null)
    this.freeSlots = new Int32Array(capacity)
    // Lowest slots first, so ids stay short and slots are reused while warm.
    for (let i = 0; i < capacity; i++) this.freeSlots[i] = capacity - 1 - i
    this.freeCount = capacity
  }

  /** Takes a slot for a new client socket; false when all --req-maxconn are busy. */
  open(s: Socket<unknown>, now: number, secure: boolean): boolean {
    if (this.freeCount === 0) return false
    const k = this.freeSlots[--this.freeCount]
    let c = this.conns[k]
    if (c === null) {
      c = new ReqConnection(this, this.base + k)
      this.conns[k] = c
    }
    this.active++
    s.data = c
    c.open(s as ReqSocket, now, secure)
    return true
  }

  /** Returns a closed connection's slot; its timer goes with it. */
  free(c: ReqConnection): void {
    if (c.state === RQ_FREE) return
    this.server.disarmTimer(c)
    c.state = RQ_FREE
    c.counter = -1
    this.freeSlots[this.freeCount++] = c.slot - this.base
    this.active--
  }

  /** The wheel fired for req slot `slot` (a wheel value >= base). */
  onTimer(slot: number, now: number): void {
    const c = this.conns[slot - this.base]
    if (c === null || c === undefined) return
    c.timer = -1
    c.onTimer(now)
  }

  // --- replies from handlers ---------------------------------------------------------

  /** Reads every waiting reply (the poller's onReady must drain each socket). */
  drain(): void {
    const dealer = this.client.dealer
    const inbox = dealer.inbox
    const server = this.server
    const tooLarge = dealer.recvDropped
    do {
      const n = dealer.recvBatch()
      for (let i = 0; i < n; i++) {
        stats.handlerPacketsIn++
        const f = replyPayloadFrame(inbox, i)
        if (f < 0) {
          stats.handlerPacketsDropped[DROP_NO_DELIMITER]++
          if (server.handlerWarning(WARN)) log(WARN, 'zgate::server', 'req reply without a delimiter frame dropped')
          continue
        }
        try {
          this.route(inbox.buf, inbox.frameStart(i, f), inbox.frameEnd(i, f))
        } catch (err) {
          // One bad packet must not cost the rest of the batch.
          if (server.handlerWarning(ERROR)) log(ERROR, 'zgate::server', `handler packet dropped: ${(err as Error).message}`)
        }
      }
    } while (!inbox.drained)
    server.countTooLarge(dealer.recvDropped - tooLarge)
  }

  /** One reply payload `T...`: to the connection whose current request has its id (1.5). */
  private route(buf: Uint8Array, start: number, end: number): void {
    const p = this.packet
    const err = parseHandlerPacket(buf, start, end, p)
    if (err !== 0) {
      stats.handlerPacketsDropped[DROP_PARSE]++
      if (this.server.handlerWarning(WARN)) log(WARN, 'zgate::server', `zhttp parse error: ${packetErrorText(err)}`)
      return
    }
    if (logEnabled(TRACE)) {
      log(TRACE, 'zgate::server', `IN req ${new TextDecoder().decode(buf.subarray(start, end))}`)
    }
    const worker = this.server.worker
    for (let i = 0; i < p.idCount; i++) {
      const known = parseConnId(buf, p.idStart[i], p.idEnd[i])
      if (known && parsedId.worker !== worker) continue // another worker's
      const k = parsedId.slot - this.base
      const c = !known || k < 0 || k >= this.conns.length ? null : this.conns[k]
      // A stale id (timed out, or an earlier request on this slot) is ignored (checklist 87).
      if (c === null || c.counter !== parsedId.counter || c.state !== RQ_WAIT) {
        stats.handlerPacketsDropped[DROP_UNKNOWN_ID]++
        continue
      }
      c.onReply(p)
    }
  }

  // --- shutdown ----------------------------------------------------------------------

  /** Graceful shutdown: idle connections close, the rest close after their reply. */
  beginShutdown(): void {
    for (const c of this.conns) {
      if (c !== null && c.socket !== null) c.beginShutdown()
    }
  }

  inFlight(): boolean {
    for (const c of this.conns) {
      if (c !== null && c.socket !== null && c.inFlight()) return true
    }
    return false
  }

  shutdown(): void {
    for (const c of this.conns) {
      if (c !== null && c.socket !== null) c.shutdownClose()
    }
    this.client.flush()
  }
}
