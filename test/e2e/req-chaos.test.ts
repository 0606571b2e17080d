// Chaos in req mode: random and mutated client input (the client cases of chaos.test.ts,
// test/helpers/chaos.ts) and a handler that mixes bad replies — no delimiter, too many
// envelope frames, junk payloads, wrong ids, non-data packets — into its answers. zgate must
// end every exchange with a response or a close within the req timeout, never hang, cross
// replies between clients, lose a body or crash; afterwards the same process still serves.
//
// zgate only, like chaos.test.ts: this is about zgate's robustness (req-mode.test.ts holds
// the comparisons with condure). CHAOS_SEED=<n> picks another seed.

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { bytesOf, cleanup, forEachGateway, rawHttp, startStack } from '../helpers/harness.ts'
import type { Gateway, Peer, PeerPacket } from '../helpers/harness.ts'
import { checkReceived, makeClientCase, playClientCase, Rng, show } from '../helpers/chaos.ts'
import type { ClientCase } from '../helpers/chaos.ts'
import { tnMap } from '../helpers/req-mode.ts'

setDefaultTimeout(60_000)
afterAll(cleanup, 30_000)

const SEED = Number(process.env.CHAOS_SEED ?? 0x5eed)
const REQ_TIMEOUT_S = 2
/** How long any exchange may take to end once the client stopped sending. */
const CLOSE_BOUND_MS = 7000
const CLIENTS = 200
const CLIENT_CONCURRENCY = 30
/** Condure's own 400 for a WebSocket upgrade carries no Connection header (checklist 86). */
const WS_REFUSAL = 'WebSockets not supported on req mode interface.'

/** The case number a request path names (`/c<i>` or `/c<i>/<k>`), -1 if none. */
function caseOf(pk: PeerPacket): number {
  const m = /^http:\/\/[^/]*\/c(\d+)(\/|$)/.exec(String(pk.packet.uri))
  return m ? Number(m[1]) : -1
}

forEachGateway(() => 'req-mode chaos against zgate', (zgate) => {
  let gw: Gateway
  let peer: Peer
  let port = 0

  beforeAll(async () => {
    ;({ gw, peer, port } = await startStack(zgate, {
      listen: ['req'],
      args: ['--req-timeout', String(REQ_TIMEOUT_S), '--log-level', '3'],
      peers: [],
      reqPeer: 'router',
    }))
  }, 30_000)

  test('random client input and bad handler replies end in a response or a close, never a hang or crossed data', async () => {
    const mark = gw.mark()
    const rng = new Rng(SEED)
    // case number → bodies the handler got for it, in arrival order
    const bodies = new Map<number, string[]>()
    let stopping = false
    let sendError = ''
    const sends: Promise<void>[] = []
    const post = (p: Promise<void>) => sends.push(p.catch((e) => void (sendError ||= String(e).slice(0, 300))))
    const responder = (async () => {
      while (!stopping) {
        const pk = await peer.next({ $sock: 'req' }, 200).catch(() => null)
        if (pk === null) continue
        const i = caseOf(pk)
        bodies.set(i, [...(bodies.get(i) ?? []), Buffer.from(bytesOf(pk.packet.body)).toString('latin1')])
        const id = String(pk.packet.id)
        const peerId = Buffer.from(pk.envelope[0]!, 'base64')
        const good = Buffer.from(`T${tnReply(id, `port=${pk.packet['peer-port']}`)}`, 'latin1')
        // Some bad replies first; every one of them must be dropped or ignored.
        const bad: Uint8Array[][] = [
          [peerId, good],
          [peerId, ...Array.from({ length: 9 }, () => Buffer.from('e')), new Uint8Array(0), good],
          [peerId, new Uint8Array(0), Buffer.from(rng.bytes(1 + rng.int(40)))],
          [peerId, new Uint8Array(0), Buffer.from(`T${tnReply(`${id}0`, 'wrong id')}`, 'latin1')],
          [peerId, new Uint8Array(0), Buffer.from(`T${tnMap([['id', id], ['type', 'keep-alive']])}`, 'latin1')],
        ]
        for (const frames of bad) if (rng.chance(0.3)) post(peer.sendFrames(frames))
        post(peer.sendFrames([peerId, new Uint8Array(0), good]))
      }
    })()

    const cases = Array.from({ length: CLIENTS }, (_, i) => makeClientCase(SEED, i))
    const problems: string[] = []
    const run = async (c: ClientCase) => {
      const conn = await rawHttp(port)
      const say = (what: string) => problems.push(`#${c.i} ${c.kind}/${c.ending}: ${what}; sent ${show(c.bytes)}`)
      if (!(await playClientCase(conn, c))) return
      const closed = await conn.waitClosed(CLOSE_BOUND_MS).catch(() => null)
      // A kept-alive connection idles until the req timeout closes it; nothing may stay open.
      if (closed === null) say(`still open ${CLOSE_BOUND_MS} ms after the last byte (received ${show(conn.text())})`)
      const text = conn.text()
      const { problems: wrong, oks } = checkReceived(conn.received(), conn.localPort)
      for (const p of wrong) {
        if (!(text.includes(WS_REFUSAL) && /without Connection: close/.test(p))) say(`${p}; received ${show(text)}`)
      }
      if (c.responses !== undefined && c.ending === 'wait' && oks !== c.responses) {
        say(`${oks} of ${c.responses} pipelined responses arrived`)
      }
      conn.close()
      if (c.body !== undefined && c.body !== null) {
        const got = bodies.get(c.i)
        if (got !== undefined && got[0] !== c.body) say(`handler got body ${show(got[0]!)}, expected ${show(c.body)}`)
        if (got === undefined && c.ending === 'wait' && oks > 0) say('a 200 without the body reaching the handler')
      }
    }
    let next = 0
    await Promise.all(
      Array.from({ length: CLIENT_CONCURRENCY }, async () => {
        while (next < cases.length) await run(cases[next++]!)
      }),
    )
    stopping = true
    await responder
    await Promise.all(sends)
    expect(sendError).toBe('')
    expect(problems).toEqual([])
    expect(bodies.size).toBeGreaterThan(CLIENTS / 8) // the mix did reach the handler
    // Still the same process, still serving, and nothing went wrong inside.
    expect(gw.proc.exitCode).toBeNull()
    const conn = await rawHttp(port, 'POST /after HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello')
    const pk = await peer.next({ $sock: 'req' })
    expect(pk.packet.body).toBe('hello')
    await peer.send({ id: String(pk.packet.id), code: 200, reason: 'OK', body: 'fine' }, { envelope: pk.envelope })
    expect((await conn.readResponse()).bodyText()).toBe('fine')
    conn.close()
    const bad = gw.lines().slice(mark).filter((l) => /^\[ERR\]|\bat .*\.ts:\d+|TypeError|RangeError/.test(l))
    expect(bad).toEqual([])
  })
}, { only: 'zgate' })

/** `{id, code: 200, reason: OK, body}` as a tnetstring. */
function tnReply(id: string, body: string): string {
  return tnMap([['id', id], ['code', 200], ['reason', 'OK'], ['body', body]])
}
