// The handler's transport in Node (≥ 20): the `zeromq` package (v6, async iterators). Each
// socket has one receive loop and one send loop (zeromq allows a single send in progress per
// socket), so messages leave in the order they were queued.

import * as zmq from 'zeromq'
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

type AnySocket = zmq.Pull | zmq.Router | zmq.XPublisher

/** Frames of one received message (one object, re-pointed per message). */
class FramesMessage implements InMessage {
  frames = 0
  list: Buffer[] = []
  buf(f: number): Uint8Array {
    return this.list[f]
  }
  start(): number {
    return 0
  }
  end(f: number): number {
    return this.list[f].length
  }
}

class NodeSocket {
  readonly queue: Buffer[][] = []
  sending = false
  constructor(readonly sock: AnySocket) {}
}

class NodeTransport implements Transport {
  readonly name = 'node'
  private readonly socks: (NodeSocket | null)[] = [null, null, null, null]
  private sink: MessageSink | null = null
  private closed = false
  private readonly msg = new FramesMessage()
  private readonly loops: Promise<void>[] = []

  constructor(private readonly opts: TransportOptions) {}

  start(sink: MessageSink): void {
    this.sink = sink
    for (let k = 0; k < 4; k++) if (this.socks[k] !== null) this.receive(k as SocketKind)
  }

  private sock(kind: SocketKind): NodeSocket {
    let s = this.socks[kind]
    if (s !== null) return s
    // Unbounded queues on our side and IMMEDIATE on the XPUB, as in transport-bun.ts (only
    // options each type has).
    const linger = this.opts.lingerMs
    let z: AnySocket
    if (kind === SOCK_PULL) z = new zmq.Pull({ linger, receiveHighWaterMark: 0 })
    else if (kind === SOCK_PUB) z = new zmq.XPublisher({ linger, sendHighWaterMark: 0, immediate: true })
    else if (kind === SOCK_ROUTER) {
      z = new zmq.Router({ linger, sendHighWaterMark: 0, receiveHighWaterMark: 0, routingId: Buffer.from(this.opts.identity).toString() })
    } else z = new zmq.Router({ linger, sendHighWaterMark: 0, receiveHighWaterMark: 0 })
    s = new NodeSocket(z)
    this.socks[kind] = s
    if (this.sink !== null) this.receive(kind)
    return s
  }

  private receive(kind: SocketKind): void {
    const s = this.socks[kind]!
    const m = this.msg
    this.loops.push(
      (async () => {
        try {
          for await (const frames of s.sock as AsyncIterable<Buffer[]>) {
            if (this.closed) return
            m.list = frames
            m.frames = frames.length
            this.sink!(kind, m)
            this.flush()
          }
        } catch (err) {
          // A closed socket ends its iterator with an error; anything else is worth a line.
          if (!this.closed) console.error(`handler: receive on socket ${kind} failed:`, err)
        }
      })(),
    )
  }

  connect(kind: SocketKind, endpoint: string, bind: boolean): void {
    const s = this.sock(kind)
    if (bind) s.sock.bind(endpoint).catch((err) => console.error(`handler: bind ${endpoint}:`, err))
    else s.sock.connect(endpoint)
  }

  disconnect(kind: SocketKind, endpoint: string, bind: boolean): void {
    const s = this.socks[kind]
    if (s === null) return
    if (bind) s.sock.unbind(endpoint).catch(() => {})
    else s.sock.disconnect(endpoint)
  }

  send(kind: SocketKind, frames: readonly Uint8Array[]): void {
    const s = this.sock(kind)
    // Copies: the caller's views point into a reused scratch buffer.
    const copy: Buffer[] = new Array(frames.length)
    for (let i = 0; i < frames.length; i++) copy[i] = Buffer.from(frames[i])
    s.queue.push(copy)
  }

  flush(): void {
    for (const s of this.socks) if (s !== null && !s.sending && s.queue.length > 0) void this.pump(s)
  }

  private async pump(s: NodeSocket): Promise<void> {
    s.sending = true
    try {
      while (s.queue.length > 0 && !this.closed) {
        const frames = s.queue.shift()!
        await (s.sock as zmq.Pull & { send(m: Buffer[]): Promise<void> }).send(frames)
      }
    } catch (err) {
      if (!this.closed) console.error('handler: send failed:', err)
    } finally {
      s.sending = false
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    // Let queued messages go first, for at most the linger time.
    const deadline = Date.now() + this.opts.lingerMs
    while (Date.now() < deadline && this.socks.some((s) => s !== null && (s.sending || s.queue.length > 0))) {
      this.flush()
      await new Promise((r) => setTimeout(r, 5))
    }
    this.closed = true
    for (const s of this.socks) if (s !== null) s.sock.close()
    await Promise.allSettled(this.loops)
  }
}

export function createNodeTransport(opts: TransportOptions): Transport {
  return new NodeTransport(opts)
}

