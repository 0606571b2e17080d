// Session lifecycle towards handlers: sequence numbers, routing by id, handler address
// learning, cancels/errors/disconnects, handoff and shutdown (zhttp.md 4.4-4.12, checklist
// items 52-63, 72). Every behaviour runs against both gateway targets (forEachGateway).
// Timeouts and keep-alives (items 64-71) are in lifecycle-timers.test.ts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, forEachGateway, rawHttp } from '../helpers/harness.ts'
import type { GatewayTarget, Peer, RawConn } from '../helpers/harness.ts'
import { carries, H1, H2, HOOK_TIMEOUT_MS, laterPackets, nonKeepAlive, openSession, QUIET_MS, reply, startEnv, stopEnv } from '../helpers/lifecycle.ts'
import type { Env } from '../helpers/lifecycle.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

forEachGateway('lifecycle', (target) => {
  describe('one handler', () => oneHandlerSuite(target))
  describe('two handlers on one base', () => twoHandlerSuite(target))
})

function oneHandlerSuite(target: GatewayTarget): void {
  let env: Env
  let peer: Peer
  beforeAll(async () => {
    env = await startEnv(target)
    peer = env.peers[0]!
  }, HOOK_TIMEOUT_MS)
  afterAll(() => stopEnv(env), HOOK_TIMEOUT_MS)

  test('52: handler packets without seq are accepted and do not advance the expected seq', async () => {
    const s = await openSession(env, 'noseq')
    await reply(peer, s.id, { code: 200, reason: 'OK', more: true })
    await reply(peer, s.id, { body: 'a', more: true })
    // Two seq-less packets later, seq 0 is still the expected number.
    await reply(peer, s.id, { seq: 0, body: 'b' })
    const r = await s.conn.readResponse()
    expect(r.status).toBe(200)
    expect(r.bodyText()).toBe('ab')
    s.conn.close()
  })

  test('53: a handler seq gap closes the connection without cancel', async () => {
    // Gap on the very first handler packet: no response at all.
    const a = await openSession(env, 'gap-first')
    await reply(peer, a.id, { seq: 1, code: 200, reason: 'OK', body: 'never' })
    await a.conn.waitClosed()
    expect(a.conn.received().length).toBe(0)

    // Gap after the response started: the head stays, nothing after it.
    const b = await openSession(env, 'gap-later')
    await reply(peer, b.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await b.conn.readUntil(/\r\n\r\n$/)
    await reply(peer, b.id, { seq: 2, body: 'skipped' })
    await b.conn.waitClosed()
    expect(b.conn.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n$/)
    await peer.expectNone((p) => p.packet.type === 'cancel' && (carries(p, a.id) || carries(p, b.id)), QUIET_MS)
  })

  test('54: packets for unknown or stale ids are ignored; the real session is unaffected', async () => {
    const conn = await rawHttp(env.port, 'GET /stale-1 HTTP/1.1\r\nHost: h\r\n\r\n')
    const old = String((await peer.next({ $sock: 'pull', uri: 'http://h/stale-1' })).packet.id)
    await reply(peer, old, { seq: 0, code: 200, reason: 'OK', body: 'one' })
    expect((await conn.readResponse()).bodyText()).toBe('one')
    conn.write('GET /stale-2 HTTP/1.1\r\nHost: h\r\n\r\n')
    const id = String((await peer.next({ $sock: 'pull', uri: 'http://h/stale-2' })).packet.id)
    expect(id).not.toBe(old)
    const mark = conn.received().length
    // The previous request's id (same connection slot), then ids no session has.
    await reply(peer, old, { seq: 1, code: 500, reason: 'Stale', body: 'stale' })
    await reply(peer, old, { seq: 0, code: 500, reason: 'Stale', body: 'stale' })
    for (const bogus of ['0-9999-ffffff', '9-0-0', 'not-an-id', `${id}0`]) {
      await reply(peer, bogus, { seq: 0, code: 500, reason: 'Bogus', body: 'bogus' })
    }
    await expect(conn.readUntil(mark + 1, QUIET_MS)).rejects.toThrow(/timed out/)
    await reply(peer, id, { seq: 0, code: 200, reason: 'OK', body: 'two' })
    const r = await conn.readResponse()
    expect(r.status).toBe(200)
    expect(r.bodyText()).toBe('two')
    expect(conn.isClosed).toBe(false)
    conn.close()
  })

  test('56: a handler from of 64 bytes is accepted, 65 bytes closes the session', async () => {
    const ok = await openSession(env, 'from64')
    await peer.send({ from: 'f'.repeat(64), id: ok.id, seq: 0, code: 200, reason: 'OK', body: 'fine' })
    expect((await ok.conn.readResponse()).bodyText()).toBe('fine')
    ok.conn.close()

    const bad = await openSession(env, 'from65')
    await peer.send({ from: 'f'.repeat(65), id: bad.id, seq: 0, code: 200, reason: 'OK', body: 'never' })
    await bad.conn.waitClosed()
    expect(bad.conn.received().length).toBe(0)
    await peer.expectNone({ id: bad.id }, QUIET_MS)
  })

  test('57: a handler cancel closes the client at once, keeping the partial response', async () => {
    const s = await openSession(env, 'hcancel')
    await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await reply(peer, s.id, { seq: 1, body: 'part1', more: true })
    await s.conn.readUntil(/part1\r\n$/)
    await reply(peer, s.id, { seq: 2, type: 'cancel' })
    await s.conn.waitClosed()
    expect(s.conn.text()).toMatch(/\r\n\r\n5\r\npart1\r\n$/) // no terminating 0 chunk
    await peer.expectNone({ id: s.id, type: 'cancel' }, QUIET_MS)
  })

  test('58: a handler error before the response closes the client with no bytes written', async () => {
    const s = await openSession(env, 'herror')
    await reply(peer, s.id, { seq: 0, type: 'error', condition: 'undefined-condition' })
    await s.conn.waitClosed()
    expect(s.conn.received().length).toBe(0)
    await peer.expectNone({ id: s.id, type: 'cancel' }, QUIET_MS)
  })

  test('59: close, ping or an unknown type on an HTTP session closes without cancel', async () => {
    const ids: string[] = []
    for (const type of ['close', 'ping', 'no-such-type']) {
      const s = await openSession(env, `violation-${type}`)
      ids.push(s.id)
      await reply(peer, s.id, { seq: 0, type })
      await s.conn.waitClosed()
      expect(s.conn.received().length).toBe(0)
    }
    // While streaming: the head already written stays, then the close.
    const s = await openSession(env, 'violation-streaming')
    ids.push(s.id)
    await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await s.conn.readUntil(/\r\n\r\n$/)
    await reply(peer, s.id, { seq: 1, type: 'pong' })
    await s.conn.waitClosed()
    expect(s.conn.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n$/)
    await peer.expectNone((p) => p.packet.type === 'cancel' && ids.some((id) => carries(p, id)), QUIET_MS)
  })

  // A disconnect is tested both as a FIN (the client closes its side) and as an RST.
  for (const how of ['FIN', 'RST'] as const) {
    const disconnect = (c: RawConn) => (how === 'FIN' ? c.close() : c.reset())

    test(`60: client disconnect (${how}) during a streamed response sends cancel with the next seq`, async () => {
      const s = await openSession(env, `cdisc-${how}`)
      await reply(peer, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
      await reply(peer, s.id, { seq: 1, body: 'abc', more: true })
      await s.conn.readUntil(/abc\r\n$/)
      const credit = await peer.next({ id: s.id, type: 'credit' })
      expect(credit.packet.credits).toBe(3)
      disconnect(s.conn)
      const cancel = await peer.next({ id: s.id, type: 'cancel' })
      expect(cancel.sock).toBe('router')
      expect(cancel.packet.from).toBe('condure')
      const later = laterPackets(env.peers, s.id)
      expect(later.at(-1)).toBe(cancel)
      await peer.expectNone({ id: s.id }, QUIET_MS)
    })

    test(`61: client disconnect (${how}) before any handler packet: cancel only once the handler speaks`, async () => {
      const s = await openSession(env, `orphan-${how}`)
      disconnect(s.conn)
      await peer.expectNone({ id: s.id }, QUIET_MS)
      await reply(peer, s.id, { seq: 0, type: 'keep-alive' })
      const cancel = await peer.next({ id: s.id, type: 'cancel' })
      expect(cancel.sock).toBe('router')
      expect(laterPackets(env.peers, s.id).at(-1)).toBe(cancel)
      await peer.expectNone({ id: s.id }, QUIET_MS)
    })
  }

  test('62: handoff-start gets handoff-proceed with the next seq, then the session waits for a packet', async () => {
    // A body that arrives during the handoff is neither read nor forwarded until the handler
    // speaks again; then it flows on with the next seq.
    const s = await openSession(env, 'handoff', { method: 'POST', head: 'Content-Length: 10\r\n', body: '0123' })
    expect(s.first.packet.more).toBe(true)
    await reply(peer, s.id, { seq: 0, type: 'credit', credits: 100 })
    const b1 = await peer.next({ id: s.id, $sock: 'router', body: '0123' })
    expect(b1.packet.more).toBe(true)
    await reply(peer, s.id, { seq: 1, type: 'handoff-start' })
    const proceed = await peer.next({ id: s.id, type: 'handoff-proceed' })
    expect(proceed.sock).toBe('router')
    s.conn.write('456789')
    await peer.expectNone(nonKeepAlive(s.id), 2 * QUIET_MS)
    expect(s.conn.received().length).toBe(0)
    await reply(peer, s.id, { seq: 2, type: 'keep-alive' })
    const b2 = await peer.next({ id: s.id, $sock: 'router', body: '456789' })
    expect(b2.packet.more).toBeUndefined()
    const later = laterPackets(env.peers, s.id)
    expect(later.indexOf(b1)).toBeLessThan(later.indexOf(proceed))
    expect(later.indexOf(proceed)).toBeLessThan(later.indexOf(b2))
    await reply(peer, s.id, { seq: 3, code: 200, reason: 'OK', body: 'done' })
    expect((await s.conn.readResponse()).bodyText()).toBe('done')
    s.conn.close()
  })
}

function twoHandlerSuite(target: GatewayTarget): void {
  let env: Env
  let p1: Peer
  let p2: Peer
  beforeAll(async () => {
    // One worker, so a shutdown batch per handler address is one packet (Condure batches per worker).
    // Condure logs its shutdown batches at debug level (used by item 72).
    const args = ['--workers', '1', ...(target.name === 'condure' ? ['--log-level', '3'] : [])]
    env = await startEnv(target, { args, froms: [H1, H2] })
    p1 = env.peers[0]!
    p2 = env.peers[1]!
  }, HOOK_TIMEOUT_MS)
  afterAll(() => stopEnv(env), HOOK_TIMEOUT_MS)

  test('55: later gateway packets go to the from of the most recent handler packet', async () => {
    const s = await openSession(env, 'readdress')
    await reply(p1, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await s.conn.readUntil(/\r\n\r\n$/)
    // handler-2 continues the session with the next seq; from now on it is the addressee.
    await reply(p2, s.id, { seq: 1, body: 'bb', more: true })
    await s.conn.readUntil(/bb\r\n$/)
    const credit = await p2.next({ id: s.id, type: 'credit' })
    expect(credit.packet.credits).toBe(2)
    s.conn.reset() // an RST: the FIN case is item 60's own test
    const cancel = await p2.next({ id: s.id, type: 'cancel' })
    expect(laterPackets(env.peers, s.id).at(-1)).toBe(cancel)
    expect(p1.packets().filter((p) => p.sock === 'router' && carries(p, s.id) && p.packet.type !== 'keep-alive')).toEqual([])
  })

  test('63: after handoff a packet from a second handler makes it the new addressee', async () => {
    const s = await openSession(env, 'handoff2')
    await reply(p1, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
    await reply(p1, s.id, { seq: 1, body: 'aaa', more: true })
    await s.conn.readUntil(/aaa\r\n$/)
    expect((await p1.next({ id: s.id, type: 'credit' })).packet.credits).toBe(3)
    await reply(p1, s.id, { seq: 2, type: 'handoff-start' })
    const proceed = await p1.next({ id: s.id, type: 'handoff-proceed' })
    expect(proceed.sock).toBe('router')
    await p1.expectNone(nonKeepAlive(s.id), QUIET_MS)
    // handler-2 resumes with the next seq; credits and the final cancel now go to it.
    const mark = s.conn.received().length
    await reply(p2, s.id, { seq: 3, body: 'bbbb', more: true })
    await s.conn.readUntil((b) => b.length > mark && /bbbb\r\n$/.test(Buffer.from(b).toString('latin1')))
    expect((await p2.next({ id: s.id, type: 'credit' })).packet.credits).toBe(4)
    s.conn.reset() // an RST: the FIN case is item 60's own test
    const cancel = await p2.next({ id: s.id, type: 'cancel' })
    const later = laterPackets(env.peers, s.id)
    expect(later.at(-1)).toBe(cancel)
    const afterProceed = later.slice(later.indexOf(proceed) + 1)
    expect(afterProceed.length).toBeGreaterThanOrEqual(2)
    const p2Packets = p2.packets()
    expect(afterProceed.every((p) => p2Packets.includes(p))).toBe(true)
  })

  // Last in this suite: it stops the gateway.
  test('72: SIGTERM sends one batched cancel per handler address and closes the clients', async () => {
    const a = await openSession(env, 'term-a')
    const b = await openSession(env, 'term-b')
    const c = await openSession(env, 'term-c')
    for (const [s, p] of [[a, p1], [b, p1], [c, p2]] as const) {
      await reply(p, s.id, { seq: 0, code: 200, reason: 'OK', more: true })
      await s.conn.readUntil(/\r\n\r\n$/)
    }
    expect(await env.gw.stop('SIGTERM')).toBe(0)
    for (const s of [a, b, c]) await s.conn.waitClosed()

    // Condure 1.9.1 queues both batches ("sending cancels for 2 sessions" / "... for 1
    // sessions" at debug level) and exits ~4 ms later; its ZeroMQ messages are then sometimes
    // lost (the second one, or both on a loaded machine: observed). So on condure the log
    // proves both were sent and whatever arrived is checked; zgate must deliver both.
    const strict = target.name === 'zgate'
    const cancelOn = (p: Peer) => p.next({ $sock: 'router', type: 'cancel' }, strict ? 5000 : 1000).catch((e) => {
      if (strict) throw e
      return undefined
    })
    const batch = await cancelOn(p1)
    const single = await cancelOn(p2)
    if (!strict) {
      const lines = env.gw.lines()
      expect(lines.some((l) => /sending cancels for 2 sessions$/.test(l))).toBe(true)
      expect(lines.some((l) => /sending cancels for 1 sessions$/.test(l))).toBe(true)
    }
    if (batch) {
      expect(batch.packet.from).toBe('condure')
      expect(batch.packet.seq).toBeUndefined()
      expect(batch.packet.ext).toEqual({ multi: true })
      const listed = batch.packet.id as { id: string; seq: number }[]
      expect(Array.isArray(listed)).toBe(true)
      expect(listed.map((e) => e.id).sort()).toEqual([a.id, b.id].sort())
      for (const s of [a, b]) expect(laterPackets(env.peers, s.id).at(-1)).toBe(batch)
    }
    if (single) {
      expect(single.packet.id).toBe(c.id)
      expect(single.packet.from).toBe('condure')
      expect(single.packet.ext).toEqual({ multi: true })
      expect(laterPackets(env.peers, c.id).at(-1)).toBe(single)
    }
    await p1.expectNone({ type: 'cancel' }, QUIET_MS)
    await p2.expectNone({ type: 'cancel' }, 0)
  })
}
