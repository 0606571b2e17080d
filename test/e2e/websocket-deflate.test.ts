// permessage-deflate (RFC 7692) through the gateway, zhttp.md 5.7, checklist 118-125: offer
// negotiation, compressed messages both ways checked against zlib, context takeover, the
// request credits, and the `ws` library with its perMessageDeflate options.
//
// Where condure 1.9.1 is known broken or differs from the 1.10.1 reference, condure is held
// to what it does and zgate to what a user wants:
// - credits with deflate negotiated: 1.9.1 advertises the full buffer (8192); zgate follows
//   1.10.1 and advertises 3/4 of it (6144), keeping 1/4 for the compressor (zhttp.md 5.7);
// - fragmented messages (fixed in 1.9.2): 1.9.1 writes a fragmented handler message as one
//   continuation frame (opcode 0, RSV1, FIN) and cancels a session whose client sends a
//   fragmented compressed message; zgate must write a valid message (first frame text/binary
//   with RSV1, continuations without) and deliver the client's whole message decompressed.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, gatewayTargets, rawHttp } from '../helpers/harness.ts'
import type { GatewayTarget } from '../helpers/harness.ts'
import { deflateMessage, inflateAlone, inflateMessages } from '../helpers/ws-deflate.ts'
import { buildFrames, OP_BINARY, OP_CONT, OP_PING, OP_TEXT, RSV1, text } from '../helpers/ws-frame.ts'
import { patternBytes, sha1Hex, startWsLib } from '../helpers/ws-lib.ts'
import type { WsLibOptions } from '../helpers/ws-lib.ts'
import { upgradeRequest } from '../helpers/ws-raw.ts'
import { echoHandler, readMessage, startWsEnv, takeSession, upgrade } from '../helpers/ws-session.ts'
import type { WsEnv } from '../helpers/ws-session.ts'

setDefaultTimeout(60_000)
afterAll(cleanup, 30_000)

const QUIET_MS = 400
const BUFFER_BYTES = 8192 // --buffer-size default
const PMD = 'permessage-deflate'
const BOTH_NO_TAKEOVER = `${PMD}; client_no_context_takeover; server_no_context_takeover`
const offer = (v: string) => [`Sec-WebSocket-Extensions: ${v}`]

for (const target of gatewayTargets()) {
  if (target.skipReason) describe.skip(`websocket deflate against ${target.name} (${target.skipReason})`, () => {})
  else describe(`websocket deflate against ${target.name}`, () => deflateSuite(target))
}

function deflateSuite(target: GatewayTarget) {
  const isCondure = target.name === 'condure'
  let plain: WsEnv
  let comp: WsEnv
  beforeAll(async () => {
    plain = await startWsEnv(target)
    comp = await startWsEnv(target, ['--compression'])
  }, 30_000)
  afterAll(async () => {
    await comp?.stop()
    await plain?.stop()
  }, 30_000)

  test('118: without --compression a deflate offer is not answered; the handler still sees it', async () => {
    const { response, hs, ws } = await upgrade(plain, { headers: offer(`${PMD}; client_max_window_bits`) })
    expect(response.header('Sec-WebSocket-Extensions')).toBeUndefined()
    expect(hs.first.packet.headers).toContainEqual(['Sec-WebSocket-Extensions', `${PMD}; client_max_window_bits`])
    expect(hs.first.packet.credits).toBe(BUFFER_BYTES)
    await hs.send({ body: 'not compressed' })
    const [m] = await ws.waitMessages(1)
    expect([m!.rsv, text(m!.payload)]).toEqual([0, 'not compressed'])
    ws.close()
  })

  // [offer, the Sec-WebSocket-Extensions of the 101 (undefined: none)]; observed on 1.9.1.
  const negotiation: [string, string, string | undefined][] = [
    ['119', PMD, PMD],
    ['120', `${PMD}; server_max_window_bits=10`, undefined],
    ['121', `${PMD}; server_max_window_bits=10, ${BOTH_NO_TAKEOVER}`, BOTH_NO_TAKEOVER],
    ['121', `${PMD}; server_no_context_takeover; client_no_context_takeover`, BOTH_NO_TAKEOVER],
    ['122', `${PMD}; foo=1, ${PMD}`, PMD],
    ['122', `${PMD}; foo`, undefined],
    ['5.7', `${PMD}; a=`, undefined],
    ['5.7', `${PMD}; server_max_window_bits=15; client_max_window_bits`, PMD],
    ['5.7', `${PMD}; client_max_window_bits=8`, PMD],
    ['5.7', `${PMD}; client_max_window_bits="10"`, PMD],
    ['5.7', `${PMD}; client_max_window_bits=7`, undefined],
    ['5.7', `${PMD}; server_max_window_bits`, undefined],
    ['5.7', `${PMD}; server_no_context_takeover; server_no_context_takeover`, undefined],
    ['5.7', `x-webkit-deflate-frame, ${PMD}; server_no_context_takeover`, `${PMD}; server_no_context_takeover`],
    ['5.7', `${PMD}; client_no_context_takeover`, `${PMD}; client_no_context_takeover`],
    // Names and keys ignore ASCII case in zgate (RFC 9110 5.6.6); condure ignores the offer.
    ['5.7', 'PerMessage-Deflate', isCondure ? undefined : PMD],
    ['5.7', `PERMESSAGE-DEFLATE; Server_No_Context_Takeover`, isCondure ? undefined : `${PMD}; server_no_context_takeover`],
  ]
  for (const [item, ext, want] of negotiation) {
    test(`${item}: offer "${ext}" → ${want === undefined ? 'no extension' : `"${want}"`}`, async () => {
      const { response, hs, ws } = await upgrade(comp, { headers: offer(ext) })
      expect(response.header('Sec-WebSocket-Extensions')).toBe(want)
      expect(response.headerAll('Sec-WebSocket-Extensions').length).toBe(want === undefined ? 0 : 1)
      // 125: 3/4 of the buffer when deflate is on (1.10.1, zgate); 1.9.1 gives all of it.
      const credits = want !== undefined && !isCondure ? (BUFFER_BYTES * 3) / 4 : BUFFER_BYTES
      expect(hs.first.packet.credits).toBe(credits)
      ws.close()
    })
  }

  test('93: with deflate the gateway appends its own extension header after the accept, dropping the handler one', async () => {
    const acceptHeaders: [string, string][] = [['Sec-WebSocket-Extensions', 'x-handler'], ['X-B', '2']]
    const { response, ws } = await upgrade(comp, { headers: offer(PMD), acceptHeaders })
    expect(response.headers.map(([k]) => k)).toEqual(['X-B', 'Upgrade', 'Connection', 'Sec-WebSocket-Accept', 'Sec-WebSocket-Extensions'])
    expect(response.header('Sec-WebSocket-Extensions')).toBe(PMD)
    ws.close()
  })

  const malformed = [`${PMD}, `, ';', ',', `${PMD}; =`, `${PMD};;`, `${PMD}; a="x`]
  for (const ext of malformed) {
    // condure closes silently; zgate answers 400 first (README: differences towards clients).
    test(`5.1: a malformed extension header "${ext}" is refused, compression or not`, async () => {
      for (const env of [plain, comp]) {
        const path = `/bad-ext-${malformed.indexOf(ext)}-${env === comp ? 'c' : 'p'}`
        const conn = await rawHttp(env.port, upgradeRequest({ path, headers: offer(ext) }))
        if (target.name === 'zgate') expect((await conn.readResponse()).status).toBe(400)
        await conn.waitClosed()
        if (target.name === 'condure') expect(conn.received().length).toBe(0)
        await env.peer.expectNone((p) => p.packet.uri === `ws://h${path}`, 100)
      }
    })
  }

  test('123: a compressed client message is delivered decompressed; an uncompressed one next to it as is', async () => {
    const { ws, hs } = await upgrade(comp, { headers: offer(PMD) })
    const big = 'compressible text '.repeat(1000) // 18 KB plain, far beyond one buffer
    ws.sendBytes(buildFrames([
      { opcode: OP_TEXT, payload: deflateMessage('hello hello hello'), rsv: RSV1 },
      { opcode: OP_TEXT, payload: 'sent plain' },
      { opcode: OP_BINARY, payload: deflateMessage(new Uint8Array([1, 2, 3, 1, 2, 3])), rsv: RSV1 },
      { opcode: OP_TEXT, payload: deflateMessage(big), rsv: RSV1 },
    ]))
    expect(text((await readMessage(hs)).body)).toBe('hello hello hello')
    expect(text((await readMessage(hs)).body)).toBe('sent plain')
    const bin = await readMessage(hs)
    expect([...bin.body]).toEqual([1, 2, 3, 1, 2, 3])
    expect(bin.packets[0]!['content-type']).toBe('binary')
    // The plain bytes of the big one exceed the credits: grant more as they come.
    expect(text((await readMessage(hs, 5000, { grant: true })).body)).toBe(big)
    ws.close()
  })

  test('124: handler messages are compressed with RSV1 (zlib decodes them), control frames are not', async () => {
    const { ws, hs } = await upgrade(comp, { headers: offer(PMD) })
    await hs.send({ body: 'abcabcabc' })
    await hs.send({ body: 'abcabcabc' })
    await hs.send({ body: new Uint8Array([9, 9, 9, 9]), 'content-type': 'binary' })
    await hs.send({ type: 'ping', body: 'pp' })
    const frames = await ws.waitFrames(4)
    expect(frames.map((f) => [f.opcode, f.rsv, f.fin])).toEqual([
      [OP_TEXT, RSV1, true],
      [OP_TEXT, RSV1, true],
      [OP_BINARY, RSV1, true],
      [OP_PING, 0, true],
    ])
    expect(text(frames[3]!.payload)).toBe('pp')
    const plainOut = inflateMessages(frames.slice(0, 3).map((f) => f.payload))
    expect(plainOut.map((b) => [...b])).toEqual([[...Buffer.from('abcabcabc')], [...Buffer.from('abcabcabc')], [9, 9, 9, 9]])
    ws.close()
  })

  test('5.7: with server_no_context_takeover each handler message inflates on its own', async () => {
    const { ws, hs, response } = await upgrade(comp, { headers: offer(BOTH_NO_TAKEOVER) })
    expect(response.header('Sec-WebSocket-Extensions')).toBe(BOTH_NO_TAKEOVER)
    const msg = 'repeat me, repeat me, repeat me'
    for (let i = 0; i < 3; i++) await hs.send({ body: msg })
    const msgs = await ws.waitMessages(3)
    for (const m of msgs) {
      expect(m.rsv).toBe(RSV1)
      expect(text(inflateAlone(m.payload))).toBe(msg)
    }
    // Without context the three payloads are the same bytes.
    expect(new Set(msgs.map((m) => Buffer.from(m.payload).toString('hex'))).size).toBe(1)
    // The client resets its context per message too: fresh-context messages decode.
    ws.send({ opcode: OP_TEXT, payload: deflateMessage(msg), rsv: RSV1 })
    ws.send({ opcode: OP_TEXT, payload: deflateMessage(msg), rsv: RSV1 })
    expect(text((await readMessage(hs)).body)).toBe(msg)
    expect(text((await readMessage(hs)).body)).toBe(msg)
    ws.close()
  })

  test('a fragmented handler message under deflate (condure 1.9.1: one bad continuation frame; zgate: a valid message)', async () => {
    const { ws, hs } = await upgrade(comp, { headers: offer(PMD) })
    await hs.send({ body: 'part one ', more: true })
    await hs.send({ body: 'part two ', more: true })
    await hs.send({ body: 'end' })
    await hs.send({ body: 'next' })
    if (isCondure) {
      const [f, next] = await ws.waitFrames(2)
      expect([f!.opcode, f!.rsv, f!.fin]).toEqual([OP_CONT, RSV1, true])
      expect(text(inflateMessages([f!.payload, next!.payload])[0]!)).toBe('part one part two end')
    } else {
      const msgs = await ws.waitMessages(2)
      const frames = ws.frames()
      expect([frames[0]!.opcode, frames[0]!.rsv]).toEqual([OP_TEXT, RSV1])
      expect(frames.slice(1, msgs[0]!.frames).every((f) => f.opcode === OP_CONT && f.rsv === 0)).toBe(true)
      expect(inflateMessages(msgs.map((m) => m.payload)).map(text)).toEqual(['part one part two end', 'next'])
    }
    ws.close()
  })

  test('a fragmented compressed client message (condure 1.9.1: cancel; zgate: delivered whole)', async () => {
    const { ws, hs } = await upgrade(comp, { headers: offer(PMD) })
    const c = deflateMessage('hello hello hello fragmented')
    ws.sendBytes(buildFrames([
      { opcode: OP_TEXT, payload: c.subarray(0, 5), rsv: RSV1, fin: false },
      { opcode: OP_CONT, payload: c.subarray(5, 9), fin: false },
      { opcode: OP_CONT, payload: c.subarray(9) },
    ]))
    if (isCondure) {
      await hs.nextCancel()
      await ws.waitClosed()
      return
    }
    expect(text((await readMessage(hs)).body)).toBe('hello hello hello fragmented')
    await hs.expectNoEvent(QUIET_MS)
    expect(ws.conn.isClosed).toBe(false)
    ws.close()
  })

  test('a compressed message that does not inflate ends the session with cancel (zgate: close 1007 first)', async () => {
    const { ws, hs } = await upgrade(comp, { headers: offer(PMD) })
    ws.send({ opcode: OP_TEXT, payload: new Uint8Array([0xff, 0xff, 0xff, 0xff]), rsv: RSV1 })
    const closed = await ws.waitClosed()
    await hs.nextCancel()
    if (!isCondure) expect(closed.closeFrame?.code).toBe(1007)
  })

  // The `ws` client, offering permessage-deflate the way applications do.
  let libSeq = 0
  const libEcho = async (env: WsEnv, opts: WsLibOptions) => {
    const path = `/pmd-lib-${++libSeq}`
    const client = await startWsLib(`ws://127.0.0.1:${env.port}${path}`, opts)
    const hs = await takeSession(env, path, `127.0.0.1:${env.port}`)
    await hs.accept()
    const echo = echoHandler(hs)
    const open = await client.next('open')
    const round = async (data: Uint8Array, binary: boolean) => {
      client.send(data, { binary })
      const m = await client.next('message', 30_000)
      expect([m.binary, m.length, m.sha1]).toEqual([binary, data.length, sha1Hex(data)])
    }
    const finish = async () => {
      client.close(1000, 'bye')
      expect((await client.next('close')).code).toBe(1000)
      expect(await echo).toBe('close')
      await client.stop()
    }
    return { open, round, finish, hs }
  }
  const compressible = new TextEncoder().encode('the quick brown fox jumps over the lazy dog. '.repeat(3000))
  // Fits one handler packet: condure 1.9.1 breaks any compressed message the handler has to
  // split (the fragmented-message bug above), so bigger ones run on zgate only.
  const oneChunk = compressible.subarray(0, 4000)
  const negotiated = (open: { headers?: Record<string, string> }) => open.headers?.['sec-websocket-extensions']

  test('ws with its default offer: permessage-deflate negotiated, messages survive both ways', async () => {
    const { open, round, finish, hs } = await libEcho(comp, { perMessageDeflate: { threshold: 0 } })
    expect(negotiated(open)).toBe(PMD)
    expect(open.extensions).toBe(PMD)
    expect(hs.first.packet.credits).toBe(isCondure ? BUFFER_BYTES : (BUFFER_BYTES * 3) / 4)
    await round(new TextEncoder().encode('small text'), false)
    await round(oneChunk, false)
    await round(oneChunk, false) // context takeover: the second refers to the first
    await round(oneChunk, true)
    if (!isCondure) {
      await round(compressible, false)
      await round(compressible, false)
      await round(patternBytes(200_000), true)
    }
    await finish()
  })

  test('ws with client and server no_context_takeover: both echoed, messages survive', async () => {
    const opts = { perMessageDeflate: { threshold: 0, clientNoContextTakeover: true, serverNoContextTakeover: true } }
    const { open, round, finish } = await libEcho(comp, opts)
    expect(negotiated(open)).toBe(BOTH_NO_TAKEOVER)
    await round(oneChunk, false)
    await round(oneChunk, false)
    await round(new Uint8Array(0), true)
    if (!isCondure) await round(compressible, false)
    await finish()
  })

  test('ws asking server_max_window_bits=10 gets no extension and talks uncompressed', async () => {
    const { open, round, finish } = await libEcho(comp, { perMessageDeflate: { threshold: 0, serverMaxWindowBits: 10 } })
    expect(negotiated(open)).toBeUndefined()
    expect(open.extensions).toBe('')
    await round(compressible, false)
    await finish()
  })

  test('ws offering deflate to a gateway without --compression talks uncompressed', async () => {
    const { open, round, finish } = await libEcho(plain, { perMessageDeflate: { threshold: 0 } })
    expect(negotiated(open)).toBeUndefined()
    expect(open.extensions).toBe('')
    await round(compressible, false)
    await finish()
  })
}
