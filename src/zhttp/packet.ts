// ZHTTP packets from handlers: parse one handler → gateway payload (zhttp.md 2.1, 3.1-3.9)
// into a reusable HandlerPacket. The field keys and type codes are in packet-types.ts, the
// error codes and texts in packet-errors.ts, the writing side in packet-writer.ts.
//
// Invariants:
// - parseHandlerPacket allocates nothing. It fills a caller-owned HandlerPacket whose fields
//   are offsets into the parsed buffer (valid only while that buffer is unchanged) and
//   preallocated typed arrays for ids and headers (PACKET_IDS_MAX, PACKET_HEADERS_MAX).
// - A packet is all or nothing: any error (a wrong tnetstring type on a known field, a negative
//   where ≥ 0 is required, too many ids/headers) rejects the whole packet, as condure drops it
//   with a WARN (zhttp.md 2.3, checklist 12-15). The HandlerPacket is then partly filled and
//   must not be used.
// - Unknown keys are skipped, whatever their value (zhttp.md 3.10, checklist 16), but every key
//   must be a UTF-8 byte string (zhttp.md 2.3).

import { PACKET_HEADERS_MAX, PACKET_IDS_MAX } from '../limits.ts'
import {
  CH_T,
  EMPTY_BYTES,
  F_BODY,
  F_CODE,
  F_CONDITION,
  F_CONTENT_TYPE,
  F_CREDITS,
  F_FROM,
  F_HEADERS,
  F_ID,
  F_MORE,
  F_REASON,
  F_SEQ,
  F_STREAM,
  F_TYPE,
  F_UNKNOWN,
  FIELD_KEYS,
  FIELD_TYPES,
  TYPE_DATA,
  asciiBytes,
  fieldOf,
  typeOf,
} from './packet-types.ts'
import {
  PACKET_ERR_FORMAT,
  PACKET_ERR_HEADER_NAME,
  PACKET_ERR_HEADER_SIZE,
  PACKET_ERR_ID_MISSING,
  PACKET_ERR_INT_RANGE,
  PACKET_ERR_KEY,
  PACKET_ERR_NEG_SEQ,
  PACKET_ERR_NOT_MAP,
  PACKET_ERR_TNETSTRING,
  PACKET_ERR_TOO_MANY_HEADERS,
  PACKET_ERR_TOO_MANY_IDS,
  PACKET_ERR_TYPE_HEADERS,
  PACKET_ERR_TYPE_ID,
  PACKET_ERR_TYPE_SEQ,
  PACKET_OK,
  negativeCode,
  wrongTypeCode,
} from './packet-errors.ts'
import {
  TN_INT,
  TN_LIST,
  TN_MAP,
  TN_OK,
  TN_STRING,
  TnSpan,
  decodeTn,
  readTnInt,
  tnBool,
} from './tnetstring.ts'
import { spanEquals, spanEqualsAscii } from '../util/bytes.ts'
import { isUtf8 } from '../util/utf8.ts'

/**
 * One parsed handler packet: reusable scratch, every field set in the constructor and reset by
 * parseHandlerPacket. Offsets point into `buf`; `*Start` = -1 means the field was absent.
 * Its response fields are what http/response-spans.ts asks for, so the response writers take
 * it as is without importing this module.
 */
export class HandlerPacket {
  /** The buffer the offsets point into. */
  buf: Uint8Array = EMPTY_BYTES
  fromStart = -1
  fromEnd = -1
  /** 0 when `id` was absent; 1 for the plain string form; n for the list form (3.1). */
  idCount = 0
  readonly idStart = new Int32Array(PACKET_IDS_MAX)
  readonly idEnd = new Int32Array(PACKET_IDS_MAX)
  /** Per-id seq, -1 when absent. The plain form copies the top-level `seq` into [0]. */
  readonly idSeq = new Float64Array(PACKET_IDS_MAX)
  /** Top-level seq, -1 when absent. Not narrowed: zhttp.md 2.3 says u32, the session does it. */
  seq = -1
  /** TYPE_*; TYPE_DATA when `type` was absent or empty. */
  type = TYPE_DATA
  /** The raw `type` value, for logging unknown types. */
  typeStart = -1
  typeEnd = -1
  /** -1 when absent (the response writer turns that into status 0, zhttp.md 3.4). */
  code = -1
  reasonStart = -1
  reasonEnd = -1
  headerCount = 0
  readonly headerNameStart = new Int32Array(PACKET_HEADERS_MAX)
  readonly headerNameEnd = new Int32Array(PACKET_HEADERS_MAX)
  readonly headerValueStart = new Int32Array(PACKET_HEADERS_MAX)
  readonly headerValueEnd = new Int32Array(PACKET_HEADERS_MAX)
  bodyStart = -1
  bodyEnd = -1
  /** -1 when absent. */
  credits = -1
  more = false
  stream = false
  hasContentType = false
  /** `content-type` is exactly `binary` (zhttp.md 3.4: anything else means text). */
  binary = false
  conditionStart = -1
  conditionEnd = -1

  /** Back to "nothing parsed"; the typed arrays are left as they are (counts guard them). */
  clear(buf: Uint8Array): void {
    this.buf = buf
    this.fromStart = -1
    this.fromEnd = -1
    this.idCount = 0
    this.seq = -1
    this.type = TYPE_DATA
    this.typeStart = -1
    this.typeEnd = -1
    this.code = -1
    this.reasonStart = -1
    this.reasonEnd = -1
    this.headerCount = 0
    this.bodyStart = -1
    this.bodyEnd = -1
    this.credits = -1
    this.more = false
    this.stream = false
    this.hasContentType = false
    this.binary = false
    this.conditionStart = -1
    this.conditionEnd = -1
  }
}

/** True when p.buf[s, e) is the ASCII string `str`; false for an absent field (s = -1),
 * e.g. `packetFieldEquals(p, p.conditionStart, p.conditionEnd, 'rejected')` (zhttp.md 3.5). */
export function packetFieldEquals(p: HandlerPacket, s: number, e: number, str: string): boolean {
  return s >= 0 && spanEqualsAscii(p.buf, s, e, str)
}

const V_BINARY = asciiBytes('binary')

// Scratch spans, one per nesting role. The parser is synchronous and never re-entered, so
// module-level scratch is safe (each worker has its own module instance).
const topSpan = new TnSpan()
const keySpan = new TnSpan()
const valSpan = new TnSpan()
const elemSpan = new TnSpan()
const innerKeySpan = new TnSpan()
const innerValSpan = new TnSpan()

/**
 * Parses one handler → gateway payload in buf[start, end), starting at its `T` byte (the caller
 * strips the PUB/SUB `"<instance-id> "` prefix, zhttp.md 2.2). Bytes after the top-level
 * tnetstring are ignored (zhttp.md 2.1). Returns PACKET_OK or a negative PACKET_ERR_* code.
 */
export function parseHandlerPacket(
  buf: Uint8Array,
  start: number,
  end: number,
  out: HandlerPacket,
): number {
  out.clear(buf)
  if (end > buf.length) end = buf.length
  if (start >= end || buf[start] !== CH_T) return PACKET_ERR_FORMAT
  if (decodeTn(buf, start + 1, end, topSpan) !== TN_OK) return PACKET_ERR_TNETSTRING
  if (topSpan.type !== TN_MAP) return PACKET_ERR_NOT_MAP
  const mapEnd = topSpan.dataEnd
  let pos = topSpan.dataStart
  let idIsString = false
  const k = keySpan
  const v = valSpan
  while (pos < mapEnd) {
    if (decodeTn(buf, pos, mapEnd, k) !== TN_OK) return PACKET_ERR_TNETSTRING
    if (k.type !== TN_STRING) return PACKET_ERR_KEY
    if (decodeTn(buf, k.next, mapEnd, v) !== TN_OK) return PACKET_ERR_TNETSTRING
    pos = v.next
    const f = fieldOf(buf, k.dataStart, k.dataEnd)
    if (f === F_UNKNOWN) {
      // Skipped whatever its value (zhttp.md 3.10), but the key must still be UTF-8 (2.3).
      if (!isUtf8(buf, k.dataStart, k.dataEnd)) return PACKET_ERR_KEY
      continue
    }
    // Type check first, for every known field alike: one wrong type drops the packet (2.3).
    if (v.type !== FIELD_TYPES[f] && !(f === F_ID && v.type === TN_LIST)) {
      return wrongTypeCode(f)
    }
    let n = 0
    if (v.type === TN_INT) {
      n = readTnInt(buf, v.dataStart, v.dataEnd)
      if (n !== n) return PACKET_ERR_INT_RANGE // NaN: decodeTn checked the digits, so too big
      if (n < 0) return negativeCode(f)
    }
    switch (f) {
      case F_FROM:
        out.fromStart = v.dataStart
        out.fromEnd = v.dataEnd
        break
      case F_ID:
        idIsString = v.type === TN_STRING
        if (idIsString) {
          out.idCount = 1
          out.idStart[0] = v.dataStart
          out.idEnd[0] = v.dataEnd
        } else {
          n = parseIdList(buf, v, out)
          if (n !== PACKET_OK) return n
        }
        break
      case F_SEQ:
        out.seq = n
        break
      case F_TYPE:
        out.type = typeOf(buf, v.dataStart, v.dataEnd)
        out.typeStart = v.dataStart
        out.typeEnd = v.dataEnd
        break
      case F_CODE:
        out.code = n
        break
      case F_REASON:
        out.reasonStart = v.dataStart
        out.reasonEnd = v.dataEnd
        break
      case F_HEADERS:
        n = parseHeaders(buf, v, out)
        if (n !== PACKET_OK) return n
        break
      case F_CONTENT_TYPE:
        out.hasContentType = true
        out.binary = spanEquals(buf, v.dataStart, v.dataEnd, V_BINARY)
        break
      case F_BODY:
        out.bodyStart = v.dataStart
        out.bodyEnd = v.dataEnd
        break
      case F_CREDITS:
        out.credits = n
        break
      case F_MORE:
        out.more = tnBool(v)
        break
      case F_STREAM:
        out.stream = tnBool(v)
        break
      case F_CONDITION:
        out.conditionStart = v.dataStart
        out.conditionEnd = v.dataEnd
        break
      // max-size, timeout, peer-address, peer-port (request-only, 3.3) and ext (whose received
      // value is ignored, 3.1) are only type-checked.
    }
  }
  // The plain form carries its seq at the top level (zhttp.md 3.1); map it onto id 0 so the
  // session code reads idSeq[i] for both forms. Done last: `seq` may follow `id`.
  if (idIsString) out.idSeq[0] = out.seq
  return PACKET_OK
}

/** The list form of `id`: `[{id: string, seq?: int}, ...]`, at most PACKET_IDS_MAX. */
function parseIdList(buf: Uint8Array, list: TnSpan, out: HandlerPacket): number {
  const end = list.dataEnd
  const e = elemSpan
  const k = innerKeySpan
  const v = innerValSpan
  let count = 0
  let pos = list.dataStart
  while (pos < end) {
    if (decodeTn(buf, pos, end, e) !== TN_OK) return PACKET_ERR_TNETSTRING
    pos = e.next
    if (count === PACKET_IDS_MAX) return PACKET_ERR_TOO_MANY_IDS
    if (e.type !== TN_MAP) return PACKET_ERR_TYPE_ID
    let idStart = -1
    let idEnd = -1
    let seq = -1
    let p = e.dataStart
    while (p < e.dataEnd) {
      if (decodeTn(buf, p, e.dataEnd, k) !== TN_OK) return PACKET_ERR_TNETSTRING
      if (k.type !== TN_STRING) return PACKET_ERR_KEY
      if (decodeTn(buf, k.next, e.dataEnd, v) !== TN_OK) return PACKET_ERR_TNETSTRING
      p = v.next
      if (spanEquals(buf, k.dataStart, k.dataEnd, FIELD_KEYS[F_ID])) {
        if (v.type !== TN_STRING) return PACKET_ERR_TYPE_ID
        idStart = v.dataStart
        idEnd = v.dataEnd
      } else if (spanEquals(buf, k.dataStart, k.dataEnd, FIELD_KEYS[F_SEQ])) {
        if (v.type !== TN_INT) return PACKET_ERR_TYPE_SEQ
        seq = readTnInt(buf, v.dataStart, v.dataEnd)
        if (seq !== seq) return PACKET_ERR_INT_RANGE
        if (seq < 0) return PACKET_ERR_NEG_SEQ
      } else if (!isUtf8(buf, k.dataStart, k.dataEnd)) {
        return PACKET_ERR_KEY
      }
    }
    if (idStart < 0) return PACKET_ERR_ID_MISSING
    out.idStart[count] = idStart
    out.idEnd[count] = idEnd
    out.idSeq[count] = seq
    count++
  }
  out.idCount = count
  return PACKET_OK
}

/** `headers`: a list of `[name, value]` byte-string pairs, at most PACKET_HEADERS_MAX
 * (zhttp.md 3.4; the 65th drops the packet, checklist 14). */
function parseHeaders(buf: Uint8Array, list: TnSpan, out: HandlerPacket): number {
  const end = list.dataEnd
  const e = elemSpan
  const name = innerKeySpan
  const value = innerValSpan
  let count = 0
  let pos = list.dataStart
  while (pos < end) {
    if (decodeTn(buf, pos, end, e) !== TN_OK) return PACKET_ERR_TNETSTRING
    pos = e.next
    if (count === PACKET_HEADERS_MAX) return PACKET_ERR_TOO_MANY_HEADERS
    if (e.type !== TN_LIST) return PACKET_ERR_TYPE_HEADERS
    // At least two children, a name then a value; like Condure, items after the first two
    // are ignored (they must still be well-formed tnetstrings).
    if (e.dataStart === e.dataEnd) return PACKET_ERR_HEADER_SIZE
    if (decodeTn(buf, e.dataStart, e.dataEnd, name) !== TN_OK) return PACKET_ERR_TNETSTRING
    if (name.next === e.dataEnd) return PACKET_ERR_HEADER_SIZE
    if (decodeTn(buf, name.next, e.dataEnd, value) !== TN_OK) return PACKET_ERR_TNETSTRING
    if (name.type !== TN_STRING || value.type !== TN_STRING) return PACKET_ERR_TYPE_HEADERS
    // Header names must be UTF-8 (Condure: "header name must be a utf-8 string"); values
    // may be any bytes.
    if (!isUtf8(buf, name.dataStart, name.dataEnd)) return PACKET_ERR_HEADER_NAME
    out.headerNameStart[count] = name.dataStart
    out.headerNameEnd[count] = name.dataEnd
    out.headerValueStart[count] = value.dataStart
    out.headerValueEnd[count] = value.dataEnd
    count++
    for (let q = value.next; q < e.dataEnd; q = name.next) {
      if (decodeTn(buf, q, e.dataEnd, name) !== TN_OK) return PACKET_ERR_TNETSTRING
    }
  }
  out.headerCount = count
  return PACKET_OK
}
