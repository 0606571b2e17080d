// Socket layout and wire framing towards handlers (zhttp.md sections 1, 2, 3.1, 3.10;
// checklist items 1-9 and 12-16). Runs once per gateway target (forEachGateway): Debian's
// condure 1.9.1 (the reference) and zgate.
//
// Drop tests avoid sleeps: a handler's PUB messages reach the gateway in order over one
// pipe, so a bad packet followed by a valid one is proven dropped when the client receives
// exactly the valid response (an accepted bad packet would have closed the connection, put
// different bytes on the wire or broken the seq chain).

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  cleanup,
  freePort,
  freeTcpBase,
  forEachGateway,
  rawHttp,
  REPO_ROOT,
  sleep,
  startGateway,
  startPeer,
  tmpDir,
  waitUntilServing,
} from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, OutValue, Peer, RawConn } from '../helpers/harness.ts'

const HOOK_TIMEOUT_MS = 30_000
/** How long a connection must stay silent after packets that must be dropped. */
const QUIET_MS = 300
const LOG_LINE_RE = /^\[(ERR|WARN|INFO|DEBUG|TRACE)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[\w:]+\] /

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

// Several tests run the gateway in a temp cwd, so zgate's script path must be absolute.
forEachGateway('sockets and framing', (target) =>
  socketSuite({ ...target, cmd: target.cmd.map((a) => (a === 'src/main.ts' ? join(REPO_ROOT, a) : a)) }),
)

// ---------------------------------------------------------------------------------------
// local helpers

/** Minimal tnetstring encoder (zhttp.md 2.3) for hand-made, partly broken payloads. */
function tns(v: string | number | boolean | tnsValue[] | { [k: string]: tnsValue }): Buffer {
  const frame = (data: Buffer, type: string) => Buffer.concat([Buffer.from(`${data.length}:`), data, Buffer.from(type)])
  if (typeof v === 'string') return frame(Buffer.from(v), ',')
  if (typeof v === 'number') return frame(Buffer.from(String(v)), '#')
  if (typeof v === 'boolean') return frame(Buffer.from(String(v)), '!')
  if (Array.isArray(v)) return frame(Buffer.concat(v.map(tns)), ']')
  return frame(Buffer.concat(Object.entries(v).flatMap(([k, x]) => [tns(k), tns(x)])), '}')
}
type tnsValue = string | number | boolean | tnsValue[] | { [k: string]: tnsValue }

/** `<address> ` + payload bytes, one PUB frame. */
function pubFrame(address: string, payload: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${address} `), Buffer.from(payload)])
}

/** Opens a client connection and returns it with the session id of its first packet. */
async function openSession(gwPort: number, peer: Peer, path: string, extra = ''): Promise<{ conn: RawConn; id: string }> {
  const conn = await rawHttp(gwPort, `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`)
  const first = await peer.next({ $sock: 'pull', uri: `http://h${path}` })
  return { conn, id: String(first.packet.id) }
}

/** The connection got no byte and is still open after QUIET_MS. */
async function expectQuiet(conn: RawConn): Promise<void> {
  await expect(conn.readUntil(1, QUIET_MS)).rejects.toThrow(/timed out/)
  expect(conn.isClosed).toBe(false)
}

/** Sends a valid 200 with `body` (seq 0) and checks it is exactly what the client received. */
async function answerAndCheck(peer: Peer, conn: RawConn, id: string, body: string): Promise<void> {
  await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', headers: [['X-Good', 'yes']], body })
  const r = await conn.readResponse()
  expect(r.statusLine).toBe('HTTP/1.1 200 OK')
  expect(r.header('X-Good')).toBe('yes')
  expect(r.bodyText()).toBe(body)
  // Nothing arrived before the valid response.
  expect(conn.received().length).toBe(r.raw.length)
  conn.close()
}

function isSocketFile(path: string): boolean {
  return existsSync(path) && statSync(path).isSocket()
}

/** Sends `n` sequential requests and returns which peer (by `from`) received each. */
async function servedBy(port: number, peers: Peer[], tag: string, n: number): Promise<string[]> {
  const who: string[] = []
  for (let i = 0; i < n; i++) {
    const uri = `http://${tag}/${i}`
    const conn = await rawHttp(port, `GET /${i} HTTP/1.1\r\nHost: ${tag}\r\nConnection: close\r\n\r\n`)
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    conn.close()
    // The peer logs the packet before it answers, but its log is polled: wait (bounded).
    const receivers = () => peers.filter((p) => p.packets().some((x) => x.sock === 'pull' && x.packet.uri === uri))
    const deadline = Date.now() + 5_000
    while (receivers().length === 0 && Date.now() < deadline) await sleep(5)
    const got = receivers()
    expect(got.map((p) => p.from).length).toBe(1)
    who.push(got[0]!.from)
  }
  return who
}

// ---------------------------------------------------------------------------------------

function socketSuite(target: GatewayTarget): void {
  // One gateway + peer on an ipc base for the framing tests (6-8, 12-16).
  let dir = ''
  let gw: Gateway
  let peer: Peer

  beforeAll(async () => {
    dir = tmpDir()
    gw = await startGateway({
      cmd: target.cmd,
      cwd: dir,
      args: ['--listen', `127.0.0.1:${freePort()},stream`, '--zclient-stream', `ipc://${dir}/zs`, '--id', 'gwf'],
    })
    peer = await startPeer({ base: `ipc://${dir}/zs`, from: 'hf', instance: 'gwf' })
    await peer.waitLinked()
  }, HOOK_TIMEOUT_MS)

  afterAll(async () => {
    await peer?.stop()
    await gw?.stop()
  }, HOOK_TIMEOUT_MS)

  test('1: an ipc base binds X-out, X-out-stream and X-in as socket files', () => {
    for (const suffix of ['-out', '-out-stream', '-in']) expect(isSocketFile(`${dir}/zs${suffix}`)).toBe(true)
    const bindLine = gw.lines('stdout').find((l) => /zhttp client bind /.test(l))
    expect(bindLine).toBeDefined()
    expect(bindLine!.replace(LOG_LINE_RE, '')).toBe(
      `zhttp client bind ipc://${dir}/zs-out ipc://${dir}/zs-out-stream ipc://${dir}/zs-in`,
    )
    // The peer's PULL/ROUTER/XPUB handshakes prove the socket types behind each name.
    const kinds = peer.events().filter((e) => e.ev === 'zmq' && e.event === 'handshake').map((e) => e.sock)
    expect(new Set(kinds)).toEqual(new Set(['pull', 'router', 'pub']))
  })

  test('2: a tcp base uses ports P (out), P+1 (out-stream), P+2 (in)', async () => {
    const base = freeTcpBase()
    const port = freePort()
    const gw2 = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `tcp://127.0.0.1:${base}`],
    })
    // Each of the three ports accepts TCP connections; the next one does not belong to it.
    for (const p of [base, base + 1, base + 2]) {
      const c = await Bun.connect({ hostname: '127.0.0.1', port: p, socket: { data() {} } })
      c.end()
    }
    const line = gw2.lines('stdout').find((l) => /zhttp client bind /.test(l))!
    expect(line.replace(LOG_LINE_RE, '')).toBe(
      `zhttp client bind tcp://127.0.0.1:${base} tcp://127.0.0.1:${base + 1} tcp://127.0.0.1:${base + 2}`,
    )
    // A peer connecting PULL to P, ROUTER to P+1 and PUB to P+2 completes every handshake
    // (a socket-type mismatch would fail it) and is served.
    const p2 = await startPeer({ base: `tcp://127.0.0.1:${base}`, from: 'tcp-h', auto: 'hello' })
    await p2.waitLinked()
    await waitUntilServing(gw2, p2)
    const conn = await rawHttp(port, 'GET /tcp HTTP/1.1\r\nHost: t\r\n\r\n')
    expect((await conn.readResponse()).bodyText()).toBe('hello world\n')
    conn.close()
    await p2.stop()
    expect(await gw2.stop()).toBe(0)
  })

  test('3: --zclient-connect connects to handler-bound endpoints (log says connect)', async () => {
    const d = tmpDir()
    const port = freePort()
    const p3 = await startPeer({ base: `ipc://${d}/hz`, from: 'binder', bind: true, auto: 'hello' })
    const gw3 = await startGateway({
      cmd: target.cmd,
      cwd: d,
      args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `ipc://${d}/hz`, '--zclient-connect'],
    })
    const out = gw3.lines('stdout').map((l) => l.replace(LOG_LINE_RE, ''))
    expect(out).toContain(`zhttp client connect ipc://${d}/hz-out ipc://${d}/hz-out-stream ipc://${d}/hz-in`)
    expect(out.some((l) => /zhttp client bind/.test(l))).toBe(false)
    await p3.waitLinked()
    await waitUntilServing(gw3, p3)
    const conn = await rawHttp(port, 'GET /c HTTP/1.1\r\nHost: c\r\n\r\n')
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    expect(r.bodyText()).toBe('hello world\n')
    conn.close()
    expect(await gw3.stop()).toBe(0)
    // The gateway did not own the files: the binding handler's sockets are still there.
    expect(isSocketFile(`${d}/hz-out`)).toBe(true)
    await p3.stop()
  })

  test('4: the --zclient-req endpoint (default ipc://client) is not bound without a req listener', async () => {
    const d = tmpDir()
    const gw4 = await startGateway({
      cmd: target.cmd,
      cwd: d,
      args: ['--listen', `127.0.0.1:${freePort()},stream`, '--zclient-stream', `ipc://${d}/zs4`],
    })
    expect(readdirSync(d).sort()).toEqual(['zs4-in', 'zs4-out', 'zs4-out-stream'])
    expect(gw4.lines('stdout').some((l) => /ipc:\/\/client\b/.test(l))).toBe(false)
    expect(await gw4.stop()).toBe(0)
    // Control: with a req listener the same cwd does get the default `client` socket file.
    const d2 = tmpDir()
    const gwReq = await startGateway({
      cmd: target.cmd,
      cwd: d2,
      args: ['--listen', `127.0.0.1:${freePort()},req`, '--zclient-stream', `ipc://${d2}/zs4`],
    })
    expect(isSocketFile(join(d2, 'client'))).toBe(true)
    expect(gwReq.lines('stdout').some((l) => / zhttp client bind ipc:\/\/client$/.test(l))).toBe(true)
    await gwReq.stop()
  })

  test('5: repeated --zclient-stream binds every triple; handlers on either base are served', async () => {
    const d = tmpDir()
    const base = freeTcpBase()
    const port = freePort()
    const gw5 = await startGateway({
      cmd: target.cmd,
      cwd: d,
      args: [
        '--listen', `127.0.0.1:${port},stream`,
        '--zclient-stream', `ipc://${d}/a`,
        '--zclient-stream', `tcp://127.0.0.1:${base}`,
      ],
    })
    for (const suffix of ['-out', '-out-stream', '-in']) expect(isSocketFile(`${d}/a${suffix}`)).toBe(true)
    const binds = gw5.lines('stdout').filter((l) => /zhttp client bind /.test(l)).join('\n')
    expect(binds).toContain(`ipc://${d}/a-out`)
    expect(binds).toContain(`tcp://127.0.0.1:${base + 2}`)
    const pa = await startPeer({ base: `ipc://${d}/a`, from: 'on-ipc', auto: 'hello' })
    const pb = await startPeer({ base: `tcp://127.0.0.1:${base}`, from: 'on-tcp', auto: 'hello' })
    await pa.waitLinked()
    await pb.waitLinked()
    await waitUntilServing(gw5, pa)
    const who = await servedBy(port, [pa, pb], 'rep', 4)
    expect(new Set(who)).toEqual(new Set(['on-ipc', 'on-tcp']))
    await pa.stop()
    await pb.stop()
    expect(await gw5.stop()).toBe(0)
  })

  test('6: the first packet arrives on PULL as one frame starting with T', async () => {
    const { conn, id } = await openSession(gw.port, peer, '/six')
    const first = peer.packets().find((p) => p.packet.id === id && p.packet.seq === 0)!
    expect(first.sock).toBe('pull')
    expect(first.frames).toBe(1)
    expect(first.envelope).toEqual([])
    expect(first.raw[0]).toBe(0x54) // 'T'
    expect(first.error).toBeUndefined()
    expect(first.trailing).toBeUndefined()
    expect(first.packet.from).toBe('gwf')
    await answerAndCheck(peer, conn, id, 'six')
  })

  test('7: later packets arrive on the ROUTER as [gateway-id, "", T...]', async () => {
    const conn = await rawHttp(gw.port, 'POST /seven HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello')
    const id = String((await peer.next({ $sock: 'pull', uri: 'http://h/seven' })).packet.id)
    // Granting credits lets the body flow; it goes to our ROUTER identity (our `from`).
    await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: 100 })
    const body = await peer.next({ id, seq: 1 })
    expect(body.sock).toBe('router')
    expect(body.frames).toBe(3)
    expect(body.envelope.length).toBe(2)
    expect(Buffer.from(body.envelope[0]!, 'base64').length).toBeGreaterThan(0)
    expect(Buffer.from(body.envelope[1]!, 'base64').length).toBe(0)
    expect(body.raw[0]).toBe(0x54)
    expect(body.packet.from).toBe('gwf')
    expect(body.packet.body).toBe('hello')
    await peer.send({ from: peer.from, id, seq: 1, code: 200, reason: 'OK', body: 'ok' })
    expect((await conn.readResponse()).bodyText()).toBe('ok')
    conn.close()
  })

  test('8: a PUB message for another instance id is ignored; "<id> T..." is accepted', async () => {
    const { conn, id } = await openSession(gw.port, peer, '/eight')
    const bad = { from: peer.from, id, seq: 0, code: 500, reason: 'Wrong', body: 'wrong' }
    // Not our id, a prefix of it, our id extended, our id without the space.
    for (const address of ['condure', 'gw', 'gwfx', 'GWF']) await peer.send(bad, { address })
    await peer.sendRaw(Buffer.concat([Buffer.from('gwfT'), tns(bad)]))
    await peer.sendRaw(Buffer.concat([Buffer.from('gwf  T'), tns(bad)])) // payload starts with a space
    await expectQuiet(conn)
    await answerAndCheck(peer, conn, id, 'eight')
  })

  test('9: first packets are distributed round-robin over two handlers on -out', async () => {
    const d = tmpDir()
    const port = freePort()
    const gw9 = await startGateway({
      cmd: target.cmd,
      cwd: d,
      args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `ipc://${d}/rr`],
    })
    const p1 = await startPeer({ base: `ipc://${d}/rr`, from: 'rr-1', auto: 'hello' })
    const p2 = await startPeer({ base: `ipc://${d}/rr`, from: 'rr-2', auto: 'hello' })
    await p1.waitLinked()
    await p2.waitLinked()
    await waitUntilServing(gw9, p1)
    const who = await servedBy(port, [p1, p2], 'rr', 6)
    for (let i = 1; i < who.length; i++) expect(who[i]).not.toBe(who[i - 1])
    expect(who.filter((w) => w === 'rr-1').length).toBe(3)
    await p1.stop()
    await p2.stop()
    expect(await gw9.stop()).toBe(0)
  })

  test('12: payloads not starting with T or with a malformed tnetstring are dropped', async () => {
    const { conn, id } = await openSession(gw.port, peer, '/twelve')
    // Each is a spoiled `cancel` for the live session: accepted, it would close the connection.
    const cancel = tns({ from: peer.from, id, seq: 0, type: 'cancel' })
    const spoiled: Buffer[] = [
      Buffer.concat([Buffer.from('X'), cancel]), // wrong format byte
      Buffer.concat([Buffer.from('J'), Buffer.from(JSON.stringify({ from: peer.from, id, type: 'cancel' }))]),
      cancel, // no format byte at all
      Buffer.concat([Buffer.from('T'), cancel.subarray(0, cancel.length - 1)]), // map type byte missing
      Buffer.concat([Buffer.from('T9999:'), cancel.subarray(cancel.indexOf(':') + 1)]), // length past the end
      Buffer.concat([Buffer.from('T'), Buffer.from(cancel.toString('latin1').replace(/\}$/, '?'), 'latin1')]), // unknown type
      Buffer.from('T'), // empty
      Buffer.concat([Buffer.from('T'), Buffer.from(cancel.toString('latin1').replace(/\}$/, ']'), 'latin1')]), // a list
    ]
    for (const payload of spoiled) await peer.sendRaw(pubFrame('gwf', payload))
    await expectQuiet(conn)
    await answerAndCheck(peer, conn, id, 'twelve')
  })

  test('13: a packet with a field of the wrong tnetstring type is dropped entirely', async () => {
    const { conn, id } = await openSession(gw.port, peer, '/thirteen')
    const base = { from: peer.from, id, seq: 0, code: 200, reason: 'OK', headers: [['X-Bad', 'yes']], body: 'bad' }
    const spoil: { [k: string]: OutValue }[] = [
      { credits: '100' }, // credits as a string
      { credits: { $float: 1.5 } }, // credits as a float
      { credits: -1 }, // negative credits
      { more: 1 }, // more as an integer
      { more: 'true' }, // more as a string
      { seq: '0' }, // seq as a string
      { seq: -1 }, // negative seq
      { code: '200' }, // code as a string
      { code: -200 }, // negative code
      { body: 7 }, // body as an integer
      { body: null }, // body as null
      { reason: 1 }, // reason as an integer
      { from: 12 }, // from as an integer
      { type: 5 }, // type as an integer
      { ext: 'multi' }, // ext as a string
      { id: 5 }, // id as an integer
      { headers: 'X-Bad: yes' }, // headers as a string
      { headers: [{ 'X-Bad': 'yes' }] }, // header entry as a map
      { headers: [['X-Bad']] }, // header entry with one item
      { headers: [[5, 'yes']] }, // header name as an integer
      { headers: [[Buffer.from([0xff, 0x41]), 'yes']] }, // header name not UTF-8
    ]
    for (const s of spoil) await peer.send({ ...base, ...s })
    await expectQuiet(conn)
    // The dropped packets did not consume seq 0.
    await answerAndCheck(peer, conn, id, 'thirteen')
  })

  test('13: a header entry with more than two items is accepted (the first two are used)', async () => {
    // Observed on condure 1.9.1: only entries with fewer than two items are rejected.
    const { conn, id } = await openSession(gw.port, peer, '/thirteen-b')
    await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', headers: [['X-Three', 'a', 'b']], body: 'x' })
    const r = await conn.readResponse()
    expect(r.headers).toEqual([
      ['X-Three', 'a'],
      ['Content-Length', '1'],
    ])
    expect(r.bodyText()).toBe('x')
    conn.close()
  })

  test('14: a response with 65 headers is dropped; a later one with 64 headers works', async () => {
    const { conn, id } = await openSession(gw.port, peer, '/fourteen')
    const headers = (n: number) => Array.from({ length: n }, (_, i) => [`X-H${i}`, `v${i}`])
    await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', headers: headers(65), body: 'too many' })
    await expectQuiet(conn)
    await peer.send({ from: peer.from, id, seq: 0, code: 200, reason: 'OK', headers: headers(64), body: 'fourteen' })
    const r = await conn.readResponse()
    expect(conn.received().length).toBe(r.raw.length)
    expect(r.bodyText()).toBe('fourteen')
    const xh = r.headers.filter(([k]) => k.startsWith('X-H'))
    expect(xh).toEqual(headers(64) as [string, string][])
    conn.close()
  })

  test('15: a packet with more than 128 ids is dropped; 128 ids are accepted', async () => {
    const { conn, id } = await openSession(gw.port, peer, '/fifteen')
    // Unknown ids (slot numbers no connection uses) pad the list around the live session.
    const w = id.split('-')[0]
    const ids = (n: number): OutValue => {
      const list: OutValue[] = [{ id, seq: 0 }]
      for (let i = 1; i < n; i++) list.push({ id: `${w}-${4000 + i}-${i.toString(16)}`, seq: 0 })
      return list
    }
    await peer.send({ from: peer.from, id: ids(129), code: 200, reason: 'OK', body: 'too many ids' })
    await expectQuiet(conn)
    await peer.send({ from: peer.from, id: ids(128), code: 200, reason: 'OK', headers: [['X-Good', 'yes']], body: 'fifteen' })
    const r = await conn.readResponse()
    expect(conn.received().length).toBe(r.raw.length)
    expect(r.bodyText()).toBe('fifteen')
    conn.close()
  })

  test('16: unknown fields (user-data, router-resp, other keys) are ignored and never echoed', async () => {
    const conn = await rawHttp(gw.port, 'POST /sixteen HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc')
    const id = String((await peer.next({ $sock: 'pull', uri: 'http://h/sixteen' })).packet.id)
    const unknown = { 'user-data': { k: 'v' }, 'router-resp': true, 'x-future': [1, 2], ext: { multi: true, zz: 'q' } }
    await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: 100, ...unknown })
    const body = await peer.next({ id, seq: 1 })
    expect(body.sock).toBe('router')
    expect(body.packet.body).toBe('abc')
    for (const k of ['user-data', 'router-resp', 'x-future']) expect(k in body.packet).toBe(false)
    expect(body.packet.ext).toEqual({ multi: true })
    await peer.send({ from: peer.from, id, seq: 1, code: 200, reason: 'OK', body: 'sixteen', ...unknown })
    const r = await conn.readResponse()
    expect(r.bodyText()).toBe('sixteen')
    conn.close()
  })
}
