// Worker 0's side of `--workers N` (zhttp.md 4.1, 1.5): the process keeps ONE ZHTTP endpoint
// set, owned by worker 0's thread, as Condure keeps one zhttpsocket for all its workers.
// Workers 1..N-1 run in Bun Workers on the same libzmq context and reach worker 0 over inproc:
// their first packets and later packets arrive on two PULL sockets and leave, frames
// unchanged, on the real PUSH and ROUTER; a packet from a handler is routed by the W of its
// ids to that worker's inproc PUSH. Copies are whole messages between outboxes and inboxes,
// batched per drain: one FFI crossing per socket and turn, as on worker 0's own path.

import { log, ERROR } from '../log.ts'
import { SEND_RETRY_MS } from '../limits.ts'
import type { RelayEndpoints, StreamClient } from '../zhttp/stream-client.ts'
import {
  ZmqContext,
  ZmqPoller,
  ZmqSocket,
  ZMQ_LINGER,
  ZMQ_PULL,
  ZMQ_PUSH,
  ZMQ_RCVHWM,
  ZMQ_SNDHWM,
} from '../zmq/socket.ts'

/** Outbox room per relayed message beyond its frames, and per frame (headers, generously). */
const MESSAGE_OVERHEAD_BYTES = 64
const FRAME_OVERHEAD_BYTES = 16

/** The inproc endpoints of worker `w` (w >= 1) in a process; `pid` keeps them unique. */
export function relayEndpoints(w: number): RelayEndpoints {
  const base = `inproc://zgate-${process.pid}`
  return { out: `${base}-out`, outStream: `${base}-out-stream`, in: `${base}-in-${w}` }
}

export class WorkerRelay {
  private readonly out: ZmqSocket
  private readonly outStream: ZmqSocket
  /** Per worker (index 0 unused): the PUSH bound to that worker's `-in`. */
  private readonly ins: Array<ZmqSocket | null>
  private readonly poller: ZmqPoller
  /** Last message number that was forwarded to each worker (one copy per message). */
  private readonly stamp: Float64Array
  private message = 0
  private retry: ReturnType<typeof setTimeout> | null = null
  /** A batch not yet copied because the outbox was full: socket, next message, count. */
  private heldFrom: ZmqSocket | null = null
  private heldAt = 0
  private heldCount = 0
  private readonly pumpBound = (): void => this.pump()
  private readonly retryBound = (): void => {
    this.retry = null
    this.pump()
  }

  constructor(
    ctx: ZmqContext,
    private readonly stream: StreamClient,
    readonly workers: number,
    hwm: number,
  ) {
    const ep = relayEndpoints(1)
    this.out = this.bound(ctx, ZMQ_PULL, ep.out, hwm)
    this.outStream = this.bound(ctx, ZMQ_PULL, ep.outStream, hwm)
    this.ins = [null]
    for (let w = 1; w < workers; w++) this.ins.push(this.bound(ctx, ZMQ_PUSH, relayEndpoints(w).in, hwm))
    this.stamp = new Float64Array(workers).fill(-1)
    this.poller = new ZmqPoller(this.pumpBound)
    this.poller.add(this.out)
    this.poller.add(this.outStream)
    this.poller.start()
    this.poller.kick() // see Server's constructor
  }

  private bound(ctx: ZmqContext, type: number, endpoint: string, hwm: number): ZmqSocket {
    const s = ctx.socket(type)
    s.setInt(ZMQ_LINGER, 0)
    s.setInt(type === ZMQ_PUSH ? ZMQ_SNDHWM : ZMQ_RCVHWM, hwm)
    s.bind(endpoint)
    return s
  }

  /** A new SUB message is being routed: each worker gets it at most once. */
  nextMessage(): void {
    this.message++
  }

  /** Queues message buf[s, e) for worker w (flushed by flush()). */
  forward(w: number, buf: Uint8Array, s: number, e: number): void {
    if (w <= 0 || w >= this.workers || this.stamp[w] === this.message) return
    this.stamp[w] = this.message
    const ob = (this.ins[w] as ZmqSocket).outbox
    if (!ob.ensure(e - s + MESSAGE_OVERHEAD_BYTES)) return
    ob.beginMessage()
    ob.frameBytes(buf, s, e, false)
    ob.endMessage()
  }

  /** Sends what was forwarded to workers; false while a worker's queue is full. */
  flush(): boolean {
    let done = true
    for (let w = 1; w < this.workers; w++) {
      const s = this.ins[w] as ZmqSocket
      if (s.outbox.pending > 0 && !s.flush()) done = false
    }
    return done
  }

  /** Moves the workers' packets to the real PUSH and ROUTER, then sends them. */
  pump(): void {
    let held = false
    try {
      held = !this.copyAll(this.out, this.stream.push) || !this.copyAll(this.outStream, this.stream.router)
      if ((!this.stream.flush() || held) && this.retry === null) {
        // A handler queue is full (HWM) or no handler is connected yet: retry as worker 0 does.
        this.retry = setTimeout(this.retryBound, SEND_RETRY_MS)
      }
      this.flush()
    } catch (err) {
      log(ERROR, 'zgate::relay', `relay error: ${(err as Error).message}`)
    }
    // While a batch is held the PULLs stay unread (the workers' own queues then fill and they
    // back off); re-arming now would only wake us again at once for the same input.
    if (!held) this.poller.rearm()
  }

  /**
   * Copies whole messages from `from`'s inbox to `to`'s outbox until libzmq has no more.
   * False when the outbox is at its limit: the rest of the batch is held for the next pump.
   */
  private copyAll(from: ZmqSocket, to: ZmqSocket): boolean {
    const inbox = from.inbox
    const resume = this.heldFrom === from
    let i = resume ? this.heldAt : 0
    let n = resume ? this.heldCount : from.recvBatch()
    if (resume) this.heldFrom = null
    for (;;) {
      for (; i < n; i++) {
        const frames = inbox.frameCount(i)
        let bytes = MESSAGE_OVERHEAD_BYTES
        for (let f = 0; f < frames; f++) bytes += inbox.frameLength(i, f) + FRAME_OVERHEAD_BYTES
        const ob = to.outbox
        if (!ob.ensure(bytes)) {
          this.heldFrom = from
          this.heldAt = i
          this.heldCount = n
          return false
        }
        ob.beginMessage()
        for (let f = 0; f < frames; f++) {
          ob.frameBytes(inbox.buf, inbox.frameStart(i, f), inbox.frameEnd(i, f), f + 1 < frames)
        }
        ob.endMessage()
      }
      if (inbox.drained) return true
      i = 0
      n = from.recvBatch()
    }
  }

  close(): void {
    if (this.retry !== null) clearTimeout(this.retry)
    this.poller.stop()
    this.out.close()
    this.outStream.close()
    for (const s of this.ins) if (s !== null) s.close()
  }
}
