// The stream connection's state machine (src/conn/connection.ts, zhttp.md section 4) driven
// through its narrow worker interface (StreamContext), with no Server: a small test worker
// owns a real StreamClient on inproc endpoints, and the handler's side reads the packets the
// production encoder wrote with the reference decoder. Client bytes arrive split at every
// point; whatever the split, the handler must see the same packets and the client the same
// response bytes.

import { afterAll, describe, expect, test } from 'bun:test'
import { parseServeArgs } from '../../src/config.ts'
import type { ClientSocket } from '../../src/conn/client-io.ts'
import { Connection } from '../../src/conn/connection.ts'
import { ST_FREE, ST_HEAD, ST_WAIT_HANDLER } from '../../src/conn/states.ts'
import type { CreditOwner, StreamContext, TimerOwner } from '../../src/conn/worker-context.ts'
import { RequestHead } from '../../src/http/parser.ts'
import { setLogLevel, WARN } from '../../src/log.ts'
import { HandlerTable } from '../../src/zhttp/handler-table.ts'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { StreamClient } from '../../src/zhttp/stream-client.ts'
import { ZMQ_PULL, ZMQ_ROUTER, ZMQ_ROUTING_ID, ZmqContext } from '../../src/zmq/socket.ts'
import type { ZmqSocket } from '../../src/zmq/socket.ts'
import { bytesOf, latin1, refDecode, tn } from '../helpers/tnetstring-reference.ts'
import type { Ref } from '../helpers/tnetstring-reference.ts'

const BUFFER_SIZE = 1024
const HANDLER_ID = 'handler-1'

// The socket set logs each bind at INFO; these tests make hundreds.
setLogLevel(WARN)
const ctx = new ZmqContext()
afterAll(() => ctx.close())
let endpointSeq = 0

/** A Ref as plain JS, for assertions: maps become objects, strings latin1 text. */
function plain(r: Ref): unknown {
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
class TestWorker implements StreamContext {
  now = 0
  readonly bufferSize = BUFFER_SIZE
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

  constructor() {
    const base = `inproc://conn-unit-${process.pid}-${endpointSeq++}`
    // inproc endpoints (the flag takes ipc or tcp bases only): one context, no files.
    const cfg = {
      ...parseServeArgs(['--buffer-size', String(BUFFER_SIZE)]),
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
    return new Uint8Array(Math.max(n, BUFFER_SIZE))
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

  close(): void {
    this.stream.close()
    this.pull.close()
    this.router.close()
  }
}

/** Every message waiting on `sock`, decoded from frame `f` (`T` + tnetstring map). */
function drain(sock: ZmqSocket, f: number): Record<string, unknown>[] {
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
class TestSocket {
  data: unknown = null
  readonly remoteAddress = '127.0.0.1'
  readonly remotePort = 4321
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

function open(w: TestWorker): { c: Connection; sock: TestSocket } {
  const c = new Connection(w, 3)
  const sock = new TestSocket()
  // Only the socket methods a connection calls are provided.
  c.open(sock as unknown as ClientSocket, w.now, false)
  return { c, sock }
}

/** A handler packet to the connection's session, parsed as the router would parse it. */
function handlerPacket(c: Connection, seq: number, fields: Record<string, unknown>): HandlerPacket {
  const map = tn({ from: HANDLER_ID, id: `0-${c.slot}-${c.counter.toString(16)}`, seq, ...fields } as never)
  const raw = new Uint8Array(map.length + 1)
  raw[0] = 0x54 // 'T'
  raw.set(map, 1)
  const p = new HandlerPacket()
  expect(parseHandlerPacket(raw, 0, raw.length, p)).toBe(0)
  return p
}

const REQUEST =
  'POST /up?x=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n' +
  '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nT: v\r\n\r\n'

describe('Connection through StreamContext', () => {
  test('a chunked request split at every point: same first packet, same de-chunked body', () => {
    let reference: { first: unknown; body: string } | null = null
    const w = new TestWorker()
    for (let split = 0; split <= REQUEST.length; split++) {
      const { c } = open(w)
      expect(c.state).toBe(ST_HEAD)
      const bytes = bytesOf(REQUEST)
      c.onData(bytes.subarray(0, split))
      c.onData(bytes.subarray(split))
      expect(c.state).toBe(ST_WAIT_HANDLER)
      let { first, later } = w.packets()
      expect(first.length).toBe(1)
      expect(later).toEqual([])
      // The handler grants credits: the body follows, de-chunked (zhttp.md 4.4).
      c.onHandlerPacket(handlerPacket(c, 0, { type: 'credit', credits: 100 }), 0)
      ;({ later } = w.packets())
      const body = later.map((p) => (p.body as string | undefined) ?? '').join('')
      const last = later[later.length - 1]
      expect(last?.more).toBeUndefined()
      const seqs = later.map((p) => p.seq)
      expect(seqs).toEqual(seqs.map((_, i) => i + 1))
      // Each connection has its own session id; everything else must match.
      const got: { first: unknown; body: string } = { first: { ...first[0], id: undefined }, body }
      if (reference === null) reference = got
      expect(got).toEqual(reference)
    }
    w.close()
    const f = reference!.first as Record<string, unknown>
    expect(f.method).toBe('POST')
    expect(f.uri).toBe('http://example.com/up?x=1')
    expect(f.more).toBe(true)
    expect(f.stream).toBe(true)
    expect(f['peer-address']).toBe('127.0.0.1')
    expect(reference!.body).toBe('hello world')
  })

  test('a response split over packets reaches the client whole; keep-alive starts the next cycle', () => {
    const w = new TestWorker()
    const { c, sock } = open(w)
    c.onData(bytesOf('GET /a HTTP/1.1\r\nHost: h\r\n\r\n'))
    w.packets()
    const counter = c.counter
    c.onHandlerPacket(handlerPacket(c, 0, { code: 200, reason: 'OK', headers: [['Content-Length', '10']], body: 'hello', more: true }), 0)
    expect(sock.written).toBe('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello')
    c.onHandlerPacket(handlerPacket(c, 1, { body: 'world' }), 0)
    expect(sock.written.endsWith('helloworld')).toBe(true)
    // The response is complete and written: the next request gets a new session id.
    expect(c.state).toBe(ST_HEAD)
    expect(c.counter).not.toBe(counter)
    // The session ended with its response: the credits its written bytes had earned are not
    // sent to a handler that is no longer listening for them.
    const { later } = w.packets()
    expect(later.filter((p) => p.type === 'credit')).toEqual([])
    expect(sock.ended).toBe(false)
    w.close()
  })

  test('a seq gap from the handler ends the session without cancel (zhttp.md 4.5)', () => {
    const w = new TestWorker()
    const { c, sock } = open(w)
    c.onData(bytesOf('GET / HTTP/1.1\r\nHost: h\r\n\r\n'))
    w.packets()
    c.onHandlerPacket(handlerPacket(c, 0, { type: 'keep-alive' }), 0)
    c.onHandlerPacket(handlerPacket(c, 2, { type: 'keep-alive' }), 0)
    expect(sock.ended).toBe(true)
    const { later } = w.packets()
    expect(later.filter((p) => p.type === 'cancel')).toEqual([])
    // The socket reports its close: the slot goes back to the worker.
    c.onSocketClose()
    expect(c.state).toBe(ST_FREE)
    expect(w.freed).toEqual([3])
    w.close()
  })

  test('a client that leaves before the handler spoke gets its cancel once the handler does (4.9)', () => {
    const w = new TestWorker()
    const { c } = open(w)
    c.onData(bytesOf('GET / HTTP/1.1\r\nHost: h\r\n\r\n'))
    w.packets()
    c.onSocketClose()
    expect(w.freed).toEqual([])
    c.onHandlerPacket(handlerPacket(c, 0, { code: 200, reason: 'OK', body: 'late' }), 0)
    const { later } = w.packets()
    expect(later.map((p) => p.type)).toEqual(['cancel'])
    expect(w.freed).toEqual([3])
    w.close()
  })
})
