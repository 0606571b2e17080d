// The handler's transport in Bun: zgate's own libzmq binding (src/zmq/), batched sends through
// each socket's outbox and batched receives drained when the poller thread wakes us (no busy
// loop: the JS thread sleeps until a socket's ZMQ_FD signals).

import {
  ZMQ_IMMEDIATE,
  ZMQ_LINGER,
  ZMQ_PULL,
  ZMQ_RCVHWM,
  ZMQ_ROUTER,
  ZMQ_ROUTING_ID,
  ZMQ_SNDHWM,
  ZMQ_XPUB,
  ZmqContext,
  ZmqPoller,
  type Inbox,
  type ZmqSocket,
} from '../zmq/socket.ts'
import {
  SOCK_PUB,
  SOCK_PULL,
  SOCK_REQ,
  SOCK_ROUTER,
  type InMessage,
  type MessageSink,
  type SocketKind,
  type Transport,
  type TransportOptions,
} from './transport.ts'

const SOCKET_TYPES = [ZMQ_PULL, ZMQ_ROUTER, ZMQ_XPUB, ZMQ_ROUTER]

/** A message of the inbox being drained (one object, re-pointed per message). */
class InboxMessage implements InMessage {
  ib: Inbox | null = null
  i = 0
  frames = 0
  buf(): Uint8Array {
    return this.ib!.buf
  }
  start(f: number): number {
    return this.ib!.frameStart(this.i, f)
  }
  end(f: number): number {
    return this.ib!.frameEnd(this.i, f)
  }
}

class BunTransport implements Transport {
  readonly name = 'bun'
  private readonly ctx = new ZmqContext()
  private readonly socks: (ZmqSocket | null)[] = [null, null, null, null]
  private readonly poller: ZmqPoller
  private sink: MessageSink | null = null
  private readonly msg = new InboxMessage()
  private closed = false
  private readonly drainBound = () => this.drain()

  constructor(private readonly opts: TransportOptions) {
    this.poller = new ZmqPoller(this.drainBound)
  }

  start(sink: MessageSink): void {
    this.sink = sink
    this.poller.start()
  }

  private sock(kind: SocketKind): ZmqSocket {
    let s = this.socks[kind]
    if (s !== null) return s
    s = this.ctx.socket(SOCKET_TYPES[kind])
    s.setInt(ZMQ_LINGER, this.opts.lingerMs)
    // Unbounded queues on our side: the gateway's credits bound what is in flight per
    // session (zhttp.md 4.7), and a PUB at its HWM would silently drop responses.
    s.setInt(ZMQ_SNDHWM, 0)
    s.setInt(ZMQ_RCVHWM, 0)
    if (kind === SOCK_ROUTER) s.setBytes(ZMQ_ROUTING_ID, this.opts.identity)
    // With IMMEDIATE, a connecting XPUB drops the pipe when the connection is lost, so the
    // gateway's subscription is withdrawn: that is how the handler learns a gateway died.
    if (kind === SOCK_PUB) s.setInt(ZMQ_IMMEDIATE, 1)
    this.socks[kind] = s
    this.poller.add(s)
    return s
  }

  connect(kind: SocketKind, endpoint: string, bind: boolean): void {
    const s = this.sock(kind)
    if (bind) s.bind(endpoint)
    else s.connect(endpoint)
    this.poller.kick()
  }

  disconnect(kind: SocketKind, endpoint: string, bind: boolean): void {
    const s = this.socks[kind]
    if (s === null) return
    if (bind) s.unbind(endpoint)
    else s.disconnect(endpoint)
  }

  send(kind: SocketKind, frames: readonly Uint8Array[]): void {
    const s = this.sock(kind)
    const ob = s.outbox
    let size = 0
    for (const f of frames) size += f.length + 8
    if (!ob.ensure(size)) {
      // The outbox is at its ceiling: hand what it holds to libzmq first.
      s.flush()
      if (!ob.ensure(size)) throw new Error(`handler: outbox full (${size} bytes)`)
    }
    ob.beginMessage()
    for (let i = 0; i < frames.length; i++) ob.frameBytes(frames[i], 0, frames[i].length, i + 1 < frames.length)
    ob.endMessage()
  }

  flush(): void {
    if (this.closed) return
    for (const s of this.socks) if (s !== null && s.outbox.pending > 0) s.flush()
  }

  private drain(): void {
    if (this.closed) return
    const m = this.msg
    const sink = this.sink!
    for (let k = 0; k < 4; k++) {
      const s = this.socks[k]
      if (s === null) continue
      do {
        const n = s.recvBatch()
        const ib = s.inbox
        m.ib = ib
        for (let i = 0; i < n; i++) {
          m.i = i
          m.frames = ib.frameCount(i)
          sink(k as SocketKind, m)
          if (this.closed) return
        }
      } while (!s.inbox.drained)
    }
    this.flush()
    this.poller.rearm()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.poller.stop()
    for (const s of this.socks) if (s !== null) s.close(this.opts.lingerMs)
    // zmq_ctx_term waits for the sockets' linger, which is bounded by opts.lingerMs.
    this.ctx.close()
  }
}

export function createBunTransport(opts: TransportOptions): Transport {
  return new BunTransport(opts)
}

