// Handler side of WebSocket e2e tests: a gateway plus one linked peer (startWsEnv), and a
// HandlerSession that numbers the handler's packets for one session (zhttp.md 4.5) and takes
// the gateway's packets of that session off the peer's queue.

import { expect } from 'bun:test'
import { startStack } from './harness.ts'
import type { Gateway, GatewayTarget, OutValue, Peer, PeerPacket, ZPacket } from './harness.ts'
import { bytesOf } from './harness-peer.ts'
import { wsConnect } from './ws-raw.ts'
import type { UpgradeOptions, WsOpen } from './ws-raw.ts'

export const ACCEPT_REASON = 'Switching Protocols'

export interface WsEnv {
  gw: Gateway
  peer: Peer
  port: number
  target: GatewayTarget
  stop(): Promise<void>
}

export async function startWsEnv(target: GatewayTarget, args: string[] = [], env?: Record<string, string>): Promise<WsEnv> {
  const stack = await startStack(target, { args, env })
  return {
    gw: stack.gw,
    peer: stack.peer,
    port: stack.port,
    target,
    stop: async () => {
      await stack.stop()
    },
  }
}

/** One session seen from the handler: its id, the first packet, numbered replies. */
export class HandlerSession {
  private seq = 0
  constructor(
    readonly peer: Peer,
    readonly first: PeerPacket,
  ) {}

  get id(): string {
    return String(this.first.packet.id)
  }

  /** Sends a packet for this session with the next handler seq. */
  send(fields: { [k: string]: OutValue }): Promise<void> {
    return this.peer.send({ from: this.peer.from, id: this.id, seq: this.seq++, ...fields })
  }

  /** Accepts the upgrade (101); `credits` undefined leaves the field out. */
  accept(o: { credits?: number; headers?: [string, string][]; code?: number } = {}): Promise<void> {
    const p: { [k: string]: OutValue } = { code: o.code ?? 101, reason: ACCEPT_REASON, headers: o.headers ?? [] }
    if (o.credits !== undefined) p.credits = o.credits
    return this.send(p)
  }

  /** The next gateway packet of this session (ROUTER side) matching `pred`. */
  next(pred: (p: ZPacket) => boolean = () => true, timeoutMs?: number): Promise<PeerPacket> {
    return this.peer.next((p) => p.sock === 'router' && p.packet.id === this.id && pred(p.packet), timeoutMs)
  }

  /** The next packet that is neither `credit` nor `keep-alive` (those come at any time). */
  nextEvent(timeoutMs?: number): Promise<PeerPacket> {
    return this.next((p) => p.type !== 'credit' && p.type !== 'keep-alive', timeoutMs)
  }

  /** Resolves if no packet of this session but credits/keep-alives arrives within `ms`. */
  expectNoEvent(ms = 500): Promise<void> {
    return this.peer.expectNone(
      (p) => p.sock === 'router' && p.packet.id === this.id && p.packet.type !== 'credit' && p.packet.type !== 'keep-alive',
      ms,
    )
  }

  /** Waits for a `cancel` of this session. */
  nextCancel(timeoutMs?: number): Promise<PeerPacket> {
    return this.next((p) => p.type === 'cancel', timeoutMs)
  }

  /** Sum of the `credits` of credit packets received until `total` is reached (bounded). */
  async creditsUntil(total: number, timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    let got = 0
    while (got < total) {
      const left = deadline - Date.now()
      if (left <= 0) break
      const c = await this.next((p) => p.type === 'credit', left).catch(() => null)
      if (c === null) break
      got += Number(c.packet.credits)
    }
    return got
  }
}

/**
 * Writes an upgrade request, takes its first packet, accepts it (unless accept is false)
 * and returns the client with its handshake response and the handler session.
 */
export async function upgrade(
  env: WsEnv,
  o: UpgradeOptions & { credits?: number; acceptHeaders?: [string, string][] } = {},
): Promise<WsOpen & { hs: HandlerSession }> {
  const path = o.path ?? `/ws-${++pathSeq}`
  const opening = wsConnect(env.port, { ...o, path })
  const first = await env.peer.next({ $sock: 'pull', uri: `ws://${o.host ?? 'h'}${path}` })
  const hs = new HandlerSession(env.peer, first)
  await hs.accept({ credits: o.credits, headers: o.acceptHeaders })
  const open = await opening
  expect(open.response.status).toBe(101)
  return { ...open, hs }
}
let pathSeq = 0

/** Text of a packet's body (empty when absent). */
export function bodyText(p: ZPacket): string {
  return new TextDecoder().decode(bytesOf(p.body))
}

/** Bytes of a packet's body (empty when absent). */
export function bodyBytes(p: ZPacket): Uint8Array {
  return bytesOf(p.body)
}

/**
 * Client message bytes the handler receives as data packets until one without `more`
 * completes the message; returns the bytes and the packets. With `grant` the handler sends
 * a credit for every piece, so a message bigger than its allowance can complete.
 */
export async function readMessage(
  hs: HandlerSession,
  timeoutMs = 5000,
  opts: { grant?: boolean } = {},
): Promise<{ body: Uint8Array; packets: ZPacket[] }> {
  const packets: ZPacket[] = []
  const parts: Uint8Array[] = []
  for (;;) {
    const p = (await hs.next((x) => x.type === undefined, timeoutMs)).packet
    packets.push(p)
    const b = bodyBytes(p)
    parts.push(b)
    // grant: give back the credits each piece used, for messages bigger than the allowance.
    if (opts.grant && b.length > 0) await hs.send({ type: 'credit', credits: b.length })
    if (p.more !== true) break
  }
  return { body: new Uint8Array(Buffer.concat(parts)), packets }
}

/**
 * A well-behaved echo handler for one session, run in the background until the session ends:
 * grants credit for every client byte it takes, echoes data (same content-type, split to fit
 * its credits), answers ping with pong and close with close. Resolves with what ended it.
 */
export async function echoHandler(hs: HandlerSession, timeoutMs = 30_000): Promise<'close' | 'cancel' | 'timeout'> {
  let credits = Number(hs.first.packet.credits ?? 0)
  const pending: { bytes: Uint8Array; contentType: string; more: boolean }[] = []
  const deadline = Date.now() + timeoutMs
  const flush = async () => {
    while (pending.length > 0) {
      const head = pending[0]!
      if (head.bytes.length > credits) {
        if (credits === 0) return
        const piece = head.bytes.subarray(0, credits)
        head.bytes = head.bytes.subarray(credits)
        credits = 0
        await hs.send({ body: piece, 'content-type': head.contentType, more: true })
        return
      }
      pending.shift()
      credits -= head.bytes.length
      const p: { [k: string]: OutValue } = { body: head.bytes, 'content-type': head.contentType }
      if (head.more) p.more = true
      await hs.send(p)
    }
  }
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) return 'timeout'
    const got = await hs.next(() => true, left).catch(() => null)
    if (got === null) return 'timeout'
    const p = got.packet
    if (p.type === 'credit') credits += Number(p.credits)
    else if (p.type === undefined) {
      const bytes = bodyBytes(p)
      if (bytes.length > 0) await hs.send({ type: 'credit', credits: bytes.length })
      pending.push({ bytes, contentType: String(p['content-type'] ?? 'text'), more: p.more === true })
    } else if (p.type === 'ping') await hs.send({ type: 'pong', body: bodyBytes(p) })
    else if (p.type === 'close') {
      const c: { [k: string]: OutValue } = { type: 'close' }
      if (p.code !== undefined) c.code = p.code
      if (p.body !== undefined) c.body = bodyBytes(p)
      await hs.send(c)
      return 'close'
    } else if (p.type === 'cancel') return 'cancel'
    await flush()
  }
}

/** The handler session of the next upgrade for `path` (host h), not yet answered. */
export async function takeSession(env: WsEnv, path: string, host = 'h'): Promise<HandlerSession> {
  return new HandlerSession(env.peer, await env.peer.next({ $sock: 'pull', uri: `ws://${host}${path}` }))
}
