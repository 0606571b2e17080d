// Helpers for test/e2e/response.test.ts: a gateway + handler peer pair, per-request
// handler sessions with automatic seq, a credit follower that does not consume packets, and
// the long-stream-to-a-slow-reader scenario.

import { expect } from 'bun:test'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import {
  dechunk,
  freePort,
  parseHttpResponse,
  rawHttp,
  sleep,
  startGateway,
  startPeer,
  tmpDir,
  withTimeout,
} from './harness.ts'
import type { Gateway, GatewayTarget, OutValue, Peer, PeerPacket, RawConn } from './harness.ts'

export const QUIET_MS = 300 // how long "nothing more happens" is watched

// ---------------------------------------------------------------------------------------
// gateway, sessions, requests

export type Fields = { [key: string]: OutValue }

/** One request as the handler sees it: its id, and the next seq the handler must use. */
export class HandlerSession {
  seq = 0
  constructor(
    readonly peer: Peer,
    readonly first: PeerPacket,
  ) {}

  get id(): string {
    return String(this.first.packet.id)
  }

  send(fields: Fields): Promise<void> {
    return this.peer.send({ from: this.peer.from, id: this.id, seq: this.seq++, ...fields })
  }
}

/** A handler session plus the raw client connection that made the request. */
export class Session extends HandlerSession {
  constructor(
    peer: Peer,
    first: PeerPacket,
    readonly conn: RawConn,
  ) {
    super(peer, first)
  }
}

export interface Stack {
  gw: Gateway
  peer: Peer
}

export async function startStack(target: GatewayTarget, extraArgs: string[] = []): Promise<Stack> {
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
export function uniquePath(name: string): string {
  return `/${name}-${++pathSeq}`
}

export function requestText(path: string, o: { method?: string; version?: string; headers?: string[] } = {}): string {
  const lines = [`${o.method ?? 'GET'} ${path} HTTP/${o.version ?? '1.1'}`, 'Host: h', ...(o.headers ?? [])]
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** Writes a request on `conn` (a new connection when absent) and waits for its first packet. */
export async function request(
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
export function headText(all: Uint8Array): string {
  const t = Buffer.from(all).toString('latin1')
  const end = t.indexOf('\r\n\r\n')
  return end < 0 ? t : t.slice(0, end + 4)
}

/**
 * Follows the `credit` packets of one session through peer.packets() instead of peer.next():
 * next() can drop a packet when several arrive in one poll of the peer's output (its waiter
 * stays registered until a microtask after it resolved, and a second wake splices again).
 */
export class CreditWatch {
  private seen = -1
  total = 0

  constructor(
    private readonly peer: Peer,
    private readonly id: string,
  ) {}

  /** Credit packets that arrived since the last call (possibly none). */
  private fresh(): PeerPacket[] {
    const out = this.peer
      .packets()
      .filter((p) => p.index > this.seen && p.packet.id === this.id && p.packet.type === 'credit')
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
export function routerSeqBefore(peer: Peer, p: PeerPacket): number {
  const earlier = peer.packets().filter((x) => x.index < p.index && x.sock === 'router' && x.packet.id === p.packet.id)
  return earlier.length + 1
}

export function pattern(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt * 7 + (i >> 8)) & 0xff
  return b
}

// ---------------------------------------------------------------------------------------
// a long stream against a slow reader

/** More than the loopback socket buffers of one connection can absorb (~4.1 MB measured). */
export function longTotal(): number {
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
export const LONG_PACKET = 8192
const STALL_MS = 1_000 // no credit for this long while the client is paused = backpressure
const SLOW_READ_ON_MS = 5
const SLOW_READ_OFF_MS = 20
const NUDGE_AFTER_MS = 1_000
const PROGRESS_TIMEOUT_MS = 10_000

/**
 * The handler streams `total` bytes in LONG_PACKET packets, sending only as credits
 * allow. The client first does not read at all until the gateway stops returning credits
 * (its writes are blocked), then reads in short bursts. Credits returned never exceed the
 * bytes written, sum up to them, and the body arrives intact.
 */
export async function slowReaderScenario(s: Stack, total: number, nudge: boolean): Promise<void> {
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
  const a = new HandlerSession(s.peer, first)
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
    // Waits (bounded) until some credit came back. Condure 1.9.1 sometimes stops writing
    // its buffered data to the draining client until the next handler packet arrives
    // (observed: a keep-alive releases it at once); `nudge` sends one after a quiet second.
    // zgate runs without nudges: it must resume writing on its own.
    const awaitCredit = async () => {
      const deadline = Date.now() + PROGRESS_TIMEOUT_MS
      while (Date.now() < deadline) {
        if (await takeCredit(nudge ? NUDGE_AFTER_MS : deadline - Date.now())) return
        if (nudge) pending.push(a.send({ type: 'keep-alive' }))
      }
      throw new Error(`credits stopped at ${credits.total} of ${sent} sent; client read ${received}`)
    }
    try {
      while (sent < total) {
        pump()
        if (sent < total) await awaitCredit()
      }
      await Promise.all(pending)
      // Every byte sent comes back as credit once the client has read it, and no more.
      while (credits.total < total) await awaitCredit()
      await credits.expectTotal(total)
      await a.send({})
    } finally {
      reading = false
      await reader
    }

    const complete = () => {
      const buf = Buffer.concat(chunks)
      const end = buf.indexOf('\r\n\r\n')
      return end >= 0 && dechunk(buf.subarray(end + 4)) !== null ? buf : undefined
    }
    const deadline = Date.now() + PROGRESS_TIMEOUT_MS
    let all = complete()
    while (all === undefined && Date.now() < deadline) {
      await sleep(10)
      all = complete()
    }
    if (all === undefined) throw new Error(`incomplete response: received ${received} bytes`)
    const r = parseHttpResponse(all)
    expect(r.chunked).toBe(true)
    expect(r.body.length).toBe(total)
    const want = Buffer.concat(Array.from({ length: total / LONG_PACKET }, (_, i) => pattern(LONG_PACKET, i)))
    expect(Buffer.from(r.body).equals(want)).toBe(true)
  } finally {
    client.destroy()
  }
}
