// The stream connection's state machine (src/conn/connection.ts, zhttp.md section 4) driven
// through its narrow worker interface (StreamContext), with no Server: a small test worker
// owns a real StreamClient on inproc endpoints, and the handler's side reads the packets the
// production encoder wrote with the reference decoder. Client bytes arrive split at every
// point; whatever the split, the handler must see the same packets and the client the same
// response bytes.

import { afterAll, describe, expect, test } from 'bun:test'
import type { Connection } from '../../src/conn/connection.ts'
import { ST_FREE, ST_HEAD, ST_WAIT_HANDLER } from '../../src/conn/states.ts'
import { setLogLevel, WARN } from '../../src/log.ts'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { ZmqContext } from '../../src/zmq/socket.ts'
import { HANDLER_ID, open, TestWorker } from '../helpers/stream-worker.ts'
import { bytesOf, tn } from '../helpers/tnetstring-reference.ts'

// The socket set logs each bind at INFO; these tests make hundreds.
setLogLevel(WARN)
const ctx = new ZmqContext()
afterAll(() => ctx.close())

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
    const w = new TestWorker(ctx)
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
    const w = new TestWorker(ctx)
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
    const w = new TestWorker(ctx)
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
    const w = new TestWorker(ctx)
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
