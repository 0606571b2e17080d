// The examples/ programs end to end, each behind every gateway of gatewayTargets() (zgate and
// condure): hello world, Condure's two-process example, the SSE clock, the WebSocket chat room
// (broadcast, pings, a silent client dropped), the req-mode JSON API and the handoff demo.

import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { join } from 'node:path'
import { cleanup, freePort, gatewayTargets, rawHttp, REPO_ROOT, sleep, startGateway, tmpDir } from '../helpers/harness.ts'
import type { Gateway, GatewayTarget } from '../helpers/harness.ts'
import { startHandlerApp, type HandlerApp } from '../helpers/handler-process.ts'
import { text } from '../helpers/ws-frame.ts'
import { OP_TEXT } from '../helpers/ws-frame.ts'
import { wsConnect } from '../helpers/ws-raw.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, 30_000)

const ex = (f: string) => join(REPO_ROOT, 'examples', f)
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`
const PING_MS = 300
const PONG_MS = 400

for (const target of gatewayTargets()) {
  if (target.skipReason) describe.skip(`examples against ${target.name} (${target.skipReason})`, () => {})
  else describe(`examples against ${target.name}`, () => examplesSuite(target))
}

/** Opens a WebSocket with Bun's client (it answers pings) and queues its messages. */
function liveClient(port: number, path: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`)
  const got: string[] = []
  ws.onmessage = (e) => got.push(String(e.data))
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error('websocket error'))
  })
  const waitFor = async (re: RegExp, timeoutMs = 5000) => {
    const t0 = Date.now()
    for (;;) {
      const m = got.find((g) => re.test(g))
      if (m !== undefined) return m
      if (Date.now() - t0 > timeoutMs) throw new Error(`no message matching ${re}; got ${JSON.stringify(got)}`)
      await sleep(10)
    }
  }
  return { ws, got, opened, waitFor }
}

function examplesSuite(target: GatewayTarget) {
  let gw: Gateway
  let port = 0
  let reqPort = 0
  let base = ''
  let reqEp = ''
  let dir = ''
  beforeAll(async () => {
    dir = tmpDir()
    port = freePort()
    reqPort = freePort()
    base = `ipc://${dir}/zs`
    reqEp = `ipc://${dir}/zr`
    gw = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `127.0.0.1:${port},stream`, '--listen', `127.0.0.1:${reqPort},req`, '--zclient-stream', base, '--zclient-req', reqEp],
    })
  }, 30_000)
  afterAll(() => gw?.stop(), 30_000)

  // Every example started by a test stops after it, pass or fail: a leftover handler would
  // take its share of the next test's requests (PUSH round-robin, zhttp.md 1.3).
  const apps: HandlerApp[] = []
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.stop()
  })
  const run = async (file: string, args: string[]) => {
    const app = await startHandlerApp('bun', args, ex(file), false)
    apps.push(app)
    return app
  }

  test('hello world', async () => {
    const app = await run('hello-world.ts', ['--base', base])
    const c = await rawHttp(port, get('/'))
    const r = await c.readResponse()
    expect(r.status).toBe(200)
    expect(text(r.body)).toBe('hello world\n')
    c.close()
    await app.stop()
  })

  test("Condure's two-process example: one prints ids, another answers", async () => {
    const held = join(dir, 'held')
    const printer = await run('two-process/print-ids.ts', ['--base', base, '--dir', held])
    const c = await rawHttp(port, get('/two?x=1'))
    const id = await printer.waitLine(/^\d+-\d+-[0-9a-f]+(-[0-9a-f]+)?$/)
    const answer = await run('two-process/answer.ts', ['--base', base, '--dir', held, id, 'hi from two'])
    const r = await c.readResponse(10_000)
    expect(text(r.body)).toBe(`hi from two (request ${id}, GET /two)\n`)
    await answer.waitLine(new RegExp(`^answered ${id}$`))
    c.close()
    await printer.stop()
  })

  test('SSE clock: events stream until the client leaves', async () => {
    const app = await run('sse-clock.ts', ['--base', base, '--interval', '100'])
    const c = await rawHttp(port, get('/'))
    const all = await c.readUntil(/id: 3\ndata: /, 5000)
    const head = new TextDecoder().decode(all)
    expect(head).toContain('text/event-stream')
    expect(head).toMatch(/data: \d{4}-\d\d-\d\dT/)
    c.close()
    await app.waitLine(/left after \d+ events/)
    await app.stop()
  })

  test('chat room: broadcast, pings, a silent client dropped', async () => {
    const app = await run('chat-room.ts', ['--base', base, '--ping', String(PING_MS), '--pong', String(PONG_MS)])
    const alice = liveClient(port, '/?name=alice')
    await alice.opened
    await alice.waitFor(/^\* welcome alice/)
    const bob = liveClient(port, '/?name=bob')
    await bob.opened
    await alice.waitFor(/^\* bob joined$/)
    // carol's raw client never answers pings
    const { ws: carol } = await wsConnect(port, { path: '/?name=carol' })
    await bob.waitFor(/^\* carol joined$/)
    alice.ws.send('hello room')
    expect(await bob.waitFor(/^alice: /)).toBe('alice: hello room')
    carol.send({ opcode: OP_TEXT, payload: 'me too' })
    expect(await alice.waitFor(/^carol: /)).toBe('carol: me too')
    expect(await alice.waitFor(/^\* carol left/, PING_MS + PONG_MS + 5000)).toBe('* carol left (ping-timeout)')
    await carol.waitClosed(5000)
    // the live clients were pinged all along and are still here
    await sleep(PING_MS + PONG_MS)
    bob.ws.send('still here')
    expect(await alice.waitFor(/^bob: /)).toBe('bob: still here')
    alice.ws.close()
    bob.ws.close()
    await app.stop()
  })

  test('req-mode JSON API', async () => {
    const app = await run('req-json-api.ts', ['--req', reqEp])
    const call = async (method: string, path: string, body?: string) => {
      const c = await rawHttp(reqPort)
      c.write(`${method} ${path} HTTP/1.1\r\nHost: h\r\n${body === undefined ? '' : `Content-Length: ${body.length}\r\n`}\r\n${body ?? ''}`)
      const r = await c.readResponse()
      c.close()
      return { status: r.status, json: JSON.parse(text(r.body)) }
    }
    expect(await call('POST', '/items', '{"name":"tea"}')).toEqual({ status: 201, json: { id: 1, name: 'tea' } })
    expect(await call('POST', '/items', '{"name":"milk"}')).toEqual({ status: 201, json: { id: 2, name: 'milk' } })
    expect(await call('GET', '/items')).toEqual({ status: 200, json: [{ id: 1, name: 'tea' }, { id: 2, name: 'milk' }] })
    expect(await call('GET', '/items/2')).toEqual({ status: 200, json: { id: 2, name: 'milk' } })
    expect((await call('GET', '/items/9')).status).toBe(404)
    expect((await call('POST', '/items', '{nope')).status).toBe(400)
    await app.stop()
  })

  test('handoff demo: one process accepts, another finishes (HTTP and WebSocket)', async () => {
    const sock = join(dir, 'finish.sock')
    const finisher = await run('handoff/finish.ts', ['--base', base, '--listen', sock])
    await finisher.waitLine(/sessions from/)
    const acceptor = await run('handoff/accept.ts', ['--base', base, '--to', sock])
    const c = await rawHttp(port, get('/'))
    const r = await c.readResponse(10_000)
    const lines = text(r.body).trim().split('\n')
    expect(lines).toEqual([`accepted by ${acceptor.proc.pid}`, `finished by ${finisher.proc.pid}`])
    c.close()
    const client = liveClient(port, '/ws')
    await client.opened
    client.ws.send('one')
    expect(await client.waitFor(/^accepted/)).toBe(`accepted by ${acceptor.proc.pid}: one`)
    await sleep(100)
    client.ws.send('two')
    expect(await client.waitFor(/^finished/)).toBe(`finished by ${finisher.proc.pid}: two`)
    client.ws.close()
    await acceptor.stop()
    await finisher.stop()
  })
}
