// The handshake's tokens ignore ASCII case (RFC 6455 4.2.1, RFC 9110 7.8; issue 10): `Upgrade:
// WebSocket` (Autobahn|Testsuite's spelling) is an upgrade, `Connection` is not required and
// not compared, and Sec-WebSocket-Extensions names and keys match in any case.
//
// Condure 1.9.1 wants `websocket` byte-exact (zhttp.md 5.1) and forwards any other spelling as
// a plain HTTP request. Side by side, the first packet of a lower-case upgrade must stay
// byte-for-byte Condure's, and zgate's packet for another spelling must be that same packet
// with only the request's own header bytes different.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, comparedTargets, gatewayTargets, headerPairs, rawHttp } from '../helpers/harness.ts'
import type { PeerPacket, RawConn } from '../helpers/harness.ts'
import { fieldDifference } from '../helpers/packet-fields.ts'
import { acceptFor, OP_TEXT, text } from '../helpers/ws-frame.ts'
import { SAMPLE_KEY, wsConnect } from '../helpers/ws-raw.ts'
import { HandlerSession, readMessage, startWsEnv } from '../helpers/ws-session.ts'
import type { WsEnv } from '../helpers/ws-session.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, 30_000)

const HOOK_TIMEOUT_MS = 30_000
/** Fields that differ between two gateways for the same request (first-packet.test.ts). */
const VARYING = new Set(['id', 'peer-port'])
const BUFFER_BYTES = 8192 // --buffer-size default

let pathSeq = 0

/** An upgrade request with these Upgrade/Connection lines (null: the line left out). */
function request(upgradeLine: string, connectionLine: string | null, extra: string[] = []): { path: string; req: string } {
  const path = `/case-${++pathSeq}`
  const lines = [`GET ${path} HTTP/1.1`, 'Host: h', upgradeLine]
  if (connectionLine !== null) lines.push(connectionLine)
  lines.push('Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${SAMPLE_KEY}`, ...extra)
  return { path, req: `${lines.join('\r\n')}\r\n\r\n` }
}

/** The request's header lines as [name, value] pairs, as a handler must see them. */
function sentHeaders(req: string): [string, string][] {
  return req
    .split('\r\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()])
}

async function firstPacket(env: WsEnv, req: string): Promise<{ conn: RawConn; pk: PeerPacket }> {
  const conn = await rawHttp(env.port, req)
  const pk = await env.peer.next({ $sock: 'pull' })
  expect(pk.error).toBeUndefined()
  return { conn, pk }
}

/** Ends a session the handler has not answered: a cancel closes the client. */
async function cancel(env: WsEnv, x: { conn: RawConn; pk: PeerPacket }): Promise<void> {
  await env.peer.send({ from: env.peer.from, id: String(x.pk.packet.id), seq: 0, type: 'cancel' })
  await x.conn.waitClosed()
}

// Spellings every gateway takes as an upgrade: the value exactly `websocket`, Connection in
// any form or absent (neither Condure nor zgate compares it, zhttp.md 5.1).
const LOWER: [string, string, string | null][] = [
  ['Connection: Upgrade', 'Upgrade: websocket', 'Connection: Upgrade'],
  ['Connection: keep-alive, UPGRADE', 'Upgrade: websocket', 'Connection: keep-alive, UPGRADE'],
  ['no Connection header', 'Upgrade: websocket', null],
  ['lower-case header names', 'upgrade: websocket', 'connection: upgrade'],
]
// Spellings Condure forwards as plain HTTP and zgate takes as upgrades.
const MIXED = ['WebSocket', 'WEBSOCKET', 'webSocket']

const compared = comparedTargets()
describe.skipIf(compared === null)('upgrade token case: zgate beside condure', () => {
  let c: WsEnv
  let z: WsEnv
  beforeAll(async () => {
    c = await startWsEnv(compared!.condure)
    z = await startWsEnv(compared!.zgate)
  }, HOOK_TIMEOUT_MS)
  afterAll(async () => {
    await z?.stop()
    await c?.stop()
  }, HOOK_TIMEOUT_MS)

  for (const [what, upgradeLine, connectionLine] of LOWER) {
    test(`Upgrade: websocket, ${what}: the same first packet as condure`, async () => {
      const { path, req } = request(upgradeLine, connectionLine)
      const a = await firstPacket(c, req)
      const b = await firstPacket(z, req)
      expect(a.pk.packet.uri).toBe(`ws://h${path}`)
      expect(fieldDifference(a.pk.raw, b.pk.raw, VARYING)).toBe('')
      await cancel(c, a)
      await cancel(z, b)
    })
  }

  for (const value of MIXED) {
    test(`Upgrade: ${value}: condure forwards plain HTTP; zgate's packet is condure's upgrade packet but for the header`, async () => {
      const lower = request('Upgrade: websocket', 'Connection: Upgrade')
      const mixed = request(`Upgrade: ${value}`, 'Connection: Upgrade')
      // Same path for both, so that `uri` compares byte for byte.
      const mixedReq = mixed.req.replace(mixed.path, lower.path)
      const asHttp = await firstPacket(c, mixedReq)
      expect(asHttp.pk.packet.uri).toBe(`http://h${lower.path}`)
      expect(asHttp.pk.packet.stream).toBe(true)
      const reference = await firstPacket(c, lower.req)
      const got = await firstPacket(z, mixedReq)
      expect(fieldDifference(reference.pk.raw, got.pk.raw, new Set([...VARYING, 'headers']))).toBe('')
      expect(headerPairs(got.pk.packet)).toEqual(sentHeaders(mixedReq))
      expect(got.pk.packet.credits).toBe(BUFFER_BYTES)
      for (const [env, x] of [[c, asHttp], [c, reference], [z, got]] as const) await cancel(env, x)
    })
  }
})

const zgate = gatewayTargets().find((t) => t.name === 'zgate' && t.skipReason === '')
describe.skipIf(zgate === undefined)('upgrade token case: zgate sessions', () => {
  let env: WsEnv
  let comp: WsEnv
  beforeAll(async () => {
    env = await startWsEnv(zgate!)
    comp = await startWsEnv(zgate!, ['--compression'])
  }, HOOK_TIMEOUT_MS)
  afterAll(async () => {
    await comp?.stop()
    await env?.stop()
  }, HOOK_TIMEOUT_MS)

  for (const value of MIXED) {
    test(`Upgrade: ${value} completes the handshake and carries frames`, async () => {
      const { path, req } = request(`Upgrade: ${value}`, 'Connection: upgrade')
      const opening = wsConnect(env.port, req)
      const first = await env.peer.next({ $sock: 'pull', uri: `ws://h${path}` })
      const hs = new HandlerSession(env.peer, first)
      await hs.accept()
      const { response, ws } = await opening
      expect(response.status).toBe(101)
      expect(response.header('Sec-WebSocket-Accept')).toBe(acceptFor(SAMPLE_KEY))
      ws.send({ opcode: OP_TEXT, payload: 'hello' })
      expect(text((await readMessage(hs)).body)).toBe('hello')
      await hs.send({ body: 'back' })
      const [m] = await ws.waitMessages(1)
      expect(text(m!.payload)).toBe('back')
      ws.close()
    })
  }

  for (const value of ['websockets', 'web socket', 'websocket2', 'h2c']) {
    test(`Upgrade: ${value} is not an upgrade: a plain HTTP request`, async () => {
      const { path, req } = request(`Upgrade: ${value}`, 'Connection: Upgrade')
      const x = await firstPacket(env, req)
      expect([x.pk.packet.uri, x.pk.packet.stream]).toEqual([`http://h${path}`, true])
      await cancel(env, x)
    })
  }

  test('extension names and keys in any case negotiate permessage-deflate', async () => {
    const ext = 'Sec-WebSocket-Extensions: PerMessage-Deflate; Client_No_Context_Takeover; SERVER_MAX_WINDOW_BITS=15'
    const { path, req } = request('Upgrade: WebSocket', 'Connection: Upgrade', [ext])
    const opening = wsConnect(comp.port, req)
    const first = await comp.peer.next({ $sock: 'pull', uri: `ws://h${path}` })
    // The 3/4 credits of a deflate session (zhttp.md 5.7), the offer forwarded verbatim.
    expect(first.packet.credits).toBe((BUFFER_BYTES * 3) / 4)
    expect(headerPairs(first.packet)).toEqual(sentHeaders(req))
    const hs = new HandlerSession(comp.peer, first)
    await hs.accept()
    const { response, ws } = await opening
    expect(response.header('Sec-WebSocket-Extensions')).toBe('permessage-deflate; client_no_context_takeover')
    ws.close()
  })
})
