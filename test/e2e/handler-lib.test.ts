// zgate/handler end to end: the library's test application (test/helpers/handler-app.mjs)
// under Bun and under Node, behind each gateway of gatewayTargets() (zgate and condure), in
// stream and req mode: request fields, bodies both ways under credits, streaming, application
// errors, client disconnects as aborts, WebSocket echo, close codes and the ping timeout.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, freePort, gatewayTargets, rawHttp, startGateway, tmpDir } from '../helpers/harness.ts'
import type { Gateway, GatewayTarget } from '../helpers/harness.ts'
import { startHandlerApp, type HandlerApp, type Runtime } from '../helpers/handler-process.ts'
import { OP_CLOSE, OP_PING, OP_TEXT, text } from '../helpers/ws-frame.ts'
import { wsConnect } from '../helpers/ws-raw.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, 30_000)

const GATEWAY_ID = 'gw-lib'
const PING_INTERVAL_MS = 300
const PONG_TIMEOUT_MS = 400
const utf8 = new TextEncoder()

const get = (path: string, extra: string[] = []) => [`GET ${path} HTTP/1.1`, 'Host: h', ...extra, '', ''].join('\r\n')

for (const target of gatewayTargets()) {
  for (const runtime of ['bun', 'node'] as const) {
    const title = `handler library (${runtime}) against ${target.name}`
    if (target.skipReason) describe.skip(`${title} (${target.skipReason})`, () => {})
    else describe(title, () => librarySuite(target, runtime))
  }
}

function librarySuite(target: GatewayTarget, runtime: Runtime) {
  let gw: Gateway
  let app: HandlerApp
  let port = 0
  let reqPort = 0
  beforeAll(async () => {
    const dir = tmpDir()
    port = freePort()
    reqPort = freePort()
    gw = await startGateway({
      cmd: target.cmd,
      args: ['--id', GATEWAY_ID, '--listen', `127.0.0.1:${port},stream`, '--listen', `127.0.0.1:${reqPort},req`]
        .concat(['--zclient-stream', `ipc://${dir}/zs`, '--zclient-req', `ipc://${dir}/zr`]),
    })
    app = await startHandlerApp(runtime, ['--stream', `ipc://${dir}/zs`, '--req', `ipc://${dir}/zr`, '--id', `lib-${runtime}`]
      .concat(['--ping-interval', String(PING_INTERVAL_MS), '--pong-timeout', String(PONG_TIMEOUT_MS)]))
  }, 30_000)
  afterAll(async () => {
    await app?.stop()
    await gw?.stop()
  }, 30_000)

  test('hello world', async () => {
    const c = await rawHttp(port, get('/'))
    const r = await c.readResponse()
    expect(r.status).toBe(200)
    expect(r.header('content-type')).toBe('text/plain')
    expect(text(r.body)).toBe('hello world\n')
    c.close()
  })

  test('request fields: path, query, repeated headers in order, peer, from', async () => {
    const c = await rawHttp(port, get('/info?a=1&b=2&a=3', ['Cookie: x=1', 'X-Mid: m', 'cookie: y=2']))
    const r = await c.readResponse()
    const info = JSON.parse(text(r.body))
    expect(info.runtime).toBe(runtime)
    expect(info.method).toBe('GET')
    expect(info.uri).toBe('http://h/info?a=1&b=2&a=3')
    expect(info.path).toBe('/info')
    expect(info.query).toEqual([['a', '1'], ['b', '2'], ['a', '3']])
    expect(info.cookies).toEqual(['x=1', 'y=2'])
    expect(info.headers).toEqual([['Host', 'h'], ['Cookie', 'x=1'], ['X-Mid', 'm'], ['cookie', 'y=2']])
    expect(info.peer.address).toBe('127.0.0.1')
    expect(info.peer.port).toBe(c.localPort)
    expect(info.from).toBe(GATEWAY_ID)
    c.close()
  })

  test('a 300 kB body goes both ways under credits', async () => {
    const body = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff)
    const c = await rawHttp(port)
    c.write(`POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`)
    c.write(body)
    const r = await c.readResponse(10_000)
    expect(r.status).toBe(200)
    expect(r.header('x-length')).toBe(String(body.length))
    expect(r.body).toEqual(body)
    c.close()
  })

  test('a slow body reader keeps memory flat: 40 MB through a 20 MB/s reader', async () => {
    const SIZE = 40 << 20
    // Retained memory (heap + external after a collection) must stay near the credit window;
    // RSS, which allocators give back lazily, must stay well under the body size.
    const HELD_GROWTH_MAX_BYTES = 8 << 20
    const RSS_GROWTH_MAX_BYTES = 24 << 20
    const c = await rawHttp(port)
    c.write(`POST /slow?rate=${20 << 20} HTTP/1.1\r\nHost: h\r\nContent-Length: ${SIZE}\r\n\r\n`)
    const chunk = new Uint8Array(1 << 20).fill(0x61)
    for (let i = 0; i < SIZE / chunk.length; i++) c.write(chunk)
    const r = await c.readResponse(20_000)
    const out = JSON.parse(text(r.body))
    expect(out.bytes).toBe(SIZE)
    // the reader set the pace: the upload could not outrun it
    expect(out.ms).toBeGreaterThanOrEqual(1500)
    expect(out.heldMax - out.heldStart).toBeLessThan(HELD_GROWTH_MAX_BYTES)
    expect(out.rssMax - out.rssStart).toBeLessThan(RSS_GROWTH_MAX_BYTES)
    c.close()
  })

  test('server-sent events stream, then end', async () => {
    const c = await rawHttp(port, get('/sse'))
    const r = await c.readResponse()
    expect(r.header('content-type')).toBe('text/event-stream')
    expect(text(r.body)).toBe('data: 1\n\ndata: 2\n\ndata: 3\n\n')
    c.close()
  })

  test('an application exception answers 500 and the handler keeps serving', async () => {
    const c = await rawHttp(port, get('/boom'))
    expect((await c.readResponse()).status).toBe(500)
    c.close()
    const c2 = await rawHttp(port, get('/'))
    expect((await c2.readResponse()).status).toBe(200)
    c2.close()
    await app.waitEvent({ ev: 'log', level: 'error' })
  })

  test('a client that leaves a held response aborts its signal', async () => {
    const c = await rawHttp(port, get('/hold'))
    await c.readUntil(/\r\n\r\n/)
    const since = app.events().length
    c.close()
    const e = await app.waitEvent({ ev: 'aborted' }, 5000, since)
    expect(e.reason).toBe('cancel')
  })

  test('req mode: the same API on the DEALER endpoint', async () => {
    const c = await rawHttp(reqPort, get('/'))
    const r = await c.readResponse()
    expect(r.status).toBe(200)
    expect(text(r.body)).toBe('hello world\n')
    c.close()
    const c2 = await rawHttp(reqPort)
    c2.write('POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde')
    const r2 = await c2.readResponse()
    expect(text(r2.body)).toBe('abcde')
    c2.close()
  })

  test('WebSocket: accept headers, echo, handler close with code and reason', async () => {
    const { response, ws } = await wsConnect(port, { path: '/ws' })
    expect(response.status).toBe(101)
    expect(response.header('x-handler')).toBe('zgate-handler')
    ws.send({ opcode: OP_TEXT, payload: 'hello there' })
    const [m] = await ws.waitMessages(1)
    expect(m!.opcode).toBe(OP_TEXT)
    expect(text(m!.payload)).toBe('hello there')
    const since = app.events().length
    ws.send({ opcode: OP_TEXT, payload: 'close-me' })
    const cf = await ws.waitCloseFrame()
    expect(cf).toEqual({ code: 4001, reason: 'asked' })
    ws.send({ opcode: OP_CLOSE, payload: new Uint8Array([0x0f, 0xa1]) })
    const e = await app.waitEvent({ ev: 'ws-closed' }, 5000, since)
    expect(e.code).toBe(4001)
    ws.close()
  })

  test('WebSocket: a client close ends the session with its code', async () => {
    const { ws } = await wsConnect(port, { path: '/ws' })
    const since = app.events().length
    ws.send({ opcode: OP_CLOSE, payload: new Uint8Array([0x03, 0xe9, ...utf8.encode('gone')]) })
    const e = await app.waitEvent({ ev: 'ws-closed' }, 5000, since)
    expect(e.by).toBe('client')
    expect(e.code).toBe(1001)
    expect(e.reason).toBe('gone')
    expect((await ws.waitCloseFrame()).code).toBe(1001)
    ws.close()
  })

  test('WebSocket: a client that never answers pings is dropped on time', async () => {
    const { ws } = await wsConnect(port, { path: '/ws' })
    const since = app.events().length
    const t0 = Date.now()
    const closed = await ws.waitClosed(PING_INTERVAL_MS + PONG_TIMEOUT_MS + 5000)
    const took = Date.now() - t0
    expect(closed.how).not.toBe('local')
    expect(ws.frames().some((f) => f.opcode === OP_PING)).toBe(true)
    // first ping after one interval, then the pong timeout, within the tick's resolution
    expect(took).toBeGreaterThanOrEqual(PING_INTERVAL_MS + PONG_TIMEOUT_MS - 50)
    expect(took).toBeLessThan(PING_INTERVAL_MS + PONG_TIMEOUT_MS + 2000)
    const e = await app.waitEvent({ ev: 'ws-closed' }, 5000, since)
    expect(e.by).toBe('ping-timeout')
  })
}
