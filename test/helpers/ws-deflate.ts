// permessage-deflate reference for the e2e tests (RFC 7692 7.2): messages are raw DEFLATE
// ended by a sync flush whose `00 00 ff ff` tail is left off on the wire. zlib (node:zlib)
// is the independent codec the gateway's output is checked against.

import { constants, deflateRawSync, inflateRawSync } from 'node:zlib'
import { concat } from './ws-frame.ts'

const SYNC_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff])
const SYNC = { finishFlush: constants.Z_SYNC_FLUSH }

/** One message compressed with a fresh context, tail removed (RFC 7692 7.2.1). */
export function deflateMessage(plain: Uint8Array | string): Uint8Array {
  const b = typeof plain === 'string' ? new TextEncoder().encode(plain) : plain
  const out = new Uint8Array(deflateRawSync(b, SYNC))
  if (!endsWithTail(out)) throw new Error('zlib output does not end with a sync flush')
  return out.subarray(0, out.length - SYNC_TAIL.length)
}

/**
 * Inflates compressed message payloads as one stream (context takeover: a later message may
 * refer back into earlier ones, RFC 7692 7.2.2); returns the plain bytes of each.
 */
export function inflateMessages(payloads: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let done = 0
  for (let i = 0; i < payloads.length; i++) {
    const all = new Uint8Array(inflateRawSync(concat(payloads.slice(0, i + 1).flatMap((p) => [p, SYNC_TAIL])), SYNC))
    out.push(all.slice(done))
    done = all.length
  }
  return out
}

/** Inflates one message payload on its own (valid only if it needs no earlier context). */
export function inflateAlone(payload: Uint8Array): Uint8Array {
  return new Uint8Array(inflateRawSync(concat([payload, SYNC_TAIL]), SYNC))
}

function endsWithTail(b: Uint8Array): boolean {
  const n = b.length
  return n >= 4 && b[n - 4] === 0 && b[n - 3] === 0 && b[n - 2] === 0xff && b[n - 1] === 0xff
}
