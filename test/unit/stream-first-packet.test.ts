// The stream-mode first packet as the production encoder writes it (StreamClient.sendFirstPacket
// with the shared request fields of src/zhttp/request-fields.ts; zhttp.md 4.3, 5.2), read back
// from the PUSH outbox: byte-exact against a literal for the section 4.3 example, against the
// independent reference encoder (test/helpers/tnetstring-reference.ts) for the variants, and
// field for field against req mode's packet for the same request (zhttp.md 4.11).

import { afterAll, describe, expect, test } from 'bun:test'
import { parseServeArgs } from '../../src/config.ts'
import { RequestHead, findHeadEnd, parseRequestHead } from '../../src/http/parser.ts'
import { setLogLevel, WARN } from '../../src/log.ts'
import { HandlerTable } from '../../src/zhttp/handler-table.ts'
import { ReqClient } from '../../src/zhttp/req-client.ts'
import { findUriHost, hostRange, uriScheme } from '../../src/zhttp/request-fields.ts'
import { idNonce } from '../../src/zhttp/session-id.ts'
import { StreamClient } from '../../src/zhttp/stream-client.ts'
import { ZmqContext } from '../../src/zmq/socket.ts'
import { outboxFrames } from '../helpers/outbox-frames.ts'
import { Pairs, bytesOf, latin1, tn } from '../helpers/tnetstring-reference.ts'
import type { Val } from '../helpers/tnetstring-reference.ts'

// The socket sets log each bind at INFO.
setLogLevel(WARN)
const ctx = new ZmqContext()
afterAll(() => ctx.close())

let endpointSeq = 0
const clients: { close(): void }[] = []
afterAll(() => {
  for (const c of clients) c.close()
})

/** A stream socket set on inproc endpoints (nothing reads them: packets stay in the outbox). */
function streamClient(id: string): StreamClient {
  const base = `inproc://first-packet-unit-${process.pid}-${endpointSeq++}`
  const cfg = {
    ...parseServeArgs(['--id', id]),
    zclientStream: [{ out: `${base}-out`, outStream: `${base}-out-stream`, in: `${base}-in` }],
  }
  const c = new StreamClient(ctx, cfg, new HandlerTable(), 0)
  clients.push(c)
  return c
}

/** A request head parsed from raw, with the host its uri uses. */
function head(raw: string): { buf: Uint8Array; h: RequestHead; hostS: number; hostE: number } {
  const buf = bytesOf(raw)
  const end = findHeadEnd(buf, 0, buf.length, 0)
  const h = new RequestHead()
  expect(parseRequestHead(buf, 0, end, h)).toBe(0)
  findUriHost(buf, h)
  return { buf, h, hostS: hostRange.start, hostE: hostRange.end }
}

interface FirstPacket {
  raw: string
  slot: number
  counter: number
  ws: boolean
  secure: boolean
  credits: number
  more: boolean
  peer: [string, number]
}

/** The payload sendFirstPacket queued on PUSH for `r`, as latin1 text. */
function firstPacket(c: StreamClient, r: FirstPacket): string {
  const { buf, h, hostS, hostE } = head(r.raw)
  const ob = c.push.outbox
  const before = ob.committed
  const scheme = uriScheme(r.secure, r.ws)
  const sent = c.sendFirstPacket(r.slot, r.counter, buf, h, hostS, hostE, scheme, r.credits, r.more, !r.ws, r.peer[0], r.peer[1])
  expect(sent).toBe(true)
  const msgs = outboxFrames(ob.buf.subarray(before), ob.committed - before)
  expect(msgs.length).toBe(1)
  expect(msgs[0]!.length).toBe(1) // PUSH: the payload alone
  return latin1(msgs[0]![0]!)
}

const EXT: [Val, Val] = ['ext', { multi: true }]

describe('StreamClient.sendFirstPacket', () => {
  test('the section 4.3 example, byte for byte', () => {
    const c = streamClient('cid')
    const got = firstPacket(c, {
      raw: 'GET /path?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n',
      slot: 0,
      counter: 0,
      ws: false,
      secure: false,
      credits: 8192,
      more: false,
      peer: ['127.0.0.1', 33020],
    })
    // Condure's `2:id,5:0-0-0,` becomes `2:id,14:0-0-0-<nonce>,` (nine more id bytes, one
    // more length digit): the map grows from 266 to 276 bytes.
    const want =
      `T276:4:from,3:cid,2:id,14:0-0-0-${idNonce()},3:seq,1:0#3:ext,15:5:multi,4:true!}` +
      '6:method,3:GET,3:uri,32:http://example.com:8080/path?x=1,' +
      '7:headers,53:27:4:Host,16:example.com:8080,]18:10:User-Agent,1:t,]]' +
      '7:credits,4:8192#6:stream,4:true!12:peer-address,9:127.0.0.1,9:peer-port,5:33020#}'
    expect(got).toBe(want)
  })

  test('a body to follow: more; https; no Host on HTTP/1.0 means localhost', () => {
    const c = streamClient('zgate-unit')
    const got = firstPacket(c, {
      raw: 'POST /up HTTP/1.0\r\nContent-Length: 5\r\n\r\n',
      slot: 12,
      counter: 0x2f,
      ws: false,
      secure: true,
      credits: 1024,
      more: true,
      peer: ['::1', 1],
    })
    const want = tn(
      new Pairs([
        ['from', 'zgate-unit'],
        ['id', `0-12-2f-${idNonce()}`],
        ['seq', 0],
        EXT,
        ['method', 'POST'],
        ['uri', 'https://localhost/up'],
        ['headers', [['Content-Length', '5']]],
        ['credits', 1024],
        ['more', true],
        ['stream', true],
        ['peer-address', '::1'],
        ['peer-port', 1],
      ]),
    )
    expect(got).toBe(`T${latin1(want)}`)
  })

  test('a WebSocket upgrade on a unix socket: wss uri, no more, no stream, no peer fields', () => {
    const c = streamClient('zgate-unit')
    const raw =
      'GET /chat HTTP/1.1\r\nHost: h.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
    const got = firstPacket(c, { raw, slot: 3, counter: 1, ws: true, secure: true, credits: 6144, more: false, peer: ['', 0] })
    const want = tn(
      new Pairs([
        ['from', 'zgate-unit'],
        ['id', `0-3-1-${idNonce()}`],
        ['seq', 0],
        EXT,
        ['method', 'GET'],
        ['uri', 'wss://h.example/chat'],
        [
          'headers',
          [
            ['Host', 'h.example'],
            ['Upgrade', 'websocket'],
            ['Connection', 'Upgrade'],
            ['Sec-WebSocket-Version', '13'],
            ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
          ],
        ],
        ['credits', 6144],
      ]),
    )
    expect(got).toBe(`T${latin1(want)}`)
  })

  test('many headers: the length prefix stays exact whatever the size guess', () => {
    const c = streamClient('zgate-unit')
    const names = Array.from({ length: 60 }, (_, i) => `X-H${i}`)
    const raw = `GET / HTTP/1.1\r\nHost: a\r\n${names.map((n) => `${n}: ${'v'.repeat(90)}\r\n`).join('')}\r\n`
    const got = firstPacket(c, { raw, slot: 0, counter: 9, ws: false, secure: false, credits: 1, more: false, peer: ['10.0.0.1', 80] })
    const want = tn(
      new Pairs([
        ['from', 'zgate-unit'],
        ['id', `0-0-9-${idNonce()}`],
        ['seq', 0],
        EXT,
        ['method', 'GET'],
        ['uri', 'http://a/'],
        ['headers', [['Host', 'a'], ...names.map((n) => [n, 'v'.repeat(90)])]],
        ['credits', 1],
        ['stream', true],
        ['peer-address', '10.0.0.1'],
        ['peer-port', 80],
      ]),
    )
    expect(got).toBe(`T${latin1(want)}`)
  })

  test('method, uri, headers and peer fields are the bytes req mode writes for the same request', () => {
    const raw = 'PUT /r?q=1 HTTP/1.1\r\nHost: same.example\r\nX-A: 1\r\nx-a: 2\r\n\r\n'
    const stream = firstPacket(streamClient('zgate-unit'), {
      raw,
      slot: 7,
      counter: 0x1a,
      ws: false,
      secure: false,
      credits: 10,
      more: false,
      peer: ['192.0.2.1', 4000],
    })
    const cfg = parseServeArgs(['--listen', '1,req', '--zclient-req', `inproc://first-packet-unit-req-${process.pid}`])
    const rc = new ReqClient(ctx, cfg, 0)
    clients.push(rc)
    const { buf, h, hostS, hostE } = head(raw)
    const ob = rc.dealer.outbox
    const before = ob.committed
    expect(rc.sendRequest(7, 0x1a, buf, h, hostS, hostE, buf, 0, 0, '192.0.2.1', 4000, false)).toBe(true)
    const req = latin1(outboxFrames(ob.buf.subarray(before), ob.committed - before)[0]![1]!)
    // Stream mode writes credits (and stream) between the two; req mode nothing (no body).
    const shared = (p: string, next: string): string => p.slice(p.indexOf('6:method,'), p.indexOf(next))
    const peer = (p: string): string => p.slice(p.indexOf('12:peer-address,'), -1)
    expect(shared(stream, '7:credits,')).toBe(shared(req, '12:peer-address,'))
    expect(shared(stream, '7:credits,')).toStartWith('6:method,3:PUT,3:uri,25:http://same.example/r?q=1,7:headers,')
    expect(peer(stream)).toBe('12:peer-address,9:192.0.2.1,9:peer-port,4:4000#')
    expect(peer(req)).toBe(peer(stream))
  })
})
