// Parsing gateway → handler packets (the request direction, zhttp.md 3.1-3.9): the first
// packet of a request or WebSocket (method, uri, headers, peer), body and message chunks, and
// the control types (credit, keep-alive, cancel, handoff-proceed, close, ping, pong).
// src/zhttp/packet.ts parses the other direction (handler → gateway) for the gateway itself.
//
// Invariants:
// - parseGatewayPacket allocates nothing: it fills a caller-owned GatewayPacket with offsets
//   into the parsed buffer, valid while that buffer is unchanged.
// - All or nothing, as a gateway treats our packets (zhttp.md 2.3): a known field of the wrong
//   tnetstring type, a negative count, too many ids or headers reject the whole packet with a
//   named error code. Unknown keys are skipped (zhttp.md 3.10). Bad input never throws.

import {
  decodeTn,
  readTnInt,
  tnBool,
  TN_BOOL,
  TN_INT,
  TN_LIST,
  TN_MAP,
  TN_OK,
  TN_STRING,
  TnSpan,
} from '../zhttp/tnetstring.ts'
import { spanEqualsAscii } from '../util/bytes.ts'

/** Ids one packet may address (zhttp.md 3.1: a gateway batches at most 128). */
export const GATEWAY_PACKET_IDS_MAX = 128
/** Headers one first packet may carry (zhttp.md 4.2: a gateway forwards at most 64). */
export const GATEWAY_PACKET_HEADERS_MAX = 64

// Packet types (zhttp.md 3.2).
export const PT_DATA = 0
export const PT_ERROR = 1
export const PT_CREDIT = 2
export const PT_KEEP_ALIVE = 3
export const PT_CANCEL = 4
export const PT_HANDOFF_START = 5
export const PT_HANDOFF_PROCEED = 6
export const PT_CLOSE = 7
export const PT_PING = 8
export const PT_PONG = 9
export const PT_UNKNOWN = 10
const TYPE_NAMES = ['', 'error', 'credit', 'keep-alive', 'cancel', 'handoff-start', 'handoff-proceed']
  .concat(['close', 'ping', 'pong'])

// Parse results.
export const GP_OK = 0
export const GP_ERR_PREFIX = -1
export const GP_ERR_TNETSTRING = -2
export const GP_ERR_NOT_MAP = -3
export const GP_ERR_KEY = -4
export const GP_ERR_FIELD_TYPE = -5
export const GP_ERR_NEGATIVE = -6
export const GP_ERR_TOO_MANY_IDS = -7
export const GP_ERR_TOO_MANY_HEADERS = -8
export const GP_ERR_HEADER = -9
export const GP_ERR_NO_ID = -10
const GP_ERROR_TEXTS = ['ok', 'payload does not start with T', 'malformed tnetstring', 'not a map']
  .concat(['bad map key', 'field of the wrong type', 'negative number', 'too many ids'])
  .concat(['too many headers', 'malformed header pair', 'no id'])

/** A constant message for a GP_ERR_* code. */
export function gatewayPacketErrorText(code: number): string {
  return GP_ERROR_TEXTS[-code] ?? 'unknown error'
}

const CH_T = 0x54

/** One parsed gateway packet; offsets into `buf`, `*Start` = -1 when the field is absent. */
export class GatewayPacket {
  buf: Uint8Array = new Uint8Array(0)
  fromStart = -1
  fromEnd = -1
  /** 1 for the plain string `id`, n for the list form (zhttp.md 3.1). */
  idCount = 0
  readonly idStart = new Int32Array(GATEWAY_PACKET_IDS_MAX)
  readonly idEnd = new Int32Array(GATEWAY_PACKET_IDS_MAX)
  /** Per-id seq (-1 when absent); the plain form copies the top-level seq into [0]. */
  readonly idSeq = new Float64Array(GATEWAY_PACKET_IDS_MAX)
  seq = -1
  type = PT_DATA
  typeStart = -1
  typeEnd = -1
  methodStart = -1
  methodEnd = -1
  uriStart = -1
  uriEnd = -1
  headerCount = 0
  readonly headerNameStart = new Int32Array(GATEWAY_PACKET_HEADERS_MAX)
  readonly headerNameEnd = new Int32Array(GATEWAY_PACKET_HEADERS_MAX)
  readonly headerValueStart = new Int32Array(GATEWAY_PACKET_HEADERS_MAX)
  readonly headerValueEnd = new Int32Array(GATEWAY_PACKET_HEADERS_MAX)
  bodyStart = -1
  bodyEnd = -1
  /** -1 when absent. */
  credits = -1
  more = false
  stream = false
  /** `content-type` is exactly `binary` (anything else means text, zhttp.md 3.3). */
  binary = false
  peerAddressStart = -1
  peerAddressEnd = -1
  peerPort = -1
  /** Close code (zhttp.md 3.7) or rejection status; -1 when absent. */
  code = -1
  reasonStart = -1
  reasonEnd = -1
  conditionStart = -1
  conditionEnd = -1

  clear(buf: Uint8Array): void {
    this.buf = buf
    this.fromStart = this.fromEnd = -1
    this.idCount = 0
    this.seq = -1
    this.type = PT_DATA
    this.typeStart = this.typeEnd = -1
    this.methodStart = this.methodEnd = -1
    this.uriStart = this.uriEnd = -1
    this.headerCount = 0
    this.bodyStart = this.bodyEnd = -1
    this.credits = -1
    this.more = false
    this.stream = false
    this.binary = false
    this.peerAddressStart = this.peerAddressEnd = -1
    this.peerPort = -1
    this.code = -1
    this.reasonStart = this.reasonEnd = -1
    this.conditionStart = this.conditionEnd = -1
  }

  /** Body length (0 when absent). */
  get bodyLength(): number {
    return this.bodyStart < 0 ? 0 : this.bodyEnd - this.bodyStart
  }

  /** The type as its wire name ('' for data), for logs. */
  typeName(): string {
    return this.type === PT_UNKNOWN ? 'unknown' : TYPE_NAMES[this.type]
  }
}

// Reused spans: parsing is synchronous and never re-entered.
const top = new TnSpan()
const key = new TnSpan()
const val = new TnSpan()
const item = new TnSpan()
const sub = new TnSpan()
const sub2 = new TnSpan()

/**
 * Parses `T<tnetstring map>` in buf[start, end) into `out` (zhttp.md 2.1). Returns GP_OK or a
 * negative GP_ERR_* code (`out` is then partly filled and must not be used).
 */
export function parseGatewayPacket(buf: Uint8Array, start: number, end: number, out: GatewayPacket): number {
  out.clear(buf)
  if (start >= end || buf[start] !== CH_T) return GP_ERR_PREFIX
  if (decodeTn(buf, start + 1, end, top) !== TN_OK) return GP_ERR_TNETSTRING
  if (top.type !== TN_MAP) return GP_ERR_NOT_MAP
  let p = top.dataStart
  const mapEnd = top.dataEnd
  while (p < mapEnd) {
    if (decodeTn(buf, p, mapEnd, key) !== TN_OK || key.type !== TN_STRING) return GP_ERR_KEY
    if (decodeTn(buf, key.next, mapEnd, val) !== TN_OK) return GP_ERR_TNETSTRING
    const rc = field(buf, key.dataStart, key.dataEnd, out)
    if (rc !== GP_OK) return rc
    p = val.next
  }
  if (out.idCount === 0) return GP_ERR_NO_ID
  if (out.idCount === 1 && out.idSeq[0] < 0 && out.seq >= 0) out.idSeq[0] = out.seq
  return GP_OK
}

function str(out: GatewayPacket, which: 'from' | 'type' | 'method' | 'uri' | 'body' | 'peerAddress' | 'reason' | 'condition'): number {
  if (val.type !== TN_STRING) return GP_ERR_FIELD_TYPE
  switch (which) {
    case 'from':
      out.fromStart = val.dataStart
      out.fromEnd = val.dataEnd
      break
    case 'type':
      out.typeStart = val.dataStart
      out.typeEnd = val.dataEnd
      out.type = typeCode(out.buf, val.dataStart, val.dataEnd)
      break
    case 'method':
      out.methodStart = val.dataStart
      out.methodEnd = val.dataEnd
      break
    case 'uri':
      out.uriStart = val.dataStart
      out.uriEnd = val.dataEnd
      break
    case 'body':
      out.bodyStart = val.dataStart
      out.bodyEnd = val.dataEnd
      break
    case 'peerAddress':
      out.peerAddressStart = val.dataStart
      out.peerAddressEnd = val.dataEnd
      break
    case 'reason':
      out.reasonStart = val.dataStart
      out.reasonEnd = val.dataEnd
      break
    case 'condition':
      out.conditionStart = val.dataStart
      out.conditionEnd = val.dataEnd
      break
  }
  return GP_OK
}

/** A non-negative integer value, or a negative GP_ERR_* code. */
function uint(buf: Uint8Array): number {
  if (val.type !== TN_INT) return GP_ERR_FIELD_TYPE
  const n = readTnInt(buf, val.dataStart, val.dataEnd)
  if (!(n >= 0)) return GP_ERR_NEGATIVE
  return n
}

function bool(): number {
  if (val.type !== TN_BOOL) return GP_ERR_FIELD_TYPE
  return tnBool(val) ? 1 : 0
}

function field(buf: Uint8Array, ks: number, ke: number, out: GatewayPacket): number {
  const n = ke - ks
  // Dispatch on length and first byte, then compare: no string is built.
  const c = buf[ks]
  let v: number
  switch (n) {
    case 2:
      if (spanEqualsAscii(buf, ks, ke, 'id')) return ids(buf, out)
      return GP_OK
    case 3:
      if (spanEqualsAscii(buf, ks, ke, 'seq')) {
        if ((v = uint(buf)) < 0) return v
        out.seq = v
      } else if (spanEqualsAscii(buf, ks, ke, 'uri')) return str(out, 'uri')
      return GP_OK
    case 4:
      if (c === 0x66 /* f */ && spanEqualsAscii(buf, ks, ke, 'from')) return str(out, 'from')
      if (c === 0x74 /* t */ && spanEqualsAscii(buf, ks, ke, 'type')) return str(out, 'type')
      if (c === 0x62 /* b */ && spanEqualsAscii(buf, ks, ke, 'body')) return str(out, 'body')
      if (c === 0x6d /* m */ && spanEqualsAscii(buf, ks, ke, 'more')) {
        if ((v = bool()) < 0) return v
        out.more = v === 1
      } else if (c === 0x63 /* c */ && spanEqualsAscii(buf, ks, ke, 'code')) {
        if ((v = uint(buf)) < 0) return v
        out.code = v
      }
      return GP_OK
    case 6:
      if (spanEqualsAscii(buf, ks, ke, 'method')) return str(out, 'method')
      if (spanEqualsAscii(buf, ks, ke, 'stream')) {
        if ((v = bool()) < 0) return v
        out.stream = v === 1
      } else if (spanEqualsAscii(buf, ks, ke, 'reason')) return str(out, 'reason')
      return GP_OK
    case 7:
      if (spanEqualsAscii(buf, ks, ke, 'credits')) {
        if ((v = uint(buf)) < 0) return v
        out.credits = v
      } else if (spanEqualsAscii(buf, ks, ke, 'headers')) return headers(buf, out)
      return GP_OK
    case 9:
      if (spanEqualsAscii(buf, ks, ke, 'peer-port')) {
        if ((v = uint(buf)) < 0) return v
        out.peerPort = v
      } else if (spanEqualsAscii(buf, ks, ke, 'condition')) return str(out, 'condition')
      return GP_OK
    case 12:
      if (spanEqualsAscii(buf, ks, ke, 'content-type')) {
        if (val.type !== TN_STRING) return GP_ERR_FIELD_TYPE
        out.binary = spanEqualsAscii(buf, val.dataStart, val.dataEnd, 'binary')
      } else if (spanEqualsAscii(buf, ks, ke, 'peer-address')) return str(out, 'peerAddress')
      return GP_OK
    default:
      return GP_OK
  }
}

function typeCode(buf: Uint8Array, s: number, e: number): number {
  if (s === e) return PT_DATA
  for (let t = 1; t < TYPE_NAMES.length; t++) {
    if (spanEqualsAscii(buf, s, e, TYPE_NAMES[t])) return t
  }
  return PT_UNKNOWN
}

// `id`: a string, or a list of maps {id, seq} (zhttp.md 3.1).
function ids(buf: Uint8Array, out: GatewayPacket): number {
  if (val.type === TN_STRING) {
    out.idCount = 1
    out.idStart[0] = val.dataStart
    out.idEnd[0] = val.dataEnd
    out.idSeq[0] = -1
    return GP_OK
  }
  if (val.type !== TN_LIST) return GP_ERR_FIELD_TYPE
  let p = val.dataStart
  let n = 0
  while (p < val.dataEnd) {
    if (decodeTn(buf, p, val.dataEnd, item) !== TN_OK) return GP_ERR_TNETSTRING
    if (item.type !== TN_MAP) return GP_ERR_FIELD_TYPE
    if (n >= GATEWAY_PACKET_IDS_MAX) return GP_ERR_TOO_MANY_IDS
    out.idStart[n] = -1
    out.idSeq[n] = -1
    let q = item.dataStart
    while (q < item.dataEnd) {
      if (decodeTn(buf, q, item.dataEnd, sub) !== TN_OK || sub.type !== TN_STRING) return GP_ERR_KEY
      if (decodeTn(buf, sub.next, item.dataEnd, sub2) !== TN_OK) return GP_ERR_TNETSTRING
      if (spanEqualsAscii(buf, sub.dataStart, sub.dataEnd, 'id')) {
        if (sub2.type !== TN_STRING) return GP_ERR_FIELD_TYPE
        out.idStart[n] = sub2.dataStart
        out.idEnd[n] = sub2.dataEnd
      } else if (spanEqualsAscii(buf, sub.dataStart, sub.dataEnd, 'seq')) {
        if (sub2.type !== TN_INT) return GP_ERR_FIELD_TYPE
        const s = readTnInt(buf, sub2.dataStart, sub2.dataEnd)
        if (!(s >= 0)) return GP_ERR_NEGATIVE
        out.idSeq[n] = s
      }
      q = sub2.next
    }
    if (out.idStart[n] < 0) return GP_ERR_NO_ID
    n++
    p = item.next
  }
  out.idCount = n
  return GP_OK
}

// `headers`: a list of [name, value] byte-string pairs (zhttp.md 3.3).
function headers(buf: Uint8Array, out: GatewayPacket): number {
  if (val.type !== TN_LIST) return GP_ERR_FIELD_TYPE
  let p = val.dataStart
  let n = 0
  while (p < val.dataEnd) {
    if (decodeTn(buf, p, val.dataEnd, item) !== TN_OK) return GP_ERR_TNETSTRING
    if (item.type !== TN_LIST) return GP_ERR_HEADER
    if (n >= GATEWAY_PACKET_HEADERS_MAX) return GP_ERR_TOO_MANY_HEADERS
    if (decodeTn(buf, item.dataStart, item.dataEnd, sub) !== TN_OK || sub.type !== TN_STRING) return GP_ERR_HEADER
    if (decodeTn(buf, sub.next, item.dataEnd, sub2) !== TN_OK || sub2.type !== TN_STRING) return GP_ERR_HEADER
    if (sub2.next !== item.dataEnd) return GP_ERR_HEADER
    out.headerNameStart[n] = sub.dataStart
    out.headerNameEnd[n] = sub.dataEnd
    out.headerValueStart[n] = sub2.dataStart
    out.headerValueEnd[n] = sub2.dataEnd
    n++
    p = item.next
  }
  out.headerCount = n
  return GP_OK
}
