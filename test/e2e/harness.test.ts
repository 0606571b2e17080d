// Proves the e2e harness (test/helpers/harness.ts + zhttp-peer.mjs) against real gateways.
// Runs once per gateway target (forEachGateway): Debian's condure (the reference) and zgate;
// ZGATE_E2E_GATEWAYS=condure (or =zgate) narrows the set. A target that cannot run here
// (condure not installed) is skipped with a loud message.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import {
  cleanup,
  dechunk,
  freePort,
  freeTcpBase,
  forEachGateway,
  headerPairs,
  parseHttpResponse,
  rawHttp,
  startGateway,
  startPeer,
  tmpDir,
  waitUntilServing,
} from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, Peer, PeerPacket } from '../helpers/harness.ts'

const HOOK_TIMEOUT_MS = 30_000
const CID_RE = /^\d+-\d+-[0-9a-f]+(-[0-9a-f]{8})?$/ // zgate adds a nonce (src/zhttp/session-id.ts)

// bunfig's [test] timeout is not applied by bun 1.4.5, and on a timeout bun kills every
// process the file spawned, so set the budget here; harness waits stay well below it.
setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

forEachGateway('harness', harnessSuite)

// The gateway numbers its packets per session from 0 (zhttp.md 4.5); a keep-alive may slip
// in at any time, so the expected seq is 1 + the router packets that preceded this one.
function routerSeqBefore(peer: Peer, p: PeerPacket): number {
  const earlier = peer.packets().filter((x) => x.index < p.index && x.sock === 'router' && x.packet.id === p.packet.id)
  return earlier.length + 1
}

function harnessSuite(target: GatewayTarget): void {
  let dir = ''
  let gw: Gateway
  let peer: Peer

  beforeAll(async () => {
    dir = tmpDir()
    const port = freePort()
    gw = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `ipc://${dir}/zs`],
    })
    peer = await startPeer({ base: `ipc://${dir}/zs` })
    await peer.waitLinked()
  }, HOOK_TIMEOUT_MS)

  afterAll(async () => {
    await peer?.stop()
    await gw?.stop()
  }, HOOK_TIMEOUT_MS)

  test('gateway is listening and the peer is linked', () => {
    expect(gw.port).toBeGreaterThan(0)
    const listening = /^\[INFO\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[\w:]+\] listening on 127\.0\.0\.1:(\d+)$/
    expect(gw.lines().find((l) => listening.test(l))?.match(listening)?.[1]).toBe(String(gw.port))
    const kinds = peer.events().filter((e) => e.ev === 'zmq' && e.event === 'handshake').map((e) => e.sock)
    expect(new Set(kinds)).toEqual(new Set(['pull', 'router', 'pub']))
  })

  test('first request packet fields, then a 200 reaches the client', async () => {
    const req = 'GET /path?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: harness\r\n\r\n'
    const conn = await rawHttp(gw.port, req)
    const first = await peer.next({ $sock: 'pull' })
    const p = first.packet
    expect(first.frames).toBe(1)
    expect(first.error).toBeUndefined()
    expect(String.fromCharCode(first.raw[0]!)).toBe('T')
    expect(p.from).toBe('condure')
    expect(p.id).toMatch(CID_RE)
    expect(p.seq).toBe(0)
    expect(p.ext).toEqual({ multi: true })
    expect(p.type).toBeUndefined()
    expect(p.method).toBe('GET')
    expect(p.uri).toBe('http://example.com:8080/path?x=1')
    expect(headerPairs(p)).toEqual([
      ['Host', 'example.com:8080'],
      ['User-Agent', 'harness'],
    ])
    expect(p.credits).toBe(8192)
    expect(p.stream).toBe(true)
    expect(p.more).toBeUndefined()
    expect(p.body).toBeUndefined()
    expect(p['peer-address']).toBe('127.0.0.1')
    expect(p['peer-port']).toBe(conn.localPort)

    const body = 'hello from the harness\n'
    const headers = [['Content-Type', 'text/plain']]
    await peer.send({ from: peer.from, id: p.id!, seq: 0, code: 200, reason: 'OK', headers, body })
    const r = await conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.1 200 OK')
    expect(r.header('content-type')).toBe('text/plain')
    expect(r.header('Content-Length')).toBe(String(Buffer.byteLength(body)))
    expect(r.bodyText()).toBe(body)
    conn.close()
  })

  test('streamed response is de-chunked; credits come back on the ROUTER path', async () => {
    const conn = await rawHttp(gw.port, 'GET /stream HTTP/1.1\r\nHost: h\r\n\r\n')
    const id = (await peer.next({ $sock: 'pull', uri: 'http://h/stream' })).packet.id!
    await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', headers: [], more: true })
    await peer.send({ from: peer.from, id, seq: 1, body: 'part1', more: true })
    await conn.readUntil(/part1\r\n$/)

    // Bytes written to the client are returned as credit, addressed to our ROUTER identity.
    const credit = await peer.next({ $sock: 'router', id, type: 'credit' })
    expect(credit.frames).toBe(3)
    expect(credit.envelope[1]).toBe('')
    expect(credit.packet.from).toBe('condure')
    expect(credit.packet.seq).toBe(routerSeqBefore(peer, credit))
    expect(credit.packet.credits).toBe(5)

    const bin = new Uint8Array([0, 255, 13, 10, 128])
    await peer.send({ from: peer.from, id, seq: 2, body: bin })
    const r = await conn.readResponse()
    expect(r.chunked).toBe(true)
    expect(r.header('Content-Length')).toBeUndefined()
    expect([...r.body]).toEqual([...Buffer.from('part1'), ...bin])
    expect(dechunk(r.rawBody)!.chunkSizes).toEqual([5, bin.length])
    conn.close()
  })

  test('malformed and misaddressed packets are dropped; the session survives', async () => {
    const conn = await rawHttp(gw.port, 'GET /robust HTTP/1.1\r\nHost: h\r\n\r\n')
    const id = (await peer.next({ $sock: 'pull', uri: 'http://h/robust' })).packet.id!
    await peer.sendRaw('condure Tgarbage')
    await peer.sendRaw('condure X3:abc,')
    await peer.send({ from: peer.from, id, seq: 0, code: 500, reason: 'Wrong' }, { address: 'someone-else' })
    await expect(conn.readUntil(1, 300)).rejects.toThrow(/timed out/)
    await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', body: 'ok' })
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    expect(r.bodyText()).toBe('ok')
    conn.close()
  })

  test('client disconnect after the handler spoke yields a cancel', async () => {
    const conn = await rawHttp(gw.port, 'GET /cancel HTTP/1.1\r\nHost: h\r\n\r\n')
    const id = (await peer.next({ $sock: 'pull', uri: 'http://h/cancel' })).packet.id!
    await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', more: true })
    await conn.readUntil(/\r\n\r\n/)
    conn.close()
    const cancel = await peer.next({ id, type: 'cancel' })
    expect(cancel.sock).toBe('router')
    expect(cancel.packet.seq).toBe(routerSeqBefore(peer, cancel))
    await peer.expectNone({ id }, 300)
  })

  test('auto-hello peer on a tcp base, readiness probe hidden from next()', async () => {
    const base = freeTcpBase()
    const port = freePort()
    const gw2 = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `tcp://127.0.0.1:${base}`, '--id', 'gw2'],
    })
    const auto = await startPeer({ base: `tcp://127.0.0.1:${base}`, from: 'auto-1', instance: 'gw2', auto: 'hello' })
    try {
      await waitUntilServing(gw2, auto)
      expect(auto.queued()).toEqual([])
      const conn = await rawHttp(port, 'GET /hi HTTP/1.0\r\nHost: a\r\n\r\n')
      const r = await conn.readResponse()
      expect(r.statusLine).toBe('HTTP/1.0 200 OK')
      expect(r.bodyText()).toBe('hello world\n')
      await conn.waitClosed()
      const first = await auto.next({ uri: 'http://a/hi' })
      expect(first.packet.from).toBe('gw2')
    } finally {
      await auto.stop()
      expect(await gw2.stop()).toBe(0)
    }
  })

  test('a gateway that fails to start reports its exit code and log', async () => {
    const bad = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `127.0.0.1:${freePort()},stream`, '--zclient-stream', 'foo://x'],
      waitReady: false,
    })
    expect(await bad.exited).toBe(1)
    expect(bad.lines().join('\n')).toContain('base spec must be ipc or tcp')
  })

  test('SIGTERM stops the gateway with exit code 0', async () => {
    const mark = gw.mark()
    const code = await gw.stop('SIGTERM')
    expect(code).toBe(0)
    expect(gw.lines().slice(mark).some((l) => /stopped/.test(l))).toBe(true)
  })
}

describe('http helpers', () => {
  test('parseHttpResponse keeps header order and case', () => {
    const raw = 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Y: z\r\nset-cookie: b=2\r\n\r\nbody'
    const r = parseHttpResponse(Buffer.from(raw))
    expect(r.headers).toEqual([
      ['Set-Cookie', 'a=1'],
      ['X-Y', 'z'],
      ['set-cookie', 'b=2'],
    ])
    expect(r.headerAll('SET-COOKIE')).toEqual(['a=1', 'b=2'])
    expect(r.bodyText()).toBe('body')
  })

  test('parseHttpResponse accepts an empty reason', () => {
    const r = parseHttpResponse(Buffer.from('HTTP/1.1 0 \r\n\r\n'))
    expect(r.status).toBe(0)
    expect(r.reason).toBe('')
  })

  test('dechunk handles extensions, trailers and incomplete input', () => {
    const full = Buffer.from('5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\nEXTRA')
    const d = dechunk(full)!
    expect(Buffer.from(d.body).toString()).toBe('hello!')
    expect(d.trailers).toEqual([['T', 'v']])
    expect(d.consumed).toBe(full.length - 'EXTRA'.length)
    expect(dechunk(full.subarray(0, 12))).toBeNull()
    expect(() => dechunk(Buffer.from('zz\r\n'))).toThrow()
  })
})
