// zgate as Pushpin's connection manager (issue 4 part 4): Debian's pushpin 1.36 runs with a
// private config whose condure_bin is Debian's condure or zgate's scripts/condure, in front of
// an origin served by this test process. Plain proxying, GRIP hold-stream and long-poll
// (which hand the session off from pushpin-proxy to pushpin-handler, zhttp.md 4.10), the
// manager's keep-alive batches and ROUTER sends to the handler (zhttp.md 4.8, 1.3), WebSocket through pushpin, and
// pushpin's SIGTERM shutdown of its connection manager (zhttp.md 4.12).
//
// Pushpin missing is a failure, not a skip.

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import type { Server, ServerWebSocket } from 'bun'
import { cleanup, forEachGateway, gatewayTargets, rawHttp, sleep } from '../helpers/harness.ts'
import type { RawConn } from '../helpers/harness.ts'
import { pidAlive, pushpinMissing, startPushpin } from '../helpers/pushpin.ts'
import type { Pushpin } from '../helpers/pushpin.ts'
import { curlTls, nodeTls } from '../helpers/tls-client.ts'

const HOOK_TIMEOUT_MS = 40_000
const WAIT_MS = 5_000
/** zgate's keep-alive period inside pushpin (condure's 45 s cannot be changed). */
const ZGATE_KEEP_ALIVE_MS = 300
/** Pushpin raises any Grip-Timeout below 5 s to 5 s; the test asks for the minimum. */
const LONG_POLL_TIMEOUT_S = 5
/** Pushpin kills its connection manager after about 4 s; zgate must be gone before that. */
const MANAGER_EXIT_MAX_MS = 4_000
/** What pushpin's publish endpoint answers for an accepted publish. */
const PUBLISHED = '200 Published'
const REQUEST_BODY_BYTES = 200_000
const RESPONSE_BODY_BYTES = 300_000

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

// ---------------------------------------------------------------------------------------
// origin: plain HTTP, GRIP holds, a WebSocket endpoint and a WebSocket-over-HTTP endpoint

/** Bytes 0..250 repeating, so that a shifted or truncated body shows. */
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = i % 251
  return b
}

interface WsEvent {
  type: string
  content: string
}

/**
 * WebSocket-over-HTTP events: `TYPE\r\n` or `TYPE <hex length>\r\n<content>\r\n`. Text is
 * latin1 (one char per byte): CLOSE content starts with a binary close code.
 */
function parseWsEvents(text: string): WsEvent[] {
  const out: WsEvent[] = []
  let at = 0
  while (at < text.length) {
    const eol = text.indexOf('\r\n', at)
    if (eol < 0) throw new Error(`bad websocket-events body: ${JSON.stringify(text)}`)
    const [type = '', hex] = text.slice(at, eol).split(' ')
    at = eol + 2
    let content = ''
    if (hex !== undefined) {
      const len = parseInt(hex, 16)
      content = text.slice(at, at + len)
      at += len + 2
    }
    out.push({ type, content })
  }
  return out
}

function wsEvent(type: string, content?: string): string {
  if (content === undefined) return `${type}\r\n`
  return `${type} ${content.length.toString(16)}\r\n${content}\r\n`
}

/**
 * The WebSocket-over-HTTP origin: subscribes on OPEN, echoes TEXT, answers CLOSE. With the
 * grip extension on, pushpin passes on only origin messages prefixed `m:` (`c:` is control).
 */
function wsOverHttp(channel: string, body: string): Response {
  let reply = ''
  for (const ev of parseWsEvents(body)) {
    if (ev.type === 'OPEN') {
      reply += wsEvent('OPEN')
      reply += wsEvent('TEXT', `c:${JSON.stringify({ type: 'subscribe', channel })}`)
    } else if (ev.type === 'TEXT') {
      reply += wsEvent('TEXT', `m:woh-echo:${ev.content}`)
    } else if (ev.type === 'CLOSE') {
      reply += wsEvent('CLOSE', ev.content)
    }
  }
  return new Response(Buffer.from(reply, 'latin1'), {
    headers: { 'Content-Type': 'application/websocket-events', 'Sec-WebSocket-Extensions': 'grip' },
  })
}

async function originFetch(req: Request, srv: Server<string>): Promise<Response | undefined> {
  const url = new URL(req.url)
  const [, kind = '', arg = ''] = url.pathname.split('/')
  if (kind === 'echo') {
    const body = new Uint8Array(await req.arrayBuffer())
    return new Response(body, {
      status: 201,
      headers: {
        'X-Origin-Method': req.method,
        'X-Origin-Path': `${url.pathname}${url.search}`,
        'X-Got-Test': req.headers.get('x-test') ?? '',
        'X-Got-Length': String(body.length),
        'Content-Type': 'application/octet-stream',
      },
    })
  }
  if (kind === 'big') return new Response(pattern(Number(arg)), { headers: { 'X-Big': arg } })
  if (kind === 'stream') {
    return new Response(`start ${arg}\n`, {
      headers: { 'Grip-Hold': 'stream', 'Grip-Channel': arg, 'Content-Type': 'text/plain' },
    })
  }
  if (kind === 'poll') {
    return new Response(`timeout ${arg}\n`, {
      headers: { 'Grip-Hold': 'response', 'Grip-Channel': arg, 'Grip-Timeout': String(LONG_POLL_TIMEOUT_S), 'X-Held': 'yes' },
    })
  }
  if (kind === 'ws') {
    if (srv.upgrade(req, { data: arg })) return undefined
    return new Response('not an upgrade', { status: 400 })
  }
  if (kind === 'woh') return wsOverHttp(arg, Buffer.from(await req.arrayBuffer()).toString('latin1'))
  return new Response('no such origin path', { status: 404 })
}

const origin = Bun.serve<string, never>({
  hostname: '127.0.0.1',
  port: 0,
  fetch: originFetch,
  websocket: {
    open(ws: ServerWebSocket<string>) {
      ws.send(`hello ${ws.data}`)
    },
    message(ws: ServerWebSocket<string>, msg: string | Buffer) {
      if (msg === 'close please') ws.close(4001, 'origin says bye')
      else ws.send(typeof msg === 'string' ? `echo:${msg}` : Buffer.concat([Buffer.from('echo:'), msg]))
    },
  },
})
afterAll(() => origin.stop(true))

const ROUTES = ['*,path_beg=/woh/ {origin},over_http', '* {origin}']

// ---------------------------------------------------------------------------------------
// clients

/** A GET on a fresh raw connection; `readUntil` then follows the held response's bytes. */
function rawGet(pp: Pushpin, path: string): Promise<RawConn> {
  return rawHttp(pp.httpPort, `GET ${path} HTTP/1.1\r\nHost: pp.test\r\n\r\n`)
}

interface WsClient {
  ws: WebSocket
  /** The next message not yet taken, as text. */
  next(timeoutMs?: number): Promise<string>
  closed: Promise<{ code: number; reason: string }>
}

async function openWs(url: string): Promise<WsClient> {
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const queue: string[] = []
  let wake: (() => void) | undefined
  ws.onmessage = (e) => {
    queue.push(typeof e.data === 'string' ? e.data : `bin:${Buffer.from(e.data as ArrayBuffer).toString('latin1')}`)
    wake?.()
  }
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => {
      resolve({ code: e.code, reason: e.reason })
      wake?.()
    }
  })
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error(`websocket to ${url} failed`))
    setTimeout(() => reject(new Error(`websocket to ${url} did not open within ${WAIT_MS} ms`)), WAIT_MS)
  })
  const next = async (timeoutMs = WAIT_MS): Promise<string> => {
    const deadline = Date.now() + timeoutMs
    while (queue.length === 0) {
      if (ws.readyState === WebSocket.CLOSED) throw new Error('websocket closed while waiting for a message')
      if (Date.now() > deadline) throw new Error(`no websocket message within ${timeoutMs} ms`)
      await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)])
    }
    return queue.shift()!
  }
  return { ws, next, closed }
}

/** Pushpin's verbose log lines since `mark` that match every one of `res`. */
function logged(pp: Pushpin, mark: number, ...res: RegExp[]): string[] {
  return pp.gw.lines().slice(mark).filter((l) => res.every((re) => re.test(l)))
}

async function waitLogged(pp: Pushpin, mark: number, res: RegExp[], what: string): Promise<string[]> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const found = logged(pp, mark, ...res)
    if (found.length > 0) return found
    if (Date.now() > deadline) throw new Error(`pushpin never logged ${what}`)
    await sleep(20)
  }
}

// ---------------------------------------------------------------------------------------
// load-time decisions

const missing = pushpinMissing()

test('pushpin, pushpin-proxy, pushpin-handler and zurl are installed', () => {
  expect(missing).toBe('')
})

// ---------------------------------------------------------------------------------------

forEachGateway((target) => `pushpin with ${target.name} [runs]`, (target) => {
  let pp: Pushpin

  beforeAll(async () => {
    pp = await startPushpin(target, {
      routes: ROUTES,
      originPort: origin.port!,
      readyPath: '/stream/ready',
      env: { ZGATE_KEEP_ALIVE_INTERVAL_MS: String(ZGATE_KEEP_ALIVE_MS) },
    })
  }, HOOK_TIMEOUT_MS)

  test('proxies a POST with headers and a body, then a GET on the same connection', async () => {
    const conn = await rawHttp(
      pp.httpPort,
      'POST /echo/a?q=1 HTTP/1.1\r\nHost: pp.test\r\nX-Test: hello there\r\nContent-Type: text/plain\r\n' +
        'Content-Length: 11\r\n\r\nhello world' +
        'GET /echo/b HTTP/1.1\r\nHost: pp.test\r\nX-Test: second\r\n\r\n',
    )
    const r1 = await conn.readResponse(WAIT_MS)
    expect(r1.status).toBe(201)
    expect(r1.header('X-Origin-Method')).toBe('POST')
    expect(r1.header('X-Origin-Path')).toBe('/echo/a?q=1')
    expect(r1.header('X-Got-Test')).toBe('hello there')
    expect(r1.header('X-Got-Length')).toBe('11')
    expect(r1.bodyText()).toBe('hello world')
    const r2 = await conn.readResponse(WAIT_MS)
    expect(r2.status).toBe(201)
    expect(r2.header('X-Origin-Method')).toBe('GET')
    expect(r2.header('X-Got-Test')).toBe('second')
    expect(r2.body.length).toBe(0)
    conn.close()
  })

  test('https_ports: TLS with the default_<port> identity (no SNI) and an SNI-chosen one', async () => {
    const mark = pp.gw.mark()
    const named = await curlTls('localhost', pp.httpsPort, '/echo/tls?q=1', '127.0.0.1', ['-i', '-H', 'X-Test: over tls', '--data-binary', 'sealed'])
    expect(named.code).toBe(0)
    expect(named.status).toBe(201)
    expect(named.body).toContain('X-Origin-Path: /echo/tls?q=1')
    expect(named.body).toContain('X-Got-Test: over tls')
    expect(named.body).toEndWith('\r\n\r\nsealed')
    // pushpin-proxy saw the request as https (its log of the manager's first packet).
    const line = new RegExp(`\\[proxy\\] IN id=\\S+, POST https://localhost:${pp.httpsPort}/echo/tls\\?q=1$`)
    expect(await waitLogged(pp, mark, [line], 'the https request')).toHaveLength(1)
    const bare = await nodeTls({ port: pp.httpsPort, request: 'GET /echo/bare HTTP/1.1\r\nHost: pp.test\r\nConnection: close\r\n\r\n' })
    expect([bare.ok, bare.authorized, bare.cn]).toEqual([true, true, 'default.test'])
    expect(bare.head).toStartWith('HTTP/1.1 201 ')
  })

  test(`streams a ${REQUEST_BODY_BYTES}-byte request body and a ${RESPONSE_BODY_BYTES}-byte response (credits both ways)`, async () => {
    const sent = pattern(REQUEST_BODY_BYTES)
    const res = await fetch(`http://127.0.0.1:${pp.httpPort}/echo/up`, { method: 'POST', body: sent })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-got-length')).toBe(String(REQUEST_BODY_BYTES))
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(sent))).toBe(true)
    const big = await fetch(`http://127.0.0.1:${pp.httpPort}/big/${RESPONSE_BODY_BYTES}`)
    expect(big.status).toBe(200)
    expect(Buffer.from(await big.arrayBuffer()).equals(Buffer.from(pattern(RESPONSE_BODY_BYTES)))).toBe(true)
  })

  test('GRIP hold-stream: the response stays open across the handoff and publishes arrive in order', async () => {
    const mark = pp.gw.mark()
    const conn = await rawGet(pp, '/stream/hs1')
    await conn.readUntil(/start hs1\n/, WAIT_MS)
    // The proxy handed the session to pushpin-handler: handoff-start out, handoff-proceed
    // back from the connection manager (zhttp.md 4.10). The handler resumes it under the
    // manager's instance id `condure` and sends the held head; the manager's credit for
    // those bytes reaches the new owner on the -out-stream ROUTER (zhttp.md 1.3, 4.6).
    await waitLogged(pp, mark, [/\[proxy\] zhttp server: OUT condure /, /"type": "handoff-start"/], 'handoff-start to the manager')
    await waitLogged(pp, mark, [/\[proxy\] zhttp\/zws server: IN /, /"type": "handoff-proceed"/, /"from": "condure"/], 'handoff-proceed')
    await waitLogged(pp, mark, [/\[handler\] zhttp server: OUT condure /, /"more": true/], 'the handler sending the held response head')
    await waitLogged(pp, mark, [/\[handler\] zhttp\/zws server: IN stream /, /"type": "credit"/, /"from": "condure"/], 'a credit to the handler')
    expect(conn.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(conn.text()).toMatch(/\r\nTransfer-Encoding: chunked\r\n/i)
    expect(conn.text()).not.toMatch(/Grip-/i)

    expect(await pp.publish([{ channel: 'hs1', formats: { 'http-stream': { content: 'first\n' } } }])).toBe(PUBLISHED)
    await conn.readUntil(/first\n/, WAIT_MS)
    expect(await pp.publish([{ channel: 'hs1', formats: { 'http-stream': { content: 'second\n' } } }])).toBe(PUBLISHED)
    await conn.readUntil(/second\n/, WAIT_MS)
    const text = conn.text()
    expect(text.indexOf('start hs1')).toBeLessThan(text.indexOf('first'))
    expect(text.indexOf('first')).toBeLessThan(text.indexOf('second'))
    expect(conn.isClosed).toBe(false)
    conn.close()
  })

  test.skipIf(target.name === 'condure')(
    `keep-alive batches list several ids and pushpin keeps every held stream [${target.name === 'condure' ? "skipped: condure's 45 s keep-alive period cannot be shortened" : `every ${ZGATE_KEEP_ALIVE_MS} ms`}]`,
    async () => {
      // Each worker batches its own sessions; with more streams than workers some worker
      // holds at least two.
      const names = ['ka-a', 'ka-b', 'ka-c']
      const mark = pp.gw.mark()
      const conns: RawConn[] = []
      for (const n of names) conns.push(await rawGet(pp, `/stream/${n}`))
      for (const [i, c] of conns.entries()) await c.readUntil(new RegExp(`start ${names[i]}\n`), WAIT_MS)
      // zgate's session id of each stream, from pushpin-proxy's log of the request.
      const ids: string[] = []
      for (const n of names) {
        const [line = ''] = await waitLogged(pp, mark, [new RegExp(`\\[proxy\\] IN id=[^,]+, GET http://pp\\.test/stream/${n}$`)], `the ${n} request`)
        ids.push(/ IN id=([^,]+),/.exec(line)?.[1] ?? '')
      }
      expect(new Set(ids.filter((id) => id !== '')).size).toBe(names.length)
      // One keep-alive packet for several sessions: `id` is a list of {id, seq} (zhttp.md 4.8;
      // pushpin prints each map's keys in no fixed order).
      const list = /"id": \[ \{ [^}]*"seq": \d+[^}]*\}, \{ [^}]*"seq": \d+[^}]*\}/
      const ka = [/\[handler\] zhttp\/zws server: IN /, /"type": "keep-alive"/, /"from": "condure"/]
      await waitLogged(pp, mark, [...ka, list], 'a keep-alive batch with two or more ids')
      await sleep(ZGATE_KEEP_ALIVE_MS * 3)
      // Three more periods later the handler still owns every session.
      for (const n of names) {
        expect(await pp.publish([{ channel: n, formats: { 'http-stream': { content: `still ${n}\n` } } }])).toBe(PUBLISHED)
      }
      for (const [i, c] of conns.entries()) await c.readUntil(new RegExp(`still ${names[i]}\n`), WAIT_MS)
      for (const [i, id] of ids.entries()) {
        const sent = [/\[handler\] zhttp server: OUT condure /, new RegExp(`"id": "${id}"`), new RegExp(`still ${names[i]}`)]
        await waitLogged(pp, mark, sent, `the handler sending still ${names[i]}`)
      }
      expect(conns.map((c) => c.isClosed)).toEqual([false, false, false])
      // No cancel between zgate and pushpin for these sessions, either way. Pushpin's output
      // also holds cancels that are not zgate's: zurl answers pushpin-proxy's keep-alive for an
      // origin request it has finished with one (`zhttp/zws client` lines, zurl's own ids), and
      // an earlier test's closed stream is cancelled. Its merged output can reach the test
      // after the client's bytes, so only the ids tell which lines belong to this test.
      const zgateSide = /\[(proxy|handler)\] zhttp(\/zws)? server: /
      const cancels = logged(pp, mark, zgateSide, /"type": "cancel"/).filter((l) => ids.some((id) => l.includes(`"id": "${id}"`)))
      expect(cancels).toEqual([])
      for (const c of conns) c.close()
    },
  )

  test('GRIP long-poll: a publish releases the held request with its code, headers and body', async () => {
    const mark = pp.gw.mark()
    const conn = await rawGet(pp, '/poll/lp1')
    // A publish before the handler subscribed would be lost, so wait for its subscription.
    await waitLogged(pp, mark, [/\[handler\] stats: OUT sub /, /"channel": "lp1"/], 'the lp1 subscription')
    // Nothing is sent until the publish; then the published response replaces the held one.
    expect(conn.received().length).toBe(0)
    const items = [{ channel: 'lp1', formats: { 'http-response': { code: 202, reason: 'Accepted', headers: { 'X-Pub': 'p1' }, body: 'released\n' } } }]
    expect(await pp.publish(items)).toBe(PUBLISHED)
    const res = await conn.readResponse(WAIT_MS)
    expect(res.status).toBe(202)
    expect(res.header('X-Pub')).toBe('p1')
    expect(res.bodyText()).toBe('released\n')
    conn.close()
  })

  test(`GRIP long-poll: without a publish the origin's held response is sent after Grip-Timeout (${LONG_POLL_TIMEOUT_S} s)`, async () => {
    const started = Date.now()
    const conn = await rawGet(pp, '/poll/lp-timeout')
    const res = await conn.readResponse((LONG_POLL_TIMEOUT_S + 4) * 1000)
    const took = Date.now() - started
    expect(res.status).toBe(200)
    expect(res.header('X-Held')).toBe('yes')
    expect(res.header('Grip-Hold')).toBeUndefined()
    expect(res.bodyText()).toBe('timeout lp-timeout\n')
    expect(took).toBeGreaterThanOrEqual(LONG_POLL_TIMEOUT_S * 1000 - 500)
    conn.close()
  }, 20_000)

  test(`WebSocket through pushpin and zurl to a WebSocket origin: messages both ways, close codes`, async () => {
    const c = await openWs(`ws://127.0.0.1:${pp.httpPort}/ws/w1`)
    expect(await c.next()).toBe('hello w1')
    c.ws.send('ping text')
    expect(await c.next()).toBe('echo:ping text')
    c.ws.send(new Uint8Array([0x00, 0x01, 0xfe, 0xff]))
    expect(await c.next()).toBe('bin:echo:\x00\x01\xfe\xff')
    const long = 'x'.repeat(70_000)
    c.ws.send(long)
    expect(await c.next()).toBe(`echo:${long}`)
    c.ws.send('close please')
    const closed = await c.closed
    expect(closed.code).toBe(4001)
    expect(closed.reason).toBe('origin says bye')
  })

  test(`WebSocket-over-HTTP origin: GRIP subscribe, echo and a published ws-message`, async () => {
    const mark = pp.gw.mark()
    const c = await openWs(`ws://127.0.0.1:${pp.httpPort}/woh/wch`)
    c.ws.send('one')
    expect(await c.next()).toBe('woh-echo:one')
    // The OPEN reply's `c:` subscribe reaches pushpin-handler over ws-control; a publish
    // sent before that would find no subscriber.
    await waitLogged(pp, mark, [/\[handler\] subscribe ws:\/\/\S+\/woh\/wch channel=wch$/], 'the wch subscription')
    expect(await pp.publish([{ channel: 'wch', formats: { 'ws-message': { content: 'published to ws' } } }])).toBe(PUBLISHED)
    expect(await c.next()).toBe('published to ws')
    c.ws.send('two')
    expect(await c.next()).toBe('woh-echo:two')
    c.ws.close(1000, 'client done')
    expect((await c.closed).code).toBe(1000)
  })
})

// ---------------------------------------------------------------------------------------
// shutdown: pushpin's SIGTERM must stop the manager cleanly before pushpin's 4 s kill

for (const target of gatewayTargets()) {
  test.skipIf(target.skipReason !== '')(
    `pushpin with ${target.name} (found on PATH): SIGTERM stops the manager with exit 0 within ${MANAGER_EXIT_MAX_MS} ms, nothing left behind`,
    async () => {
      const pp = await startPushpin(target, { routes: ROUTES, originPort: origin.port!, readyPath: '/stream/ready', launch: 'path' })
      const held = await rawGet(pp, '/stream/bye')
      await held.readUntil(/start bye\n/, WAIT_MS)
      const mark = pp.gw.mark()
      let passed = false
      try {
        const t0 = Date.now()
        pp.gw.proc.kill('SIGTERM')
        while (pidAlive(pp.managerPid) && Date.now() - t0 < MANAGER_EXIT_MAX_MS + 2_000) await sleep(10)
        const managerGoneMs = Date.now() - t0
        expect(pidAlive(pp.managerPid)).toBe(false)
        expect(managerGoneMs).toBeLessThan(MANAGER_EXIT_MAX_MS)
        expect(await pp.gw.stop()).toBe(0)
        const tail = pp.gw.lines().slice(mark)
        // Pushpin's verdicts on the manager's end (pushpin.ts): a non-zero exit, a death by
        // signal, its 4 s kill. None may appear; the manager's own `stopped` line must.
        expect(tail.filter((l) => /condure: |condure taking too long/.test(l))).toEqual([])
        const stoppedAt = tail.findIndex((l) => /\[condure\] \[\w+\] stopped$/.test(l))
        expect(stoppedAt).toBeGreaterThanOrEqual(0)
        // When pushpin's runner tears down before it has reaped a service that is already
        // exiting, it logs `<service> running while needing to exit` (a race inside pushpin,
        // seen for its proxy too); for the manager that may only follow its `stopped` line.
        const forcedAt = tail.findIndex((l) => /condure running while needing to exit/.test(l))
        if (forcedAt >= 0) expect(forcedAt).toBeGreaterThan(stoppedAt)
        for (const [name, pid] of pp.servicePids) expect(`${name} ${pidAlive(pid) ? 'alive' : 'gone'}`).toBe(`${name} gone`)
        expect((await held.waitClosed(WAIT_MS)).how).not.toBe('local')
        passed = true
      } finally {
        if (!passed) console.error(`pushpin's shutdown log:\n  ${pp.gw.lines().slice(mark).filter((l) => !l.includes('[DEBUG]')).join('\n  ')}`)
      }
    },
    HOOK_TIMEOUT_MS,
  )
}
