// Request bodies in stream mode (zhttp.md 4.4; checklist 30-35): body packets flow only
// under the handler's credits, on the ROUTER path with seq 1, 2, ..., de-chunked, each at
// most min(credits, --buffer-size) bytes; 100-continue and early responses. Run against
// every target from gatewayTargets().

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { bytesOf, cleanup, freePort, gatewayTargets, rawHttp, sleep, startGateway, startPeer, tmpDir } from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, Peer, PeerPacket, RawConn } from '../helpers/harness.ts'

const HOOK_TIMEOUT_MS = 30_000
const BUFFER_SIZE = 8192 // the gateway's default --buffer-size
const QUIET_MS = 500 // how long "nothing happens" is watched for
const BODY_WAIT_MS = 10_000

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

/** Deterministic bytes covering every byte value (binary-safe check). */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = (x >>> 16) & 0xff
  }
  return out
}

/** Chunked encoding of `body` with the given chunk sizes (cycled); some sizes in upper-case hex. */
function chunkEncode(body: Uint8Array, sizes: number[]): Uint8Array {
  const parts: Buffer[] = []
  let pos = 0
  for (let i = 0; pos < body.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, body.length - pos)
    const hex = i % 3 === 1 ? n.toString(16).toUpperCase() : n.toString(16)
    parts.push(Buffer.from(`${hex}\r\n`, 'latin1'), Buffer.from(body.subarray(pos, pos + n)), Buffer.from('\r\n'))
    pos += n
  }
  parts.push(Buffer.from('0\r\n\r\n'))
  return new Uint8Array(Buffer.concat(parts))
}

/** Writes `data` in pieces of the given sizes (cycled), yielding between writes. */
async function writeInPieces(conn: RawConn, data: Uint8Array, sizes: number[], pauseMs: number): Promise<void> {
  let pos = 0
  for (let i = 0; pos < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, data.length - pos)
    conn.write(data.slice(pos, pos + n))
    pos += n
    await sleep(pauseMs)
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

function text(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1')
}

for (const target of gatewayTargets()) {
  if (target.skipReason) {
    console.warn(`request-body: SKIPPING target '${target.name}': ${target.skipReason}`)
    describe.skip(`request body against ${target.name} (${target.skipReason})`, () => {
      test('skipped', () => {})
    })
  } else {
    describe(`request body against ${target.name}`, () => requestBodySuite(target))
  }
}

function requestBodySuite(target: GatewayTarget): void {
  let gw: Gateway
  let peer: Peer

  beforeAll(async () => {
    const dir = tmpDir()
    gw = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `127.0.0.1:${freePort()},stream`, '--zclient-stream', `ipc://${dir}/zs`],
    })
    peer = await startPeer({ base: `ipc://${dir}/zs` })
    await peer.waitLinked()
  }, HOOK_TIMEOUT_MS)

  afterAll(async () => {
    await peer?.stop()
    await gw?.stop()
  }, HOOK_TIMEOUT_MS)

  /** Connects, sends `initial`, and returns the session's first packet (which must announce a body). */
  async function open(initial: string | Uint8Array | undefined, uri: string): Promise<{ conn: RawConn; id: string }> {
    const conn = await rawHttp(gw.port, initial)
    const first = await peer.next({ $sock: 'pull', uri })
    expect(first.packet.more).toBe(true)
    expect('body' in first.packet).toBe(false)
    return { conn, id: String(first.packet.id) }
  }

  /** The gateway's ROUTER packets for `id` so far, in arrival order. */
  function routerPackets(id: string): PeerPacket[] {
    return peer.packets().filter((p) => p.sock === 'router' && p.packet.id === id)
  }

  /**
   * Reads a session's ROUTER packets in arrival order straight from the peer's history.
   * (Peer.next() is avoided for these bursts: while a next() is pending, a second matching
   * packet arriving in the same log poll is taken from the queue and dropped — see the
   * harness Notifier, whose waker stays registered until its promise's finally() runs.)
   */
  function routerReader(id: string) {
    let taken = 0
    return {
      async next(timeoutMs = BODY_WAIT_MS): Promise<PeerPacket> {
        const deadline = Date.now() + timeoutMs
        for (;;) {
          const all = routerPackets(id)
          if (all.length > taken) return all[taken++]!
          if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ROUTER packet #${taken + 1} of ${id}; got ${JSON.stringify(all.map((p) => p.packet))}`)
          }
          await sleep(5)
        }
      },
      /** Resolves if no further ROUTER packet for the session arrives within `ms`. */
      async expectNone(ms = QUIET_MS): Promise<void> {
        await sleep(ms)
        const extra = routerPackets(id).slice(taken)
        if (extra.length > 0) throw new Error(`unexpected ROUTER packet(s): ${JSON.stringify(extra.map((p) => p.packet))}`)
      },
    }
  }

  /** Checks the envelope and common fields of a gateway → handler packet on the ROUTER. */
  function expectRouterPacket(p: PeerPacket, id: string): void {
    expect(p.sock).toBe('router')
    expect(p.frames).toBe(3)
    expect(p.envelope[1]).toBe('')
    expect(p.error).toBeUndefined()
    expect(p.packet.from).toBe('condure')
    expect(p.packet.id).toBe(id)
    expect(p.packet.ext).toEqual({ multi: true })
    // seq: 1 + the gateway's earlier ROUTER packets for this session (a keep-alive may slip in).
    const before = routerPackets(id).filter((x) => x.index < p.index).length
    expect(p.packet.seq).toBe(before + 1)
  }

  /**
   * Plays a handler that grants `initial` credits, then returns the bytes of every body packet
   * as credit (when `regrant`), until a packet without `more`. Checks each packet's size bound.
   * Returns the body and the next handler seq.
   */
  async function receiveBody(
    id: string,
    initial: number,
    regrant: boolean,
  ): Promise<{ body: Uint8Array; sizes: number[]; seq: number; last: PeerPacket }> {
    let seq = 0
    let granted = initial
    let received = 0
    const parts: Uint8Array[] = []
    const sizes: number[] = []
    const reader = routerReader(id)
    await peer.send({ from: peer.from, id, seq: seq++, type: 'credit', credits: initial })
    for (;;) {
      const p = await reader.next()
      if (p.packet.type === 'keep-alive') continue
      expectRouterPacket(p, id)
      expect(p.packet.type).toBeUndefined()
      const b = bytesOf(p.packet.body)
      // Never more than the credits the handler granted, nor more than one buffer.
      expect(b.length).toBeLessThanOrEqual(Math.min(granted - received, BUFFER_SIZE))
      received += b.length
      parts.push(b)
      sizes.push(b.length)
      if (p.packet.more !== true) {
        expect('more' in p.packet).toBe(false)
        return { body: concat(parts), sizes, seq, last: p }
      }
      if (regrant && b.length > 0) {
        granted += b.length
        await peer.send({ from: peer.from, id, seq: seq++, type: 'credit', credits: b.length })
      }
    }
  }

  /** Replies 200 with `body` and returns the client's response. */
  async function answer(conn: RawConn, id: string, seq: number, body = 'done') {
    await peer.send({ from: peer.from, id, seq, code: 200, reason: 'OK', headers: [], body })
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    expect(r.bodyText()).toBe(body)
    return r
  }

  test('30: no body packet before the handler grants credits (not even after a credit-less first packet)', async () => {
    const { conn, id } = await open('POST /c30 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789', 'http://h/c30')
    const rr = routerReader(id)
    await rr.expectNone()
    // A keep-alive fixes the handler address but grants nothing: still no body.
    await peer.send({ from: peer.from, id, seq: 0, type: 'keep-alive' })
    await rr.expectNone()
    await peer.send({ from: peer.from, id, seq: 1, type: 'credit', credits: 10 })
    const p = await rr.next()
    expectRouterPacket(p, id)
    expect(text(bytesOf(p.packet.body))).toBe('0123456789')
    expect('more' in p.packet).toBe(false)
    await answer(conn, id, 2)
    conn.close()
  })

  test('31, 32: credits 4 then 100 give 0123 (more) then 456789 (last), on the ROUTER with seq 1, 2', async () => {
    const { conn, id } = await open('POST /c31 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789', 'http://h/c31')
    const rr = routerReader(id)
    await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: 4 })
    const a = await rr.next()
    expectRouterPacket(a, id)
    expect(a.packet.seq).toBe(1)
    expect(a.packet.body).toBe('0123')
    expect(a.packet.more).toBe(true)
    // Credits are used up: nothing more until the next grant.
    await rr.expectNone()
    await peer.send({ from: peer.from, id, seq: 1, type: 'credit', credits: 100 })
    const b = await rr.next()
    expectRouterPacket(b, id)
    expect(b.packet.seq).toBe(2)
    expect(b.packet.body).toBe('456789')
    expect('more' in b.packet).toBe(false)
    // Body fully read: the response keeps the connection.
    const r = await answer(conn, id, 2)
    expect(r.header('connection')).toBeUndefined()
    conn.write('GET /c31-again HTTP/1.1\r\nHost: h\r\n\r\n')
    const again = await peer.next({ $sock: 'pull', uri: 'http://h/c31-again' })
    await answer(conn, String(again.packet.id), 0)
    conn.close()
  })

  test('33: a chunked body arrives de-chunked, ending with a packet with neither body nor more', async () => {
    const chunked = '5\r\nhello\r\n1;ext=1\r\n,\r\nA\r\n world!!!!\r\n0\r\nX-Trailer: t\r\n\r\n'
    const { conn, id } = await open(`POST /c33 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`, 'http://h/c33')
    const { body, last, seq } = await receiveBody(id, 1000, false)
    expect(text(body)).toBe('hello, world!!!!')
    expect('body' in last.packet).toBe(false)
    expect('more' in last.packet).toBe(false)
    // The trailers were consumed: the connection carries on with the next request.
    await answer(conn, id, seq)
    conn.write('GET /c33-next HTTP/1.1\r\nHost: h\r\n\r\n')
    const next = await peer.next({ $sock: 'pull', uri: 'http://h/c33-next' })
    await answer(conn, String(next.packet.id), 0, 'next')
    conn.close()
  })

  test('34: Expect: 100-continue gets HTTP/1.1 100 Continue only after the handler first speaks', async () => {
    const { conn, id } = await open('POST /c34 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', 'http://h/c34')
    const rr = routerReader(id)
    await expect(conn.readUntil(1, QUIET_MS)).rejects.toThrow(/timed out/)
    await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: 100 })
    const got = await conn.readUntil(/\r\n\r\n/)
    expect(text(got)).toBe('HTTP/1.1 100 Continue\r\n\r\n')
    conn.write('abcde')
    const p = await rr.next()
    expectRouterPacket(p, id)
    expect(p.packet.body).toBe('abcde')
    expect('more' in p.packet).toBe(false)
    const interim = await conn.readResponse()
    expect(interim.statusLine).toBe('HTTP/1.1 100 Continue')
    await answer(conn, id, 1)
    conn.close()
  })

  test('35: an early response (body unread) carries Connection: close and the connection closes', async () => {
    const { conn, id } = await open('POST /c35 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234', 'http://h/c35')
    await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', headers: [['X-Early', 'yes']], body: 'early' })
    const r = await conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.1 200 OK')
    expect(r.header('x-early')).toBe('yes')
    expect(r.header('connection')).toBe('close')
    expect(r.bodyText()).toBe('early')
    const how = await conn.waitClosed()
    expect(how.how).not.toBe('local')
    // No body was forwarded: the handler never granted credits.
    const hasBody = (p: PeerPacket) => p.sock === 'router' && p.packet.id === id && 'body' in p.packet
    expect(peer.packets().some(hasBody)).toBe(false)
  })

  test('35: a streamed early response after part of the body also closes the connection', async () => {
    const { conn, id } = await open('POST /c35b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234', 'http://h/c35b')
    const rr = routerReader(id)
    await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: 100 })
    const p = await rr.next()
    expect(p.packet.body).toBe('01234')
    expect(p.packet.more).toBe(true)
    await peer.send({ from: peer.from, id, seq: 1, code: 200, reason: 'OK', headers: [], more: true })
    await peer.send({ from: peer.from, id, seq: 2, body: 'partial' })
    const r = await conn.readResponse()
    // Chunked framing adds `Connection: Transfer-Encoding` too; one Connection header says close.
    expect(r.chunked).toBe(true)
    expect(r.headerAll('connection')).toContain('close')
    expect(r.bodyText()).toBe('partial')
    await conn.waitClosed()
  })

  for (const [what, initial] of [
    ['credits above the buffer size', 20_000],
    ['credits below the buffer size', 3_000],
  ] as const) {
    test(`31, 32: a 100 KB Content-Length body written in small pieces arrives intact (${what})`, async () => {
      const body = pattern(100_000, initial)
      const head = `POST /big-cl-${initial} HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`
      const { conn, id } = await open(head, `http://h/big-cl-${initial}`)
      const writing = writeInPieces(conn, body, [1000, 1, 4097, 333, 8192, 7], 1)
      const got = await receiveBody(id, initial, true)
      await writing
      expect(got.body.length).toBe(body.length)
      expect(Buffer.compare(Buffer.from(got.body), Buffer.from(body))).toBe(0)
      expect(got.sizes.length).toBeGreaterThanOrEqual(Math.ceil(body.length / Math.min(initial, BUFFER_SIZE)))
      expect(routerPackets(id).length).toBe(got.sizes.length)
      await answer(conn, id, got.seq)
      conn.close()
    })
  }

  test('33: a 100 KB chunked body with odd chunk sizes, written in small pieces, arrives intact', async () => {
    const body = pattern(100_000, 33)
    const encoded = chunkEncode(body, [1, 7, 333, 4097, 9000, 2, 255, 256, 12_345, 65_535, 17])
    const head = 'POST /big-chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'
    const { conn, id } = await open(head, 'http://h/big-chunked')
    const writing = writeInPieces(conn, encoded, [777, 3, 1500, 1, 4000], 1)
    const got = await receiveBody(id, 5000, true)
    await writing
    expect(got.body.length).toBe(body.length)
    expect(Buffer.compare(Buffer.from(got.body), Buffer.from(body))).toBe(0)
    expect('more' in got.last.packet).toBe(false)
    expect('body' in got.last.packet).toBe(false)
    await answer(conn, id, got.seq)
    conn.close()
  })

  test('31: body bytes written one at a time are delivered correctly (Content-Length)', async () => {
    const body = 'split at every single byte: 0123456789'
    const req = Buffer.from(`POST /bytes HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1')
    const conn = await rawHttp(gw.port)
    const writing = writeInPieces(conn, req, [1], 2)
    const first = await peer.next({ $sock: 'pull', uri: 'http://h/bytes' }, BODY_WAIT_MS)
    expect(first.packet.more).toBe(true)
    const id = String(first.packet.id)
    const got = await receiveBody(id, 1000, false)
    await writing
    expect(text(got.body)).toBe(body)
    await answer(conn, id, got.seq)
    conn.close()
  })

  test('33: a chunked body written one byte at a time is de-chunked correctly', async () => {
    const head = 'POST /bytes-chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'
    const chunks = '3\r\nabc\r\n10\r\n0123456789abcdef\r\n1\r\nZ\r\n0\r\n\r\n'
    const conn = await rawHttp(gw.port)
    const writing = writeInPieces(conn, Buffer.from(head + chunks, 'latin1'), [1], 2)
    const first = await peer.next({ $sock: 'pull', uri: 'http://h/bytes-chunked' }, BODY_WAIT_MS)
    const id = String(first.packet.id)
    const got = await receiveBody(id, 1000, false)
    await writing
    expect(text(got.body)).toBe('abc0123456789abcdefZ')
    expect('body' in got.last.packet).toBe(false)
    await answer(conn, id, got.seq)
    conn.close()
  })

  test('31: a body on HTTP/1.0 with Content-Length is forwarded, then the connection closes', async () => {
    const { conn, id } = await open('POST /ten HTTP/1.0\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello 1.0!!', 'http://h/ten')
    const got = await receiveBody(id, 100, false)
    expect(text(got.body)).toBe('hello 1.0!!')
    const r = await answer(conn, id, got.seq)
    expect(r.version).toBe('HTTP/1.0')
    expect(r.header('content-length')).toBe('4')
    await conn.waitClosed()
  })

  test('34: on HTTP/1.0, Expect: 100-continue gets no 100 Continue', async () => {
    const { conn, id } = await open('POST /ten-expect HTTP/1.0\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n', 'http://h/ten-expect')
    const rr = routerReader(id)
    await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: 100 })
    await expect(conn.readUntil(1, QUIET_MS)).rejects.toThrow(/timed out/)
    conn.write('xyz')
    const p = await rr.next()
    expect(p.packet.body).toBe('xyz')
    const r = await answer(conn, id, 1)
    expect(r.version).toBe('HTTP/1.0')
    await conn.waitClosed()
  })
}
