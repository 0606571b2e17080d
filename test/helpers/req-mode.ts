// Req-mode e2e helpers (req-mode.test.ts, req-mode-sockets.test.ts): a gateway with one req
// listener plus a linked req handler peer (zhttp-req-peer.mjs), and reply shorthands.

import { startStack } from './harness.ts'
import type { Gateway, GatewayTarget, OutValue, Peer, PeerPacket } from './harness.ts'

/** Request bodies and reply bodies the test gateways buffer (--body-buffer-size). */
export const BODY_BUFFER_BYTES = 1000
export const REQ_TIMEOUT_S = 2
/** Condure's `W-K-N`; zgate appends its per-process nonce, `-X` (src/zhttp/session-id.ts). */
export const CID_RE = /^(\d+)-(\d+)-([0-9a-f]+)(-[0-9a-f]{8})?$/

export interface Pair {
  gw: Gateway
  peer: Peer
  dir: string
}

/** A gateway with one req listener and a linked req handler of `type`. */
export async function startPair(target: GatewayTarget, type: 'router' | 'rep' = 'router', extra: string[] = []): Promise<Pair> {
  const args = ['--body-buffer-size', String(BODY_BUFFER_BYTES), '--req-timeout', String(REQ_TIMEOUT_S), ...extra]
  const { gw, peer, dir } = await startStack(target, { listen: ['req'], args, peers: [], reqPeer: type })
  return { gw, peer, dir }
}

export async function stopPair(p: Pair | undefined): Promise<void> {
  await p?.peer.stop()
  await p?.gw.stop()
}

/** Replies to request packet `pk` on the envelope it came with. */
export function answer(peer: Peer, pk: PeerPacket, fields: { [key: string]: OutValue }): Promise<void> {
  return peer.send({ id: String(pk.packet.id), ...fields }, { envelope: pk.envelope })
}

/** A complete 200 reply with `body`. */
export const ok = (body: string): { [key: string]: OutValue } => ({ code: 200, reason: 'OK', headers: [], body })

/** A flat map of strings and integers as a tnetstring (latin1 text). */
export function tnMap(pairs: [string, string | number][]): string {
  const item = (v: string | number) =>
    typeof v === 'number' ? `${String(v).length}:${v}#` : `${Buffer.byteLength(v, 'latin1')}:${v},`
  const inner = pairs.map(([k, v]) => item(k) + item(v)).join('')
  return `${inner.length}:${inner}}`
}
