// Shared by the session lifecycle e2e files (lifecycle.test.ts: sequence numbers, routing,
// handler addresses, cancels, handoff, shutdown; lifecycle-timers.test.ts: timeouts and
// keep-alives): a gateway with linked handlers, sessions opened over raw connections, and
// the per-session packet checks (zhttp.md 4.4-4.12).

import { expect } from 'bun:test'
import { rawHttp, sleep, startStack } from './harness.ts'
import type { GatewayTarget, OutValue, Peer, PeerPacket, RawConn, Stack } from './harness.ts'

export const HOOK_TIMEOUT_MS = 30_000
/** How long "nothing arrives" is watched. */
export const QUIET_MS = 400
export const H1 = 'handler-1'
export const H2 = 'handler-2'

export type Env = Stack

/** A gateway on an ipc base with one linked peer per `from`. */
export function startEnv(target: GatewayTarget, opts: { args?: string[]; env?: Record<string, string>; froms?: string[] } = {}): Promise<Env> {
  return startStack(target, { args: opts.args, env: opts.env, peers: (opts.froms ?? [H1]).map((from) => ({ from })) })
}

export async function stopEnv(e: Env | undefined): Promise<void> {
  await e?.stop()
}

let pathSeq = 0

export interface Session {
  conn: RawConn
  id: string
  path: string
  /** The peer whose PULL got the first packet (first packets are load-balanced). */
  peer: Peer
  first: PeerPacket
}

/** Sends one request on a new connection and takes its first packet from whichever peer got it. */
export async function openSession(env: Env, tag: string, o: { method?: string; head?: string; body?: string } = {}): Promise<Session> {
  const path = `/${tag}-${++pathSeq}`
  const conn = await rawHttp(env.port, `${o.method ?? 'GET'} ${path} HTTP/1.1\r\nHost: h\r\n${o.head ?? ''}\r\n${o.body ?? ''}`)
  const got = await firstPacket(env.peers, `http://h${path}`)
  return { conn, path, id: String(got.first.packet.id), ...got }
}

export async function firstPacket(peers: Peer[], uri: string, timeoutMs = 5000): Promise<{ peer: Peer; first: PeerPacket }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const peer of peers) {
      if (peer.queued().some((p) => p.sock === 'pull' && p.packet.uri === uri)) {
        return { peer, first: await peer.next({ $sock: 'pull', uri }) }
      }
    }
    if (Date.now() > deadline) throw new Error(`no first packet for ${uri} within ${timeoutMs} ms`)
    await sleep(5)
  }
}

/** A handler packet for `id` sent through `peer` (from defaults to the peer's address). */
export function reply(peer: Peer, id: string, fields: { [k: string]: OutValue }): Promise<void> {
  return peer.send({ from: peer.from, id, ...fields })
}

/** The seq a gateway packet carries for `id` (plain form or an element of an id list). */
export function seqFor(p: PeerPacket, id: string): number | undefined {
  const v = p.packet.id
  if (v === id) return typeof p.packet.seq === 'number' ? p.packet.seq : undefined
  if (Array.isArray(v)) {
    for (const e of v) {
      if (e && typeof e === 'object' && !Array.isArray(e) && e.id === id) return typeof e.seq === 'number' ? e.seq : undefined
    }
  }
  return undefined
}

export function carries(p: PeerPacket, id: string): boolean {
  return p.packet.id === id || (Array.isArray(p.packet.id) && p.packet.id.some((e) => e && typeof e === 'object' && !Array.isArray(e) && e.id === id))
}

/**
 * Every later gateway packet of session `id`, over all peers: their seqs must be exactly
 * 1..n (zhttp.md 4.5; a keep-alive may slip in at any time). Returns them ordered by seq.
 */
export function laterPackets(peers: Peer[], id: string): PeerPacket[] {
  const all = peers.flatMap((p) => p.packets().filter((x) => x.sock === 'router' && carries(x, id)))
  const sorted = all.sort((a, b) => (seqFor(a, id) ?? -1) - (seqFor(b, id) ?? -1))
  expect(sorted.map((p) => seqFor(p, id))).toEqual(sorted.map((_, i) => i + 1))
  return sorted
}

/**
 * Any packet of session `id` (or any at all) except a keep-alive: a gateway may visit a live
 * session for its periodic keep-alive at any moment (zhttp.md 4.8).
 */
export function nonKeepAlive(id?: string): (p: PeerPacket) => boolean {
  return (p) => p.packet.type !== 'keep-alive' && (id === undefined || carries(p, id))
}

export async function timeClose(conn: RawConn, sinceMs: number, timeoutMs = 10_000): Promise<number> {
  await conn.waitClosed(timeoutMs)
  return performance.now() - sinceMs
}
