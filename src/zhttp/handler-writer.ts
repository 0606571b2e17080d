// The handler side of ZHTTP stream mode, for handlers written on zgate's own binding (the demo
// handler, the benchmark handler): packets to the gateway go out on PUB as one frame
// `<instance-id> T{from, id, seq, ...}` (zhttp.md 1.3, 2.2). Written straight into the PUB
// socket's outbox; the caller adds its fields between begin and end.

import type { Outbox } from '../zmq/outbox.ts'
import type { TnWriter } from './tnetstring.ts'
import { KEY_FROM, KEY_ID, KEY_SEQ, KEY_CODE, KEY_REASON, KEY_HEADERS } from './packet-types.ts'

/** Room for the fields of a packet besides its body, generously. */
const HANDLER_PACKET_OVERHEAD_BYTES = 4096

/** Where a handler's packets go and who it is. */
export interface HandlerIdentity {
  /** `<instance-id> ` — the gateway's SUB subscription prefix. */
  prefix: Uint8Array
  /** The handler's address (its ROUTER identity). */
  from: Uint8Array
}

/**
 * Begins `<instance> T{from, id, seq` for session id idBuf[idS, idE) with room for `bodyBytes`
 * of body; `seq` < 0 leaves seq out.
 */
export function beginHandlerPacket(
  ob: Outbox,
  w: TnWriter,
  me: HandlerIdentity,
  idBuf: Uint8Array,
  idS: number,
  idE: number,
  seq: number,
  bodyBytes: number,
): void {
  ob.ensure(bodyBytes + HANDLER_PACKET_OVERHEAD_BYTES)
  ob.beginMessage()
  const p = ob.beginFrame()
  ob.buf.set(me.prefix, p)
  w.reset(ob.buf, p + me.prefix.length)
  w.raw(0x54) // 'T'
  w.beginMap(bodyBytes > 9000 ? 5 : 3)
  w.encoded(KEY_FROM)
  w.bytes(me.from, 0, me.from.length)
  w.encoded(KEY_ID)
  w.bytes(idBuf, idS, idE)
  if (seq >= 0) {
    w.encoded(KEY_SEQ)
    w.int(seq)
  }
}

/** `code`, `reason` and `headers` of a response head (zhttp.md 3.4). */
export function writeStatus(
  w: TnWriter,
  code: number,
  reason: string,
  headers: ReadonlyArray<readonly [string, string]>,
): void {
  w.encoded(KEY_CODE)
  w.int(code)
  w.encoded(KEY_REASON)
  w.ascii(reason)
  w.encoded(KEY_HEADERS)
  w.beginList()
  for (const [name, value] of headers) {
    w.beginList()
    w.ascii(name)
    w.ascii(value)
    w.endList()
  }
  w.endList()
}

export function endHandlerPacket(ob: Outbox, w: TnWriter): void {
  w.endMap()
  ob.endFrame(w.pos, false)
  ob.endMessage()
}
