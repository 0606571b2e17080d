// WebSocket sessions end to end, raw client ↔ gateway ↔ handler peer (zhttp.md 5.1-5.6,
// checklist items 89-112, 115, 116 and --messages-max). Every case runs against each target
// of gatewayTargets(); the raw client (ws-raw.ts) shows exactly which frames the gateway
// wrote, and the handler peer exactly which packets it forwarded. Protocol errors are in
// websocket-errors.test.ts, compression in websocket-deflate.test.ts, the `ws` library
// client in websocket-client-lib.test.ts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, gatewayTargets, rawHttp, sleep } from '../helpers/harness.ts'
import type { GatewayTarget, ZPacket } from '../helpers/harness.ts'
import { acceptFor, closePayload, messagesOf, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, text } from '../helpers/ws-frame.ts'
import { SAMPLE_KEY, upgradeRequest, wsConnect } from '../helpers/ws-raw.ts'
import { bodyBytes, bodyText, HandlerSession, readMessage, startWsEnv, upgrade } from '../helpers/ws-session.ts'
import type { WsEnv } from '../helpers/ws-session.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, 30_000)

const QUIET_MS = 400 // how long "nothing more arrives" is watched
const DEFAULT_BUFFER_BYTES = 8192 // --buffer-size default (zhttp.md 6)
const SMALL_BUFFER_BYTES = 1024
const FRAME_HEADER_MAX_BYTES = 14 // RFC 6455 5.2: 2 + 8 length + 4 mask
const STALL_MS = 1000 // no credit for this long: the client's socket is full
// With this buffer a stalled session can hold 6 messages of QUEUED_MESSAGE_BYTES: beyond
// --messages-max 2, within the default 100.
const BIG_BUFFER_BYTES = 65_536
const NUDGE_MS = 200
const QUEUED_MESSAGE_BYTES = 10_000

for (const target of gatewayTargets()) {
  if (target.skipReason) describe.skip(`websocket against ${target.name} (${target.skipReason})`, () => {})
  else describe(`websocket against ${target.name}`, () => websocketSuite(target))
}

function websocketSuite(target: GatewayTarget) {
  // Behaviours where the two gateways deliberately differ are registered only for their own.
  const zgateOnly = target.name === 'zgate' ? test : noTest
  const condureOnly = target.name === 'condure' ? test : noTest
  let env: WsEnv
  beforeAll(async () => {
    env = await startWsEnv(target)
  }, 30_000)
  afterAll(() => env?.stop(), 30_000)

  /** Writes `req` and says whether the handler got a first packet for `uri` within QUIET_MS*2. */
  const firstPacketFor = async (req: string, uri: string) => {
    const conn = await rawHttp(env.port, req)
    const got = await env.peer.next({ $sock: 'pull', uri }, QUIET_MS * 2).catch(() => null)
    return { conn, got }
  }

  test('89: an upgrade becomes a first packet with a ws:// uri, credits, no more, no stream, all headers', async () => {
    const extra = ['Sec-WebSocket-Protocol: chat, superchat', 'Sec-WebSocket-Extensions: x-foo', 'X-Custom: 1']
    const { hs, ws } = await upgrade(env, { path: '/ws89?q=1', headers: extra })
    const p = hs.first.packet
    expect(p.uri).toBe('ws://h/ws89?q=1')
    expect(p.method).toBe('GET')
    expect(p.credits).toBe(DEFAULT_BUFFER_BYTES)
    expect('more' in p).toBe(false)
    expect('stream' in p).toBe(false)
    expect(p.headers).toEqual([
      ['Host', 'h'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', SAMPLE_KEY],
      ['Sec-WebSocket-Protocol', 'chat, superchat'],
      ['Sec-WebSocket-Extensions', 'x-foo'],
      ['X-Custom', '1'],
    ])
    ws.close()
  })

  // zgate takes any case as an upgrade (RFC 6455 4.2.1; websocket-upgrade-case.test.ts).
  condureOnly('90: Upgrade: WebSocket (not lower-case) is a plain HTTP request (condure)', async () => {
    const { conn, got } = await firstPacketFor(upgradeRequest({ path: '/ws90', upgrade: 'WebSocket' }), 'http://h/ws90')
    expect(got).not.toBeNull()
    expect(got!.packet.stream).toBe(true)
    await env.peer.send({ from: env.peer.from, id: got!.packet.id!, seq: 0, code: 200, reason: 'OK', body: 'plain' })
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    expect(r.bodyText()).toBe('plain')
    conn.close()
  })

  const invalid: [string, string][] = [
    ['version 12', upgradeRequest({ path: '/ws91a', version: '12' })],
    ['no version', upgradeRequest({ path: '/ws91b', version: null })],
    ['no key', upgradeRequest({ path: '/ws91c', key: null })],
    ['a body (Content-Length: 3)', upgradeRequest({ path: '/ws91d', headers: ['Content-Length: 3'], body: 'abc' })],
    ['a chunked body', upgradeRequest({ path: '/ws91e', headers: ['Transfer-Encoding: chunked'], body: '0\r\n\r\n' })],
    ['method POST', upgradeRequest({ path: '/ws91f', method: 'POST' })],
  ]
  for (const [what, req] of invalid) {
    // condure closes without a word; zgate answers 400 first (README: differences towards
    // clients). Neither tells the handler.
    test(`91: an upgrade with ${what} is refused without a packet (condure: silent close, zgate: 400)`, async () => {
      const path = /^\w+ (\S+)/.exec(req)![1]!
      const conn = await rawHttp(env.port, req)
      if (target.name === 'zgate') {
        const r = await conn.readResponse()
        expect(r.status).toBe(400)
        expect(r.header('Connection')).toBe('close')
      }
      const closed = await conn.waitClosed()
      expect(closed.how === 'fin' || closed.how === 'reset').toBe(true)
      if (target.name === 'condure') expect(conn.received().length).toBe(0)
      await env.peer.expectNone((p) => String(p.packet.uri).endsWith(path), QUIET_MS)
    })
  }

  test('92: Content-Length: 0 on an upgrade is accepted', async () => {
    const { hs, ws, response } = await upgrade(env, { headers: ['Content-Length: 0'] })
    expect(response.status).toBe(101)
    ws.send({ opcode: OP_TEXT, payload: 'ok' })
    let m = await readMessage(hs)
    // condure 1.9.1 sometimes (a race with the accept) first sends an empty data packet with
    // neither body nor content-type, the end of the empty request body; zgate must not.
    const spurious = (p: ZPacket) => !('body' in p) && !('content-type' in p)
    if (target.name === 'condure' && m.packets.length === 1 && spurious(m.packets[0]!)) m = await readMessage(hs)
    expect(m.packets[0]!['content-type']).toBe('text')
    expect(text(m.body)).toBe('ok')
    ws.close()
  })

  test('93, 94: the 101 carries handler headers, then Upgrade, Connection and the computed accept; handler copies are dropped', async () => {
    const acceptHeaders: [string, string][] = [
      ['X-A', '1'],
      ['upgrade', 'bogus'],
      ['CONNECTION', 'bogus'],
      ['Sec-WebSocket-Accept', 'bogus'],
      ['sec-websocket-extensions', 'bogus'],
      ['Sec-WebSocket-Protocol', 'chat'],
    ]
    const { response, ws } = await upgrade(env, { acceptHeaders })
    expect(response.statusLine).toBe('HTTP/1.1 101 Switching Protocols')
    expect(response.headers).toEqual([
      ['X-A', '1'],
      ['Sec-WebSocket-Protocol', 'chat'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
    ])
    expect(acceptFor(SAMPLE_KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
    ws.close()
  })

  test('94: the accept value is computed from any key', async () => {
    const key = 'x3JJHMbDL1EzLkh9GBhXDw=='
    const { response, ws } = await upgrade(env, { key })
    expect(response.header('Sec-WebSocket-Accept')).toBe(acceptFor(key))
    expect(acceptFor(key)).toBe('HSmrc0sMlYUkAGmm5OPpG2HaGWk=')
    ws.close()
  })

  test('96: a rejection is written with its status, headers, Content-Length and body, then the connection closes', async () => {
    const opening = wsConnect(env.port, { path: '/ws96' })
    const hs = new HandlerSession(env.peer, await env.peer.next({ $sock: 'pull', uri: 'ws://h/ws96' }))
    await hs.send({
      type: 'error',
      condition: 'rejected',
      code: 403,
      reason: 'Forbidden',
      headers: [['X-Why', 'no'], ['Sec-WebSocket-Accept', 'bogus'], ['Upgrade', 'websocket']],
      body: 'go away',
    })
    const { response, ws } = await opening
    expect(response.statusLine).toBe('HTTP/1.1 403 Forbidden')
    // zgate also says that the connection closes after the rejection; condure just closes.
    const closing: [string, string][] = target.name === 'zgate' ? [['Connection', 'close']] : []
    expect(response.headers).toEqual([['X-Why', 'no'], ['Content-Length', '7'], ...closing])
    expect(response.bodyText()).toBe('go away')
    await ws.waitClosed()
    await hs.expectNoEvent(QUIET_MS)
  })

  zgateOnly('5.3: a 200 answer to an upgrade is written as a plain response, then the connection closes (zgate)', async () => {
    const conn = await rawHttp(env.port, upgradeRequest({ path: '/ws200z' }))
    const hs = new HandlerSession(env.peer, await env.peer.next({ $sock: 'pull', uri: 'ws://h/ws200z' }))
    await hs.send({ code: 200, reason: 'OK', headers: [['X-Plain', '1']], body: 'not a websocket' })
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    expect(r.header('X-Plain')).toBe('1')
    expect(r.header('Upgrade')).toBeUndefined()
    expect(r.header('Sec-WebSocket-Accept')).toBeUndefined()
    expect(r.header('Connection')).toBe('close')
    expect(r.bodyText()).toBe('not a websocket')
    const closed = await conn.waitClosed()
    expect(closed.how === 'fin' || closed.how === 'reset').toBe(true)
  })

  condureOnly('5.3: a 200 accept still switches to WebSocket framing, with Content-Length: 0 and no Connection (condure)', async () => {
    const opening = wsConnect(env.port, { path: '/ws200' })
    const hs = new HandlerSession(env.peer, await env.peer.next({ $sock: 'pull', uri: 'ws://h/ws200' }))
    await hs.accept({ code: 200 })
    const { response, ws } = await opening
    expect(response.status).toBe(200)
    expect(response.header('Upgrade')).toBe('websocket')
    expect(response.header('Sec-WebSocket-Accept')).toBe(acceptFor(SAMPLE_KEY))
    expect(response.header('Content-Length')).toBe('0')
    expect(response.header('Connection')).toBeUndefined()
    await hs.send({ body: 'framed' })
    const f = await ws.nextFrame()
    expect([f.opcode, text(f.payload)]).toEqual([OP_TEXT, 'framed'])
    ws.close()
  })

  // Unmasked frames: accepted by condure (checklist 101), a protocol error for zgate (RFC 6455
  // 5.1, websocket-errors.test.ts); the masked ones are the same for both.
  test('97, 101: text and binary frames become data packets with their content-type', async () => {
    const { hs, ws } = await upgrade(env)
    const mask = target.name === 'condure' ? false : undefined
    ws.send({ opcode: OP_TEXT, payload: 'héllo' })
    ws.send({ opcode: OP_BINARY, payload: new Uint8Array([0, 255, 1]) })
    ws.send({ opcode: OP_TEXT, payload: 'plain', mask })
    ws.send({ opcode: OP_BINARY, payload: new Uint8Array([7]), mask })
    const got = [await readMessage(hs), await readMessage(hs), await readMessage(hs), await readMessage(hs)]
    expect(got.map((m) => m.packets[0]!['content-type'])).toEqual(['text', 'binary', 'text', 'binary'])
    expect(text(got[0]!.body)).toBe('héllo')
    expect([...got[1]!.body]).toEqual([0, 255, 1])
    expect(text(got[2]!.body)).toBe('plain')
    expect([...got[3]!.body]).toEqual([7])
    for (const m of got) expect(m.packets.every((p) => p.more === undefined)).toBe(true)
    ws.close()
  })

  test('97: an empty text message arrives as a data packet without body', async () => {
    const { hs, ws } = await upgrade(env)
    ws.send({ opcode: OP_TEXT })
    const m = await readMessage(hs)
    expect(m.packets.length).toBe(1)
    expect(m.packets[0]!['content-type']).toBe('text')
    expect(m.body.length).toBe(0)
    ws.close()
  })

  test('98: a fragmented message arrives with more: true until its last piece', async () => {
    const { hs, ws } = await upgrade(env)
    ws.send({ opcode: OP_BINARY, payload: 'one-', fin: false })
    ws.send({ opcode: OP_CONT, payload: 'two-', fin: false })
    ws.send({ opcode: OP_CONT, payload: '', fin: false })
    ws.send({ opcode: OP_CONT, payload: 'three' })
    const m = await readMessage(hs)
    expect(text(m.body)).toBe('one-two-three')
    expect(m.packets.slice(0, -1).every((p) => p.more === true)).toBe(true)
    expect(m.packets.at(-1)!.more).toBeUndefined()
    expect(m.packets.every((p) => p['content-type'] === 'binary')).toBe(true)
    // Empty non-final chunks are skipped (zhttp.md 5.4).
    expect(m.packets.every((p) => bodyBytes(p).length > 0)).toBe(true)
    ws.close()
  })

  test('99, 100: client ping and pong reach the handler; the gateway does not answer the ping itself', async () => {
    const { hs, ws } = await upgrade(env)
    ws.send({ opcode: OP_PING, payload: 'are you there' })
    const ping = (await hs.nextEvent()).packet
    expect([ping.type, bodyText(ping)]).toEqual(['ping', 'are you there'])
    ws.send({ opcode: OP_PONG, payload: 'pong-data' })
    const pong = (await hs.nextEvent()).packet
    expect([pong.type, bodyText(pong)]).toEqual(['pong', 'pong-data'])
    await sleep(QUIET_MS)
    expect(ws.frames()).toEqual([])
    ws.close()
  })

  test('95: a 101 without credits lets the gateway forward --buffer-size bytes, then waits for credit', async () => {
    const small = await startWsEnv(target, ['--buffer-size', String(SMALL_BUFFER_BYTES)])
    try {
      const { hs, ws } = await upgrade(small)
      expect(hs.first.packet.credits).toBe(SMALL_BUFFER_BYTES)
      const total = SMALL_BUFFER_BYTES + 500
      ws.send({ opcode: OP_BINARY, payload: new Uint8Array(total).fill(0x61) })
      // condure 1.9.1 reads the frame header into the same buffer, so its first packet holds
      // buffer - 8 bytes (observed 1016 of 1024); what matters is the cap and the pause.
      const before = await dataBytesWithin(hs, QUIET_MS * 2)
      expect(before).toBeLessThanOrEqual(SMALL_BUFFER_BYTES)
      expect(before).toBeGreaterThanOrEqual(SMALL_BUFFER_BYTES - FRAME_HEADER_MAX_BYTES)
      await hs.send({ type: 'credit', credits: 10_000 })
      const m = await readMessage(hs)
      expect(before + m.body.length).toBe(total)
      expect(m.packets.at(-1)!.more).toBeUndefined()
      ws.close()
    } finally {
      await small.stop()
    }
  })

  test('102: a message larger than the credits arrives in pieces, pausing until credit comes', async () => {
    const { hs, ws } = await upgrade(env, { credits: 100 })
    ws.send({ opcode: OP_TEXT, payload: 'x'.repeat(250) })
    const sizes: number[] = []
    const a = (await hs.next((p) => p.type === undefined)).packet
    sizes.push(bodyBytes(a).length)
    await hs.expectNoEvent(QUIET_MS)
    await hs.send({ type: 'credit', credits: 100 })
    sizes.push(bodyBytes((await hs.next((p) => p.type === undefined)).packet).length)
    await hs.expectNoEvent(QUIET_MS)
    await hs.send({ type: 'credit', credits: 100 })
    const last = (await hs.next((p) => p.type === undefined)).packet
    sizes.push(bodyBytes(last).length)
    expect(sizes).toEqual([100, 100, 50])
    expect(a.more).toBe(true)
    expect(last.more).toBeUndefined()
    ws.close()
  })

  test('103: ping and pong payload bytes consume credits', async () => {
    const { hs, ws } = await upgrade(env, { credits: 10 })
    ws.send({ opcode: OP_PING, payload: 'abcd' })
    ws.send({ opcode: OP_PONG, payload: 'ef' })
    ws.send({ opcode: OP_TEXT, payload: '0123456789' })
    expect((await hs.nextEvent()).packet.type).toBe('ping')
    expect((await hs.nextEvent()).packet.type).toBe('pong')
    const part = (await hs.next((p) => p.type === undefined)).packet
    expect(bodyText(part)).toBe('0123')
    expect(part.more).toBe(true)
    await hs.expectNoEvent(QUIET_MS)
    await hs.send({ type: 'credit', credits: 6 })
    expect(bodyText((await hs.next((p) => p.type === undefined)).packet)).toBe('456789')
    ws.close()
  })

  test('104: handler data without content-type is a text frame, binary a binary frame', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ body: 'plain' })
    await hs.send({ body: new Uint8Array([1, 2, 3]), 'content-type': 'binary' })
    await hs.send({ body: 'typed', 'content-type': 'text' })
    await hs.send({ body: 'odd', 'content-type': 'something' })
    const msgs = await ws.waitMessages(4)
    expect(msgs.map((m) => m.opcode)).toEqual([OP_TEXT, OP_BINARY, OP_TEXT, OP_TEXT])
    expect(msgs.map((m) => [...m.payload])).toEqual([[...Buffer.from('plain')], [1, 2, 3], [...Buffer.from('typed')], [...Buffer.from('odd')]])
    expect(ws.frames().every((f) => !f.masked && f.rsv === 0)).toBe(true)
    ws.close()
  })

  test('105: handler data with more is written as a first frame without FIN, then continuations', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ body: 'he', 'content-type': 'binary', more: true })
    await hs.send({ body: 'll', 'content-type': 'binary', more: true })
    await hs.send({ body: 'o', 'content-type': 'binary' })
    const [m] = await ws.waitMessages(1)
    expect(text(m!.payload)).toBe('hello')
    expect(m!.opcode).toBe(OP_BINARY)
    const frames = ws.frames()
    expect(frames[0]!.opcode).toBe(OP_BINARY)
    expect(frames[0]!.fin).toBe(false)
    expect(frames.slice(1).every((f) => f.opcode === OP_CONT)).toBe(true)
    expect(frames.at(-1)!.fin).toBe(true)
    ws.close()
  })

  test('106: handler ping and pong become ping and pong frames with the body', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ type: 'ping', body: 'hb' })
    await hs.send({ type: 'pong', body: 'hb2' })
    await hs.send({ type: 'ping' })
    const fs = await ws.waitFrames(3)
    expect(fs.map((f) => [f.opcode, text(f.payload), f.fin])).toEqual([
      [OP_PING, 'hb', true],
      [OP_PONG, 'hb2', true],
      [OP_PING, '', true],
    ])
    ws.close()
  })

  test('107: handler close without code is a close frame with 1000 and no reason', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ type: 'close' })
    const f = await ws.nextFrame()
    expect(f.opcode).toBe(OP_CLOSE)
    expect([...f.payload]).toEqual([0x03, 0xe8])
    ws.close()
  })

  test('108, 111: handler close 1000 bye; the client frames after it are still forwarded, then its close, then TCP closes; no cancel', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ type: 'close', code: 1000, body: 'bye' })
    const f = await ws.nextFrame()
    expect(f.opcode).toBe(OP_CLOSE)
    expect([...f.payload]).toEqual([0x03, 0xe8, 0x62, 0x79, 0x65])
    ws.send({ opcode: OP_TEXT, payload: 'late' })
    expect(bodyText((await readMessage(hs)).packets[0]!)).toBe('late')
    expect(ws.conn.isClosed).toBe(false)
    ws.send({ opcode: OP_CLOSE, payload: closePayload(1000, 'ok') })
    const c = (await hs.nextEvent()).packet
    expect([c.type, c.code, bodyText(c)]).toEqual(['close', 1000, 'ok'])
    expect((await ws.waitClosed()).how).toBe('fin')
    await hs.expectNoEvent(QUIET_MS)
  })

  test('109, 110: client close 1001 going reaches the handler; handler messages still flow; its close ends TCP; no cancel', async () => {
    const { hs, ws } = await upgrade(env)
    ws.send({ opcode: OP_CLOSE, payload: closePayload(1001, 'going') })
    const c = (await hs.nextEvent()).packet
    expect([c.type, c.code, bodyText(c)]).toEqual(['close', 1001, 'going'])
    await hs.send({ body: 'parting words' })
    const [m] = await ws.waitMessages(1)
    expect(text(m!.payload)).toBe('parting words')
    await hs.send({ type: 'close', code: 1001 })
    const cf = await ws.waitCloseFrame()
    expect(cf).toEqual({ code: 1001, reason: '' })
    expect((await ws.waitClosed()).how).toBe('fin')
    await hs.expectNoEvent(QUIET_MS)
  })

  test('5.4: a client close without a code reaches the handler without code or body', async () => {
    const { hs, ws } = await upgrade(env)
    ws.send({ opcode: OP_CLOSE })
    const c = (await hs.nextEvent()).packet
    expect(c.type).toBe('close')
    expect('code' in c).toBe(false)
    expect('body' in c).toBe(false)
    await hs.send({ type: 'close' })
    await ws.waitClosed()
  })

  test('5.6: after its close the handler data is not written; the client close still completes the handshake', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ type: 'close', code: 1000 })
    await hs.send({ body: 'after close' })
    expect((await ws.waitCloseFrame()).code).toBe(1000)
    await sleep(QUIET_MS)
    expect(ws.frames().map((f) => f.opcode)).toEqual([OP_CLOSE])
    ws.send({ opcode: OP_CLOSE, payload: closePayload(1000) })
    await ws.waitClosed()
    expect(ws.frames().map((f) => f.opcode)).toEqual([OP_CLOSE])
  })

  test('3.8: credits carried by a handler pong are added to the allowance', async () => {
    const { hs, ws } = await upgrade(env, { credits: 5 })
    ws.send({ opcode: OP_TEXT, payload: '0123456789' })
    const a = (await hs.next((p) => p.type === undefined)).packet
    expect(bodyText(a)).toBe('01234')
    await hs.expectNoEvent(QUIET_MS)
    await hs.send({ type: 'pong', body: 'k', credits: 5 })
    expect(bodyText((await hs.next((p) => p.type === undefined)).packet)).toBe('56789')
    const f = await ws.nextFrame()
    expect([f.opcode, text(f.payload)]).toEqual([OP_PONG, 'k'])
    ws.close()
  })

  test('112: handler data beyond the write buffer closes the connection and sends cancel', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ body: 'z'.repeat(DEFAULT_BUFFER_BYTES * 4), 'content-type': 'binary' })
    await hs.nextCancel()
    const closed = await ws.waitClosed()
    expect(closed.how === 'fin' || closed.how === 'reset').toBe(true)
  })

  test('115: the handler gets credit packets for the message bytes written to the client', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ body: 'a'.repeat(3000) })
    await hs.send({ body: 'b'.repeat(2000), 'content-type': 'binary' })
    await hs.send({ type: 'ping', body: 'pp' })
    await ws.waitFrames(3)
    expect(await hs.creditsUntil(5002)).toBe(5002)
    ws.close()
  })

  test('116: an HTTP/1.0 upgrade is answered with HTTP/1.0 101', async () => {
    const { response, ws, hs } = await upgrade(env, { http: '1.0' })
    expect(response.statusLine).toBe('HTTP/1.0 101 Switching Protocols')
    ws.send({ opcode: OP_TEXT, payload: 'old' })
    expect(text((await readMessage(hs)).body)).toBe('old')
    ws.close()
  })

  test('4.9: a client that disconnects after the accept makes the handler get cancel', async () => {
    const { hs, ws } = await upgrade(env)
    ws.send({ opcode: OP_TEXT, payload: 'bye' })
    await readMessage(hs)
    ws.close()
    await hs.nextCancel()
  })

  test('4.9: a handler cancel closes the client connection without a close frame', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ type: 'cancel' })
    const closed = await ws.waitClosed()
    expect(closed.closeFrame).toBeUndefined()
    expect(ws.frames()).toEqual([])
  })

  test('4.9: a handler error after the accept closes the client connection; no cancel', async () => {
    const { hs, ws } = await upgrade(env)
    await hs.send({ type: 'error', condition: 'undefined-condition' })
    await ws.waitClosed()
    await hs.expectNoEvent(QUIET_MS)
  })

  // A client that stops reading makes handler messages queue in the gateway once the socket
  // buffers are full; the handler keeps sending only as far as its credits go (zhttp.md 5.5).
  const fillUntilStall = async (hs: HandlerSession, messageBytes: number) => {
    let credits = Number(hs.first.packet.credits)
    let sent = 0
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      // The peer sends in command order, so a batch need not wait for each ack.
      const batch: Promise<void>[] = []
      while (credits >= messageBytes) {
        batch.push(hs.send({ body: 'm'.repeat(messageBytes), 'content-type': 'binary' }))
        credits -= messageBytes
        sent++
      }
      await Promise.all(batch)
      const p = await hs.next((x) => x.type === 'credit' || x.type === 'cancel', STALL_MS).catch(() => null)
      if (p === null) return { sent, cancelled: false }
      if (p.packet.type === 'cancel') return { sent, cancelled: true }
      credits += Number(p.packet.credits)
    }
    throw new Error(`no stall after ${sent} messages`)
  }

  test('--messages-max: more handler messages queued than allowed close the connection and send cancel', async () => {
    const small = await startWsEnv(target, ['--messages-max', '2', '--buffer-size', String(BIG_BUFFER_BYTES)])
    try {
      const { hs, ws } = await upgrade(small)
      ws.conn.pause()
      const r = await fillUntilStall(hs, QUEUED_MESSAGE_BYTES)
      expect(r.cancelled).toBe(true)
      ws.conn.resume()
      await ws.waitClosed()
    } finally {
      await small.stop()
    }
  })

  test('--messages-max: a stalled client with fewer queued messages than the default limit keeps its session', async () => {
    const big = await startWsEnv(target, ['--buffer-size', String(BIG_BUFFER_BYTES)])
    try {
      const { hs, ws } = await upgrade(big)
      ws.conn.pause()
      const r = await fillUntilStall(hs, QUEUED_MESSAGE_BYTES)
      expect(r.cancelled).toBe(false)
      ws.conn.resume()
      // condure 1.9.1 resumes writing to a client that drained only when a handler packet
      // arrives after the drain (also seen in backpressure.test.ts): nudge it with empty pings.
      const msgs = await nudgeUntil(hs, () => messagesOf(ws.frames()).length >= r.sent, () =>
        ws.waitMessages(r.sent, 100),
      )
      expect(msgs.length).toBe(r.sent)
      expect(ws.conn.isClosed).toBe(false)
      ws.close()
    } finally {
      await big.stop()
    }
  })
}

/** Sends empty handler pings every NUDGE_MS until `done()`; then returns `get()`. Bounded. */
async function nudgeUntil<T>(hs: HandlerSession, done: () => boolean, get: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (!done() && Date.now() < deadline) {
    await hs.send({ type: 'ping' })
    await sleep(NUDGE_MS)
  }
  return get()
}

/** Payload bytes of the data packets that arrive within `ms`. */
async function dataBytesWithin(hs: HandlerSession, ms: number): Promise<number> {
  const deadline = Date.now() + ms
  let n = 0
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) return n
    const p = await hs.next((x) => x.type === undefined, left).catch(() => null)
    if (p === null) return n
    n += bodyBytes(p.packet).length
  }
}

// Condure's 60 s session timer and 45 s keep-alive period cannot be shortened, so these run
// on zgate only, with its test overrides (zhttp.md 4.8 applies to WebSocket sessions too).
const SESSION_TIMEOUT_MS = 1500
const KEEP_ALIVE_INTERVAL_MS = 500
const zgateTarget = gatewayTargets().find((t) => t.name === 'zgate' && !t.skipReason)
describe.skipIf(zgateTarget === undefined)('websocket timers against zgate (shortened)', () => {
  let env: WsEnv
  beforeAll(async () => {
    env = await startWsEnv(zgateTarget!, [], {
      ZGATE_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      ZGATE_KEEP_ALIVE_INTERVAL_MS: String(KEEP_ALIVE_INTERVAL_MS),
    })
  }, 30_000)
  afterAll(() => env?.stop(), 30_000)

  test('4.8: a WebSocket session the handler leaves silent is closed at the session timeout, without cancel', async () => {
    const { hs, ws } = await upgrade(env)
    const started = Date.now()
    // Client traffic does not refresh the session timer; only handler packets do.
    const pinger = setInterval(() => ws.conn.isClosed || ws.send({ opcode: OP_PING, payload: 'c' }), 300)
    try {
      await ws.waitClosed(SESSION_TIMEOUT_MS * 4)
    } finally {
      clearInterval(pinger)
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS - 100)
    await env.peer.expectNone((p) => p.packet.id === hs.id && p.packet.type === 'cancel', QUIET_MS)
  })

  test('4.8: handler keep-alives keep a WebSocket session open past the session timeout', async () => {
    const { hs, ws } = await upgrade(env)
    const until = Date.now() + SESSION_TIMEOUT_MS * 2
    while (Date.now() < until) {
      await hs.send({ type: 'keep-alive' })
      await sleep(SESSION_TIMEOUT_MS / 3)
    }
    expect(ws.conn.isClosed).toBe(false)
    ws.close()
  })

  test('4.8: the gateway sends keep-alives for a live WebSocket session', async () => {
    const { hs, ws } = await upgrade(env)
    const ka = await hs.next((p) => p.type === 'keep-alive', KEEP_ALIVE_INTERVAL_MS * 6)
    expect(ka.packet.type).toBe('keep-alive')
    ws.close()
  })
})

/** Registers nothing: a case that does not apply to this gateway. */
function noTest(_name: string, _fn: () => Promise<void>): void {}
