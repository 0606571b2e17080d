// The first request packet of a stream-mode session (zhttp.md 4.3; checklist 17-29, 80) and
// pipelining (checklist 50), against every target from gatewayTargets(). A last block sends
// the same requests to condure and zgate side by side and compares the encoded packets
// field by field, key order included (only `id` and `peer-port` may differ).

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import {
  bytesOf,
  cleanup,
  comparedTargets,
  freePort,
  gatewayTargets,
  headerPairs,
  rawHttp,
  startGateway,
  startPeer,
  tmpDir,
} from '../helpers/harness.ts'
import { lacksWebSocket } from '../helpers/features.ts'
import { fieldDifference, topLevelFields } from '../helpers/packet-fields.ts'
import type { Gateway, GatewayTarget, Peer, PeerPacket, RawConn } from '../helpers/harness.ts'

const HOOK_TIMEOUT_MS = 30_000
/** Condure's `W-K-N`; zgate appends its per-process nonce, `-X` (src/zhttp/session-id.ts). */
const CID_RE = /^(\d+)-(\d+)-([0-9a-f]+)(-[0-9a-f]{8})?$/
/** Condure's emission order of the first packet's fields (zhttp.md 2.3 / 4.3). */
const FIELD_ORDER = ['from', 'id', 'seq', 'ext', 'type', 'method', 'uri', 'headers', 'content-type', 'body', 'credits', 'more', 'stream', 'max-size', 'timeout', 'peer-address', 'peer-port']
const QUIET_MS = 500 // how long "nothing happens" is watched for

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

interface Pair {
  gw: Gateway
  peer: Peer
  dir: string
}

/** A gateway plus a linked handler peer; `listen` builds the --listen values. */
async function startPair(
  target: GatewayTarget,
  listen: (dir: string) => string[] = () => [`127.0.0.1:${freePort()},stream`],
  extra: string[] = [],
): Promise<Pair> {
  const dir = tmpDir()
  const args = [...listen(dir).flatMap((l) => ['--listen', l]), '--zclient-stream', `ipc://${dir}/zs`, ...extra]
  const gw = await startGateway({ cmd: target.cmd, args })
  const peer = await startPeer({ base: `ipc://${dir}/zs` })
  await peer.waitLinked()
  return { gw, peer, dir }
}

async function stopPair(p: Pair | undefined): Promise<void> {
  await p?.peer.stop()
  await p?.gw.stop()
}

/** Answers a session with a complete 200 whose body is `body`. */
function reply(peer: Peer, id: string, seq: number, body = 'ok'): Promise<void> {
  return peer.send({ from: peer.from, id, seq, code: 200, reason: 'OK', headers: [], body })
}

for (const target of gatewayTargets()) {
  if (target.skipReason) {
    console.warn(`first-packet: SKIPPING target '${target.name}': ${target.skipReason}`)
    describe.skip(`first packet against ${target.name} (${target.skipReason})`, () => {
      test('skipped', () => {})
    })
  } else {
    describe(`first packet against ${target.name}`, () => firstPacketSuite(target))
  }
}

function firstPacketSuite(target: GatewayTarget): void {
  let main: Pair
  let peer: Peer
  let port = 0

  beforeAll(async () => {
    main = await startPair(target)
    peer = main.peer
    port = main.gw.port
  }, HOOK_TIMEOUT_MS)

  afterAll(() => stopPair(main), HOOK_TIMEOUT_MS)

  /** Sends `req` on a new connection and returns the first packet (on PULL) it produced. */
  async function open(req: string | Uint8Array): Promise<{ conn: RawConn; first: PeerPacket; id: string }> {
    const conn = await rawHttp(port, req)
    const first = await peer.next({ $sock: 'pull' })
    expect(first.error).toBeUndefined()
    return { conn, first, id: String(first.packet.id) }
  }

  /** Replies 200 and reads the response, then closes the client. */
  async function finish(conn: RawConn, id: string, seq = 0): Promise<void> {
    await reply(peer, id, seq)
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    conn.close()
  }

  test('17: from = instance id, a W-K-N id, seq 0, ext.multi true, data type, single T frame', async () => {
    const { conn, first, id } = await open('GET /seventeen HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(first.sock).toBe('pull')
    expect(first.frames).toBe(1)
    expect(first.raw[0]).toBe(0x54)
    expect(first.packet.from).toBe('condure')
    expect(id).toMatch(CID_RE)
    expect(first.packet.seq).toBe(0)
    expect(first.packet.ext).toEqual({ multi: true })
    expect('type' in first.packet).toBe(false)
    expect(first.packet.method).toBe('GET')
    // The emission order is fixed (zhttp.md 2.3): compare with the raw payload's key order.
    const keys = topLevelFields(first.raw).map(([k]) => k)
    expect(keys).toEqual(FIELD_ORDER.filter((k) => keys.includes(k)))
    expect(keys).toEqual(['from', 'id', 'seq', 'ext', 'method', 'uri', 'headers', 'credits', 'stream', 'peer-address', 'peer-port'])
    await finish(conn, id)
  })

  test('18, 21, 22: uri is http://<Host><target> with the Host port and the query kept verbatim', async () => {
    const target = '/a/b%20c/?x=1&y=%2F&z=a+b#frag'
    const { conn, first, id } = await open(`GET ${target} HTTP/1.1\r\nHost: example.com:8080\r\n\r\n`)
    expect(first.packet.uri).toBe(`http://example.com:8080${target}`)
    await finish(conn, id)
  })

  const isZgate = target.name === 'zgate'

  /** zgate answers `req` with `status` and closes, and the handler gets no packet. */
  async function refusedByZgate(req: string, status: number): Promise<void> {
    const conn = await rawHttp(port, req)
    const r = await conn.readResponse()
    expect(r.status).toBe(status)
    await conn.waitClosed()
    await peer.expectNone((p) => p.packet.type !== 'keep-alive', QUIET_MS)
  }

  test('18: the Host header is used, its name matched case-insensitively', async () => {
    const { conn, first, id } = await open('GET /hosts HTTP/1.1\r\nX-A: 1\r\nhOsT: first.example\r\n\r\n')
    expect(first.packet.uri).toBe('http://first.example/hosts')
    await finish(conn, id)
  })

  // RFC 9112 3.2: a second Host is a 400 (zgate); condure uses the first.
  test(`18: two Host headers: ${isZgate ? 'refused with 400' : 'the first is used'}`, async () => {
    const req = 'GET /hosts HTTP/1.1\r\nX-A: 1\r\nhOsT: first.example\r\nHost: second.example\r\n\r\n'
    if (isZgate) return refusedByZgate(req, 400)
    const { conn, first, id } = await open(req)
    expect(first.packet.uri).toBe('http://first.example/hosts')
    await finish(conn, id)
  })

  // RFC 9112 3.2: HTTP/1.1 without Host is a 400 (zgate); condure names localhost. HTTP/1.0
  // may omit Host: both name localhost.
  test(`20: without a Host header the uri host is localhost (HTTP/1.0${isZgate ? '; HTTP/1.1 gets 400' : ' and HTTP/1.1'})`, async () => {
    const req11 = 'GET /no-host?q=1 HTTP/1.1\r\nUser-Agent: t\r\n\r\n'
    if (isZgate) {
      await refusedByZgate(req11, 400)
    } else {
      const a = await open(req11)
      expect(a.first.packet.uri).toBe('http://localhost/no-host?q=1')
      expect(headerPairs(a.first.packet)).toEqual([['User-Agent', 't']])
      await finish(a.conn, a.id)
    }

    const b = await open('GET /no-host-10 HTTP/1.0\r\n\r\n')
    expect(b.first.packet.uri).toBe('http://localhost/no-host-10')
    // No headers at all: the field is omitted (zhttp.md 4.3).
    expect('headers' in b.first.packet).toBe(false)
    await reply(peer, b.id, 0)
    expect((await b.conn.readResponse()).status).toBe(200)
    await b.conn.waitClosed()
  })

  test('23: headers keep name case, order and duplicates, and nothing is added', async () => {
    const sent: [string, string][] = [
      ['host', 'h.example'],
      ['X-Dup', 'one'],
      ['accept', '*/*'],
      ['X-DUP', 'two'],
      ['x-MiXeD-CaSe', 'Value With  Inner  Spaces'],
      ['Cookie', 'a=1'],
      ['cookie', 'b=2'],
      ['Connection', 'keep-alive'],
      ['X-Dup', 'three'],
      ['X-Punct', '"quoted", (comment); q=0.5'],
    ]
    const req = `GET /headers HTTP/1.1\r\n${sent.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
    const { conn, first, id } = await open(req)
    expect(headerPairs(first.packet)).toEqual(sent)
    await finish(conn, id)
  })

  test('23: a POST with a body gets no headers added or removed either', async () => {
    const sent: [string, string][] = [
      ['Host', 'h'],
      ['content-length', '3'],
      ['Expect', 'nothing'],
    ]
    const req = `POST /post-headers HTTP/1.1\r\n${sent.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\nabc`
    const { conn, first, id } = await open(req)
    expect(headerPairs(first.packet)).toEqual(sent)
    await finish(conn, id)
  })

  test('24: credits equal the default --buffer-size 8192', async () => {
    const { conn, first, id } = await open('GET /credits HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(first.packet.credits).toBe(8192)
    await finish(conn, id)
  })

  test('24: with --buffer-size 4096 the credits are 4096', async () => {
    const small = await startPair(target, undefined, ['--buffer-size', '4096'])
    try {
      const conn = await rawHttp(small.gw.port, 'POST /small HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi')
      const first = await small.peer.next({ $sock: 'pull' })
      expect(first.packet.credits).toBe(4096)
      expect(first.packet.more).toBe(true)
      await reply(small.peer, String(first.packet.id), 0)
      expect((await conn.readResponse()).status).toBe(200)
      conn.close()
    } finally {
      await stopPair(small)
    }
  })

  test('25: stream is true for HTTP requests (GET, POST, HTTP/1.0)', async () => {
    for (const req of [
      'GET /streamy HTTP/1.1\r\nHost: h\r\n\r\n',
      'POST /streamy-post HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx',
      'GET /streamy-10 HTTP/1.0\r\nHost: h\r\n\r\n',
    ]) {
      const a = await open(req)
      expect(a.first.packet.stream).toBe(true)
      await reply(peer, a.id, 0)
      expect((await a.conn.readResponse()).status).toBe(200)
      a.conn.close()
    }
  })

  test.skipIf(lacksWebSocket(target.name))('25: stream (and more) are absent for a WebSocket upgrade', async () => {
    const ws = 'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
    const b = await open(ws)
    expect(b.first.packet.uri).toBe('ws://h/ws')
    expect('stream' in b.first.packet).toBe(false)
    expect('more' in b.first.packet).toBe(false)
    expect(b.first.packet.credits).toBe(8192)
    await peer.send({ from: peer.from, id: b.id, seq: 0, type: 'cancel' })
    await b.conn.waitClosed()
  })

  const moreCases: [string, string, boolean][] = [
    ['GET without a body', 'GET /m1 HTTP/1.1\r\nHost: h\r\n\r\n', false],
    ['POST with Content-Length: 5', 'POST /m2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello', true],
    ['POST with Content-Length: 0', 'POST /m3 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n', false],
    ['POST without Content-Length', 'POST /m4 HTTP/1.1\r\nHost: h\r\n\r\n', false],
    ['POST chunked', 'POST /m5 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', true],
    ['GET with Content-Length: 1', 'GET /m6 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx', true],
  ]
  for (const [what, req, more] of moreCases) {
    test(`26: more is ${more ? 'true' : 'absent'} for ${what}`, async () => {
      const { conn, first, id } = await open(req)
      if (more) expect(first.packet.more).toBe(true)
      else expect('more' in first.packet).toBe(false)
      await finish(conn, id)
    })
  }

  test('27: the first packet has no body even when the body arrived with the head', async () => {
    const { conn, first, id } = await open('POST /with-body HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789')
    expect('body' in first.packet).toBe(false)
    expect(first.packet.more).toBe(true)
    // The bytes were there all along: the first credit releases them at once.
    await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: 100 })
    const body = await peer.next({ $sock: 'router', id })
    expect(body.packet.seq).toBe(1)
    expect(new TextDecoder().decode(bytesOf(body.packet.body))).toBe('0123456789')
    expect('more' in body.packet).toBe(false)
    await finish(conn, id, 1)
  })

  test('27: a chunked body sent with the head is not in the first packet either', async () => {
    const { conn, first, id } = await open('POST /with-chunks HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n')
    expect('body' in first.packet).toBe(false)
    await finish(conn, id)
  })

  test('28: peer-address / peer-port are the client socket address over IPv4', async () => {
    const { conn, first, id } = await open('GET /peer4 HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(conn.localPort).toBeGreaterThan(0)
    expect(first.packet['peer-address']).toBe('127.0.0.1')
    expect(first.packet['peer-port']).toBe(conn.localPort)
    await finish(conn, id)
  })

  test('28: peer-address / peer-port over IPv6 ([::1] listener)', async () => {
    const v6 = await startPair(target, () => [`[::1]:${freePort()},stream`])
    try {
      const conn = await rawHttp({ host: '::1', port: v6.gw.port }, 'GET /peer6 HTTP/1.1\r\nHost: [::1]\r\n\r\n')
      const first = await v6.peer.next({ $sock: 'pull' })
      expect(first.packet.uri).toBe('http://[::1]/peer6')
      expect(first.packet['peer-address']).toBe('::1')
      expect(first.packet['peer-port']).toBe(conn.localPort)
      await reply(v6.peer, String(first.packet.id), 0)
      expect((await conn.readResponse()).status).toBe(200)
      conn.close()
    } finally {
      await stopPair(v6)
    }
  })

  test('28: no peer fields on a unix-socket listener', async () => {
    const ux = await startPair(target, (dir) => [`${dir}/http.sock,local,stream`])
    try {
      const conn = await rawHttp({ unix: `${ux.dir}/http.sock` }, 'GET /peerless HTTP/1.1\r\nHost: unix.example\r\n\r\n')
      const first = await ux.peer.next({ $sock: 'pull' })
      expect(first.packet.uri).toBe('http://unix.example/peerless')
      expect('peer-address' in first.packet).toBe(false)
      expect('peer-port' in first.packet).toBe(false)
      expect(first.packet.stream).toBe(true)
      await reply(ux.peer, String(first.packet.id), 0)
      expect((await conn.readResponse()).status).toBe(200)
      conn.close()
    } finally {
      await stopPair(ux)
    }
  })

  test('29: ids are W-K-N; a second request on a kept-alive connection gets a new id, seq restarts', async () => {
    const { conn, first, id } = await open('GET /ka1 HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(id).toMatch(CID_RE)
    await reply(peer, id, 0, 'one')
    const r1 = await conn.readResponse()
    expect(r1.bodyText()).toBe('one')
    expect(conn.isClosed).toBe(false)

    conn.write('GET /ka2 HTTP/1.1\r\nHost: h\r\n\r\n')
    const second = await peer.next({ $sock: 'pull' })
    const id2 = String(second.packet.id)
    expect(second.packet.uri).toBe('http://h/ka2')
    expect(id2).toMatch(CID_RE)
    expect(id2).not.toBe(id)
    expect(second.packet.seq).toBe(0)
    // Same connection: same client port, same worker.
    expect(second.packet['peer-port']).toBe(first.packet['peer-port'])
    expect(CID_RE.exec(id2)![1]).toBe(CID_RE.exec(id)![1])
    // The old id is dead: a packet for it is ignored, the new one answers.
    await reply(peer, id, 1, 'stale')
    await reply(peer, id2, 0, 'two')
    const r2 = await conn.readResponse()
    expect(r2.bodyText()).toBe('two')

    // Concurrent connections have distinct ids too.
    const a = await open('GET /ka3 HTTP/1.1\r\nHost: h\r\n\r\n')
    const b = await open('GET /ka4 HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(new Set([id, id2, a.id, b.id]).size).toBe(4)
    await finish(a.conn, a.id)
    await finish(b.conn, b.id)
    conn.close()
  })

  // Condure joins Host and an absolute-form target (zhttp.md 4.3); zgate sends the target, whose
  // authority wins (RFC 9112 3.2.2).
  test(`80: an absolute-form target ${isZgate ? 'is the uri, Host left aside' : 'is appended after the Host verbatim'}`, async () => {
    const { conn, first, id } = await open('GET http://a/x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n')
    expect(first.packet.uri).toBe(isZgate ? 'http://a/x?y=1' : 'http://hhttp://a/x?y=1')
    expect(headerPairs(first.packet)).toEqual([['Host', 'h']])
    await finish(conn, id)
  })

  test('50: pipelined requests: the second packet waits for the first response; responses in order', async () => {
    const conn = await rawHttp(port, 'GET /pipe1 HTTP/1.1\r\nHost: h\r\n\r\nGET /pipe2 HTTP/1.1\r\nHost: h\r\nX-N: 2\r\n\r\n')
    const p1 = await peer.next({ $sock: 'pull' })
    expect(p1.packet.uri).toBe('http://h/pipe1')
    const id1 = String(p1.packet.id)
    await peer.expectNone({ $sock: 'pull' }, QUIET_MS)

    // A streamed first response: still no second packet while it is incomplete.
    await peer.send({ from: peer.from, id: id1, seq: 0, code: 200, reason: 'OK', headers: [], more: true })
    await peer.send({ from: peer.from, id: id1, seq: 1, body: 'first-', more: true })
    await conn.readUntil(/first-\r\n$/)
    await peer.expectNone({ $sock: 'pull' }, QUIET_MS)
    await peer.send({ from: peer.from, id: id1, seq: 2, body: 'done' })

    const p2 = await peer.next({ $sock: 'pull' })
    expect(p2.packet.uri).toBe('http://h/pipe2')
    expect(headerPairs(p2.packet)).toEqual([
      ['Host', 'h'],
      ['X-N', '2'],
    ])
    const id2 = String(p2.packet.id)
    expect(id2).not.toBe(id1)
    expect(p2.packet.seq).toBe(0)
    await reply(peer, id2, 0, 'second')

    const r1 = await conn.readResponse()
    const r2 = await conn.readResponse()
    expect(r1.chunked).toBe(true)
    expect(r1.bodyText()).toBe('first-done')
    expect(r2.bodyText()).toBe('second')
    expect(conn.isClosed).toBe(false)
    conn.close()
  })

  test('50: three pipelined requests in one write each get one packet, strictly one at a time', async () => {
    const reqs = ['/q1', '/q2', '/q3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: h\r\n\r\n`).join('')
    const conn = await rawHttp(port, reqs)
    for (const p of ['/q1', '/q2', '/q3']) {
      const pk = await peer.next({ $sock: 'pull' })
      expect(pk.packet.uri).toBe(`http://h${p}`)
      await peer.expectNone({ $sock: 'pull' }, 200)
      await reply(peer, String(pk.packet.id), 0, `body${p}`)
      expect((await conn.readResponse()).bodyText()).toBe(`body${p}`)
    }
    conn.close()
  })
}

// ---------------------------------------------------------------------------------------
// byte-level comparison with condure

const compared = comparedTargets()

const COMPARE_REQUESTS: [string, string][] = [
  ['GET with query and Host port', 'GET /path?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n'],
  ['no Host header, HTTP/1.0', 'GET /nohost HTTP/1.0\r\nAccept: */*\r\n\r\n'],
  ['no headers, HTTP/1.0', 'GET /bare HTTP/1.0\r\n\r\n'],
  ['lower-case method', 'get /lower HTTP/1.1\r\nHost: h\r\n\r\n'],
  ['POST with Content-Length', 'POST /cl HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n0123456789'],
  ['POST with Content-Length: 0', 'POST /cl0 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n'],
  ['chunked POST', 'POST /ch HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['duplicates and mixed case', 'GET /dup HTTP/1.1\r\nhOsT: H.Example\r\nX-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n'],
  ['Host IPv6 literal with port', 'GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n'],
  ['whitespace around values', 'GET /ws-vals HTTP/1.1\r\nHost:   spaced.example  \r\nX-Pad:\t padded \t\r\nX-Empty:\r\nX-Sp: \r\n\r\n'],
  ['non-ASCII header bytes', 'GET /bytes HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9\r\nX-Utf8: \xc3\xa9t\xc3\xa9\r\n\r\n'],
  // HTTP/1.1 without Host, a Host that is not a host, absolute-form and asterisk-form targets
  // are left out: zgate refuses them or builds the uri differently (README, "Differences from
  // Condure"; test/e2e/smuggling.test.ts).
  ['odd target characters', "GET /p;a=b/%7e~!$&'()*+,=:@?q=%00&r=[]|{} HTTP/1.1\r\nHost: h\r\n\r\n"],
  ['Expect 100-continue', 'PUT /exp HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n'],
  ['websocket upgrade', 'GET /sock HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'],
]

/** The fields that legitimately differ between two gateways for the same request. */
const VARYING = new Set(['id', 'peer-port'])

if (compared === null) {
  describe.skip('first packet bytes: zgate vs condure (needs both targets)', () => {
    test('skipped', () => {})
  })
} else {
  describe('first packet bytes: zgate vs condure', () => {
    let c: Pair
    let z: Pair

    beforeAll(async () => {
      c = await startPair(compared.condure)
      z = await startPair(compared.zgate)
    }, HOOK_TIMEOUT_MS)

    afterAll(async () => {
      await stopPair(z)
      await stopPair(c)
    }, HOOK_TIMEOUT_MS)

    async function firstPacketOf(p: Pair, req: string): Promise<{ pk: PeerPacket; conn: RawConn }> {
      const conn = await rawHttp(p.gw.port, Buffer.from(req, 'latin1'))
      const pk = await p.peer.next({ $sock: 'pull' })
      expect(pk.error).toBeUndefined()
      expect(pk.packet['peer-port']).toBe(conn.localPort)
      return { pk, conn }
    }

    // WebSocket upgrades join the comparison once zgate has them (issue 4).
    for (const [what, req] of COMPARE_REQUESTS.filter(([w]) => w !== 'websocket upgrade' || !lacksWebSocket('zgate'))) {
      test(`17-29: same encoded fields in the same order as condure: ${what}`, async () => {
        const a = await firstPacketOf(c, req)
        const b = await firstPacketOf(z, req)
        // Key order exactly as condure's, then every stable value byte for byte.
        expect(fieldDifference(a.pk.raw, b.pk.raw, VARYING)).toBe('')
        expect(b.pk.packet.id).toMatch(CID_RE)
        // Clean up: a cancel ends both sessions and closes both clients.
        for (const [p, x] of [
          [c, a],
          [z, b],
        ] as const) {
          await p.peer.send({ from: p.peer.from, id: String(x.pk.packet.id), seq: 0, type: 'cancel' })
          await x.conn.waitClosed()
        }
      })
    }
  })
}
