// The req-mode packet writer and reply framing (src/zhttp/req-client.ts, request-fields.ts;
// zhttp.md 1.4, 4.3, 4.11): packets compared with the independent reference encoder in
// test/helpers/tnetstring-reference.ts, the reply envelope rule against a slow reference over
// every frame layout up to a size, and the req-mode response head.

import { afterAll, describe, expect, test } from 'bun:test'
import { idNonce } from '../../src/zhttp/session-id.ts'
import { parseServeArgs } from '../../src/config.ts'
import { setLogLevel } from '../../src/log.ts'
import { RequestHead, findHeadEnd, parseRequestHead } from '../../src/http/parser.ts'
import { writeResponseHead, headResult, FRAMING_LENGTH, FRAMING_NONE } from '../../src/http/response-head.ts'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { REPLY_ENVELOPE_FRAMES_MAX } from '../../src/limits.ts'
import { ReqClient, replyPayloadFrame } from '../../src/zhttp/req-client.ts'
import { findUriHost, hostRange } from '../../src/zhttp/request-fields.ts'
import { Inbox, ZmqContext } from '../../src/zmq/socket.ts'
import { ZMQ_LINGER, ZMQ_RCVHWM, ZMQ_SNDHWM } from '../../src/zmq/socket.ts'
import { Pairs, bytesOf, latin1, tn } from '../helpers/tnetstring-reference.ts'
import { outboxFrames } from '../helpers/outbox-frames.ts'

setLogLevel(0)
const ctx = new ZmqContext()
afterAll(() => ctx.close())

let endpointSeq = 0
function client(extra: string[] = []): ReqClient {
  const cfg = parseServeArgs(['--listen', '1,req', '--zclient-req', `inproc://req-client-test-${++endpointSeq}`, ...extra])
  return new ReqClient(ctx, cfg, 3)
}

/** Queues the request in `raw` (head, then body bytes) and returns the message's frames. */
function packetFor(c: ReqClient, raw: string, body: string, peer: [string, number]): Uint8Array[] {
  const buf = bytesOf(raw + body)
  const end = findHeadEnd(buf, 0, buf.length, 0)
  const h = new RequestHead()
  expect(parseRequestHead(buf, 0, end, h)).toBe(0)
  findUriHost(buf, h)
  const before = c.dealer.outbox.committed
  expect(c.sendRequest(7, 0x1a, buf, h, hostRange.start, hostRange.end, buf, end, buf.length, peer[0], peer[1], false)).toBe(true)
  const msgs = outboxFrames(c.dealer.outbox.buf.subarray(before), c.dealer.outbox.committed - before)
  expect(msgs.length).toBe(1)
  return msgs[0]!
}

/** writeSessionId(worker 3, slot 7, counter 0x1a) with this process's nonce (session-id.ts). */
const ID = `3-7-1a-${idNonce()}`

describe('ReqClient.sendRequest', () => {
  test('two frames ["", T{id, ext, method, uri, headers, body, peer-address, peer-port}]', () => {
    const c = client()
    const frames = packetFor(c, 'POST /p?x=1 HTTP/1.1\r\nHost: example.com:80\r\nX-A: 1\r\nx-a: 2\r\n\r\n', 'bo\x00dy', ['::1', 4321])
    expect(frames.length).toBe(2)
    expect(frames[0]!.length).toBe(0)
    const want = tn(
      new Pairs([
        ['id', ID],
        ['ext', { multi: true }],
        ['method', 'POST'],
        ['uri', 'http://example.com:80/p?x=1'],
        ['headers', [['Host', 'example.com:80'], ['X-A', '1'], ['x-a', '2']]],
        ['body', bytesOf('bo\x00dy')],
        ['peer-address', '::1'],
        ['peer-port', 4321],
      ]),
    )
    expect(latin1(frames[1]!)).toBe(`T${latin1(want)}`)
    c.close()
  })

  test('no body, no headers, unix peer: those fields are left out; no Host means localhost', () => {
    const c = client()
    const frames = packetFor(c, 'GET / HTTP/1.0\r\n\r\n', '', ['', 0])
    const want = tn(new Pairs([['id', ID], ['ext', { multi: true }], ['method', 'GET'], ['uri', 'http://localhost/']]))
    expect(latin1(frames[1]!)).toBe(`T${latin1(want)}`)
    c.close()
  })

  test('an absolute-form target is the uri, Host left aside; large bodies keep the length prefix exact', () => {
    const c = client()
    const body = 'z'.repeat(70_000)
    const frames = packetFor(c, `PUT http://abs.example:81/b?q HTTP/1.1\r\nHost: b\r\nContent-Length: ${body.length}\r\n\r\n`, body, ['127.0.0.1', 1])
    const want = tn(
      new Pairs([
        ['id', ID],
        ['ext', { multi: true }],
        ['method', 'PUT'],
        ['uri', 'http://abs.example:81/b?q'],
        ['headers', [['Host', 'b'], ['Content-Length', String(body.length)]]],
        ['body', body],
        ['peer-address', '127.0.0.1'],
        ['peer-port', 1],
      ]),
    )
    expect(latin1(frames[1]!)).toBe(`T${latin1(want)}`)
    c.close()
  })
})

describe('ReqClient socket options', () => {
  test('SNDHWM and RCVHWM are 5 % of the total maxconn, at least 1 (Condure 1.9.1, zhttp.md 1.4)', () => {
    for (const [args, hwm] of [
      [[], 505],
      [['--req-maxconn', '10', '--stream-maxconn', '10'], 1],
      [['--req-maxconn', '1000', '--stream-maxconn', '1000'], 100],
    ] as const) {
      const c = client([...args])
      expect(c.dealer.getInt(ZMQ_SNDHWM)).toBe(hwm)
      expect(c.dealer.getInt(ZMQ_RCVHWM)).toBe(hwm)
      expect(c.dealer.getInt(ZMQ_LINGER)).toBe(0)
      c.close()
    }
  })
})

/** An inbox holding exactly these messages (layout: inbox.ts). */
function inboxOf(messages: Uint8Array[][]): Inbox {
  const frames = messages.reduce((n, m) => n + m.length, 0)
  const ib = new Inbox(1 << 16, messages.length, frames)
  let f = 0
  let pos = 0
  messages.forEach((m, i) => {
    ib.index[i] = f
    for (const fr of m) {
      ib.buf.set(fr, pos)
      ib.index[ib.frameBase + 2 * f] = pos
      ib.index[ib.frameBase + 2 * f + 1] = pos + fr.length
      pos += fr.length
      f++
    }
  })
  ib.index[messages.length] = f
  ib.count = messages.length
  return ib
}

/** Slow reference for zhttp.md 1.4: the frame after the first empty one, within the limit. */
function referencePayload(m: Uint8Array[]): number {
  const d = m.findIndex((fr) => fr.length === 0)
  if (d < 0 || d > REPLY_ENVELOPE_FRAMES_MAX || d + 1 >= m.length) return -1
  return d + 1
}

describe('replyPayloadFrame', () => {
  test('agrees with the reference for every layout of up to 12 frames (empty or not)', () => {
    const msgs: Uint8Array[][] = []
    for (let n = 1; n <= 12; n++) {
      for (let bits = 0; bits < 1 << n; bits++) {
        msgs.push(Array.from({ length: n }, (_, i) => ((bits >> i) & 1 ? bytesOf(`f${i}`) : new Uint8Array(0))))
      }
    }
    // One inbox per chunk keeps the index small.
    for (let s = 0; s < msgs.length; s += 512) {
      const chunk = msgs.slice(s, s + 512)
      const ib = inboxOf(chunk)
      chunk.forEach((m, i) => expect(replyPayloadFrame(ib, i)).toBe(referencePayload(m)))
    }
  })

  test('examples: REP-style, ROUTER-style, 8 and 9 envelope frames', () => {
    const e = new Uint8Array(0)
    const p = bytesOf('T0:}')
    const env = (n: number) => Array.from({ length: n }, () => bytesOf('x'))
    const ib = inboxOf([[e, p], [...env(8), e, p, bytesOf('extra')], [...env(9), e, p], [p], [e]])
    expect([0, 1, 2, 3, 4].map((i) => replyPayloadFrame(ib, i))).toEqual([1, 9, -1, -1, -1])
  })
})

describe('writeResponseHead in req mode (wholeBody)', () => {
  function head(packet: Uint8Array, http10: boolean, keepAlive: boolean, wholeBody: boolean): string {
    const p = new HandlerPacket()
    expect(parseHandlerPacket(packet, 0, packet.length, p)).toBe(0)
    const out = new Uint8Array(4096)
    writeResponseHead(out, 0, p, http10, keepAlive, wholeBody)
    return latin1(out.subarray(0, headResult.pos))
  }
  const reply = (fields: object) => bytesOf(`T${latin1(tn({ id: '0-0-0', ...fields } as never))}`)

  test('length is the body length whatever `more` and handler framing headers say', () => {
    const pk = reply({ code: 200, reason: 'OK', headers: [['Content-Length', 'x'], ['Transfer-Encoding', 'chunked'], ['Connection', 'close'], ['A', 'b']], body: 'abc', more: true })
    expect(head(pk, false, true, true)).toBe('HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 3\r\n\r\n')
    expect(headResult.framing).toBe(FRAMING_LENGTH)
    expect(headResult.badLength).toBe(false)
    expect(headResult.keepAlive).toBe(true)
    // Stream mode, for contrast: the handler's bad Content-Length is an error there.
    head(pk, false, true, false)
    expect(headResult.badLength).toBe(true)
  })

  test('HTTP/1.0 keep-alive, HTTP/1.1 close, 204 without length', () => {
    expect(head(reply({ code: 200, reason: 'OK', body: 'x', more: true }), true, true, true)).toBe(
      'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n',
    )
    expect(head(reply({ code: 201, reason: 'C' }), false, false, true)).toBe('HTTP/1.1 201 C\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    expect(head(reply({ code: 204, reason: 'N', body: 'x' }), false, true, true)).toBe('HTTP/1.1 204 N\r\n\r\n')
    expect(headResult.framing).toBe(FRAMING_NONE)
  })
})
