// Response writing, zhttp.md 4.7 and checklist items 36-51 of section 9, against every target
// from gatewayTargets() (Debian's condure 1.9.1 is the reference). The peer plays the
// handler; raw TCP clients check the exact bytes the gateway writes.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import {
  cleanup,
  dechunk,
  freePort,
  gatewayTargets,
  parseHttpResponse,
  rawHttp,
  sleep,
  startGateway,
  startPeer,
  tmpDir,
  withTimeout,
} from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, OutValue, Peer, PeerPacket, RawConn } from '../helpers/harness.ts'

const HOOK_TIMEOUT_MS = 30_000
const QUIET_MS = 300 // how long "nothing more happens" is watched
const BIG_BUFFER_SIZE = 200_000 // > 0xffff, so one packet can hold a body larger than a chunk

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

for (const target of gatewayTargets()) {
  if (target.skipReason) {
    console.warn(`\n!!! response.test.ts: SKIPPING target '${target.name}': ${target.skipReason}\n`)
    describe.skip(`response writing against ${target.name} (${target.skipReason})`, () => {
      test('skipped', () => {})
    })
  } else {
    describe(`response writing against ${target.name}`, () => responseSuite(target))
  }
}

// ---------------------------------------------------------------------------------------
// local helpers

type Fields = { [key: string]: OutValue }

/** One request as the handler sees it: its id, and the next seq the handler must use. */
class Session {
  seq = 0
  constructor(
    readonly peer: Peer,
    readonly first: PeerPacket,
    readonly conn: RawConn,
  ) {}

  get id(): string {
    return String(this.first.packet.id)
  }

  send(fields: Fields): Promise<void> {
    return this.peer.send({ from: this.peer.from, id: this.id, seq: this.seq++, ...fields })
  }
}

interface Stack {
  gw: Gateway
  peer: Peer
}

async function startStack(target: GatewayTarget, extraArgs: string[] = []): Promise<Stack> {
  const dir = tmpDir()
  const gw = await startGateway({
    cmd: target.cmd,
    args: ['--listen', `127.0.0.1:${freePort()},stream`, '--zclient-stream', `ipc://${dir}/zs`, ...extraArgs],
  })
  const peer = await startPeer({ base: `ipc://${dir}/zs` })
  await peer.waitLinked()
  return { gw, peer }
}

let pathSeq = 0
/** A path no other request of this file uses, so the peer can pick its packet by uri. */
function uniquePath(name: string): string {
  return `/${name}-${++pathSeq}`
}

function requestText(path: string, o: { method?: string; version?: string; headers?: string[] } = {}): string {
  const lines = [`${o.method ?? 'GET'} ${path} HTTP/${o.version ?? '1.1'}`, 'Host: h', ...(o.headers ?? [])]
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** Writes a request on `conn` (a new connection when absent) and waits for its first packet. */
async function request(
  s: Stack,
  name: string,
  o: { method?: string; version?: string; headers?: string[]; conn?: RawConn } = {},
): Promise<Session> {
  const path = uniquePath(name)
  const text = requestText(path, o)
  let conn = o.conn
  if (conn) conn.write(text)
  else conn = await rawHttp(s.gw.port, text)
  const first = await s.peer.next({ $sock: 'pull', uri: `http://h${path}` })
  return new Session(s.peer, first, conn)
}

/** Bytes of the response head only (up to and including the blank line). */
function headText(all: Uint8Array): string {
  const t = Buffer.from(all).toString('latin1')
  const end = t.indexOf('\r\n\r\n')
  return end < 0 ? t : t.slice(0, end + 4)
}

/**
 * Follows the `credit` packets of one session through peer.packets() instead of peer.next():
 * next() can drop a packet when several arrive in one poll of the peer's output (its waiter
 * stays registered until a microtask after it resolved, and a second wake splices again).
 */
class CreditWatch {
  private seen = -1
  total = 0

  constructor(
    private readonly peer: Peer,
    private readonly id: string,
  ) {}

  /** Credit packets that arrived since the last call (possibly none). */
  private fresh(): PeerPacket[] {
    const out = this.peer.packets().filter((p) => p.index > this.seen && p.packet.id === this.id && p.packet.type === 'credit')
    if (out.length > 0) this.seen = out[out.length - 1]!.index
    return out
  }

  /** Waits (bounded) for at least one new credit packet; returns their sum, 0 on timeout. */
  async take(timeoutMs = 5_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const got = this.fresh()
      if (got.length > 0) {
        let n = 0
        for (const p of got) {
          expect(p.sock).toBe('router')
          expect(p.packet.seq).toBe(routerSeqBefore(this.peer, p))
          n += Number(p.packet.credits)
        }
        this.total += n
        return n
      }
      if (Date.now() >= deadline) return 0
      await sleep(5)
    }
  }

  /** Waits until the credits total `want`, then checks that no more follow. */
  async expectTotal(want: number): Promise<void> {
    while (this.total < want) {
      if ((await this.take()) === 0) throw new Error(`credits stopped at ${this.total} of ${want}`)
    }
    expect(this.total).toBe(want)
    await sleep(QUIET_MS)
    expect(this.fresh()).toEqual([])
  }
}

// The gateway numbers its packets per session from 0 (zhttp.md 4.5); a keep-alive may slip
// in at any time, so the expected seq is 1 + the router packets that preceded this one.
function routerSeqBefore(peer: Peer, p: PeerPacket): number {
  const earlier = peer.packets().filter((x) => x.index < p.index && x.sock === 'router' && x.packet.id === p.packet.id)
  return earlier.length + 1
}

function pattern(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt * 7 + (i >> 8)) & 0xff
  return b
}

// ---------------------------------------------------------------------------------------

function responseSuite(target: GatewayTarget): void {
  let s: Stack

  beforeAll(async () => {
    s = await startStack(target)
  }, HOOK_TIMEOUT_MS)

  afterAll(async () => {
    await s?.peer.stop()
    await s?.gw.stop()
  }, HOOK_TIMEOUT_MS)

  test('36: a response without more gets Content-Length of its body', async () => {
    const a = await request(s, 'cl')
    await a.send({ code: 200, reason: 'OK', headers: [['Content-Type', 'text/plain']], body: 'hello there' })
    const r = await a.conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.1 200 OK')
    expect(r.headerAll('Content-Length')).toEqual(['11'])
    expect(r.header('Transfer-Encoding')).toBeUndefined()
    expect(r.bodyText()).toBe('hello there')

    // An empty body is Content-Length: 0, and the connection is reused.
    const b = await request(s, 'cl-empty', { conn: a.conn })
    await b.send({ code: 200, reason: 'OK' })
    const r2 = await a.conn.readResponse()
    expect(r2.headerAll('Content-Length')).toEqual(['0'])
    expect(r2.body.length).toBe(0)
    expect(a.conn.isClosed).toBe(false)
    a.conn.close()
  })

  test('37: a handler Content-Length is used as-is, the body spread over packets', async () => {
    const a = await request(s, 'hcl')
    await a.send({ code: 200, reason: 'OK', headers: [['Content-Length', '10']], body: '0123', more: true })
    await a.conn.readUntil(/0123$/)
    await a.send({ body: '456', more: true })
    await a.send({ body: '789' })
    const r = await a.conn.readResponse()
    expect(r.headerAll('Content-Length')).toEqual(['10'])
    expect(r.header('Transfer-Encoding')).toBeUndefined()
    expect(r.bodyText()).toBe('0123456789')

    // Not counted: a declared length that disagrees with the body is still written verbatim.
    const b = await request(s, 'hcl-lie')
    await b.send({ code: 200, reason: 'OK', headers: [['content-length', '2']], body: 'abcdef' })
    const all = await b.conn.readUntil(/abcdef$/)
    expect(headText(all)).toContain('\r\nContent-Length: 2\r\n')
    expect(Buffer.from(all).toString('latin1').endsWith('\r\n\r\nabcdef')).toBe(true)
    b.conn.close()
  })

  test('38, 39: unknown size on HTTP/1.1 is chunked with lower-case hex sizes and a last chunk', async () => {
    const a = await request(s, 'chunked')
    const b26 = 'abcdefghijklmnopqrstuvwxyz'
    const b255 = 'x'.repeat(255)
    await a.send({ code: 200, reason: 'OK', headers: [['X-A', '1']], body: b26, more: true })
    const head = headText(await a.conn.readUntil(/\r\n\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n$/))
    const r0 = parseHttpResponse(Buffer.from(head, 'latin1'))
    expect(r0.headers).toEqual([
      ['X-A', '1'],
      ['Connection', 'Transfer-Encoding'],
      ['Transfer-Encoding', 'chunked'],
    ])
    await a.send({ body: b255, more: true })
    await a.conn.readUntil(/\r\nff\r\nx+\r\n$/)
    // A packet without more ends the body: its bytes, then the last chunk.
    await a.send({ body: 'end' })
    const r = await a.conn.readResponse()
    expect(Buffer.from(r.rawBody).toString('latin1')).toBe(`1a\r\n${b26}\r\nff\r\n${b255}\r\n3\r\nend\r\n0\r\n\r\n`)
    expect(r.bodyText()).toBe(`${b26}${b255}end`)

    // An empty final packet writes just `0\r\n\r\n`; the connection is then reused.
    const b = await request(s, 'chunked-empty-end', { conn: a.conn })
    await b.send({ code: 200, reason: 'OK', more: true })
    await b.send({ body: 'data', more: true })
    await a.conn.readUntil(/\r\n4\r\ndata\r\n$/)
    await b.send({})
    const r2 = await a.conn.readResponse()
    expect(Buffer.from(r2.rawBody).toString('latin1')).toBe('4\r\ndata\r\n0\r\n\r\n')
    expect(a.conn.isClosed).toBe(false)
    a.conn.close()
  })

  test('40: HTTP/1.0 with unknown size: HTTP/1.0 status line, no length, body ends with close', async () => {
    const a = await request(s, 'h10', { version: '1.0' })
    await a.send({ code: 200, reason: 'OK', headers: [['X-A', '1']], body: 'abc', more: true })
    await a.conn.readUntil(/abc$/)
    await a.send({ body: 'def' })
    const info = await a.conn.waitClosed()
    expect(info.how).toBe('fin')
    const all = Buffer.from(a.conn.received()).toString('latin1')
    expect(all).toBe('HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nabcdef')
  })

  test('41: HTTP/1.0 keep-alive with known size gets Connection: keep-alive and stays open', async () => {
    const ka = ['Connection: keep-alive']
    const a = await request(s, 'h10-ka', { version: '1.0', headers: ka })
    await a.send({ code: 200, reason: 'OK', headers: [['X-A', '1']], body: 'first' })
    const r = await a.conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.0 200 OK')
    // Persistence header first, then the length, as Condure writes them (observed, 1.9.1).
    expect(r.headers).toEqual([
      ['X-A', '1'],
      ['Connection', 'keep-alive'],
      ['Content-Length', '5'],
    ])
    expect(r.bodyText()).toBe('first')

    const b = await request(s, 'h10-ka-2', { version: '1.0', headers: ka, conn: a.conn })
    await b.send({ code: 200, reason: 'OK', body: 'second' })
    const r2 = await a.conn.readResponse()
    expect(r2.headerAll('Connection')).toEqual(['keep-alive'])
    expect(r2.bodyText()).toBe('second')
    expect(a.conn.isClosed).toBe(false)
    a.conn.close()
  })

  test('41: HTTP/1.0 keep-alive with unknown size (condure: open, unframed; zgate: close)', async () => {
    const ka = ['Connection: keep-alive']
    const a = await request(s, 'h10-ka-unknown', { version: '1.0', headers: ka })
    await a.send({ code: 200, reason: 'OK', body: 'abc', more: true })
    await a.conn.readUntil(/abc$/)
    await a.send({ body: 'def' })
    if (target.name === 'condure') {
      // zhttp.md 4.7 quirk (observed): keep-alive is announced and kept, the body unframed.
      await a.conn.readUntil(/def$/)
      expect(Buffer.from(a.conn.received()).toString('latin1')).toBe(
        'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nabcdef',
      )
      const b = await request(s, 'h10-ka-unknown-2', { version: '1.0', headers: ka, conn: a.conn })
      await b.send({ code: 200, reason: 'OK', body: 'again' })
      await a.conn.readUntil(/again$/)
      expect(a.conn.isClosed).toBe(false)
      a.conn.close()
    } else {
      // zgate (issue text): the only way an HTTP/1.0 client can find the end is the close.
      const info = await a.conn.waitClosed()
      expect(info.how).toBe('fin')
      expect(Buffer.from(a.conn.received()).toString('latin1')).toBe('HTTP/1.0 200 OK\r\n\r\nabcdef')
    }
  })

  test('42: HTTP/1.1 Connection: close gets Connection: close and the connection closes', async () => {
    const a = await request(s, 'close', { headers: ['Connection: close'] })
    await a.send({ code: 200, reason: 'OK', headers: [['X-A', '1']], body: 'bye' })
    const r = await a.conn.readResponse()
    // Condure writes its persistence header before the framing headers (observed, 1.9.1).
    expect(r.headers).toEqual([
      ['X-A', '1'],
      ['Connection', 'close'],
      ['Content-Length', '3'],
    ])
    expect(r.bodyText()).toBe('bye')
    expect((await a.conn.waitClosed()).how).toBe('fin')

    // Chunked framing too: both Connection headers, then close after the last chunk.
    const b = await request(s, 'close-chunked', { headers: ['Connection: close'] })
    await b.send({ code: 200, reason: 'OK', body: 'part', more: true })
    await b.send({ body: '' })
    const r2 = await b.conn.readResponse()
    expect(r2.headers).toEqual([
      ['Connection', 'close'],
      ['Connection', 'Transfer-Encoding'],
      ['Transfer-Encoding', 'chunked'],
    ])
    expect(r2.bodyText()).toBe('part')
    expect((await b.conn.waitClosed()).how).toBe('fin')
  })

  test('43: handler Connection, Content-Length and Transfer-Encoding headers are not copied', async () => {
    const a = await request(s, 'strip')
    const headers = [
      ['Connection', 'Upgrade'],
      ['X-Before', 'b'],
      ['Transfer-Encoding', 'gzip'],
      ['CONTENT-LENGTH', '3'],
      ['connection', 'close'],
      ['X-After', 'a'],
    ]
    await a.send({ code: 200, reason: 'OK', headers, body: 'abc' })
    const r = await a.conn.readResponse()
    expect(r.headers).toEqual([
      ['X-Before', 'b'],
      ['X-After', 'a'],
      ['Content-Length', '3'],
    ])
    expect(r.bodyText()).toBe('abc')

    // Unknown size: the handler's framing headers give way to the gateway's chunked pair.
    const b = await request(s, 'strip-chunked', { conn: a.conn })
    const h2 = [
      ['Transfer-Encoding', 'identity'],
      ['Connection', 'keep-alive'],
      ['X-K', 'v'],
    ]
    await b.send({ code: 200, reason: 'OK', headers: h2, body: 'xy', more: true })
    await b.send({})
    const r2 = await a.conn.readResponse()
    expect(r2.headers).toEqual([
      ['X-K', 'v'],
      ['Connection', 'Transfer-Encoding'],
      ['Transfer-Encoding', 'chunked'],
    ])
    expect(r2.bodyText()).toBe('xy')
    expect(a.conn.isClosed).toBe(false)
    a.conn.close()
  })

  test('44: 204 and 304 carry no body and no Content-Length even when the handler sent them', async () => {
    const a = await request(s, 'nobody-204')
    await a.send({ code: 204, reason: 'No Content', headers: [['X-A', '1']], body: 'discarded' })
    const r = await a.conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.1 204 No Content')
    expect(r.headers).toEqual([['X-A', '1']])

    const b = await request(s, 'nobody-304', { conn: a.conn })
    await b.send({ code: 304, reason: 'Not Modified', headers: [['Content-Length', '9'], ['ETag', '"e"']], body: 'discarded' })
    const r2 = await a.conn.readResponse()
    expect(r2.statusLine).toBe('HTTP/1.1 304 Not Modified')
    expect(r2.headers).toEqual([['ETag', '"e"']])

    // No stray body bytes were written: the next response starts right after the heads.
    const c = await request(s, 'nobody-next', { conn: a.conn })
    await c.send({ code: 200, reason: 'OK', body: 'next' })
    const r3 = await a.conn.readResponse()
    expect(r3.bodyText()).toBe('next')
    expect(Buffer.from(a.conn.received()).toString('latin1')).not.toContain('discarded')
    a.conn.close()
  })

  test('45: HEAD with a handler Content-Length: 100 and no body; the connection stays usable', async () => {
    const a = await request(s, 'head', { method: 'HEAD' })
    expect(a.first.packet.method).toBe('HEAD')
    await a.send({ code: 200, reason: 'OK', headers: [['Content-Type', 'text/plain'], ['Content-Length', '100']] })
    const r = await a.conn.readResponse(undefined, { head: true })
    expect(r.headers).toEqual([
      ['Content-Type', 'text/plain'],
      ['Content-Length', '100'],
    ])
    expect(r.rawBody.length).toBe(0)

    const b = await request(s, 'after-head', { conn: a.conn })
    await b.send({ code: 200, reason: 'OK', body: 'after' })
    const r2 = await a.conn.readResponse()
    expect(r2.statusLine).toBe('HTTP/1.1 200 OK')
    expect(r2.bodyText()).toBe('after')
    const all = Buffer.from(a.conn.received()).toString('latin1')
    expect(all).toBe(`${Buffer.from(r.raw).toString('latin1')}${Buffer.from(r2.raw).toString('latin1')}`)
    a.conn.close()
  })

  test('46: a missing code writes `HTTP/1.1 0 `; a missing reason leaves it empty', async () => {
    const a = await request(s, 'nocode')
    await a.send({ body: 'x' })
    const all = await a.conn.readUntil(/\r\n\r\nx$/)
    expect(Buffer.from(all).toString('latin1')).toStartWith('HTTP/1.1 0 \r\n')

    const b = await request(s, 'noreason')
    await b.send({ code: 201, body: 'y' })
    const r = await b.conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.1 201 ')
    expect(Buffer.from(r.raw).toString('latin1')).toStartWith('HTTP/1.1 201 \r\n')
    expect(r.bodyText()).toBe('y')
    a.conn.close()
    b.conn.close()
  })

  test('47: response header order, case and duplicate Set-Cookie are preserved', async () => {
    const a = await request(s, 'order')
    const headers = [
      ['Set-Cookie', 'a=1; Path=/'],
      ['x-lower', 'v1'],
      ['Z-Last-Alpha', 'v2'],
      ['Set-Cookie', 'b=2'],
      ['A-First-Alpha', 'v3'],
      ['set-cookie', 'c=3'],
    ]
    await a.send({ code: 200, reason: 'OK', headers, body: 'ok' })
    const r = await a.conn.readResponse()
    expect(r.headers).toEqual([...headers, ['Content-Length', '2']] as [string, string][])
    expect(r.headerAll('set-cookie')).toEqual(['a=1; Path=/', 'b=2', 'c=3'])
    a.conn.close()
  })

  test('48: a first response body of 8193 bytes against 8192 credits closes and cancels', async () => {
    // Control: exactly the granted 8192 bytes fit.
    const ok = await request(s, 'credits-fit')
    expect(ok.first.packet.credits).toBe(8192)
    const fit = pattern(8192, 1)
    await ok.send({ code: 200, reason: 'OK', body: fit })
    const r = await ok.conn.readResponse()
    expect(r.headerAll('Content-Length')).toEqual(['8192'])
    expect(Buffer.from(r.body).equals(Buffer.from(fit))).toBe(true)
    ok.conn.close()

    const a = await request(s, 'credits-over')
    await a.send({ code: 200, reason: 'OK', body: pattern(8193, 2) })
    const cancel = await a.peer.next({ id: a.id, type: 'cancel' })
    expect(cancel.sock).toBe('router')
    expect(cancel.packet.seq).toBe(routerSeqBefore(a.peer, cancel))
    const info = await a.conn.waitClosed()
    expect(info.how === 'fin' || info.how === 'reset').toBe(true)
    expect(a.conn.received().length).toBe(0)
    await a.peer.expectNone({ id: a.id }, QUIET_MS)
  })

  test('49: body bytes written to the client come back as credit packets, summing to them', async () => {
    const a = await request(s, 'credit-back')
    await a.send({ code: 200, reason: 'OK', more: true })
    const sizes = [5000, 3192, 8192, 1]
    const credits = new CreditWatch(s.peer, a.id)
    let sent = 0
    for (const [i, n] of sizes.entries()) {
      // The handler only sends what its allowance (8192 - unreturned bytes) permits.
      while (8192 - (sent - credits.total) < n) {
        if ((await credits.take()) === 0) throw new Error(`no credit after ${sent} bytes`)
        expect(credits.total).toBeLessThanOrEqual(sent)
      }
      await a.send({ body: pattern(n, i), more: true })
      sent += n
    }
    await credits.expectTotal(sent)
    await a.send({})
    const r = await a.conn.readResponse()
    expect(r.chunked).toBe(true)
    expect(Buffer.from(r.body).equals(Buffer.concat(sizes.map((n, i) => pattern(n, i))))).toBe(true)
    a.conn.close()
  })

  test('50: pipelined requests are answered in order, the second handed over after the first', async () => {
    const p1 = uniquePath('pipe')
    const p2 = uniquePath('pipe')
    const conn = await rawHttp(s.gw.port, requestText(p1) + requestText(p2, { headers: ['X-Second: 1'] }))
    const a = new Session(s.peer, await s.peer.next({ $sock: 'pull', uri: `http://h${p1}` }), conn)
    await a.send({ code: 200, reason: 'OK', body: 'one-', more: true })
    await conn.readUntil(/one-\r\n$/)
    await s.peer.expectNone({ $sock: 'pull', uri: `http://h${p2}` }, QUIET_MS)
    await a.send({ body: 'done' })
    const b = new Session(s.peer, await s.peer.next({ $sock: 'pull', uri: `http://h${p2}` }), conn)
    expect(b.id).not.toBe(a.id)
    await b.send({ code: 200, reason: 'OK', body: 'two' })
    const r1 = await conn.readResponse()
    const r2 = await conn.readResponse()
    expect(r1.bodyText()).toBe('one-done')
    expect(r2.bodyText()).toBe('two')
    conn.close()
  })

  test('51: one packet with an id list writes its body to both sessions', async () => {
    const a = await request(s, 'multi-a')
    const b = await request(s, 'multi-b')
    await a.send({ code: 200, reason: 'OK', headers: [['X-Who', 'a']], more: true })
    await b.send({ code: 200, reason: 'OK', headers: [['X-Who', 'b']], more: true })
    await a.conn.readUntil(/\r\n\r\n$/)
    await b.conn.readUntil(/\r\n\r\n$/)
    await s.peer.send({
      from: s.peer.from,
      id: [
        { id: a.id, seq: a.seq++ },
        { id: b.id, seq: b.seq++ },
      ],
      body: 'shared body',
    })
    const ra = await a.conn.readResponse()
    const rb = await b.conn.readResponse()
    expect(ra.header('X-Who')).toBe('a')
    expect(rb.header('X-Who')).toBe('b')
    for (const r of [ra, rb]) {
      expect(r.chunked).toBe(true)
      expect(r.bodyText()).toBe('shared body')
    }
    a.conn.close()
    b.conn.close()
  })

  test('49: a long stream (8 KB packets as credits allow) reaches a slowly reading client intact', async () => {
    await slowReaderScenario(s, longTotal())
  })

  describe(`with --buffer-size ${BIG_BUFFER_SIZE}`, () => {
    let big: Stack

    beforeAll(async () => {
      big = await startStack(target, ['--buffer-size', String(BIG_BUFFER_SIZE)])
    }, HOOK_TIMEOUT_MS)

    afterAll(async () => {
      await big?.peer.stop()
      await big?.gw.stop()
    }, HOOK_TIMEOUT_MS)

    test('38: a chunked packet body larger than 0xffff is split into chunks of at most 0xffff', async () => {
      const a = await request(big, 'split')
      expect(a.first.packet.credits).toBe(BIG_BUFFER_SIZE)
      const body = pattern(150_000, 3)
      await a.send({ code: 200, reason: 'OK', more: true })
      await a.send({ body, more: true })
      await a.send({ body: 'tail' })
      const r = await a.conn.readResponse()
      const d = dechunk(r.rawBody)!
      expect(d.chunkSizes.every((n) => n > 0 && n <= 0xffff)).toBe(true)
      expect(d.chunkSizes.length).toBeGreaterThanOrEqual(4) // 150000 needs 3 chunks, 'tail' 1
      expect(d.chunkSizes.reduce((x, y) => x + y, 0)).toBe(150_004)
      expect(Buffer.from(d.body).equals(Buffer.concat([body, Buffer.from('tail')]))).toBe(true)
      // Re-encoding with lower-case hex sizes reproduces the bytes exactly.
      const full = Buffer.concat([body, Buffer.from('tail')])
      const parts: Buffer[] = []
      let off = 0
      for (const n of d.chunkSizes) {
        parts.push(Buffer.from(`${n.toString(16)}\r\n`), full.subarray(off, off + n), Buffer.from('\r\n'))
        off += n
      }
      parts.push(Buffer.from('0\r\n\r\n'))
      expect(Buffer.from(r.rawBody).equals(Buffer.concat(parts))).toBe(true)
      a.conn.close()
    })

    // Condure 1.9.1 stalls here for good (observed): once a write to the paused client was
    // partial while further handler packets sat in its buffer (any --buffer-size above one
    // packet, e.g. 16384), it never writes again although the client drains its socket.
    // zhttp.md does not list this; zgate must deliver, so this variant runs on zgate only.
    test.skipIf(target.name === 'condure')(
      '49: a long stream with many packets in flight reaches a slowly reading client intact (zgate only)',
      async () => {
        await slowReaderScenario(big, 8 << 20)
      },
    )
  })
}

// ---------------------------------------------------------------------------------------
// long stream against a slow reader

/** More than the loopback socket buffers of one connection can absorb (~4.1 MB measured). */
function longTotal(): number {
  const field = (path: string, i: number, fallback: number) => {
    try {
      return Number(readFileSync(path, 'utf8').trim().split(/\s+/)[i]) || fallback
    } catch {
      return fallback
    }
  }
  const absorb = field('/proc/sys/net/ipv4/tcp_wmem', 2, 4 << 20) + field('/proc/sys/net/ipv4/tcp_rmem', 1, 128 << 10)
  return Math.ceil((absorb + (2 << 20)) / LONG_PACKET) * LONG_PACKET
}
const LONG_PACKET = 8192
const STALL_MS = 1_000 // no credit for this long while the client is paused = backpressure
const SLOW_READ_ON_MS = 5
const SLOW_READ_OFF_MS = 20

/**
 * The handler streams `total` bytes in LONG_PACKET packets, sending only as credits
 * allow. The client first does not read at all until the gateway stops returning credits
 * (its writes are blocked), then reads in short bursts. Credits returned never exceed the
 * bytes written, sum up to them, and the body arrives intact.
 */
async function slowReaderScenario(s: Stack, total: number): Promise<void> {
  const path = uniquePath('slow')
  const client = net.connect(s.gw.port, '127.0.0.1')
  const chunks: Buffer[] = []
  let received = 0
  client.on('data', (d: Buffer) => {
    chunks.push(d)
    received += d.length
  })
  client.pause()
  await withTimeout(new Promise((r) => client.once('connect', r)), 5_000, () => 'slow client connect')
  client.write(requestText(path))
  const first = await s.peer.next({ $sock: 'pull', uri: `http://h${path}` })
  const a = new Session(s.peer, first, null as unknown as RawConn)
  const credits = new CreditWatch(s.peer, a.id)
  const initial = Number(first.packet.credits)
  let sent = 0
  let packets = 0
  const pending: Promise<void>[] = []
  pending.push(a.send({ code: 200, reason: 'OK', more: true }))

  const takeCredit = async (timeoutMs: number): Promise<boolean> => {
    const n = await credits.take(timeoutMs)
    expect(credits.total).toBeLessThanOrEqual(sent)
    return n > 0
  }
  const pump = () => {
    while (initial + credits.total - sent >= LONG_PACKET && sent < total) {
      pending.push(a.send({ body: pattern(LONG_PACKET, packets++), more: true }))
      sent += LONG_PACKET
    }
  }

  try {
    // Phase 1: the client reads nothing; the gateway must stop returning credits.
    for (;;) {
      pump()
      if (sent >= total) throw new Error(`no backpressure: all ${sent} bytes were accepted unread`)
      if (!(await takeCredit(STALL_MS))) break
    }
    expect(received).toBe(0)
    expect(sent).toBeLessThan(total)

    // Phase 2: the client reads in short bursts; the handler keeps sending as allowed.
    let reading = true
    const reader = (async () => {
      while (reading) {
        client.resume()
        await sleep(SLOW_READ_ON_MS)
        client.pause()
        await sleep(SLOW_READ_OFF_MS)
      }
      client.resume()
    })()
    try {
      while (sent < total) {
        pump()
        if (sent < total && !(await takeCredit(10_000))) {
          throw new Error(`credits stopped at ${credits.total} of ${sent} sent; client read ${received}`)
        }
      }
      await Promise.all(pending)
      // Every byte sent comes back as credit once the client has read it.
      await credits.expectTotal(total)
      await a.send({})
    } finally {
      reading = false
      await reader
    }

    const all = await withTimeout(
      (async () => {
        for (;;) {
          const buf = Buffer.concat(chunks)
          const end = buf.indexOf('\r\n\r\n')
          if (end >= 0 && dechunk(buf.subarray(end + 4)) !== null) return buf
          await sleep(10)
        }
      })(),
      10_000,
      () => `the whole response; received ${received} bytes`,
    )
    const r = parseHttpResponse(all)
    expect(r.chunked).toBe(true)
    expect(r.body.length).toBe(total)
    const want = Buffer.concat(Array.from({ length: total / LONG_PACKET }, (_, i) => pattern(LONG_PACKET, i)))
    expect(Buffer.from(r.body).equals(want)).toBe(true)
  } finally {
    client.destroy()
  }
}
