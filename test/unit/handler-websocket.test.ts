// Handler WebSockets driven by the fake gateway (zhttp.md 5.3-5.6): accept and reject,
// messages reassembled at every split point or handed over in pieces, the size limit, sends
// within credits, pings and the pong timeout, both close orders, and cancels.

import { afterEach, describe, expect, test } from 'bun:test'
import { createHandler, type Handler, type HandlerOptions, type WebSocket } from '../../src/handler/index.ts'
import { FakeGateway } from '../../src/handler/testing/index.ts'

const handlers: Handler[] = []
afterEach(async () => {
  for (const h of handlers.splice(0)) await h.close()
})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function start(gw: FakeGateway, o: HandlerOptions): Promise<Handler> {
  const h = await createHandler({ transport: gw.transport, id: 'ws-h', log: () => {}, ...o })
  handlers.push(h)
  return h
}

/** An echo handler; keeps the server-side sockets for inspection. */
async function echo(gw: FakeGateway, o: HandlerOptions = {}, accept: Parameters<import('../../src/handler/index.ts').Request['accept']>[0] = {}) {
  const sockets: WebSocket[] = []
  await start(gw, {
    ...o,
    onRequest: async (req) => {
      if (!req.isWebSocket) return req.respond(404)
      const ws = req.accept({ headers: { 'Sec-WebSocket-Protocol': 'echo' }, ...accept })
      sockets.push(ws)
      for await (const m of ws) {
        if (m.type === 'text') await ws.send(m.text())
        else await ws.send(m.data)
      }
    },
  })
  return sockets
}

describe('websocket', () => {
  test('accept with headers and credits, echo text and binary', async () => {
    const gw = new FakeGateway()
    await echo(gw)
    const c = gw.websocket({ path: '/chat' })
    expect(await c.opened()).toBe(true)
    expect(c.acceptHeaders).toEqual([['Sec-WebSocket-Protocol', 'echo']])
    await c.send('hello')
    await c.send(new Uint8Array([0, 1, 2, 255]))
    expect((await c.message(1)).text()).toBe('hello')
    const m2 = await c.message(2)
    expect(m2.type).toBe('binary')
    expect([...m2.data]).toEqual([0, 1, 2, 255])
    expect(gw.errors).toEqual([])
  })

  test('a message split at every point is reassembled', async () => {
    const gw = new FakeGateway()
    await echo(gw)
    const c = gw.websocket()
    await c.opened()
    const MSG = 'fragmented message with ünïcödé'
    const bytes = new TextEncoder().encode(MSG)
    for (let cut = 1; cut <= bytes.length; cut++) {
      await c.send(MSG, { pieceBytes: cut })
      expect((await c.message(cut)).text()).toBe(MSG)
    }
    expect(gw.errors).toEqual([])
  })

  test('fragments mode hands over the pieces with a last flag', async () => {
    const gw = new FakeGateway()
    const pieces: [string, boolean][] = []
    await start(gw, {
      onRequest: (req) => {
        req.accept({ fragments: true, onMessage: (m) => void pieces.push([m.text(), m.last]) })
      },
    })
    const c = gw.websocket()
    await c.opened()
    await c.send('abcdefg', { pieceBytes: 3 })
    await sleep(20)
    expect(pieces).toEqual([
      ['abc', false],
      ['def', false],
      ['g', true],
    ])
  })

  test('a message over the limit closes with 1009', async () => {
    const gw = new FakeGateway()
    await echo(gw, {}, { maxMessageBytes: 10 })
    const c = gw.websocket()
    await c.opened()
    await c.send('x'.repeat(11), { pieceBytes: 4 }).catch(() => {})
    expect((await c.closedByHandler()).code).toBe(1009)
  })

  test('large handler messages go out within credits, as continuation packets', async () => {
    const gw = new FakeGateway({ bufferSize: 1000 })
    await start(gw, {
      onRequest: async (req) => {
        const ws = req.accept()
        await ws.send('z'.repeat(4500))
      },
    })
    const c = gw.websocket()
    await c.opened()
    const m = await c.message(1)
    expect(m.text()).toBe('z'.repeat(4500))
    const data = c.packets.filter((p) => p.type === '' && p.body.length > 0)
    expect(data.length).toBe(5)
    expect(data.slice(0, 4).every((p) => p.more)).toBe(true)
    expect(gw.errors).toEqual([])
  })

  test('credits return as the application consumes: a slow reader holds the client', async () => {
    const gw = new FakeGateway()
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => (release = r))
    let got = 0
    await start(gw, {
      onRequest: async (req) => {
        const ws = req.accept({ credits: 100 })
        await gate
        for await (const m of ws) got += m.data.length
      },
    })
    const c = gw.websocket()
    await c.opened()
    let sent = 0
    const sending = (async () => {
      for (let i = 0; i < 4; i++) {
        await c.send('q'.repeat(50))
        sent++
      }
    })()
    await sleep(50)
    // Nobody reads: the two messages that fit the 100 credits are in, the third waits.
    expect(sent).toBe(2)
    expect(c.packets.filter((p) => p.type === 'credit').length).toBe(0)
    release()
    await sending
    await sleep(20)
    expect(got).toBe(200)
  })

  test('a message larger than the credits still arrives (first pieces are returned)', async () => {
    const gw = new FakeGateway()
    await echo(gw, {}, { credits: 100 })
    const c = gw.websocket()
    await c.opened()
    await c.send('w'.repeat(1000), { pieceBytes: 60 })
    expect((await c.message(1)).text()).toBe('w'.repeat(1000))
  })

  test('pings every pingIntervalMs; a client that never answers is dropped on time', async () => {
    const gw = new FakeGateway()
    const sockets = await echo(gw, { pingIntervalMs: 40, pongTimeoutMs: 60 })
    const live = gw.websocket()
    const silent = gw.websocket()
    silent.autoPong = false
    await live.opened()
    await silent.opened()
    const t0 = Date.now()
    await silent.waitPacket('cancel', 1000)
    const took = Date.now() - t0
    expect(took).toBeGreaterThanOrEqual(60)
    expect(took).toBeLessThan(600)
    const info = await sockets[1].closed
    expect(info.by).toBe('ping-timeout')
    await sleep(200)
    expect(live.pingsReceived).toBeGreaterThanOrEqual(3)
    expect(live.ended).toBe(false)
    expect(sockets[0].open).toBe(true)
  })

  test('a client ping is answered with its body', async () => {
    const gw = new FakeGateway()
    await echo(gw)
    const c = gw.websocket()
    await c.opened()
    c.ping('are you there')
    const pong = await c.waitPacket('pong')
    expect(new TextDecoder().decode(pong.body)).toBe('are you there')
  })

  test('client close: the handler answers and the session ends with the client reason', async () => {
    const gw = new FakeGateway()
    const sockets = await echo(gw)
    const c = gw.websocket()
    await c.opened()
    c.close(1001, 'going')
    const info = await sockets[0].closed
    expect(info).toEqual({ code: 1001, reason: 'going', by: 'client' })
    expect((await c.closedByHandler()).code).toBe(1001)
  })

  test('handler close: code and reason, ends when the client answers', async () => {
    const gw = new FakeGateway()
    await start(gw, {
      onRequest: async (req) => {
        const ws = req.accept()
        const info = await ws.close(4000, 'bye')
        await ws.signal.aborted
        expect(info.by).toBe('handler')
      },
    })
    const c = gw.websocket()
    await c.opened()
    expect(await c.closedByHandler()).toEqual({ code: 4000, reason: 'bye' })
  })

  test('a gateway cancel ends the session with reason cancel', async () => {
    const gw = new FakeGateway()
    const sockets = await echo(gw)
    const c = gw.websocket()
    await c.opened()
    c.disconnect()
    const info = await sockets[0].closed
    expect(info.by).toBe('cancel')
    expect(sockets[0].signal.aborted).toBe(true)
  })

  test('reject with status, headers and body (zhttp.md 5.3)', async () => {
    const gw = new FakeGateway()
    await start(gw, { onRequest: (req) => req.reject(403, { 'Content-Type': 'text/plain' }, 'no\n') })
    const c = gw.websocket()
    expect(await c.opened()).toBe(false)
    expect(c.rejected!.status).toBe(403)
    expect(c.rejected!.text()).toBe('no\n')
    expect(c.rejected!.header('content-type')).toBe('text/plain')
  })
})
