// Chaos: bad input from clients and handlers never crashes or stalls zgate. Bad input gets a
// clear error or a clean close, never a crash, a hang or lost data.
//
// zgate only: this file is about zgate's own robustness, not about Condure compatibility (the
// behaviour-by-behaviour comparisons with Condure live in the other e2e files). The packets
// case 1 requires to be dropped whole (mustDrop in test/helpers/chaos.ts) were checked by hand
// to be dropped by Condure 1.9.1 too, and the ids that must not reach a session (otherIds) are
// ignored by it as well.
//
// One gateway process serves the whole file: --stream-timeout 3 and ZGATE_SESSION_TIMEOUT_MS=2000
// so that every stuck exchange resolves within seconds, and --log-level 3 so that an exception
// thrown inside a client socket callback (Bun hands it to the socket's `error` callback, which
// zgate logs at DEBUG as `client socket error: ...`) shows up in the log. After each case:
// the same process is still running, a normal POST is served end to end (body to the handler,
// response to the client), a bystander session that streamed throughout the chaos completes
// with every byte in order, and the log holds no ERR line, stack trace or unexpected warning.
//
// All randomness comes from a seeded PRNG (mulberry32), so a failure reproduces:
// CHAOS_SEED=<n> picks another seed, CHAOS_ONLY=<i,j,...> runs only those client connections
// of case 2 (the failure message names them).

import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { bytesOf, cleanup, forEachGateway, rawHttp, startStack } from '../helpers/harness.ts'
import type { Gateway, OutValue, Peer, PeerPacket, RawConn } from '../helpers/harness.ts'
import {
  chaosFrame,
  checkReceived,
  decoyTemplates,
  makeClientCase,
  playClientCase,
  mustDrop,
  onWire,
  otherIds,
  Rng,
  show,
  shuffle,
} from '../helpers/chaos.ts'
import type { ClientCase, Seen } from '../helpers/chaos.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, 30_000)

const SEED = Number(process.env.CHAOS_SEED ?? 0x5eed)
const ONLY = process.env.CHAOS_ONLY ? new Set(process.env.CHAOS_ONLY.split(',').map(Number)) : null
const SESSION_TIMEOUT_MS = 2000
const STREAM_TIMEOUT_S = 3
/** How long any exchange may take to end once the client stopped sending (timeouts 2-3 s). */
const CLOSE_BOUND_MS = 8000
const ROUNDS = 6 // case 1: rounds, each with a fresh real and decoy session
const CHAOS_PER_ROUND = 100 // case 1: random frames and mutated decoy packets per round
const CLIENTS = 300 // case 2: connections
const CLIENT_CONCURRENCY = 40
const TICK_MS = 400 // bystander: one body piece this often (keeps both timers fresh)
const TWO_53 = 2 ** 53

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300)

// ---------------------------------------------------------------------------------------
// the suite

interface Bystander {
  id: string
  /** Stops the ticks; one more piece must earn a credit, the last one ends the response. */
  finish(): Promise<void>
}

forEachGateway(() => 'chaos against zgate', (zgate) => {
  let gw: Gateway
  let peer: Peer
  let port = 0
  let pathSeq = 0
  /** Stops what a case left running when it failed half-way (bystander ticks, the responder). */
  const stoppers: (() => void)[] = []
  afterEach(() => {
    for (const stop of stoppers.splice(0)) stop()
  })

  beforeAll(async () => {
    ;({ gw, peer, port } = await startStack(zgate, {
      args: ['--stream-timeout', String(STREAM_TIMEOUT_S), '--log-level', '3'],
      env: { ZGATE_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) },
      peers: [{ from: 'chaos-handler' }],
    }))
  }, 30_000)

  const send = (p: { [key: string]: OutValue }) => peer.send({ from: peer.from, ...p })

  /** Whether a packet is for session `id`, alone or in an id list (batched keep-alives). */
  const mentions = (p: PeerPacket, id: string): boolean =>
    p.packet.id === id ||
    (Array.isArray(p.packet.id) && p.packet.id.some((e) => e !== null && typeof e === 'object' && !Array.isArray(e) && e.id === id))

  /** The seq the gateway must have put on `p`: a keep-alive batch may have taken one any time. */
  const expectedSeq = (p: PeerPacket, id: string): number =>
    peer.packets().filter((x) => x.index < p.index && x.sock === 'router' && mentions(x, id)).length + 1

  /** The next `type` packet for session `id`, checked to carry the gateway's next seq. */
  async function nextTyped(id: string, type: string): Promise<PeerPacket> {
    const p = await peer.next({ id, type })
    expect(p.sock).toBe('router')
    expect(p.packet.seq).toBe(expectedSeq(p, id))
    return p
  }

  async function openSession(name: string, head = 'GET', extra = ''): Promise<{ conn: RawConn; id: string; path: string }> {
    const path = `/${name}-${pathSeq++}`
    const conn = await rawHttp(port, `${head} ${path} HTTP/1.1\r\nHost: chaos\r\n${extra}\r\n`)
    const first = await peer.next({ $sock: 'pull', uri: `http://chaos${path}` }).catch((e) => {
      throw new Error(`the gateway accepted ${path} but no first packet reached the handler: ${firstLine(e)}`)
    })
    return { conn, id: String(first.packet.id), path }
  }

  /** A session streaming a chunked response for the whole case, a piece every TICK_MS. */
  async function startBystander(tag: string): Promise<Bystander> {
    const { conn, id } = await openSession(`bystander-${tag}`)
    let seq = 0
    let expected = ''
    let sendError = ''
    const sends: Promise<void>[] = []
    const post = (p: { [key: string]: OutValue }) =>
      sends.push(send({ id, seq: seq++, ...p }).catch((e) => void (sendError ||= firstLine(e))))
    const tick = () => {
      const piece = `<${tag}:${seq}>`
      expected += piece
      post({ body: piece, more: true })
    }
    post({ code: 200, reason: 'OK', headers: [['X-Bystander', tag]], more: true })
    tick()
    const timer = setInterval(tick, TICK_MS)
    stoppers.push(() => clearInterval(timer))
    return {
      id,
      async finish(): Promise<void> {
        clearInterval(timer)
        // The ROUTER path back to us still works: a credit arrives for bytes written now.
        const mark = peer.packets().length
        tick()
        await Promise.all(sends)
        expect(sendError).toBe('')
        await peer.next((p) => p.index >= mark && p.sock === 'router' && p.packet.id === id && p.packet.type === 'credit')
        const last = `<${tag}:end>`
        expected += last
        post({ body: last })
        await Promise.all(sends)
        const r = await conn.readResponse()
        expect(r.status).toBe(200)
        expect(r.header('x-bystander')).toBe(tag)
        expect(r.chunked).toBe(true)
        expect(r.bodyText()).toBe(expected)
        conn.close()
      },
    }
  }

  /** The same process is running and serves a POST end to end. */
  async function expectServing(tag: string): Promise<void> {
    expect(gw.proc.exitCode).toBeNull()
    const body = `ping-${tag}`
    const { conn, id } = await openSession(`health-${tag}`, 'POST', `Content-Length: ${body.length}\r\n`)
    conn.write(body)
    await send({ id, seq: 0, type: 'credit', credits: 1000 })
    const got = await peer.next((p) => p.sock === 'router' && p.packet.id === id && p.packet.type === undefined)
    expect(got.packet.body).toBe(body)
    expect(got.packet.more).toBeUndefined()
    await send({ id, seq: 1, code: 200, reason: 'OK', headers: [['Content-Type', 'text/plain']], body: `pong-${tag}` })
    const r = await conn.readResponse()
    expect(r.statusLine).toBe('HTTP/1.1 200 OK')
    expect(r.bodyText()).toBe(`pong-${tag}`)
    conn.close()
    expect(gw.proc.exitCode).toBeNull()
  }

  const LOG_LINE = /^\[(ERR|WARN|INFO|DEBUG|TRACE)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[\w:]+\] /
  const EXPECTED_WARN =
    /\] (zhttp parse error: .*|packet not for us|invalid handler response \([a-z-]+\): .*|and \d+ more bad handler packets in the last [\d.]+ s)$/
  // The periodic counter summary too: a run slower than its 10 s period (a loaded machine) logs one.
  const EXPECTED_DEBUG = /\] (client socket error: .*(ECONNRESET|EPIPE|reset|broken pipe).*|closed|stats: conns open .*)$/i

  /** No ERR line, no stack trace or other stray output, only the warnings bad packets cause. */
  function expectCleanLog(since = 0): void {
    const bad = gw.lines().slice(since).filter((l) => {
      if (/^\s+at |error:|uncaught|panic/i.test(l) && !EXPECTED_DEBUG.test(l) && !EXPECTED_WARN.test(l)) return true
      const m = LOG_LINE.exec(l)
      if (!m) return true
      if (m[1] === 'WARN') return !EXPECTED_WARN.test(l)
      if (m[1] === 'DEBUG') return !EXPECTED_DEBUG.test(l)
      return m[1] === 'ERR'
    })
    expect(bad).toEqual([])
    expect(gw.lines('stderr')).toEqual([])
  }

  /**
   * The checks after each case, all reported together with the case's own `problems`: the
   * process runs and serves, the bystander completes, the log is clean.
   */
  async function afterChaos(tag: string, by: Bystander, mark: number, problems: string[] = []): Promise<void> {
    const failures = problems.slice(0, 10)
    if (problems.length > 10) failures.push(`...and ${problems.length - 10} more`)
    const check = async (what: string, f: () => unknown) => {
      try {
        await f()
      } catch (e) {
        failures.push(`${what}: ${firstLine(e)}`)
      }
    }
    await check('the gateway still serves a POST end to end', () => expectServing(tag))
    await check('the bystander session completes with every byte', () => by.finish())
    await check('the log is clean', () => expectCleanLog(mark))
    expect(failures).toEqual([])
  }

  test('12-16, 54: garbage, mutated and invalid handler packets are dropped or ignored; a waiting session keeps its seq', async () => {
    const rng = new Rng(SEED ^ 0x1111)
    const mark = gw.mark()
    const by = await startBystander('h')
    const decoys: RawConn[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const real = await openSession('real')
      const decoy = await openSession('decoy')
      decoys.push(decoy.conn)
      // Odd rounds: the handler already spoke (seq 0), so the session is active and expects 1.
      let seq = 0
      if (round % 2 === 1) await send({ id: real.id, seq: seq++, type: 'keep-alive' })
      const frames = [...mustDrop(peer.from, real.id, seq), ...otherIds(peer.from, real.id, seq)].map(onWire)
      const templates = decoyTemplates(peer.from, decoy.id)
      for (let k = 0; k < CHAOS_PER_ROUND; k++) frames.push(chaosFrame(rng, templates, [real.id, by.id]))
      await Promise.all(shuffle(rng, frames).map((f) => peer.sendRaw(f)))
      // Nothing above was accepted for the real session: its next seq still answers it.
      await send({ id: real.id, seq, code: 200, reason: 'OK', body: `real-${round}` })
      const r = await real.conn.readResponse()
      expect(r.statusLine).toBe('HTTP/1.1 200 OK')
      expect(r.bodyText()).toBe(`real-${round}`)
      expect(r.header('content-length')).toBe(String(`real-${round}`.length))
      real.conn.close()
    }
    // Whatever the mutations did to the decoys, each ended within the timeouts.
    for (const d of decoys) {
      await d.waitClosed(CLOSE_BOUND_MS)
      const text = Buffer.from(d.received()).toString('latin1')
      if (text !== '') expect(text.startsWith('HTTP/1.1 ')).toBe(true)
    }
    await afterChaos('h', by, mark)
  })

  test('73-79: random and mutated client input ends in a response or a close, never a hang, lost or crossed data', async () => {
    const mark = gw.mark()
    const by = await startBystander('c')
    // Handler: answers every request (credits first when a body follows, the response once the
    // body is complete) with `port=<client port>`, and records the bodies it got.
    const byId = new Map<string, Seen>()
    const byPort = new Map<number, Seen[]>()
    const sends: Promise<void>[] = []
    let stopping = false
    stoppers.push(() => void (stopping = true))
    let sendError = ''
    const post = (p: { [key: string]: OutValue }) => sends.push(send(p).catch((e) => void (sendError ||= firstLine(e))))
    const reply = (s: Seen) =>
      post({ id: s.id, seq: s.seq++, code: 200, reason: 'OK', headers: [['Content-Type', 'text/plain']], body: `port=${s.port}` })
    const responder = (async () => {
      while (!stopping && peer.proc.exitCode === null) {
        const p = await peer.next((x) => x.packet.id !== by.id, 200).catch(() => null)
        if (p === null || typeof p.packet.id !== 'string') continue
        const id = p.packet.id
        if (p.sock === 'pull') {
          const s: Seen = { id, port: Number(p.packet['peer-port']), chunks: [], done: false, seq: 0 }
          byId.set(id, s)
          byPort.set(s.port, [...(byPort.get(s.port) ?? []), s])
          if (p.packet.more === true) post({ id, seq: s.seq++, type: 'credit', credits: 1_000_000 })
          else {
            s.done = true
            reply(s)
          }
        } else {
          const s = byId.get(id)
          if (s === undefined || s.done || p.packet.type !== undefined) continue
          s.chunks.push(bytesOf(p.packet.body))
          if (p.packet.more !== true) {
            s.done = true
            reply(s)
          }
        }
      }
    })()

    const cases = Array.from({ length: CLIENTS }, (_, i) => makeClientCase(SEED, i)).filter((c) => !ONLY || ONLY.has(c.i))
    const problems: string[] = []
    const run = async (c: ClientCase) => {
      const conn = await rawHttp(port)
      const say = (what: string) =>
        problems.push(`#${c.i} ${c.kind}/${c.ending}: ${what}; sent ${show(c.bytes)} in pieces of ${c.pieces.map((p) => p.length)}`)
      if (!(await playClientCase(conn, c))) return
      const closed = await conn.waitClosed(CLOSE_BOUND_MS).catch(() => null)
      if (closed === null) say(`still open ${CLOSE_BOUND_MS} ms after the last byte (received ${show(conn.text())})`)
      const { problems: wrong, oks } = checkReceived(conn.received(), conn.localPort)
      for (const p of wrong) say(`${p}; received ${show(conn.text())}`)
      if (c.responses !== undefined && c.ending === 'wait' && oks !== c.responses) {
        say(`${oks} of ${c.responses} pipelined responses arrived`)
      }
      conn.close()
      if (c.body !== undefined) {
        const s = byPort.get(conn.localPort)?.[0]
        const got = s?.done ? Buffer.concat(s.chunks).toString('latin1') : undefined
        if (got !== undefined && got !== c.body) say(`handler got body ${show(got)}, expected ${c.body === null ? 'none' : show(c.body)}`)
        if (got === undefined && c.body !== null && c.ending === 'wait') say('a complete body never reached the handler')
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
    if (!ONLY) expect(byId.size).toBeGreaterThan(cases.length / 4) // the mix did reach the handler
    await afterChaos('c', by, mark, problems)
  }, 60_000)

  test('48, 53, 56-59, 62: handler misbehaviour ends only its own session, bounded by the timeouts', async () => {
    const mark = gw.mark()
    const by = await startBystander('m')
    const noCancel = (id: string) => peer.expectNone({ id, type: 'cancel' }, 400)
    const streaming = async (name: string) => {
      const s = await openSession(name)
      await send({ id: s.id, seq: 0, code: 200, reason: 'OK', more: true })
      await send({ id: s.id, seq: 1, body: 'part', more: true })
      await s.conn.readUntil(/part\r\n$/)
      return s
    }
    const scenarios: Record<string, () => Promise<void>> = {
      '48: 8193 body bytes against 8192 credits': async () => {
        const s = await openSession('oversize')
        await send({ id: s.id, seq: 0, code: 200, reason: 'OK', body: 'x'.repeat(8193) })
        await s.conn.waitClosed()
        expect(s.conn.received().length).toBe(0)
        await nextTyped(s.id, 'cancel')
      },
      '48: 8193 body bytes after the head': async () => {
        const s = await openSession('oversize2')
        await send({ id: s.id, seq: 0, code: 200, reason: 'OK', more: true })
        await send({ id: s.id, seq: 1, body: 'y'.repeat(8193), more: true })
        await s.conn.waitClosed()
        expect(s.conn.text()).not.toContain('yyyy')
        await nextTyped(s.id, 'cancel')
      },
      '54: body packets after the response ended are ignored': async () => {
        const s = await openSession('late')
        await send({ id: s.id, seq: 0, code: 200, reason: 'OK', body: 'done' })
        expect((await s.conn.readResponse()).bodyText()).toBe('done')
        await send({ id: s.id, seq: 1, body: 'late', more: true })
        await send({ id: s.id, seq: 1, code: 500, reason: 'Late', body: 'late' })
        await send({ id: s.id, seq: 2, type: 'cancel' })
        await expect(s.conn.readUntil(s.conn.received().length + 1, 400)).rejects.toThrow(/timed out/)
        // The connection is still usable for the next request.
        s.conn.write('GET /late-again HTTP/1.1\r\nHost: chaos\r\n\r\n')
        const id2 = String((await peer.next({ $sock: 'pull', uri: 'http://chaos/late-again' })).packet.id)
        expect(id2).not.toBe(s.id)
        await send({ id: id2, seq: 0, code: 200, reason: 'OK', body: 'again' })
        expect((await s.conn.readResponse()).bodyText()).toBe('again')
        s.conn.close()
      },
      '53: a seq far ahead as the first packet': async () => {
        const s = await openSession('ahead')
        await send({ id: s.id, seq: 1000, code: 200, reason: 'OK', body: 'x' })
        await s.conn.waitClosed()
        expect(s.conn.received().length).toBe(0)
        await noCancel(s.id)
      },
      '53: a seq far ahead mid-response': async () => {
        const s = await streaming('ahead2')
        await send({ id: s.id, seq: 99_999_999, body: 'never', more: true })
        await s.conn.waitClosed()
        expect(s.conn.text()).not.toContain('never')
        await noCancel(s.id)
      },
      ...Object.fromEntries(
        ['close', 'ping', 'pong', 'bogus', 'handoff-proceed'].flatMap((type) => [
          [`59: type ${type} before the response`, async () => {
            const s = await openSession(`type-${type}`)
            await send({ id: s.id, seq: 0, type, code: 1000, body: 'b' })
            await s.conn.waitClosed()
            expect(s.conn.received().length).toBe(0)
            await noCancel(s.id)
          }],
          [`59: type ${type} mid-response`, async () => {
            const s = await streaming(`type2-${type}`)
            await send({ id: s.id, seq: 2, type, body: 'b' })
            await s.conn.waitClosed()
            expect(s.conn.text().endsWith('part\r\n')).toBe(true)
            await noCancel(s.id)
          }],
        ]),
      ),
      '57, 58: error and cancel mid-response keep the partial response': async () => {
        for (const type of ['error', 'cancel']) {
          const s = await streaming(`end-${type}`)
          await send({ id: s.id, seq: 2, type, condition: 'bad-request' })
          await s.conn.waitClosed()
          expect(s.conn.text().endsWith('part\r\n')).toBe(true)
          await noCancel(s.id)
        }
      },
      '62, 66: handoff-start then nothing, before the response': async () => {
        const s = await openSession('handoff')
        await send({ id: s.id, seq: 0, type: 'handoff-start' })
        await nextTyped(s.id, 'handoff-proceed')
        const t0 = performance.now()
        await s.conn.waitClosed(CLOSE_BOUND_MS)
        expect(performance.now() - t0).toBeGreaterThan(SESSION_TIMEOUT_MS - 500)
        // Condure closes silently; zgate may say 504 (a request no handler answered in time).
        const text = s.conn.text()
        if (text !== '') expect(text.startsWith('HTTP/1.1 504 ')).toBe(true)
      },
      '62, 66: handoff-start then nothing, mid-response': async () => {
        const s = await streaming('handoff2')
        await send({ id: s.id, seq: 2, type: 'handoff-start' })
        await nextTyped(s.id, 'handoff-proceed')
        await s.conn.waitClosed(CLOSE_BOUND_MS)
        expect(s.conn.text().endsWith('part\r\n')).toBe(true)
      },
      '31: credits of 2^53 (twice) let the body through exactly once': async () => {
        const s = await openSession('credits', 'POST', 'Content-Length: 10\r\n')
        s.conn.write('0123456789')
        await send({ id: s.id, seq: 0, type: 'credit', credits: TWO_53 })
        await send({ id: s.id, seq: 1, type: 'credit', credits: TWO_53 })
        let body = ''
        for (;;) {
          const p = await peer.next((x) => x.sock === 'router' && x.packet.id === s.id && x.packet.type === undefined)
          body += String(p.packet.body ?? '')
          if (p.packet.more !== true) break
        }
        expect(body).toBe('0123456789')
        await send({ id: s.id, seq: 2, code: 200, reason: 'OK', credits: TWO_53, body: 'ok' })
        expect((await s.conn.readResponse()).bodyText()).toBe('ok')
        s.conn.close()
      },
      '37: a non-numeric handler Content-Length gets 502 (Condure: a bare close) and cancels': async () => {
        const s = await openSession('badlength')
        await send({ id: s.id, seq: 0, code: 200, reason: 'OK', headers: [['Content-Length', 'abc']], body: 'x' })
        await s.conn.waitClosed()
        expect(Buffer.from(s.conn.received()).toString('latin1')).toStartWith('HTTP/1.1 502 ')
        await nextTyped(s.id, 'cancel')
      },
    }
    const results = await Promise.allSettled(Object.values(scenarios).map((f) => f()))
    const names = Object.keys(scenarios)
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: ${firstLine(r.reason)}`] : []))
    await afterChaos('m', by, mark, failed)
  })

  test('134: after all the chaos SIGTERM still stops the gateway cleanly, and its whole log is clean', async () => {
    expect(gw.proc.exitCode).toBeNull()
    await peer.stop()
    expect(await gw.stop('SIGTERM')).toBe(0)
    expect(gw.lines().some((l) => /\] stopped$/.test(l))).toBe(true)
    expectCleanLog()
  })
}, { only: 'zgate' })
