// Bad client input and gateway-side refusals (zhttp.md 4.1, 4.2, 4.4, 4.13, 6; checklist
// items 73-79). Condure closes silently in all of these; zgate deliberately answers with an
// error response (400, 414, 431, 501, 505, 503, 504, 408) and then closes. Towards handlers
// both must be identical: none of these requests may produce a packet. Every describe ends
// with a valid request, proving the gateway kept serving.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, freePort, gatewayTargets, headerPairs, rawHttp, startGateway, startPeer, tmpDir } from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, Peer, PeerPacket, RawConn } from '../helpers/harness.ts'

const HOOK_TIMEOUT_MS = 30_000
const QUIET_MS = 300 // how long "no packet arrives" is watched

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

// ---------------------------------------------------------------------------------------
// local helpers

interface Env {
  target: GatewayTarget
  gw: Gateway
  peer: Peer
  port: number
}

async function startEnv(target: GatewayTarget, args: string[] = [], env?: Record<string, string>): Promise<Env> {
  const dir = tmpDir()
  const port = freePort()
  const base = `ipc://${dir}/zs`
  const gw = await startGateway({
    cmd: target.cmd,
    args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', base, ...args],
    env,
  })
  const peer = await startPeer({ base })
  await peer.waitLinked()
  return { target, gw, peer, port }
}

async function stopEnv(e: Env | undefined): Promise<void> {
  await e?.peer.stop()
  await e?.gw.stop()
}

/**
 * zgate: exactly one error response with `status` (Connection: close), then the close.
 * condure: the close, with no byte written.
 */
async function expectRefused(e: Env, conn: RawConn, status: number, version = /^HTTP\/1\.1$/, timeoutMs = 5000): Promise<void> {
  if (e.target.name === 'zgate') {
    const r = await conn.readResponse(timeoutMs)
    expect(r.version).toMatch(version)
    expect(r.status).toBe(status)
    expect(r.header('connection')).toBe('close')
    expect(Number(r.header('content-length'))).toBe(r.body.length)
    await conn.waitClosed(timeoutMs)
    expect(conn.received().length).toBe(r.raw.length)
  } else {
    await conn.waitClosed(timeoutMs)
    expect(conn.received().length).toBe(0)
  }
}

/** Any packet but a keep-alive (sessions of earlier tests may get one at any moment, 4.8). */
const notKeepAlive = (p: PeerPacket) => p.packet.type !== 'keep-alive'

/** Sends `req` on a new connection and expects it refused, with no packet at the handler. */
async function refused(e: Env, req: string | Uint8Array, status: number, version?: RegExp): Promise<void> {
  const conn = await rawHttp(e.port, req)
  await expectRefused(e, conn, status, version)
  await e.peer.expectNone(notKeepAlive, QUIET_MS)
}

let pathSeq = 0

/** A valid request is forwarded and answered: the gateway still serves. */
async function serves(e: Env, conn?: RawConn, timeoutMs = 5000): Promise<void> {
  const path = `/good-${++pathSeq}`
  const c = conn ?? (await rawHttp(e.port))
  c.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`)
  const id = String((await e.peer.next({ $sock: 'pull', uri: `http://h${path}` }, timeoutMs)).packet.id)
  await e.peer.send({ from: e.peer.from, id, seq: 0, code: 200, reason: 'OK', body: 'still here' })
  const r = await c.readResponse()
  expect(r.status).toBe(200)
  expect(r.bodyText()).toBe('still here')
  if (!conn) c.close()
}

const headers = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('')

// ---------------------------------------------------------------------------------------

for (const target of gatewayTargets()) {
  if (target.skipReason) {
    describe.skip(`client errors against ${target.name} (${target.skipReason})`, () => {
      test('skipped', () => {})
    })
    continue
  }
  describe(`client errors against ${target.name}`, () => {
    describe('bad request heads', () => badHeadSuite(target))
    describe('--stream-maxconn 2', () => maxconnSuite(target))
    describe('unanswered requests', () => unansweredSuite(target))
  })
}

function badHeadSuite(target: GatewayTarget): void {
  let e: Env
  beforeAll(async () => {
    e = await startEnv(target)
  }, HOOK_TIMEOUT_MS)
  afterAll(() => stopEnv(e), HOOK_TIMEOUT_MS)

  test('73: a malformed request line is refused (400)', async () => {
    await refused(e, 'hello\r\n\r\n', 400)
    await refused(e, 'GET /\r\nHost: h\r\n\r\n', 400)
    await refused(e, 'GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n', 400)
  })

  test('74: Content-Length: abc is refused (400)', async () => {
    await refused(e, 'POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n', 400)
    // RFC 9110 2.5 lets the server answer a 1.0 request with its own version (HTTP/1.1).
    await refused(e, 'POST /cl HTTP/1.0\r\nHost: h\r\nContent-Length: abc\r\n\r\n', 400, /^HTTP\/1\.[01]$/)
  })

  test('75: Transfer-Encoding: gzip is refused (501)', async () => {
    await refused(e, 'POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n', 501)
  })

  test('76: HTTP/1.2 is refused (505)', async () => {
    await refused(e, 'GET /v HTTP/1.2\r\nHost: h\r\n\r\n', 505)
  })

  test('77: 64 request headers are accepted, 65 are refused (431)', async () => {
    const conn = await rawHttp(e.port, `GET /h64 HTTP/1.1\r\nHost: h\r\n${headers(63)}\r\n`)
    const first = await e.peer.next({ $sock: 'pull', uri: 'http://h/h64' })
    expect(headerPairs(first.packet).length).toBe(64)
    await e.peer.send({ from: e.peer.from, id: String(first.packet.id), seq: 0, code: 200, reason: 'OK', body: 'ok' })
    expect((await conn.readResponse()).status).toBe(200)
    conn.close()
    await refused(e, `GET /h65 HTTP/1.1\r\nHost: h\r\n${headers(64)}\r\n`, 431)
  })

  test('78: a request head larger than --buffer-size (8192) is refused (431)', async () => {
    const req = `GET /big HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(8300)}\r\n\r\n`
    const conn = await rawHttp(e.port, req)
    if (target.name === 'zgate') {
      await expectRefused(e, conn, 431)
    } else {
      // Condure stops reading with bytes unread: the close may arrive as a reset.
      const info = await conn.waitClosed()
      expect(['fin', 'reset']).toContain(info.how)
      expect(conn.received().length).toBe(0)
    }
    await e.peer.expectNone(notKeepAlive, QUIET_MS)
  })

  test('79: a uri (http://host + target) of 4096 bytes is accepted, 4097 is refused (414)', async () => {
    // "http://h" is 8 bytes; the target makes up the rest.
    for (const len of [4009, 4096]) {
      const target = `/${'a'.repeat(len - 9)}`
      const conn = await rawHttp(e.port, `GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`)
      const first = await e.peer.next({ $sock: 'pull' })
      expect(String(first.packet.uri).length).toBe(len)
      expect(first.packet.uri).toBe(`http://h${target}`)
      await e.peer.send({ from: e.peer.from, id: String(first.packet.id), seq: 0, code: 204, reason: 'No Content' })
      expect((await conn.readResponse()).status).toBe(204)
      conn.close()
    }
    await refused(e, `GET /${'a'.repeat(4097 - 9)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414)
    // The limit is on the combined uri: a longer Host leaves less room for the target.
    await refused(e, `GET /${'a'.repeat(4096 - 9)} HTTP/1.1\r\nHost: hh\r\n\r\n`, 414)
  })

  test('4.2: Content-Length with Transfer-Encoding: 400 on zgate, condure forwards it as chunked', async () => {
    const req = 'POST /clte HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
    if (target.name === 'zgate') {
      // Request smuggling guard (RFC 9112 6.1); Condure lets chunked win.
      await refused(e, req, 400)
      return
    }
    const conn = await rawHttp(e.port, req)
    const first = await e.peer.next({ $sock: 'pull', uri: 'http://h/clte' })
    expect(first.packet.more).toBe(true)
    const id = String(first.packet.id)
    await e.peer.send({ from: e.peer.from, id, seq: 0, type: 'credit', credits: 100 })
    expect((await e.peer.next({ id, body: 'abc' })).packet.more).toBe(true)
    const end = await e.peer.next({ id, $sock: 'router' })
    expect(end.packet.body).toBeUndefined()
    expect(end.packet.more).toBeUndefined()
    await e.peer.send({ from: e.peer.from, id, seq: 1, code: 200, reason: 'OK', body: 'ok' })
    expect((await conn.readResponse()).status).toBe(200)
    conn.close()
  })

  test('4.2: differing duplicate Content-Length values: 400 on zgate, condure forwards them', async () => {
    const req = 'POST /dupcl HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'
    if (target.name === 'zgate') {
      await refused(e, req, 400)
      return
    }
    const conn = await rawHttp(e.port, req)
    const first = await e.peer.next({ $sock: 'pull', uri: 'http://h/dupcl' })
    expect(first.packet.more).toBe(true)
    await e.peer.send({ from: e.peer.from, id: String(first.packet.id), seq: 0, code: 200, reason: 'OK', body: 'ok' })
    expect((await conn.readResponse()).status).toBe(200)
    conn.close()
  })

  test('4.2: whitespace between a header name and the colon is refused (400)', async () => {
    await refused(e, 'GET /ws HTTP/1.1\r\nHost : h\r\n\r\n', 400)
  })

  test('4.2: a NUL or a bare CR in a header value is refused (400)', async () => {
    await refused(e, 'GET /nul HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n', 400)
    await refused(e, 'GET /cr HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n', 400)
  })

  test('4.4: a bad chunk size after the handler granted credits closes (400 before any response)', async () => {
    const conn = await rawHttp(e.port, 'POST /badchunk HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n')
    const first = await e.peer.next({ $sock: 'pull', uri: 'http://h/badchunk' })
    expect(first.packet.more).toBe(true)
    const id = String(first.packet.id)
    await e.peer.send({ from: e.peer.from, id, seq: 0, type: 'credit', credits: 100 })
    const body = await e.peer.next({ id, $sock: 'router' })
    expect(body.packet.body).toBe('abc')
    expect(body.packet.more).toBe(true)
    conn.write('zz\r\nxyz\r\n')
    await expectRefused(e, conn, 400)
    // Towards the handler (its address is known) Condure ends the session with a cancel
    // carrying the next seq; zgate must do the same.
    const cancel = await e.peer.next({ id, type: 'cancel' })
    expect(cancel.sock).toBe('router')
    const before = e.peer.packets().filter((p) => p.sock === 'router' && p.packet.id === id && p.index < cancel.index)
    expect(cancel.packet.seq).toBe(before.length + 1)
    await e.peer.expectNone({ id }, QUIET_MS)
  })

  test('the gateway still serves valid requests after all that bad input', async () => {
    await serves(e)
    await serves(e)
  })
}

function maxconnSuite(target: GatewayTarget): void {
  let e: Env
  beforeAll(async () => {
    e = await startEnv(target, ['--workers', '1', '--stream-maxconn', '2'])
  }, HOOK_TIMEOUT_MS)
  afterAll(() => stopEnv(e), HOOK_TIMEOUT_MS)

  test('4.1: a connection beyond --stream-maxconn: 503 on zgate, not accepted by condure', async () => {
    const c1 = await rawHttp(e.port)
    const c2 = await rawHttp(e.port)
    // A request on each proves both were accepted before the third connects.
    for (const [c, path] of [[c1, '/one'], [c2, '/two']] as const) {
      c.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`)
      const id = String((await e.peer.next({ $sock: 'pull', uri: `http://h${path}` })).packet.id)
      await e.peer.send({ from: e.peer.from, id, seq: 0, code: 200, reason: 'OK', body: path })
      expect((await c.readResponse()).bodyText()).toBe(path)
    }
    const c3 = await rawHttp(e.port, 'GET /three HTTP/1.1\r\nHost: h\r\n\r\n')
    if (target.name === 'zgate') {
      await expectRefused(e, c3, 503)
    } else {
      // Left in the backlog: no byte, no close, no packet.
      await expect(c3.readUntil(1, QUIET_MS)).rejects.toThrow(/timed out/)
      expect(c3.isClosed).toBe(false)
    }
    await e.peer.expectNone({ uri: 'http://h/three' }, QUIET_MS)
    // The first two still work.
    await serves(e, c1)
    await serves(e, c2)
    c1.close()
    if (target.name === 'condure') {
      // A slot freed: the waiting connection is accepted and its request goes through.
      const id = String((await e.peer.next({ $sock: 'pull', uri: 'http://h/three' })).packet.id)
      await e.peer.send({ from: e.peer.from, id, seq: 0, code: 200, reason: 'OK', body: 'three' })
      expect((await c3.readResponse()).bodyText()).toBe('three')
    }
    c2.close()
    c3.close()
  })

  test('after the slots free up, a new connection is served', async () => {
    let lastErr: unknown
    // Slots are freed as the gateway notices the closes; retry briefly (bounded).
    for (let i = 0; i < 5; i++) {
      try {
        await serves(e, undefined, 1000)
        return
      } catch (err) {
        lastErr = err
      }
    }
    throw lastErr
  })
}

function unansweredSuite(target: GatewayTarget): void {
  let e: Env
  let z: Env | undefined
  beforeAll(async () => {
    e = await startEnv(target, ['--stream-timeout', '2'])
    // Condure's session timeout is a fixed 60 s: shortened on zgate only.
    if (target.name === 'zgate') z = await startEnv(target, [], { ZGATE_SESSION_TIMEOUT_MS: '1500' })
  }, HOOK_TIMEOUT_MS)
  afterAll(async () => {
    await stopEnv(e)
    await stopEnv(z)
  }, HOOK_TIMEOUT_MS)

  test('4.8: no handler answer within the stream timeout: 504 on zgate, silent close on condure', async () => {
    const conn = await rawHttp(e.port, 'GET /nobody HTTP/1.1\r\nHost: h\r\n\r\n')
    const first = await e.peer.next({ $sock: 'pull', uri: 'http://h/nobody' })
    const t0 = performance.now()
    await expectRefused(e, conn, 504, /^HTTP\/1\.1$/, 8000)
    expect(performance.now() - t0).toBeGreaterThan(1500)
    await e.peer.expectNone({ id: String(first.packet.id) }, QUIET_MS)
    await serves(e)
  })

  if (target.name === 'zgate') {
    test('66: no handler answer within the (shortened) session timeout gets 504 (zgate only)', async () => {
      const env = z as Env
      const conn = await rawHttp(env.port, 'GET /nobody HTTP/1.0\r\nHost: h\r\n\r\n')
      const first = await env.peer.next({ $sock: 'pull', uri: 'http://h/nobody' })
      const t0 = performance.now()
      await expectRefused(env, conn, 504, /^HTTP\/1\.[01]$/, 8000)
      expect(performance.now() - t0).toBeGreaterThan(1200)
      await env.peer.expectNone({ id: String(first.packet.id) }, QUIET_MS)
      await serves(env)
    })
  }
}
