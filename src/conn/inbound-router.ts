// Packets from handlers to sessions (zhttp.md 1.5, 2.2): each id of a packet names a session
// `W-K-N-X`; X must be this process's nonce (zhttp/session-id.ts: an id of another gateway
// sharing the handler pool is unknown, never delivered), W picks the worker, K the connection
// slot (O(1)), N the request cycle, so a packet for an earlier request on the same slot, or for
// a closed session, is dropped as Condure drops it. Both modes route through routeIds(): stream mode's
// SUB messages (here) and req mode's DEALER replies (req-slots.ts).

import { log, logEnabled, ERROR, TRACE, WARN } from '../log.ts'
import type { HandlerFaults } from './worker-context.ts'
import type { Slab } from '../mem/slab.ts'
import { stats, DROP_NOT_FOR_US, DROP_PARSE, DROP_UNKNOWN_ID } from '../stats.ts'
import { HandlerPacket, parseHandlerPacket } from '../zhttp/packet.ts'
import { packetErrorText } from '../zhttp/packet-errors.ts'
import type { StreamClient } from '../zhttp/stream-client.ts'
import type { Connection } from './connection.ts'
import { parseSessionId, parsedId } from '../zhttp/session-id.ts'
import { ST_ACTIVE, ST_ORPHAN, ST_WAIT_HANDLER } from './states.ts'
import { spanEquals } from '../util/bytes.ts'
import type { WorkerRelay } from './worker-relay.ts'

/** Where routeIds() delivers: the sessions of one worker, of one mode. */
export interface IdTarget {
  /** Delivers id `i` of p to session (slot, counter); false when no such live session. */
  deliver(p: HandlerPacket, i: number, slot: number, counter: number): boolean
  /** An id of worker `w` (another worker's session); not a drop. */
  otherWorker(w: number): void
}

/**
 * Delivers p to each of its ids that names a live session of `worker`; every other id is an
 * unknown-id drop (a malformed one too), except other workers' ids, handed to target.
 */
export function routeIds(p: HandlerPacket, worker: number, target: IdTarget): void {
  const buf = p.buf
  for (let i = 0; i < p.idCount; i++) {
    if (!parseSessionId(buf, p.idStart[i], p.idEnd[i])) {
      stats.handlerPacketsDropped[DROP_UNKNOWN_ID]++
      continue
    }
    if (parsedId.worker !== worker) {
      target.otherWorker(parsedId.worker)
      continue
    }
    // A closed or never-existing session: ignored, as Condure does (zhttp.md 1.5).
    if (!target.deliver(p, i, parsedId.slot, parsedId.counter)) stats.handlerPacketsDropped[DROP_UNKNOWN_ID]++
  }
}

/** Stream mode: `<instance-id> T...` messages from SUB, to the connections of one worker. */
export class InboundRouter implements IdTarget {
  private readonly packet = new HandlerPacket()
  /** The message being routed, for relaying it whole to another worker. */
  private msgBuf: Uint8Array = new Uint8Array(0)
  private msgStart = 0
  private msgEnd = 0

  constructor(
    private readonly worker: number,
    private readonly stream: StreamClient,
    private readonly conns: Slab<Connection>,
    /** Worker 0 of several: forwards the other workers' messages (worker-relay.ts). */
    private readonly relay: WorkerRelay | null,
    private readonly faults: HandlerFaults,
  ) {}

  /** Reads and routes every message SUB holds (the poller's wake-up must drain it). */
  drain(): void {
    const sub = this.stream.sub
    const inbox = sub.inbox
    const tooLarge = sub.recvDropped
    // Drain until libzmq reports nothing left, so that ZMQ_FD signals again.
    do {
      const n = sub.recvBatch()
      for (let i = 0; i < n; i++) {
        try {
          this.route(inbox.buf, inbox.frameStart(i, 0), inbox.frameEnd(i, 0))
        } catch (err) {
          // One bad packet must not cost the rest of the batch.
          if (this.faults.warnAllowed(ERROR)) log(ERROR, 'zgate::server', `handler packet dropped: ${(err as Error).message}`)
        }
      }
    } while (!inbox.drained)
    this.faults.tooLarge(sub.recvDropped - tooLarge)
    if (this.relay !== null) this.relay.flush()
  }

  /** One `<instance-id> T...` message from SUB (zhttp.md 2.2, 1.5). */
  route(buf: Uint8Array, start: number, end: number): void {
    const id = this.stream.instanceId
    const n = id.length
    stats.handlerPacketsIn++
    if (end - start <= n || buf[start + n] !== 0x20 || !spanEquals(buf, start, start + n, id)) {
      stats.handlerPacketsDropped[DROP_NOT_FOR_US]++
      if (this.faults.warnAllowed(WARN)) log(WARN, 'zgate::server', 'packet not for us')
      return
    }
    const p = this.packet
    const err = parseHandlerPacket(buf, start + n + 1, end, p)
    if (err !== 0) {
      stats.handlerPacketsDropped[DROP_PARSE]++
      if (this.faults.warnAllowed(WARN)) log(WARN, 'zgate::server', `zhttp parse error: ${packetErrorText(err)}`)
      return
    }
    if (logEnabled(TRACE)) {
      log(TRACE, 'zgate::server', `IN ${new TextDecoder().decode(buf.subarray(start, end))}`)
    }
    if (this.relay !== null) this.relay.nextMessage()
    this.msgBuf = buf
    this.msgStart = start
    this.msgEnd = end
    routeIds(p, this.worker, this)
  }

  deliver(p: HandlerPacket, i: number, slot: number, counter: number): boolean {
    const c = this.conns.held(slot)
    if (c === undefined || c.counter !== counter) return false
    const st = c.state
    if (st !== ST_WAIT_HANDLER && st !== ST_ACTIVE && st !== ST_ORPHAN) return false
    c.onHandlerPacket(p, i)
    return true
  }

  otherWorker(w: number): void {
    // Another worker's session (W of `W-K-N-X`, zhttp.md 1.5): the whole message goes there.
    // Worker 0 counts an id for a worker that does not exist; the others only see ids of
    // other workers in a multi-id message also meant for them.
    if (this.relay !== null && w < this.relay.workers) this.relay.forward(w, this.msgBuf, this.msgStart, this.msgEnd)
    else if (this.worker === 0) stats.handlerPacketsDropped[DROP_UNKNOWN_ID]++
  }
}
