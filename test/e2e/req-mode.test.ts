// Req mode (`--listen ...,req`, zhttp.md 1.4, 4.11; checklist 4, 10, 11, 81-88) against every
// target from gatewayTargets(), with independent handlers under Node (zhttp-req-peer.mjs): a
// ROUTER handler for most cases and a REP handler (checklist 11). Where zgate deliberately
// answers clients with an error response (413, 503, 504, 502) and condure closes silently,
// each gateway's own behaviour is asserted. A last block compares the request packets of
// condure and zgate byte for byte.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import {
  cleanup,
  comparedTargets,
  freePort,
  gatewayTargets,
  headerPairs,
  parseHttpResponse,
  rawHttp,
  sleep,
  startGateway,
  startPeer,
  tmpDir,
  waitUntilServing,
} from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, OutValue, Peer, PeerPacket, RawConn } from '../helpers/harness.ts'
import { fieldDifference, topLevelFields } from '../helpers/packet-fields.ts'

const HOOK_TIMEOUT_MS = 30_000
const CID_RE = /^(\d+)-(\d+)-([0-9a-f]+)$/
const BODY_BUFFER_BYTES = 1000
const REQ_TIMEOUT_S = 2
const QUIET_MS = 400 // how long "nothing happens" is watched for
const WS_400 =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 48\r\n\r\n' +
  'WebSockets not supported on req mode interface.\n'

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

interface Pair {
  gw: Gateway
  peer: Peer
  dir: string
}

/** A gateway with one req listener and a linked req handler of `type`. */
async function startPair(target: GatewayTarget, type: 'router' | 'rep' = 'router', extra: string[] = []): Promise<Pair> {
  const dir = tmpDir()
  const ep = `ipc://${dir}/req`
  const args = [
    '--listen', `127.0.0.1:${freePort()},req`,
    '--zclient-req', ep,
    '--zclient-stream', `ipc://${dir}/zs`,
    '--body-buffer-size', String(BODY_BUFFER_BYTES),
    '--req-timeout', String(REQ_TIMEOUT_S),
    ...extra,
  ]
  const gw = await startGateway({ cmd: target.cmd, args })
  const peer = await startPeer({ base: '', req: { type, endpoints: [ep] } })
  await peer.waitLinked()
  return { gw, peer, dir }
}

async function stopPair(p: Pair | undefined): Promise<void> {
  await p?.peer.stop()
  await p?.gw.stop()
}

/** Replies to request packet `pk` on the envelope it came with. */
function answer(peer: Peer, pk: PeerPacket, fields: { [key: string]: OutValue }): Promise<void> {
  return peer.send({ id: String(pk.packet.id), ...fields }, { envelope: pk.envelope })
}

const ok = (body: string): { [key: string]: OutValue } => ({ code: 200, reason: 'OK', headers: [], body })

for (const target of gatewayTargets()) {
  if (target.skipReason) {
    console.warn(`req-mode: SKIPPING target '${target.name}': ${target.skipReason}`)
    describe.skip(`req mode against ${target.name} (${target.skipReason})`, () => {
      test('skipped', () => {})
    })
  } else {
    describe(`req mode against ${target.name}`, () => reqSuite(target))
    describe(`req mode sockets and limits against ${target.name}`, () => reqSetupSuite(target))
  }
}

function reqSuite(target: GatewayTarget): void {
  const zgate = target.name === 'zgate'
  let main: Pair
  let peer: Peer
  let port = 0

  beforeAll(async () => {
    main = await startPair(target)
    peer = main.peer
    port = main.gw.port
  }, HOOK_TIMEOUT_MS)

  afterAll(() => stopPair(main), HOOK_TIMEOUT_MS)

  async function send(req: string | Uint8Array): Promise<{ conn: RawConn; pk: PeerPacket }> {
    const conn = await rawHttp(port, req)
    const pk = await peer.next({ $sock: 'req' })
    expect(pk.error).toBeUndefined()
    return { conn, pk }
  }

  /** Neither a response nor a packet: the connection just closes (condure's way). */
  async function expectSilentClose(conn: RawConn): Promise<void> {
    await conn.waitClosed()
    expect(conn.received().length).toBe(0)
  }

  test('10: a ROUTER handler gets [peer, "", T...] and its [peer, "", T...] reply reaches the client', async () => {
    const { conn, pk } = await send('GET /ten HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(pk.frames).toBe(3)
    expect(pk.envelope.length).toBe(2)
    expect(pk.envelope[0]!.length).toBeGreaterThan(0)
    expect(pk.envelope[1]).toBe('')
    expect(pk.raw[0]).toBe(0x54)
    await answer(peer, pk, { code: 200, reason: 'OK', headers: [['X-Handler', 'router']], body: 'routed' })
    const r = await conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.1 200 OK')
    expect(r.header('x-handler')).toBe('router')
    expect(r.bodyText()).toBe('routed')
    conn.close()
  })

  test('81: id, ext.multi, method, uri, headers, peer fields; no from/seq/credits/more/stream/body', async () => {
    const { conn, pk } = await send('GET /p?q=1 HTTP/1.1\r\nHost: example.com:81\r\nX-A: 1\r\nx-a: 2\r\n\r\n')
    const keys = topLevelFields(pk.raw).map(([k]) => k)
    expect(keys).toEqual(['id', 'ext', 'method', 'uri', 'headers', 'peer-address', 'peer-port'])
    expect(String(pk.packet.id)).toMatch(CID_RE)
    expect(pk.packet.ext).toEqual({ multi: true })
    expect(pk.packet.method).toBe('GET')
    expect(pk.packet.uri).toBe('http://example.com:81/p?q=1')
    expect(headerPairs(pk.packet)).toEqual([['Host', 'example.com:81'], ['X-A', '1'], ['x-a', '2']])
    expect(pk.packet['peer-address']).toBe('127.0.0.1')
    expect(pk.packet['peer-port']).toBe(conn.localPort)
    await answer(peer, pk, ok('x'))
    expect((await conn.readResponse()).status).toBe(200)
    conn.close()
  })

  test('81: a Content-Length body arrives whole in one packet, even when sent in pieces', async () => {
    const conn = await rawHttp(port, 'POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123')
    await peer.expectNone({ $sock: 'req' }, QUIET_MS)
    conn.write('456789')
    const pk = await peer.next({ $sock: 'req' })
    expect(pk.packet.body).toBe('0123456789')
    const keys = topLevelFields(pk.raw).map(([k]) => k)
    expect(keys).toEqual(['id', 'ext', 'method', 'uri', 'headers', 'body', 'peer-address', 'peer-port'])
    await answer(peer, pk, ok('got'))
    expect((await conn.readResponse()).bodyText()).toBe('got')
    conn.close()
  })

  test('81: a chunked body is de-chunked and sent whole, trailers dropped', async () => {
    const conn = await rawHttp(port, 'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    await peer.expectNone({ $sock: 'req' }, QUIET_MS)
    conn.write('1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n')
    const pk = await peer.next({ $sock: 'req' })
    expect(pk.packet.body).toBe('hello world!')
    expect('more' in pk.packet).toBe(false)
    await answer(peer, pk, ok('chunked ok'))
    expect((await conn.readResponse()).bodyText()).toBe('chunked ok')
    conn.close()
  })

  test('82: Content-Length is len(body); `more`, handler Content-Length/Transfer-Encoding/Connection ignored', async () => {
    const { conn, pk } = await send('GET /82 HTTP/1.1\r\nHost: h\r\n\r\n')
    await answer(peer, pk, {
      code: 200,
      reason: 'OK',
      headers: [['Content-Length', '99'], ['Transfer-Encoding', 'chunked'], ['Connection', 'close'], ['X-K', 'v']],
      body: 'abc',
      more: true,
    })
    const r = await conn.readResponse()
    expect(r.headers).toEqual([['X-K', 'v'], ['Content-Length', '3']])
    expect(r.bodyText()).toBe('abc')
    // The handler's Connection header does not end a kept-alive connection.
    conn.write('GET /82b HTTP/1.1\r\nHost: h\r\n\r\n')
    const pk2 = await peer.next({ $sock: 'req' })
    expect(pk2.packet.id).not.toBe(pk.packet.id)
    await answer(peer, pk2, ok('second'))
    expect((await conn.readResponse()).bodyText()).toBe('second')
    conn.close()
  })

  test('83: a Content-Length body over --body-buffer-size sends nothing to the handler', async () => {
    const conn = await rawHttp(port, `POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: ${BODY_BUFFER_BYTES + 1}\r\n\r\n`)
    conn.write('x'.repeat(BODY_BUFFER_BYTES + 1))
    if (zgate) {
      // zgate answers 413 instead of closing silently (README, Differences from Condure).
      const r = await conn.readResponse()
      expect(r.status).toBe(413)
      await conn.waitClosed()
    } else {
      await expectSilentClose(conn)
    }
    await peer.expectNone({ $sock: 'req' }, QUIET_MS)
  })

  test('83: a chunked body over --body-buffer-size sends nothing to the handler', async () => {
    const conn = await rawHttp(port, 'POST /bigc HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n')
    const half = (BODY_BUFFER_BYTES / 2 + 1).toString(16)
    conn.write(`${half}\r\n${'y'.repeat(BODY_BUFFER_BYTES / 2 + 1)}\r\n`)
    conn.write(`${half}\r\n${'z'.repeat(BODY_BUFFER_BYTES / 2 + 1)}\r\n0\r\n\r\n`)
    if (zgate) {
      expect((await conn.readResponse()).status).toBe(413)
      await conn.waitClosed()
    } else {
      await expectSilentClose(conn)
    }
    await peer.expectNone({ $sock: 'req' }, QUIET_MS)
  })

  test('83: a body of exactly --body-buffer-size is accepted', async () => {
    const body = 'e'.repeat(BODY_BUFFER_BYTES)
    const { conn, pk } = await send(`PUT /edge HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    expect(pk.packet.body).toBe(body)
    await answer(peer, pk, ok('fits'))
    expect((await conn.readResponse()).bodyText()).toBe('fits')
    conn.close()
  })

  test('84: non-data packets are ignored; the following data packet is the response', async () => {
    const { conn, pk } = await send('GET /84 HTTP/1.1\r\nHost: h\r\n\r\n')
    for (const type of ['keep-alive', 'credit', 'cancel', 'error']) {
      await answer(peer, pk, { type, ...(type === 'credit' ? { credits: 10 } : {}), ...(type === 'error' ? { condition: 'bad-request' } : {}) })
    }
    await sleep(QUIET_MS)
    expect(conn.received().length).toBe(0)
    expect(conn.isClosed).toBe(false)
    await answer(peer, pk, ok('after keep-alive'))
    expect((await conn.readResponse()).bodyText()).toBe('after keep-alive')
    conn.close()
  })

  test('85, 87: no reply within --req-timeout ends the request; a late reply is ignored', async () => {
    const start = Date.now()
    const { conn, pk } = await send('GET /slow HTTP/1.1\r\nHost: h\r\n\r\n')
    if (zgate) {
      // zgate answers 504 instead of closing silently.
      const r = await conn.readResponse((REQ_TIMEOUT_S + 3) * 1000)
      expect(r.status).toBe(504)
      await conn.waitClosed()
    } else {
      await conn.waitClosed((REQ_TIMEOUT_S + 3) * 1000)
      expect(conn.received().length).toBe(0)
    }
    expect(Date.now() - start).toBeGreaterThanOrEqual(REQ_TIMEOUT_S * 1000 - 300)
    // The late reply goes nowhere, and the next request gets its own answer.
    await answer(peer, pk, ok('late'))
    const next = await send('GET /after HTTP/1.1\r\nHost: h\r\n\r\n')
    await sleep(100)
    expect(next.conn.received().length).toBe(0)
    await answer(peer, next.pk, ok('fresh'))
    expect((await next.conn.readResponse()).bodyText()).toBe('fresh')
    next.conn.close()
  })

  test('86: a WebSocket upgrade gets exactly condure\'s 400, then close; the handler is not contacted', async () => {
    const conn = await rawHttp(
      port,
      'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
    await conn.waitClosed()
    expect(conn.text()).toBe(WS_400)
    await peer.expectNone({ $sock: 'req' }, QUIET_MS)
  })

  test('86: the 400 follows the request version on HTTP/1.0', async () => {
    const conn = await rawHttp(port, 'GET /ws HTTP/1.0\r\nUpgrade: websocket\r\n\r\n')
    await conn.waitClosed()
    expect(conn.text()).toBe(WS_400.replace('HTTP/1.1', 'HTTP/1.0'))
  })

  test('88: HEAD writes the handler body with its Content-Length', async () => {
    const { conn, pk } = await send('HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(pk.packet.method).toBe('HEAD')
    await answer(peer, pk, ok('head body'))
    const bytes = await conn.readUntil(/head body$/)
    expect(Buffer.from(bytes).toString('latin1')).toBe('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhead body')
    conn.close()
  })

  test('204 and 304 replies carry no body and no Content-Length', async () => {
    const conn = await rawHttp(port, 'GET /204 HTTP/1.1\r\nHost: h\r\n\r\n')
    let pk = await peer.next({ $sock: 'req' })
    await answer(peer, pk, { code: 204, reason: 'No Content', headers: [['X', '1']], body: 'dropped' })
    expect(Buffer.from(await conn.readUntil(/\r\n\r\n$/)).toString('latin1')).toBe('HTTP/1.1 204 No Content\r\nX: 1\r\n\r\n')
    conn.write('GET /304 HTTP/1.1\r\nHost: h\r\n\r\n')
    pk = await peer.next({ $sock: 'req' })
    await answer(peer, pk, { code: 304, reason: 'Not Modified', headers: [], body: 'dropped' })
    const all = await conn.readUntil(/304 Not Modified\r\n\r\n$/)
    expect(Buffer.from(all).toString('latin1')).toEndWith('HTTP/1.1 304 Not Modified\r\n\r\n')
    conn.close()
  })

  test('persistence: HTTP/1.0 closes; HTTP/1.0 keep-alive stays open; HTTP/1.1 Connection: close closes', async () => {
    let { conn, pk } = await send('GET /10 HTTP/1.0\r\nHost: h\r\n\r\n')
    await answer(peer, pk, ok('ten'))
    let r = await conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.0 200 OK')
    expect(r.header('connection')).toBeUndefined()
    await conn.waitClosed()
    ;({ conn, pk } = await send('GET /10ka HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n'))
    await answer(peer, pk, ok('kept'))
    r = await conn.readResponse()
    expect(r.headers).toEqual([['Connection', 'keep-alive'], ['Content-Length', '4']])
    await sleep(100)
    expect(conn.isClosed).toBe(false)
    conn.close()
    ;({ conn, pk } = await send('GET /close HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'))
    await answer(peer, pk, ok('bye'))
    r = await conn.readResponse()
    expect(r.headers).toEqual([['Connection', 'close'], ['Content-Length', '3']])
    await conn.waitClosed()
  })

  test('pipelined requests are handled one at a time, answered in order', async () => {
    const conn = await rawHttp(port, 'GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n')
    const first = await peer.next({ $sock: 'req' })
    expect(first.packet.uri).toBe('http://h/one')
    await peer.expectNone({ $sock: 'req' }, QUIET_MS)
    await answer(peer, first, ok('1'))
    const second = await peer.next({ $sock: 'req' })
    expect(second.packet.uri).toBe('http://h/two')
    await answer(peer, second, ok('2'))
    expect((await conn.readResponse()).bodyText()).toBe('1')
    expect((await conn.readResponse()).bodyText()).toBe('2')
    conn.close()
  })

  test('Expect: 100-continue gets 100 Continue before the body is read', async () => {
    const conn = await rawHttp(port, 'POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n')
    expect((await conn.readResponse()).status).toBe(100)
    conn.write('abc')
    const pk = await peer.next({ $sock: 'req' })
    expect(pk.packet.body).toBe('abc')
    await answer(peer, pk, ok('continued'))
    expect((await conn.readResponse()).bodyText()).toBe('continued')
    conn.close()
  })

  /** A reply payload for `pk` with body `body`, as raw bytes. */
  const replyBytes = (pk: PeerPacket, body: string): Buffer =>
    Buffer.from(`T${tn({ id: String(pk.packet.id), code: 200, reason: 'OK', body })}`, 'latin1')
  const envelopeFrames = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`e${i}`))

  test('1.4: replies without the delimiter, or not parsable, are dropped; frames after the payload ignored', async () => {
    const { conn, pk } = await send('GET /bad-replies HTTP/1.1\r\nHost: h\r\n\r\n')
    const peerId = Buffer.from(pk.envelope[0]!, 'base64')
    const empty = new Uint8Array(0)
    await peer.sendFrames([peerId, replyBytes(pk, 'no delimiter')])
    await peer.sendFrames([peerId, envelopeFrames(1)[0]!, replyBytes(pk, 'still no delimiter')])
    await peer.sendFrames([peerId, empty, Buffer.from('X not a packet')])
    await peer.sendFrames([peerId, empty, Buffer.from('T12:broken')])
    await peer.sendFrames([peerId, empty])
    await sleep(QUIET_MS)
    expect(conn.received().length).toBe(0)
    expect(conn.isClosed).toBe(false)
    // Up to 8 envelope frames before the delimiter are fine; frames after the payload are ignored.
    await peer.sendFrames([peerId, ...envelopeFrames(8), empty, replyBytes(pk, 'eight envelopes'), Buffer.from('extra')])
    expect((await conn.readResponse()).bodyText()).toBe('eight envelopes')
    conn.close()
  })

  test('1.4: more than 8 envelope frames before the delimiter (zgate: dropped, as 1.10.1)', async () => {
    const { conn, pk } = await send('GET /nine HTTP/1.1\r\nHost: h\r\n\r\n')
    const peerId = Buffer.from(pk.envelope[0]!, 'base64')
    // The gateway's DEALER sees 9 non-empty frames, then the delimiter.
    await peer.sendFrames([peerId, ...envelopeFrames(9), new Uint8Array(0), replyBytes(pk, 'nine envelopes')])
    if (zgate) {
      // Condure 1.10.1 drops such a reply (zhttp.md 1.4), and so does zgate.
      await sleep(QUIET_MS)
      expect(conn.received().length).toBe(0)
      await answer(peer, pk, ok('plain'))
      expect((await conn.readResponse()).bodyText()).toBe('plain')
    } else {
      // 1.9.1 has no such limit (observed: 65 envelope frames still accepted).
      expect((await conn.readResponse()).bodyText()).toBe('nine envelopes')
    }
    conn.close()
  })

  test('replies for unknown, stream-like or foreign ids are ignored', async () => {
    const { conn, pk } = await send('GET /ids HTTP/1.1\r\nHost: h\r\n\r\n')
    const id = String(pk.packet.id)
    const [, w, k, n] = CID_RE.exec(id)!
    const others = [`${w}-${k}-${(parseInt(n!, 16) + 1).toString(16)}`, `${w}-${Number(k) + 1}-${n}`, `7-${k}-${n}`, 'junk']
    for (const other of others) {
      await peer.send({ id: other, ...ok('wrong') }, { envelope: pk.envelope })
    }
    await sleep(QUIET_MS)
    expect(conn.received().length).toBe(0)
    await answer(peer, pk, ok('right'))
    expect((await conn.readResponse()).bodyText()).toBe('right')
    conn.close()
  })

  test('a reply body over --body-buffer-size is not delivered', async () => {
    const { conn, pk } = await send('GET /huge-reply HTTP/1.1\r\nHost: h\r\n\r\n')
    await answer(peer, pk, ok('r'.repeat(BODY_BUFFER_BYTES + 1)))
    await conn.waitClosed()
    const r = parseHttpResponse(conn.received())
    if (zgate) {
      // zgate answers 502: the handler's reply is unusable.
      expect(r.status).toBe(502)
    } else {
      // condure writes the head and closes without the body (observed with 1.9.1).
      expect(r.statusLine).toBe('HTTP/1.1 200 OK')
      expect(r.header('content-length')).toBe(String(BODY_BUFFER_BYTES + 1))
      expect(r.body.length).toBe(0)
    }
  })

  test('a malformed request closes without a packet (zgate: 400)', async () => {
    const conn = await rawHttp(port, 'GARBAGE\r\n\r\n')
    await conn.waitClosed()
    if (zgate) expect(conn.text()).toStartWith('HTTP/1.1 400 ')
    else expect(conn.received().length).toBe(0)
    await peer.expectNone({ $sock: 'req' }, QUIET_MS)
  })

  test('a client gone before the reply: the reply is harmless and the gateway serves on', async () => {
    const { conn, pk } = await send('GET /gone HTTP/1.1\r\nHost: h\r\n\r\n')
    conn.reset()
    await sleep(100)
    await answer(peer, pk, ok('nobody'))
    const next = await send('GET /next HTTP/1.1\r\nHost: h\r\n\r\n')
    await answer(peer, next.pk, ok('served'))
    expect((await next.conn.readResponse()).bodyText()).toBe('served')
    next.conn.close()
  })

  test('ids are W-K-N and differ for each request on a kept-alive connection', async () => {
    const { conn, pk } = await send('GET /id1 HTTP/1.1\r\nHost: h\r\n\r\n')
    await answer(peer, pk, ok('a'))
    await conn.readResponse()
    conn.write('GET /id2 HTTP/1.1\r\nHost: h\r\n\r\n')
    const pk2 = await peer.next({ $sock: 'req' })
    expect(String(pk2.packet.id)).toMatch(CID_RE)
    expect(pk2.packet.id).not.toBe(pk.packet.id)
    await answer(peer, pk2, ok('b'))
    expect((await conn.readResponse()).bodyText()).toBe('b')
    conn.close()
  })
}

/** A JSON-ish value as a tnetstring (strings and integers are all the tests above need). */
function tn(v: string | number | { [key: string]: string | number }): string {
  if (typeof v === 'string') return `${Buffer.byteLength(v, 'latin1')}:${v},`
  if (typeof v === 'number') return `${String(v).length}:${v}#`
  const inner = Object.entries(v).map(([k, x]) => tn(k) + tn(x)).join('')
  return `${inner.length}:${inner}}`
}

function reqSetupSuite(target: GatewayTarget): void {
  const zgate = target.name === 'zgate'

  test('11: a REP socket works as a req-mode handler', async () => {
    const p = await startPair(target, 'rep')
    for (const [req, want] of [
      ['GET /rep HTTP/1.1\r\nHost: h\r\n\r\n', ''],
      ['POST /rep HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody', 'body'],
    ] as const) {
      const conn = await rawHttp(p.gw.port, req)
      const pk = await p.peer.next({ $sock: 'req' })
      // REP strips the envelope: the handler sees the payload alone.
      expect(pk.frames).toBe(1)
      expect(pk.packet.body ?? '').toBe(want)
      await p.peer.send({ id: String(pk.packet.id), ...ok(`rep:${want}`) })
      expect((await conn.readResponse()).bodyText()).toBe(`rep:${want}`)
      conn.close()
    }
    await stopPair(p)
  })

  test('4, 1.1, 7.4: only the req endpoint is bound with only a req listener; ipc-file-mode; files removed', async () => {
    const dir = tmpDir()
    // 0o660: condure 1.9.1 reads the value as decimal, zgate as octal (zhttp.md 1.1).
    const mode = zgate ? '660' : String(0o660)
    const gw = await startGateway({
      cmd: target.cmd,
      args: [
        '--listen', `127.0.0.1:${freePort()},req`,
        '--zclient-req', `ipc://${dir}/r1`,
        '--zclient-req', `ipc://${dir}/r2`,
        '--zclient-stream', `ipc://${dir}/zs`,
        '--ipc-file-mode', mode,
      ],
    })
    const binds = gw.lines('stdout').filter((l) => / zhttp client bind /.test(l))
    expect(binds.map((l) => l.replace(/^.* zhttp client bind /, ''))).toEqual([`ipc://${dir}/r1`, `ipc://${dir}/r2`])
    for (const f of ['r1', 'r2']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o660)
    for (const f of ['zs-out', 'zs-out-stream', 'zs-in']) expect(() => statSync(join(dir, f))).toThrow()
    // A handler on either endpoint is served.
    const peer = await startPeer({ base: '', req: { type: 'router', endpoints: [`ipc://${dir}/r2`] }, auto: 'hello' })
    await peer.waitLinked()
    await waitUntilServing(gw, peer)
    expect(await gw.stop()).toBe(0)
    for (const f of ['r1', 'r2']) expect(() => statSync(join(dir, f))).toThrow()
    await peer.stop()
  })

  test('--zclient-connect: the gateway connects to a handler that binds', async () => {
    const dir = tmpDir()
    const ep = `ipc://${dir}/hb`
    const peer = await startPeer({ base: '', req: { type: 'router', endpoints: [ep] }, bind: true, auto: 'hello' })
    const gw = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `127.0.0.1:${freePort()},req`, '--zclient-req', ep, '--zclient-stream', `ipc://${dir}/zs`, '--zclient-connect'],
    })
    expect(gw.lines('stdout').some((l) => l.endsWith(` zhttp client connect ${ep}`))).toBe(true)
    await waitUntilServing(gw, peer)
    expect(await gw.stop()).toBe(0)
    await peer.stop()
  })

  test('--req-maxconn: a connection beyond the limit is not served while the slot is busy', async () => {
    const p = await startPair(target, 'router', ['--workers', '1', '--req-maxconn', '1'])
    const a = await rawHttp(p.gw.port, 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n')
    const pa = await p.peer.next({ $sock: 'req' })
    const b = await rawHttp(p.gw.port, 'GET /b HTTP/1.1\r\nHost: h\r\n\r\n')
    if (zgate) {
      // zgate answers 503 at once (condure leaves the connection in the backlog).
      expect((await b.readResponse()).status).toBe(503)
      await b.waitClosed()
      await p.peer.expectNone({ $sock: 'req' }, QUIET_MS)
    } else {
      await p.peer.expectNone({ $sock: 'req' }, QUIET_MS)
      expect(b.received().length).toBe(0)
    }
    await answer(p.peer, pa, { ...ok('a'), headers: [] })
    expect((await a.readResponse()).bodyText()).toBe('a')
    a.close()
    if (!zgate) {
      // Once the slot is free, condure accepts the waiting connection and serves it.
      const pb = await p.peer.next({ $sock: 'req' })
      await answer(p.peer, pb, ok('b'))
      expect((await b.readResponse()).bodyText()).toBe('b')
      b.close()
    }
    await stopPair(p)
  })

  test('SIGTERM with a request waiting for its reply: the client is closed, exit 0', async () => {
    const p = await startPair(target)
    const conn = await rawHttp(p.gw.port, 'GET /wait HTTP/1.1\r\nHost: h\r\n\r\n')
    await p.peer.next({ $sock: 'req' })
    expect(await p.gw.stop('SIGTERM')).toBe(0)
    await conn.waitClosed()
    expect(p.gw.lines('stdout').some((l) => / stopped$/.test(l))).toBe(true)
    await p.peer.stop()
  })

  test('a stream listener beside a req listener: both served, each on its own sockets', async () => {
    const dir = tmpDir()
    const reqPort = freePort()
    const streamPort = freePort()
    const gw = await startGateway({
      cmd: target.cmd,
      args: [
        '--listen', `127.0.0.1:${streamPort},stream`,
        '--listen', `127.0.0.1:${reqPort},req`,
        '--zclient-req', `ipc://${dir}/rq`,
        '--zclient-stream', `ipc://${dir}/zs`,
      ],
    })
    const rp = await startPeer({ base: '', req: { type: 'router', endpoints: [`ipc://${dir}/rq`] } })
    const sp = await startPeer({ base: `ipc://${dir}/zs` })
    await rp.waitLinked()
    await sp.waitLinked()
    const rc = await rawHttp(reqPort, 'GET /r HTTP/1.1\r\nHost: h\r\n\r\n')
    const sc = await rawHttp(streamPort, 'GET /s HTTP/1.1\r\nHost: h\r\n\r\n')
    const rpk = await rp.next({ $sock: 'req' })
    const spk = await sp.next({ $sock: 'pull' })
    // Ids of both kinds come from one worker's id space and never collide.
    expect(rpk.packet.id).not.toBe(spk.packet.id)
    await answer(rp, rpk, ok('req'))
    await sp.send({ from: sp.from, id: String(spk.packet.id), seq: 0, ...ok('stream') })
    expect((await rc.readResponse()).bodyText()).toBe('req')
    expect((await sc.readResponse()).bodyText()).toBe('stream')
    rc.close()
    sc.close()
    await rp.stop()
    await sp.stop()
    expect(await gw.stop()).toBe(0)
  })
}

// ---------------------------------------------------------------------------------------
// byte-level comparison with condure

const compared = comparedTargets()

const COMPARE_REQUESTS: [string, string][] = [
  ['GET with query and Host port', 'GET /path?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n'],
  ['no Host header, HTTP/1.0', 'GET /bare HTTP/1.0\r\n\r\n'],
  ['POST with Content-Length', 'POST /cl HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n0123456789'],
  ['POST with Content-Length: 0', 'POST /cl0 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n'],
  ['chunked POST', 'POST /ch HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\n, w\r\n0\r\n\r\n'],
  ['binary body', 'PUT /bin HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n\x00\xff\r\n'],
  ['duplicates, mixed case, non-UTF-8 Host', 'GET /dup HTTP/1.1\r\nhOsT: b\xe9d\r\nX-A: 1\r\nx-a: 2\r\n\r\n'],
]

const VARYING = new Set(['id', 'peer-port'])

if (compared === null) {
  describe.skip('req packet bytes: zgate vs condure (needs both targets)', () => {
    test('skipped', () => {})
  })
} else {
  describe('req packet bytes: zgate vs condure', () => {
    let c: Pair
    let z: Pair

    beforeAll(async () => {
      c = await startPair(compared.condure)
      z = await startPair(compared.zgate)
    }, HOOK_TIMEOUT_MS)

    afterAll(async () => {
      await stopPair(z)
      await stopPair(c)
    }, HOOK_TIMEOUT_MS)

    for (const [what, req] of COMPARE_REQUESTS) {
      test(`81: same encoded fields in the same order as condure: ${what}`, async () => {
        const got: PeerPacket[] = []
        for (const p of [c, z]) {
          const conn = await rawHttp(p.gw.port, Buffer.from(req, 'latin1'))
          const pk = await p.peer.next({ $sock: 'req' })
          expect(pk.packet['peer-port']).toBe(conn.localPort)
          got.push(pk)
          await answer(p.peer, pk, ok('done'))
          expect((await conn.readResponse()).bodyText()).toBe('done')
          conn.close()
        }
        expect(fieldDifference(got[0]!.raw, got[1]!.raw, VARYING)).toBe('')
        expect(String(got[1]!.packet.id)).toMatch(CID_RE)
        // Same envelope shape: [peer identity, ""].
        expect(got[1]!.envelope.length).toBe(got[0]!.envelope.length)
      })
    }
  })
}
