// A stream connection's worker without a Server, for unit tests (connection.test.ts, the
// first-packet test in packet-write.test.ts): TestWorker implements StreamContext with a real
// StreamClient on inproc endpoints, and reads what the production encoder wrote from the
// handler's ends of the sockets with the reference decoder; TestSocket records what the
// connection does to its client.

import { expect } from 'bun:test'
import { parseServeArgs } from '../../src/config.ts'
import type { ClientSocket } from '../../src/conn/client-io.ts'
import { Connection } from '../../src/conn/connection.ts'
import type { CreditOwner, StreamContext, TimerOwner } from '../../src/conn/worker-context.ts'
import { RequestHead } from '../../src/http/parser.ts'
import { HandlerTable } from '../../src/zhttp/handler-table.ts'
import { StreamClient } from '../../src/zhttp/stream-client.ts'
import { ZMQ_PULL, ZMQ_ROUTER, ZMQ_ROUTING_ID } from '../../src/zmq/socket.ts'
import type { ZmqContext, ZmqSocket } from '../../src/zmq/socket.ts'
import { bytesOf, latin1, refDecode } from './tnetstring-reference.ts'
import type { Ref } from './tnetstring-reference.ts'

export const BUFFER_SIZE = 1024
export const HANDLER_ID = 'handler-1'

let endpointSeq = 0

/** A Ref as plain JS, for assertions: maps become objects, strings latin1 text. */
export function plain(r: Ref): unknown {
  switch (r.k) {
    case 'str':
      return latin1(r.b)
    case 'int':
      return Number(r.n)
    case 'bool':
      return r.v
    case 'null':
      return null
    case 'float':
      return Number(r.s)
    case 'list':
      return r.items.map(plain)
    case 'map':
      return Object.fromEntries(r.pairs.map(([k, v]) => [plain(k) as string, plain(v)]))
  }
}

/** The worker services of one connection: real packets, recorded timers and flushes. */
export class TestWorker implements StreamContext {
  now = 0
  readonly bufferSize: number
  readonly streamTimeoutMs = 60_000
  readonly sessionTimeoutMs = 60_000
  readonly messagesMax = 8
  readonly compression = false
  readonly head = new RequestHead()
  readonly handlers = new HandlerTable()
  readonly stream: StreamClient
  /** The handler's ends of the gateway's PUSH and ROUTER. */
  readonly pull: ZmqSocket
  readonly router: ZmqSocket
  readonly credits: CreditOwner[] = []
  /** Refused handler responses, by INVALID_* reason (response-check.ts). */
  readonly invalid: number[] = []
  readonly faults = {
    warnAllowed: (): boolean => false,
    tooLarge: (): void => {},
    invalidResponse: (reason: number): void => {
      this.invalid.push(reason)
    },
  }
  freed: number[] = []
  private counter = 0

  /**
   * `ctx`: the test file's context (it closes it after its tests); `bufferSize` (default
   * BUFFER_SIZE) and `id` as the --buffer-size and --id flags.
   */
  constructor(ctx: ZmqContext, o: { bufferSize?: number; id?: string } = {}) {
    this.bufferSize = o.bufferSize ?? BUFFER_SIZE
    const base = `inproc://conn-unit-${process.pid}-${endpointSeq++}`
    // inproc endpoints (the flag takes ipc or tcp bases only): one context, no files.
    const cfg = {
      ...parseServeArgs(['--buffer-size', String(this.bufferSize), ...(o.id === undefined ? [] : ['--id', o.id])]),
      zclientStream: [{ out: `${base}-out`, outStream: `${base}-out-stream`, in: `${base}-in` }],
    }
    this.stream = new StreamClient(ctx, cfg, this.handlers, 0)
    this.pull = ctx.socket(ZMQ_PULL)
    this.pull.connect(`${base}-out`)
    this.router = ctx.socket(ZMQ_ROUTER)
    this.router.setBytes(ZMQ_ROUTING_ID, bytesOf(HANDLER_ID))
    this.router.connect(`${base}-out-stream`)
  }

  nextCounter(): number {
    return this.counter++
  }
  armTimer(t: TimerOwner, at: number): void {
    t.timer = 1
    t.timerAt = at
  }
  disarmTimer(t: TimerOwner): void {
    t.timer = -1
  }
  acquireBuffer(n: number): Uint8Array {
    return new Uint8Array(Math.max(n, this.bufferSize))
  }
  releaseBuffer(): void {}
  scratchFor(n: number): Uint8Array {
    return new Uint8Array(n)
  }
  scheduleFlush(): void {}
  queueCredits(c: CreditOwner): void {
    this.credits.push(c)
  }
  freeSlot(slot: number): void {
    this.freed.push(slot)
  }

  /** Sends what the connection queued and returns the packets each handler socket got. */
  packets(): { first: Record<string, unknown>[]; later: Record<string, unknown>[] } {
    for (const c of this.credits.splice(0)) c.flushCredits()
    this.stream.flush()
    return { first: drain(this.pull, 0), later: drain(this.router, 2) }
  }

  /** Sends what the connection queued and returns the raw payload frames the PULL end got. */
  firstPayloads(): Uint8Array[] {
    this.stream.flush()
    const out: Uint8Array[] = []
    do {
      const n = this.pull.recvBatch()
      for (let i = 0; i < n; i++) out.push(this.pull.inbox.frame(i, 0).slice())
    } while (!this.pull.inbox.drained)
    return out
  }

  close(): void {
    this.stream.close()
    this.pull.close()
    this.router.close()
  }
}

/** Every message waiting on `sock`, decoded from frame `f` (`T` + tnetstring map). */
export function drain(sock: ZmqSocket, f: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  do {
    const n = sock.recvBatch()
    for (let i = 0; i < n; i++) {
      const b = sock.inbox.frame(i, f)
      expect(b[0]).toBe(0x54) // 'T'
      out.push(plain(refDecode(b, 1, b.length).v) as Record<string, unknown>)
    }
  } while (!sock.inbox.drained)
  return out
}

/** A client socket that takes every byte and records what the connection did with it. */
export class TestSocket {
  data: unknown = null
  remoteAddress = '127.0.0.1'
  remotePort = 4321
  written = ''
  ended = false
  paused = false
  write(b: Uint8Array, s: number, n: number): number {
    this.written += latin1(b.subarray(s, s + n))
    return n
  }
  end(): void {
    this.ended = true
  }
  terminate(): void {
    this.ended = true
  }
  pause(): void {
    this.paused = true
  }
  resume(): void {
    this.paused = false
  }
}

/** A connection in `slot` opened on a TestSocket whose peer port is `remotePort`. */
export function open(w: TestWorker, slot = 3, remotePort = 4321): { c: Connection; sock: TestSocket } {
  const c = new Connection(w, slot)
  const sock = new TestSocket()
  sock.remotePort = remotePort
  // Only the socket methods a connection calls are provided.
  c.open(sock as unknown as ClientSocket, w.now, false)
  return { c, sock }
}
