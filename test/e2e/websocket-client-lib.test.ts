// A well-known client against the gateway: the `ws` npm package under Node
// (ws-lib-client.mjs) talking to an echo handler (ws-session.ts echoHandler). Covers what a
// real application does: handshake, text and binary echo, a 1 MiB message through the credit
// flow in both directions, fragmented messages, ping/pong, the close handshake with code and
// reason (zhttp.md 5.3-5.6). Compression with `ws` is in websocket-deflate.test.ts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, gatewayTargets } from '../helpers/harness.ts'
import type { GatewayTarget } from '../helpers/harness.ts'
import { eventBytes, patternBytes, sha1Hex, startWsLib } from '../helpers/ws-lib.ts'
import { echoHandler, startWsEnv, takeSession } from '../helpers/ws-session.ts'
import type { WsEnv } from '../helpers/ws-session.ts'

setDefaultTimeout(60_000)
afterAll(cleanup, 30_000)

const MIB = 1 << 20
const BIG_WAIT_MS = 30_000

for (const target of gatewayTargets()) {
  if (target.skipReason) describe.skip(`ws library client against ${target.name} (${target.skipReason})`, () => {})
  else describe(`ws library client against ${target.name}`, () => clientLibSuite(target))
}

function clientLibSuite(target: GatewayTarget) {
  let env: WsEnv
  beforeAll(async () => {
    env = await startWsEnv(target)
  }, 30_000)
  afterAll(() => env?.stop(), 30_000)

  let pathSeq = 0
  /** A `ws` client connected through the gateway to an echo handler. */
  const connect = async (headers: [string, string][] = [], protocols: string[] = []) => {
    const path = `/lib-${++pathSeq}`
    const client = await startWsLib(`ws://127.0.0.1:${env.port}${path}`, { protocols, perMessageDeflate: false })
    const hs = await takeSession(env, path, `127.0.0.1:${env.port}`)
    await hs.accept({ headers })
    const echo = echoHandler(hs)
    const open = await client.next('open')
    return { client, hs, echo, open }
  }

  test('handshake: the 101 passes the handler-chosen subprotocol; text and binary messages echo', async () => {
    const { client, echo, open } = await connect([['Sec-WebSocket-Protocol', 'chat']], ['chat', 'other'])
    expect(open.status).toBe(101)
    expect(open.protocol).toBe('chat')
    expect(open.extensions).toBe('')
    client.send('hello ✓')
    const t = await client.next('message')
    expect([t.binary, new TextDecoder().decode(eventBytes(t))]).toEqual([false, 'hello ✓'])
    client.send(new Uint8Array([0, 1, 2, 255]))
    const b = await client.next('message')
    expect([b.binary, [...eventBytes(b)]]).toEqual([true, [0, 1, 2, 255]])
    client.send('')
    const e = await client.next('message')
    expect([e.binary, e.length]).toEqual([false, 0])
    client.close(1000, 'done')
    expect(await client.next('close')).toMatchObject({ code: 1000, reason: 'done' })
    expect(await echo).toBe('close')
    await client.stop()
  })

  test('a 1 MiB binary message goes through the credit flow both ways intact', async () => {
    const { client, echo } = await connect()
    client.sendPattern(MIB)
    const m = await client.next('message', BIG_WAIT_MS)
    expect(m.binary).toBe(true)
    expect(m.length).toBe(MIB)
    expect(m.sha1).toBe(sha1Hex(patternBytes(MIB)))
    client.close(1000)
    await client.next('close')
    expect(await echo).toBe('close')
    await client.stop()
  })

  test('several messages in a row stay in order', async () => {
    const { client, echo } = await connect()
    const n = 50
    for (let i = 0; i < n; i++) client.send(`msg-${i}-${'x'.repeat(i * 37)}`)
    for (let i = 0; i < n; i++) {
      const m = await client.next('message')
      expect(new TextDecoder().decode(eventBytes(m))).toBe(`msg-${i}-${'x'.repeat(i * 37)}`)
    }
    client.close(1000)
    await client.next('close')
    await echo
    await client.stop()
  })

  test('a fragmented message from the client is echoed as one message', async () => {
    const { client, echo } = await connect()
    client.send('frag-one ', { fin: false })
    client.send('frag-two ', { fin: false })
    client.send('frag-end', { fin: true })
    const m = await client.next('message')
    expect(new TextDecoder().decode(eventBytes(m))).toBe('frag-one frag-two frag-end')
    expect(m.binary).toBe(false)
    client.close(1000)
    await client.next('close')
    await echo
    await client.stop()
  })

  test('the client ping is answered by the handler pong; a handler ping reaches the client', async () => {
    const { client, hs, echo } = await connect()
    client.ping('beat')
    const pong = await client.next('pong')
    expect(new TextDecoder().decode(eventBytes(pong))).toBe('beat')
    await hs.send({ type: 'ping', body: 'from-handler' })
    const ping = await client.next('ping')
    expect(new TextDecoder().decode(eventBytes(ping))).toBe('from-handler')
    client.close(1000)
    await client.next('close')
    await echo
    await client.stop()
  })

  test('close handshake started by the client carries its code and reason both ways', async () => {
    const { client, echo } = await connect()
    client.close(4001, 'custom reason')
    const c = await client.next('close')
    expect([c.code, c.reason]).toEqual([4001, 'custom reason'])
    expect(await echo).toBe('close')
    await client.stop()
  })

  test('close handshake started by the handler reaches the client with code and reason', async () => {
    const path = `/lib-${++pathSeq}`
    const client = await startWsLib(`ws://127.0.0.1:${env.port}${path}`, { perMessageDeflate: false })
    const hs = await takeSession(env, path, `127.0.0.1:${env.port}`)
    await hs.accept()
    await client.next('open')
    await hs.send({ type: 'close', code: 1001, body: 'server going away' })
    // ws answers the close frame with its own; the gateway forwards it and closes TCP.
    const back = (await hs.nextEvent()).packet
    expect([back.type, back.code]).toEqual(['close', 1001])
    const c = await client.next('close')
    expect([c.code, c.reason]).toEqual([1001, 'server going away'])
    await client.stop()
  })

  test('a rejected upgrade shows the client the handler status', async () => {
    const path = `/lib-${++pathSeq}`
    const client = await startWsLib(`ws://127.0.0.1:${env.port}${path}`, { perMessageDeflate: false })
    const hs = await takeSession(env, path, `127.0.0.1:${env.port}`)
    await hs.send({ type: 'error', condition: 'rejected', code: 401, reason: 'Unauthorized', headers: [], body: 'no' })
    const r = await client.next('unexpected-response')
    expect(r.status).toBe(401)
    await client.stop()
  })
}
