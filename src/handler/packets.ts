// Two packet jobs kept out of handler.ts: decoding a first packet into the request head the
// application sees, and writing batched packets for many sessions of one gateway (keep-alives,
// the cancels of close()), one seq per listed id (zhttp.md 3.1).

import type { RequestHead } from './head.ts'
import type { GatewayLink, Session } from './session.ts'
import { spanText } from './text.ts'
import type { GatewayPacket } from './wire-in.ts'
import type { PacketWriter } from './wire-out.ts'

/** Ids per batched packet (zhttp.md 3.1: a gateway refuses more than 128). */
export const BATCH_IDS_MAX = 128

/** The request head of first packet `p` (its uri is filled in by the caller). */
export function decodeHead(p: GatewayPacket, from: string, websocket: boolean, body: Uint8Array | null): RequestHead {
  const buf = p.buf
  const headers: string[] = new Array(2 * p.headerCount)
  for (let i = 0; i < p.headerCount; i++) {
    headers[2 * i] = spanText(buf, p.headerNameStart[i], p.headerNameEnd[i])
    headers[2 * i + 1] = spanText(buf, p.headerValueStart[i], p.headerValueEnd[i])
  }
  return {
    method: spanText(buf, p.methodStart, p.methodEnd),
    uri: '',
    headers,
    peer: p.peerAddressStart < 0 ? null : { address: spanText(buf, p.peerAddressStart, p.peerAddressEnd), port: p.peerPort },
    from,
    more: p.more,
    body,
    websocket,
  }
}

/** One packet of `type` per BATCH_IDS_MAX sessions of `gw`, each id with its own next seq. */
export function writeBatches(
  w: PacketWriter,
  from: Uint8Array,
  gw: GatewayLink,
  list: Session[],
  type: string,
  now: number,
  send: (packet: Uint8Array) => void,
): void {
  for (let i = 0; i < list.length; i += BATCH_IDS_MAX) {
    const part = list.slice(i, i + BATCH_IDS_MAX)
    let idMax = 0
    for (const s of part) idMax = Math.max(idMax, s.id.length)
    w.beginBatch(gw.instance, from, part.length, idMax)
    for (const s of part) {
      w.batchId(s.id, s.seqOut++)
      s.lastSentMs = now
    }
    w.endBatch()
    w.type(type)
    send(w.end())
  }
}
