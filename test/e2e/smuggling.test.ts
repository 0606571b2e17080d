// The request-smuggling corpus (issue 10; vectors in test/helpers/smuggling-vectors.ts): each
// vector's bytes go to a running gateway over one real socket, in one write, with an
// independent handler peer behind it. The handler must see exactly the vector's requests
// (method, uri, de-chunked body), answering each with a 200 whose body names it; then the
// client gets the vector's refusal status and the close, or stays served. A pipelined request
// after each refused vector must never reach the handler. zgate runs every vector; condure
// runs the ones where it shows the handler the same (it refuses by closing, without a status).

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { bytesOf, cleanup, freePort, gatewayTargets, rawHttp, sleep, startGateway, startPeer, tmpDir } from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, Peer, PeerPacket, RawConn } from '../helpers/harness.ts'
import { AFTER, VECTORS } from '../helpers/smuggling-vectors.ts'
import type { Vector } from '../helpers/smuggling-vectors.ts'

const HOOK_TIMEOUT_MS = 30_000
/** Far below the 60 s head timeout: a refusal must come from the bytes, not from a timer. */
const WAIT_MS = 4_000
/** How long "nothing more reaches the handler" is watched. */
const QUIET_MS = 250
const BODY_CREDITS = 1 << 16

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

interface Env {
  target: GatewayTarget
  gw: Gateway
  peer: Peer
}

const isFirstPacket = (p: PeerPacket): boolean => p.sock === 'pull'

/** The session's ROUTER packets, read from the peer's history (see request-body.test.ts). */
function routerPackets(peer: Peer, id: string): PeerPacket[] {
  return peer.packets().filter((p) => p.sock === 'router' && p.packet.id === id && p.packet.type !== 'keep-alive')
}

/** Grants credits, then collects body bytes until the last body packet or a cancel. */
async function readBody(peer: Peer, id: string): Promise<{ body: string; cancelled: boolean }> {
  await peer.send({ from: peer.from, id, seq: 0, type: 'credit', credits: BODY_CREDITS })
  const deadline = Date.now() + WAIT_MS
  let body = ''
  for (let taken = 0; ; ) {
    const all = routerPackets(peer, id)
    if (taken < all.length) {
      const p = all[taken++]!
      if (p.packet.type === 'cancel') return { body, cancelled: true }
      expect(p.packet.type).toBeUndefined()
      if (p.packet.body !== undefined) body += Buffer.from(bytesOf(p.packet.body)).toString('latin1')
      if (p.packet.more !== true) return { body, cancelled: false }
      continue
    }
    if (Date.now() > deadline) throw new Error(`no end of body for ${id}; got ${JSON.stringify(body)}`)
    await sleep(5)
  }
}

/** Runs one vector and checks every outcome it names. */
async function run(env: Env, v: Vector): Promise<void> {
  const zgate = env.target.name === 'zgate'
  const bytes = v.status !== undefined && v.alone !== true ? v.bytes + AFTER : v.bytes
  // A failed vector may leave first packets queued: drop them so that each vector stands alone.
  while (env.peer.queued().some(isFirstPacket)) await env.peer.next(isFirstPacket, WAIT_MS)
  const conn: RawConn = await rawHttp(env.gw.port, Buffer.from(bytes, 'latin1'))
  try {
    for (const [i, want] of v.seen.entries()) {
      const first = await env.peer.next(isFirstPacket, WAIT_MS)
      expect(first.packet.method).toBe(want.method)
      expect(first.packet.uri).toBe(want.uri)
      const id = String(first.packet.id)
      const hasBody = first.packet.more === true
      const got = hasBody ? await readBody(env.peer, id) : { body: '', cancelled: false }
      if (want.aborted) {
        // the framing broke: a cancel, after at most a prefix of the chunk data
        expect(got.cancelled).toBe(true)
        expect(want.body.startsWith(got.body)).toBe(true)
        break
      }
      expect(got).toEqual({ body: want.body, cancelled: false })
      const answer = `r${i}`
      await env.peer.send({ from: env.peer.from, id, seq: hasBody ? 1 : 0, code: 200, reason: 'OK', headers: [], body: answer })
      const r = await conn.readResponse(WAIT_MS)
      expect(r.status).toBe(200)
      expect(r.bodyText()).toBe(answer)
    }
    if (v.status !== undefined) {
      if (zgate) {
        const r = await conn.readResponse(WAIT_MS)
        expect(r.status).toBe(v.status)
        expect(r.header('connection')).toBe('close')
      }
      const served = conn.received().length
      await conn.waitClosed(WAIT_MS)
      // nothing after the refusal (condure: after the last 200)
      expect(conn.received().length).toBe(served)
    } else if (v.closes) {
      await conn.waitClosed(WAIT_MS)
    }
    // nothing else reached the handler: no smuggled or pipelined request
    await env.peer.expectNone(isFirstPacket, QUIET_MS)
    if (v.status === undefined && v.closes !== true) expect(conn.isClosed).toBe(false)
  } finally {
    conn.close()
  }
}

for (const target of gatewayTargets()) {
  const vectors = target.name === 'zgate' ? VECTORS : VECTORS.filter((v) => v.condureDiffers === undefined)
  if (target.skipReason) {
    describe.skip(`smuggling corpus against ${target.name} (${target.skipReason})`, () => {
      test('skipped', () => {})
    })
    continue
  }
  describe(`smuggling corpus against ${target.name}`, () => {
    const env = {} as Env

    beforeAll(async () => {
      const dir = tmpDir()
      env.target = target
      env.gw = await startGateway({
        cmd: target.cmd,
        args: ['--listen', `127.0.0.1:${freePort()},stream`, '--zclient-stream', `ipc://${dir}/zs`],
      })
      env.peer = await startPeer({ base: `ipc://${dir}/zs` })
      await env.peer.waitLinked()
    }, HOOK_TIMEOUT_MS)

    afterAll(async () => {
      await env.peer?.stop()
      await env.gw?.stop()
    }, HOOK_TIMEOUT_MS)

    for (const v of vectors) {
      const outcome = v.status === undefined ? `served ${v.seen.length}` : `${v.seen.length} seen, then ${target.name === 'zgate' ? v.status : 'closed'}`
      test(`${v.name}: ${outcome}`, () => run(env, v))
    }

    test('the gateway still serves afterwards', () =>
      run(env, { name: 'plain GET', bytes: AFTER, seen: [{ method: 'GET', uri: 'http://h/after', body: '' }] }))
  })
}
