// ReqConnection's request reading (src/conn/req-connection.ts, zhttp.md 4.11) over a fake
// socket and fake slots: every request is fed split at every point (and byte by byte), and the
// body handed to the packet writer is checked against a slow reference de-chunker; limits give
// 413 / 431, and the reply is written with Content-Length.

import { describe, expect, test } from 'bun:test'
import { ReqConnection, RQ_WAIT, RQ_CLOSED, RQ_HEAD } from '../../src/conn/req-connection.ts'
import type { ReqHost } from '../../src/conn/req-connection.ts'
import type { ClientSocket } from '../../src/conn/client-io.ts'
import type { WorkerContext } from '../../src/conn/worker-context.ts'
import { RequestHead } from '../../src/http/parser.ts'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { bytesOf, latin1, tn } from '../helpers/tnetstring-reference.ts'

const BUFFER_SIZE = 256
const BODY_MAX = 300

interface Sent {
  method: string
  uri: string
  body: string
}

/** The worker and req-slot services of one connection, recording packets and writes. */
function harness() {
  const sent: Sent[] = []
  const written: string[] = []
  let ended = false
  let counter = 0
  const server: WorkerContext = {
    bufferSize: BUFFER_SIZE,
    head: new RequestHead(),
    now: 0,
    nextCounter: () => counter++,
    armTimer: () => {},
    disarmTimer: () => {},
    scheduleFlush: () => {},
    acquireBuffer: (n: number) => new Uint8Array(Math.max(n, BUFFER_SIZE)),
    releaseBuffer: () => {},
    scratchFor: (n: number) => new Uint8Array(n),
    faults: { warnAllowed: () => false, tooLarge: () => {}, invalidResponse: () => {} },
  }
  const slots: ReqHost = {
    timeoutMs: 30_000,
    bodyBufferSize: BODY_MAX,
    free: () => {},
    client: {
      sendRequest: (_slot: number, _counter: number, buf: Uint8Array, h: RequestHead, _hs: number, _he: number, body: Uint8Array, bs: number, be: number) => {
        sent.push({
          method: latin1(buf.subarray(h.methodStart, h.methodEnd)),
          uri: latin1(buf.subarray(h.targetStart, h.targetEnd)),
          body: latin1(body.subarray(bs, be)),
        })
        return true
      },
    },
  }
  const socket = {
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    write: (b: Uint8Array, s: number, n: number) => {
      written.push(latin1(b.subarray(s, s + n)))
      return n
    },
    end: () => {
      ended = true
    },
    pause: () => {},
    resume: () => {},
    terminate: () => {},
  }
  const c = new ReqConnection(server, slots, 5)
  // Only the socket methods a connection calls are provided.
  c.open(socket as unknown as ClientSocket, 0, false)
  return { c, sent, written: () => written.join(''), ended: () => ended }
}

/** Slow reference: the data of a complete chunked body, extensions and trailers dropped. */
function dechunk(raw: string): string {
  let out = ''
  let pos = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', pos)
    const size = parseInt(raw.slice(pos, eol).split(';')[0]!, 16)
    pos = eol + 2
    if (size === 0) return out
    out += raw.slice(pos, pos + size)
    pos += size + 2
  }
}

/** Feeds `raw` in the given pieces. */
function feed(c: ReqConnection, raw: string, cuts: number[]): void {
  const b = bytesOf(raw)
  let at = 0
  for (const cut of [...cuts, b.length]) {
    if (cut > at) c.onData(b.slice(at, cut))
    at = cut
  }
}

const CHUNKED =
  'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '5\r\nhello\r\n1;x=y\r\n \r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: v\r\n\r\n'
const LENGTH = 'PUT /l HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n0123456789ab'

describe('ReqConnection request reading', () => {
  for (const [what, raw, body] of [
    ['chunked', CHUNKED, dechunk(CHUNKED.slice(CHUNKED.indexOf('\r\n\r\n') + 4))],
    ['Content-Length', LENGTH, '0123456789ab'],
    ['no body', 'GET /g HTTP/1.1\r\nHost: h\r\n\r\n', ''],
  ] as const) {
    test(`${what}: the same packet body at every split point and byte by byte`, () => {
      const splits: number[][] = [[], Array.from({ length: raw.length }, (_, i) => i)]
      for (let i = 1; i < raw.length; i++) splits.push([i])
      for (let i = 1; i < raw.length; i += 7) for (let j = i + 1; j < raw.length; j += 5) splits.push([i, j])
      for (const cuts of splits) {
        const h = harness()
        feed(h.c, raw, cuts)
        expect(h.sent).toEqual([{ method: raw.split(' ')[0]!, uri: raw.split(' ')[1]!, body }])
        expect(h.c.state).toBe(RQ_WAIT)
      }
    })
  }

  test('a pipelined second request waits for the first reply, then is read from the buffer', () => {
    const h = harness()
    feed(h.c, CHUNKED + LENGTH, [])
    expect(h.sent.length).toBe(1)
    const reply = bytesOf(`T${latin1(tn({ id: '0-5-0', code: 200, reason: 'OK', body: 'one', more: true }))}`)
    const p = new HandlerPacket()
    expect(parseHandlerPacket(reply, 0, reply.length, p)).toBe(0)
    h.c.onReply(p)
    expect(h.written()).toBe('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none')
    expect(h.sent.map((s) => s.body)).toEqual([dechunk(CHUNKED.slice(CHUNKED.indexOf('\r\n\r\n') + 4)), '0123456789ab'])
    expect(h.c.state).toBe(RQ_WAIT)
  })

  test('bodies over --body-buffer-size get 413 and no packet (Content-Length and chunked)', () => {
    for (const raw of [
      `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${BODY_MAX + 1}\r\n\r\n`,
      `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${(BODY_MAX + 1).toString(16)}\r\n${'x'.repeat(BODY_MAX + 1)}\r\n0\r\n\r\n`,
      `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${'a\r\nxxxxxxxxxx\r\n'.repeat(BODY_MAX / 10 + 1)}0\r\n\r\n`,
    ]) {
      const h = harness()
      feed(h.c, raw, [40, 90])
      expect(h.sent.length).toBe(0)
      expect(h.written()).toStartWith('HTTP/1.1 413 ')
      expect(h.c.state).toBe(RQ_CLOSED)
    }
    // Exactly the limit in many small chunks is fine.
    const h = harness()
    feed(h.c, `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${'a\r\nxxxxxxxxxx\r\n'.repeat(BODY_MAX / 10)}0\r\n\r\n`, [50])
    expect(h.sent[0]!.body.length).toBe(BODY_MAX)
  })

  test('a head larger than the buffer gets 431; bad chunk framing and an HTTP/0.9 line get 400; idle start is RQ_HEAD', () => {
    let h = harness()
    expect(h.c.state).toBe(RQ_HEAD)
    feed(h.c, `GET / HTTP/1.1\r\nX: ${'y'.repeat(BUFFER_SIZE)}\r\n\r\n`, [])
    expect(h.written()).toStartWith('HTTP/1.1 431 ')
    h = harness()
    feed(h.c, 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', [])
    expect(h.written()).toStartWith('HTTP/1.1 400 ')
    expect(h.sent.length).toBe(0)
    // an HTTP/0.9 request line is refused once it ends, with no head to wait for
    h = harness()
    feed(h.c, 'GET /x\r\n', [3])
    expect(h.written()).toStartWith('HTTP/1.1 400 ')
    expect(h.c.state).toBe(RQ_CLOSED)
    expect(h.sent.length).toBe(0)
  })
})
