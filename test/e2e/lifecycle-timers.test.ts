// Session lifecycle timers towards handlers (zhttp.md 4.8, 4.9; checklist items 64-71): the
// stream timeout against both gateway targets (forEachGateway); Condure's 60 s session
// timeout and 45 s keep-alive interval cannot be shortened, so those items run on zgate only
// with ZGATE_SESSION_TIMEOUT_MS / ZGATE_KEEP_ALIVE_INTERVAL_MS. The rest of the lifecycle is
// in lifecycle.test.ts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, forEachGateway, rawHttp, sleep } from '../helpers/harness.ts'
import type { GatewayTarget, Peer, PeerPacket } from '../helpers/harness.ts'
import { carries, HOOK_TIMEOUT_MS, laterPackets, nonKeepAlive, openSession, QUIET_MS, reply, startEnv, stopEnv, timeClose } from '../helpers/lifecycle.ts'
import type { Env } from '../helpers/lifecycle.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

forEachGateway('lifecycle', (target) => {
  describe('--stream-timeout 2', () => streamTimeoutSuite(target))
  if (target.name === 'zgate') {
    describe('shortened session timeout (zgate only)', () => sessionTimeoutSuite(target))
    describe('shortened keep-alive interval (zgate only)', () => keepAliveSuite(target))
  }
})

function streamTimeoutSuite(target: GatewayTarget): void {
  let env: Env
  let peer: Peer
  beforeAll(async () => {
    env = await startEnv(target, { args: ['--stream-timeout', '2'] })
    peer = env.peers[0]!
  }, HOOK_TIMEOUT_MS)
  afterAll(() => stopEnv(env), HOOK_TIMEOUT_MS)

  test('69: an idle streaming response is closed after the stream timeout', async () => {
    const s = await openSession(env, 'idle-stream')
    await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await s.conn.readUntil(/\r\n\r\n$/)
    const t0 = performance.now()
    const took = await timeClose(s.conn, t0)
    expect(took).toBeGreaterThan(1500)
    expect(took).toBeLessThan(6000)
    expect(s.conn.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n$/)
    if (target.name === 'zgate') {
      // Condure 1.10.1 cancels on a stream timeout (zhttp.md Appendix A); 1.9.1 does not.
      const cancel = await peer.next({ id: s.id, type: 'cancel' })
      expect(laterPackets(env.peers, s.id).at(-1)).toBe(cancel)
    } else {
      await peer.expectNone({ id: s.id, type: 'cancel' }, QUIET_MS)
    }
  })

  test('70: a partial request head is closed after the stream timeout (408 on zgate)', async () => {
    const conn = await rawHttp(env.port, 'GET /partial HTTP/1.1\r\nHost: h\r\n')
    const t0 = performance.now()
    if (target.name === 'zgate') {
      const r = await conn.readResponse(8000)
      expect(r.status).toBe(408)
      expect(r.header('connection')).toBe('close')
    }
    const took = await timeClose(conn, t0)
    expect(took).toBeGreaterThan(1500)
    expect(took).toBeLessThan(6000)
    if (target.name === 'condure') expect(conn.received().length).toBe(0)
    await peer.expectNone(nonKeepAlive(), QUIET_MS)
  })

  test('71: an idle kept-alive connection is closed after the stream timeout', async () => {
    const s = await openSession(env, 'idle-keepalive')
    await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', body: 'x' })
    const r = await s.conn.readResponse()
    expect(r.header('connection')).toBeUndefined()
    const t0 = performance.now()
    const took = await timeClose(s.conn, t0)
    expect(took).toBeGreaterThan(1500)
    expect(took).toBeLessThan(6000)
    expect(s.conn.received().length).toBe(r.raw.length)
  })
}

// Condure's session timeout is a fixed 60 s: tested on zgate with ZGATE_SESSION_TIMEOUT_MS.
function sessionTimeoutSuite(target: GatewayTarget): void {
  const TIMEOUT_MS = 1500
  let env: Env
  let peer: Peer
  beforeAll(async () => {
    env = await startEnv(target, { env: { ZGATE_SESSION_TIMEOUT_MS: String(TIMEOUT_MS) } })
    peer = env.peers[0]!
  }, HOOK_TIMEOUT_MS)
  afterAll(() => stopEnv(env), HOOK_TIMEOUT_MS)

  test('66: a silent handler is timed out without cancel; an unstarted response gets 504', async () => {
    const started = await openSession(env, 'silent-started')
    await reply(peer, started.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await started.conn.readUntil(/\r\n\r\n$/)
    const t0 = performance.now()
    const unstarted = await openSession(env, 'silent-unstarted')
    const spoke = await openSession(env, 'silent-credit-only')
    await reply(peer, spoke.id, { seq: 0, type: 'credit', credits: 10 })

    const took = await timeClose(started.conn, t0)
    expect(took).toBeGreaterThan(TIMEOUT_MS - 300)
    expect(took).toBeLessThan(TIMEOUT_MS + 4000)
    expect(started.conn.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n$/)
    for (const s of [unstarted, spoke]) {
      const r = await s.conn.readResponse(TIMEOUT_MS + 4000)
      expect(r.status).toBe(504)
      expect(r.header('connection')).toBe('close')
      await s.conn.waitClosed()
    }
    await peer.expectNone((p) => p.packet.type === 'cancel', QUIET_MS)
  })

  test('67: an idle kept-alive connection is closed after the session timeout', async () => {
    const s = await openSession(env, 'idle-ka')
    await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', body: 'x' })
    const r = await s.conn.readResponse()
    const t0 = performance.now()
    const took = await timeClose(s.conn, t0)
    expect(took).toBeGreaterThan(TIMEOUT_MS - 300)
    expect(took).toBeLessThan(TIMEOUT_MS + 4000)
    expect(s.conn.received().length).toBe(r.raw.length)
  })

  test('68: handler keep-alives more often than the session timeout keep a stream open', async () => {
    const s = await openSession(env, 'kept')
    await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await s.conn.readUntil(/\r\n\r\n$/)
    let seq = 1
    const until = performance.now() + 2.5 * TIMEOUT_MS
    while (performance.now() < until) {
      await sleep(TIMEOUT_MS / 3)
      await reply(peer, s.id, { seq: seq++, type: 'keep-alive' })
      expect(s.conn.isClosed).toBe(false)
    }
    await reply(peer, s.id, { seq, body: 'end' })
    const r = await s.conn.readResponse()
    expect(r.bodyText()).toBe('end')
    expect(s.conn.isClosed).toBe(false)
    s.conn.close()
  })
}

// Condure's keep-alive interval is a fixed 45 s: tested on zgate with ZGATE_KEEP_ALIVE_INTERVAL_MS.
function keepAliveSuite(target: GatewayTarget): void {
  let env: Env
  let peer: Peer
  beforeAll(async () => {
    env = await startEnv(target, { env: { ZGATE_KEEP_ALIVE_INTERVAL_MS: '1000' } })
    peer = env.peers[0]!
  }, HOOK_TIMEOUT_MS)
  afterAll(() => stopEnv(env), HOOK_TIMEOUT_MS)

  const isKa = (p: PeerPacket) => p.sock === 'router' && p.packet.type === 'keep-alive'

  test('64: keep-alives for sessions of one handler arrive batched with an id list', async () => {
    const a = await openSession(env, 'ka-a')
    const b = await openSession(env, 'ka-b')
    for (const s of [a, b]) await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    const batch = await peer.next((p) => isKa(p) && carries(p, a.id) && carries(p, b.id), 5000)
    expect(batch.packet.from).toBe('condure')
    expect(batch.packet.ext).toEqual({ multi: true })
    expect(batch.packet.seq).toBeUndefined()
    expect(Array.isArray(batch.packet.id)).toBe(true)
    expect((batch.packet.id as unknown[]).length).toBe(2)
    // Each listed seq continues its own session's numbering.
    for (const s of [a, b]) {
      s.conn.reset() // an RST: the FIN case is item 60's own test
      const cancel = await peer.next({ id: s.id, type: 'cancel' })
      const later = laterPackets(env.peers, s.id)
      expect(later).toContain(batch)
      expect(later.at(-1)).toBe(cancel)
    }
  })

  test('65: a keep-alive batch for a single session uses plain id and seq', async () => {
    const s = await openSession(env, 'ka-single')
    await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    const ka = await peer.next((p) => isKa(p) && carries(p, s.id), 5000)
    expect(ka.packet.id).toBe(s.id)
    expect(typeof ka.packet.seq).toBe('number')
    expect(ka.packet.from).toBe('condure')
    expect(ka.packet.ext).toEqual({ multi: true })
    s.conn.reset() // an RST: the FIN case is item 60's own test
    await peer.next({ id: s.id, type: 'cancel' })
    laterPackets(env.peers, s.id)
  })
}
