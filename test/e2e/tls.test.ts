// TLS listeners (zhttp.md 7.2, 7.3; checklist 19, 138-140; issue 5 part 1), against both
// gateways with the same identities directory (test/fixtures/tls): the certificate chosen by
// SNI, the `_` wildcard, default-cert, https:// and wss:// uris, keep-alive, a streamed
// response under credits with a client that stops reading, req mode. Clients: Node's `tls`
// module (OpenSSL), curl, and the `ws` package for wss.
// zgate only: start-up errors for missing or bad certificates, reloading a rotated identity,
// the handshake failure counter, `--workers 2`, TLS on a unix socket, and a client that never
// sends a ClientHello.

import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cleanup, failingStart, forEachGateway, freePort, rawHttp, sleep, startGateway, startPeer, startStack, tmpDir } from '../helpers/harness.ts'
import type { GatewayTarget, Stack } from '../helpers/harness.ts'
import { CreditWatch, HandlerSession, pattern } from '../helpers/response.ts'
import { answer, ok } from '../helpers/req-mode.ts'
import { curlTls, nodeTls, ROTATED_IDENTITIES, TEST_CA, TEST_IDENTITIES } from '../helpers/tls-client.ts'
import { eventBytes, startWsLib } from '../helpers/ws-lib.ts'
import { echoHandler, HandlerSession as WsHandlerSession } from '../helpers/ws-session.ts'

setDefaultTimeout(60_000)
afterAll(cleanup, 30_000)

/** Streamed response size and packet size (the handler follows the gateway's credits). */
const STREAM_BYTES = 1 << 20
const STREAM_PACKET_BYTES = 8192
/** How long the client reads nothing, so the gateway's TLS writes back up. */
const CLIENT_PAUSE_MS = 700
/** zgate re-stats an identity's files at most once a second (tls/identities.ts). */
const RELOAD_WAIT_MS = 1_300

const closeReq = (path: string, host = 'localhost') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`

/** A gateway with one TLS stream listener (`params` after `tls`) and a linked peer. */
function startTls(
  target: GatewayTarget,
  o: { params?: string; auto?: boolean; identities?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<Stack> {
  return startStack(target, {
    listen: [`stream,tls${o.params ?? ''}`],
    args: ['--tls-identities-dir', o.identities ?? TEST_IDENTITIES, ...(o.args ?? [])],
    env: o.env,
    peers: [{ auto: o.auto === false ? undefined : 'hello' }],
  })
}

async function stopEnv(e: Stack): Promise<void> {
  expect(await e.stop()).toBe(0)
}

/** Node's error code for the alert each gateway sends when it has no certificate to offer. */
function noCertCode(target: GatewayTarget): string {
  // Condure (rustls) sends unrecognized_name; Bun's TLS layer can only send internal_error.
  return target.name === 'condure' ? 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' : 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR'
}

forEachGateway('tls', (target) => {
  test('138, 19: SNI localhost gets localhost.crt (Node tls, curl, any letter case); uri is https://', async () => {
    const e = await startTls(target)
    const r = await nodeTls({ port: e.port, servername: 'localhost', request: closeReq('/node') })
    expect([r.ok, r.authorized, r.cn]).toEqual([true, true, 'localhost'])
    expect(r.head).toStartWith('HTTP/1.1 200 OK\r\n')
    expect(r.head).toEndWith('hello world\n')
    const first = await e.peer.next({ $sock: 'pull', uri: 'https://localhost/node' })
    expect(first.packet['peer-address']).toBe('127.0.0.1')
    expect(first.packet.stream).toBe(true)

    const c = await curlTls('localhost', e.port, '/curl?q=1')
    expect([c.code, c.status, c.body]).toEqual([0, 200, 'hello world\n'])
    await e.peer.next({ $sock: 'pull', uri: `https://localhost:${e.port}/curl?q=1` })

    const upper = await nodeTls({ port: e.port, servername: 'LocalHost', request: closeReq('/upper') })
    expect([upper.ok, upper.authorized, upper.cn]).toEqual([true, true, 'localhost'])
    await stopEnv(e)
  })

  test('139, 140: www.example.com uses _.example.com; a.b.example.com and no SNI fail without a default', async () => {
    const e = await startTls(target)
    const www = await nodeTls({ port: e.port, servername: 'www.example.com', request: closeReq('/w', 'www.example.com') })
    expect([www.ok, www.authorized, www.cn]).toEqual([true, true, '*.example.com'])
    await e.peer.next({ $sock: 'pull', uri: 'https://www.example.com/w' })

    const deep = await nodeTls({ port: e.port, servername: 'a.b.example.com', caFile: null, request: closeReq('/deep') })
    expect([deep.ok, deep.secure, deep.code]).toEqual([false, false, noCertCode(target)])
    const none = await nodeTls({ port: e.port, caFile: null, request: closeReq('/none') })
    expect([none.ok, none.secure, none.code]).toEqual([false, false, noCertCode(target)])
    const curlNone = await curlTls('127.0.0.1', e.port, '/none', '127.0.0.1', ['-k'])
    expect(curlNone.code).toBe(35) // CURLE_SSL_CONNECT_ERROR
    // Nothing of the failed handshakes reached the handler; the gateway still serves.
    const again = await curlTls('localhost', e.port, '/again')
    expect([again.code, again.body]).toEqual([0, 'hello world\n'])
    await e.peer.next({ $sock: 'pull', uri: `https://localhost:${e.port}/again` })
    expect(e.peer.queued().filter((p) => p.sock === 'pull')).toEqual([])
    await stopEnv(e)
  })

  test('140: default-cert serves clients without SNI and names without a match', async () => {
    const e = await startTls(target, { params: ',default-cert=default' })
    // default.crt names 127.0.0.1: a client without SNI verifies it by address.
    const none = await nodeTls({ port: e.port, request: closeReq('/none', '127.0.0.1') })
    expect([none.ok, none.authorized, none.cn]).toEqual([true, true, 'default.test'])
    const curlNone = await curlTls('127.0.0.1', e.port, '/curl-none')
    expect([curlNone.code, curlNone.status, curlNone.body]).toEqual([0, 200, 'hello world\n'])
    const deep = await nodeTls({ port: e.port, servername: 'a.b.example.com', caFile: null, request: closeReq('/deep') })
    expect([deep.ok, deep.cn]).toEqual([true, 'default.test'])
    // A name with a '/' is never looked up as a file (zhttp.md 7.3): the default answers.
    const slash = await nodeTls({ port: e.port, servername: 'x/localhost', caFile: null, request: closeReq('/slash') })
    expect([slash.ok, slash.cn]).toEqual([true, 'default.test'])
    const named = await nodeTls({ port: e.port, servername: 'localhost', request: closeReq('/named') })
    expect([named.ok, named.authorized, named.cn]).toEqual([true, true, 'localhost'])
    for (const path of ['/none', '/curl-none', '/deep', '/slash', '/named']) {
      const p = await e.peer.next({ $sock: 'pull' })
      expect(String(p.packet.uri)).toStartWith('https://')
      expect(String(p.packet.uri)).toEndWith(path)
    }
    await stopEnv(e)
  })

  test('keep-alive: two pipelined requests on one TLS connection, both https://', async () => {
    const e = await startTls(target)
    const r = await nodeTls({
      port: e.port,
      servername: 'localhost',
      request: 'GET /k1 HTTP/1.1\r\nHost: localhost\r\n\r\n' + closeReq('/k2'),
    })
    expect(r.ok).toBe(true)
    expect(r.head?.split('HTTP/1.1 200 OK').length).toBe(3)
    expect(r.head?.split('hello world\n').length).toBe(3)
    const a = await e.peer.next({ $sock: 'pull', uri: 'https://localhost/k1' })
    const b = await e.peer.next({ $sock: 'pull', uri: 'https://localhost/k2' })
    expect(a.packet.id).not.toBe(b.packet.id)
    await stopEnv(e)
  })

  test(`a ${STREAM_BYTES}-byte streamed response under credits, to a TLS client that pauses reading`, async () => {
    const e = await startTls(target, { auto: false })
    const done = nodeTls({ port: e.port, servername: 'localhost', request: closeReq('/stream'), pauseMs: CLIENT_PAUSE_MS, timeoutMs: 30_000 })
    const first = await e.peer.next({ $sock: 'pull', uri: 'https://localhost/stream' })
    const hs = new HandlerSession(e.peer, first)
    const credits = new CreditWatch(e.peer, hs.id)
    const body: Uint8Array[] = []
    await hs.send({ code: 200, reason: 'OK', headers: [['Content-Length', String(STREAM_BYTES)]], more: true })
    let sent = 0
    let allowed = Number(first.packet.credits)
    while (sent < STREAM_BYTES) {
      while (allowed - sent < STREAM_PACKET_BYTES) {
        const n = await credits.take(10_000)
        if (n === 0) throw new Error(`no credit after ${sent} bytes`)
        allowed += n
      }
      const chunk = pattern(STREAM_PACKET_BYTES, sent / STREAM_PACKET_BYTES)
      body.push(chunk)
      sent += chunk.length
      await hs.send({ body: chunk, more: sent < STREAM_BYTES })
    }
    const r = await done
    expect(r.ok).toBe(true)
    const head = (r.head ?? '').slice(0, (r.head ?? '').indexOf('\r\n\r\n') + 4)
    expect(head).toStartWith('HTTP/1.1 200 OK\r\n')
    expect(r.bytes).toBe(head.length + STREAM_BYTES)
    const h = new Bun.CryptoHasher('sha1').update(Buffer.from(head, 'latin1'))
    for (const c of body) h.update(c)
    expect(r.sha1).toBe(h.digest('hex'))
    await stopEnv(e)
  })

  test('wss: a WebSocket upgrade on a TLS listener has a wss:// uri; messages echo both ways', async () => {
    const e = await startTls(target, { auto: false })
    const client = await startWsLib(`wss://127.0.0.1:${e.port}/ws`, { caFile: TEST_CA, servername: 'localhost', perMessageDeflate: false })
    const first = await e.peer.next({ $sock: 'pull', uri: `wss://127.0.0.1:${e.port}/ws` })
    const hs = new WsHandlerSession(e.peer, first)
    await hs.accept()
    const echo = echoHandler(hs)
    expect((await client.next('open')).status).toBe(101)
    client.send('over tls ✓')
    expect(new TextDecoder().decode(eventBytes(await client.next('message')))).toBe('over tls ✓')
    client.close(1000, 'bye')
    expect(await echo).toBe('close')
    // Condure 1.9.1 never delivers the handler's close frame over TLS (observed: the client
    // waits until its own close timeout); zgate completes the close handshake.
    if (target.name === 'zgate') expect(await client.next('close')).toMatchObject({ code: 1000, reason: 'bye' })
    await client.stop()
    await stopEnv(e)
  })

  test('req mode on a TLS listener: uri https://, the reply written back', async () => {
    const e = await startStack(target, { listen: ['req,tls'], args: ['--tls-identities-dir', TEST_IDENTITIES], peers: [], reqPeer: 'router' })
    const { peer, port } = e
    const done = curlTls('localhost', port, '/req')
    const pk = await peer.next({ $sock: 'req', uri: `https://localhost:${port}/req` })
    await answer(peer, pk, ok('req over tls'))
    const c = await done
    expect([c.code, c.status, c.body]).toEqual([0, 200, 'req over tls'])
    await stopEnv(e)
  })

  if (target.name !== 'zgate') return

  test('start-up: a missing dir, a missing default-cert or a pair that does not load is one [ERR] line, exit 1', async () => {
    const dir = tmpDir()
    const base = ['--zclient-stream', `ipc://${dir}/zs`]
    const listen = (p: string) => ['--listen', `127.0.0.1:${freePort()},stream,tls${p}`]
    const missingDir = await failingStart(target, [...listen(''), '--tls-identities-dir', join(dir, 'nope'), ...base])
    expect(missingDir.code).toBe(1)
    expect(missingDir.out).toMatch(/\[ERR\] .* failed to read tls identities dir .*nope: /)

    const noDefault = await failingStart(target, [...listen(',default-cert=absent'), '--tls-identities-dir', TEST_IDENTITIES, ...base])
    expect(noDefault.code).toBe(1)
    expect(noDefault.out).toMatch(/\[ERR\] .* failed to load tls identity absent: .*absent\.crt and absent\.key are needed \(default-cert\)/)

    const bad = join(dir, 'bad')
    mkdirSync(bad)
    copyFileSync(join(TEST_IDENTITIES, 'localhost.crt'), join(bad, 'localhost.crt'))
    copyFileSync(join(TEST_IDENTITIES, 'default.key'), join(bad, 'localhost.key'))
    const mismatch = await failingStart(target, [...listen(''), '--tls-identities-dir', bad, ...base])
    expect(mismatch.code).toBe(1)
    expect(mismatch.out).toMatch(/\[ERR\] .* failed to load tls identity localhost: .*localhost\.crt: .*KEY_VALUES_MISMATCH/)

    writeFileSync(join(bad, 'localhost.crt'), 'not a certificate\n')
    const garbage = await failingStart(target, [...listen(''), '--tls-identities-dir', bad, ...base])
    expect(garbage.code).toBe(1)
    expect(garbage.out).toMatch(/\[ERR\] .* failed to load tls identity localhost: .*NO_START_LINE/)
    // Nothing was left listening or bound.
    for (const r of [missingDir, noDefault, mismatch, garbage]) expect(r.out).not.toMatch(/\] started$/m)
  })

  test('an identity replaced on disk is served to new connections without a restart', async () => {
    const ids = join(tmpDir(), 'ids')
    mkdirSync(ids)
    for (const f of ['localhost.crt', 'localhost.key']) copyFileSync(join(TEST_IDENTITIES, f), join(ids, f))
    const e = await startTls(target, { identities: ids })
    const before = await nodeTls({ port: e.port, servername: 'localhost', request: closeReq('/before') })
    expect([before.ok, before.cn]).toEqual([true, 'localhost'])
    // Rotate: the key first, then the certificate (a mismatched moment in between).
    const mark = e.gw.mark()
    copyFileSync(join(ROTATED_IDENTITIES, 'localhost.key'), join(ids, 'localhost.key'))
    copyFileSync(join(ROTATED_IDENTITIES, 'localhost.crt'), join(ids, 'localhost.crt'))
    const later = new Date(Date.now() + 2_000)
    utimesSync(join(ids, 'localhost.crt'), later, later)
    await sleep(RELOAD_WAIT_MS)
    const after = await nodeTls({ port: e.port, servername: 'localhost', request: closeReq('/after') })
    expect([after.ok, after.authorized, after.cn]).toEqual([true, true, 'localhost rotated'])
    await e.gw.waitForLine(/\[INFO\] .* tls identity localhost reloaded from .*localhost\.crt$/, 5_000, mark)
    await stopEnv(e)
  })

  test('failed handshakes are counted in --stats; a plain HTTP request on the TLS port is closed', async () => {
    const statsPort = freePort()
    const e = await startTls(target, { args: ['--stats', `127.0.0.1:${statsPort}`] })
    const failures = async () => {
      const text = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text()
      return Number(/^zgate_tls_handshake_failures_total (\d+)$/m.exec(text)?.[1] ?? NaN)
    }
    const open = async () => {
      const text = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text()
      return Number(/^zgate_connections_open\{mode="stream"\} (\d+)$/m.exec(text)?.[1] ?? NaN)
    }
    const start = await failures()
    expect(start).toBeGreaterThanOrEqual(0)
    await nodeTls({ port: e.port, servername: 'nothing.test', caFile: null, request: closeReq('/x') })
    const plain = await rawHttp(e.port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
    const closed = await plain.waitClosed(5_000)
    expect(closed).toBeDefined()
    expect(await failures()).toBe(start + 2)
    expect(await open()).toBe(0) // the failed handshakes gave their slots back
    const good = await curlTls('localhost', e.port, '/good')
    expect(good.body).toBe('hello world\n')
    expect(await failures()).toBe(start + 2)
    await stopEnv(e)
  })

  test('a full gateway closes a TLS client before its handshake, then serves once a slot is free', async () => {
    const e = await startTls(target, { args: ['--stream-maxconn', '1', '--workers', '1'] })
    // The holder takes the one slot at accept, before any handshake. The readiness probe's
    // connection may still hold it for a moment: a refused holder is closed at once, so retry.
    let holder = await rawHttp(e.port)
    for (let i = 0; i < 20; i++) {
      await sleep(100)
      if (!holder.isClosed) break
      holder = await rawHttp(e.port)
    }
    expect(holder.isClosed).toBe(false)
    const refused = await nodeTls({ port: e.port, servername: 'localhost', request: closeReq('/full') })
    expect([refused.ok, refused.secure]).toEqual([false, false])
    holder.close()
    await holder.waitClosed(5_000)
    let served = await curlTls('localhost', e.port, '/free')
    // The slot is free once the gateway has seen the holder's close: retry briefly.
    for (let i = 0; i < 20 && served.code !== 0; i++) {
      await sleep(50)
      served = await curlTls('localhost', e.port, '/free')
    }
    expect([served.code, served.body]).toEqual([0, 'hello world\n'])
    expect(e.peer.packets().filter((p) => p.sock === 'pull').map((p) => p.packet.uri)).toEqual([`https://localhost:${e.port}/free`])
    await stopEnv(e)
  })

  test('--workers 2: TLS connections on both workers, each response on its own connection', async () => {
    const e = await startTls(target, { args: ['--workers', '2'] })
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => nodeTls({ port: e.port, servername: 'localhost', request: closeReq(`/w${i}`) })),
    )
    for (const r of results) expect([r.ok, r.cn, r.head?.endsWith('hello world\n')]).toEqual([true, 'localhost', true])
    const workers = new Set(e.peer.packets().filter((p) => p.sock === 'pull').map((p) => String(p.packet.id).split('-')[0]))
    expect([...workers].sort()).toEqual(['0', '1'])
    await stopEnv(e)
  })

  test('TLS on a unix-socket listener', async () => {
    const dir = tmpDir()
    const path = join(dir, 'tls.sock')
    const base = `ipc://${dir}/zs`
    const gw = await startGateway({
      cmd: target.cmd,
      args: ['--listen', `${path},local,stream,tls`, '--tls-identities-dir', TEST_IDENTITIES, '--zclient-stream', base],
    })
    const peer = await startPeer({ base, auto: 'hello' })
    await peer.waitLinked()
    const c = await curlTls('localhost', 443, '/ux', '127.0.0.1', ['--unix-socket', path])
    expect([c.code, c.status, c.body]).toEqual([0, 200, 'hello world\n'])
    const first = await peer.next({ $sock: 'pull', uri: 'https://localhost/ux' })
    expect(first.packet['peer-address']).toBeUndefined()
    await peer.stop()
    expect(await gw.stop()).toBe(0)
  })

  test('a client that connects and never says hello is closed by the session timer', async () => {
    const e = await startTls(target, { env: { ZGATE_SESSION_TIMEOUT_MS: '800' } })
    const silent = await rawHttp(e.port)
    const t0 = Date.now()
    expect(await silent.waitClosed(5_000)).toBeDefined()
    expect(Date.now() - t0).toBeLessThan(4_000)
    const good = await curlTls('localhost', e.port, '/after-silent')
    expect(good.body).toBe('hello world\n')
    await stopEnv(e)
  })
})
