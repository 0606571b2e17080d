// ZHTTP packets: parse handler → gateway packets (zhttp.md 2.1, 3.1-3.9). The writing side
// (gateway → handler) lives in packet-writer.ts and is re-exported from here, so importers
// keep using this file for both.
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
import { asciiBytes, CH_T, EMPTY_BYTES } from './packet-writer.ts'
import {
  TN_BOOL,
  TN_INT,
  TN_LIST,
  TN_MAP,
  TN_OK,
  TN_STRING,
  TnSpan,
  decodeTn,
  isUtf8,
  readTnInt,
  spanEquals,
  spanEqualsAscii,
  tnBool,
} from './tnetstring.ts'

export {
  EXT_MULTI_FIELD,
  IdBatch,
  KEY_BODY,
  KEY_CODE,
  KEY_CONDITION,
  KEY_CONTENT_TYPE,
  KEY_CREDITS,
  KEY_EXT,
  KEY_FROM,
  KEY_HEADERS,
  KEY_ID,
  KEY_METHOD,
  KEY_MORE,
  KEY_PEER_ADDRESS,
  KEY_PEER_PORT,
  KEY_REASON,
  KEY_SEQ,
  KEY_STREAM,
  KEY_TYPE,
  KEY_URI,
  MULTI_ID_ELEMENT_OVERHEAD_MAX_BYTES,
  SIMPLE_PACKET_OVERHEAD_MAX_BYTES,
  TYPE_ASCII_CREDIT,
  writeMultiIdPacket,
  writeSimplePacket,
} from './packet-writer.ts'

// --- packet types (zhttp.md 3.1; the `type` field, absent or empty = data) ---
export const TYPE_DATA = 0
export const TYPE_ERROR = 1
export const TYPE_CREDIT = 2
export const TYPE_KEEP_ALIVE = 3
export const TYPE_CANCEL = 4
export const TYPE_HANDOFF_START = 5
export const TYPE_HANDOFF_PROCEED = 6
export const TYPE_CLOSE = 7
export const TYPE_PING = 8
export const TYPE_PONG = 9
/** Any other `type` value (zhttp.md 3.1); the session decides what that means (4.4). */
export const TYPE_UNKNOWN = 10

// --- parse results ---
export const PACKET_OK = 0
export const PACKET_ERR_FORMAT = -1
export const PACKET_ERR_TNETSTRING = -2
export const PACKET_ERR_NOT_MAP = -3
export const PACKET_ERR_KEY = -4
export const PACKET_ERR_TOO_MANY_IDS = -5
export const PACKET_ERR_ID_MISSING = -6
export const PACKET_ERR_TOO_MANY_HEADERS = -7
export const PACKET_ERR_HEADER_SIZE = -8
/** An integer beyond ±2^53: condure would take up to i64, zgate refuses rather than round. */
export const PACKET_ERR_INT_RANGE = -9
// A known field holding the wrong tnetstring type (zhttp.md 2.3).
export const PACKET_ERR_TYPE_FROM = -10
export const PACKET_ERR_TYPE_ID = -11
export const PACKET_ERR_TYPE_SEQ = -12
export const PACKET_ERR_TYPE_TYPE = -13
export const PACKET_ERR_TYPE_CODE = -14
export const PACKET_ERR_TYPE_REASON = -15
export const PACKET_ERR_TYPE_HEADERS = -16
export const PACKET_ERR_TYPE_CONTENT_TYPE = -17
export const PACKET_ERR_TYPE_BODY = -18
export const PACKET_ERR_TYPE_CREDITS = -19
export const PACKET_ERR_TYPE_MORE = -20
export const PACKET_ERR_TYPE_STREAM = -21
export const PACKET_ERR_TYPE_CONDITION = -22
export const PACKET_ERR_TYPE_MAX_SIZE = -23
export const PACKET_ERR_TYPE_TIMEOUT = -24
export const PACKET_ERR_TYPE_PEER_ADDRESS = -25
export const PACKET_ERR_TYPE_PEER_PORT = -26
export const PACKET_ERR_TYPE_EXT = -27
// A negative value where condure requires ≥ 0 (zhttp.md 2.3).
export const PACKET_ERR_NEG_SEQ = -28
export const PACKET_ERR_NEG_CODE = -29
export const PACKET_ERR_NEG_CREDITS = -30
export const PACKET_ERR_NEG_MAX_SIZE = -31
export const PACKET_ERR_NEG_TIMEOUT = -32
export const PACKET_ERR_NEG_PEER_PORT = -33
/** A header name that is not UTF-8. */
export const PACKET_ERR_HEADER_NAME = -34

// Indexed by -code; the texts follow condure's WARN wording where the doc gives it. Built once
// at load, so packetErrorText hands out constant strings.
const PACKET_ERROR_TEXTS: readonly string[] = [
  'ok',
  'unrecognized data format',
  'malformed tnetstring',
  'packet is not a map',
  'map key must be a utf-8 string',
  'too many ids',
  'id list element without id',
  'too many headers',
  'header must be a list of at least 2 elements',
  'integer out of range',
  // PACKET_ERR_TYPE_FROM ... PACKET_ERR_TYPE_EXT, in code order.
  ...['from', 'id', 'seq', 'type', 'code', 'reason', 'headers', 'content-type', 'body']
    .concat(['credits', 'more', 'stream', 'condition', 'max-size', 'timeout', 'peer-address'])
    .concat(['peer-port', 'ext'])
    .map((f) => `wrong type for field ${f}`),
  // PACKET_ERR_NEG_SEQ ... PACKET_ERR_NEG_PEER_PORT, in code order.
  ...['seq', 'code', 'credits', 'max-size', 'timeout', 'peer-port'].map((f) => `negative ${f}`),
  'header name must be a utf-8 string',
]

/** A short message for a PACKET_ERR_* code (a constant string, no allocation). */
export function packetErrorText(code: number): string {
  return PACKET_ERROR_TEXTS[-code] ?? 'unknown packet error'
}

/**
 * One parsed handler packet: reusable scratch, every field set in the constructor and reset by
 * parseHandlerPacket. Offsets point into `buf`; `*Start` = -1 means the field was absent.
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

// --- parsing ---

// Field numbers for the key dispatch, in the order of the PACKET_ERR_TYPE_* codes, so that a
// field's wrong-type code is PACKET_ERR_TYPE_FROM + F_FROM - f.
const F_UNKNOWN = 0
const F_FROM = 1
const F_ID = 2
const F_SEQ = 3
const F_TYPE = 4
const F_CODE = 5
const F_REASON = 6
const F_HEADERS = 7
const F_CONTENT_TYPE = 8
const F_BODY = 9
const F_CREDITS = 10
const F_MORE = 11
const F_STREAM = 12
const F_CONDITION = 13
const F_MAX_SIZE = 14
const F_TIMEOUT = 15
const F_PEER_ADDRESS = 16
const F_PEER_PORT = 17
const F_EXT = 18

// Raw key bytes (not tnetstring-framed), indexed by F_*.
const FIELD_KEYS: readonly Uint8Array[] = [
  ...['', 'from', 'id', 'seq', 'type', 'code', 'reason', 'headers', 'content-type', 'body'],
  ...['credits', 'more', 'stream', 'condition', 'max-size', 'timeout', 'peer-address'],
  ...['peer-port', 'ext'],
].map(asciiBytes)
const V_BINARY = asciiBytes('binary')

/** Which known field buf[s, e) names: a switch on length and first byte picks the one
 * candidate, then a single compare confirms it. */
function fieldOf(buf: Uint8Array, s: number, e: number): number {
  let f = F_UNKNOWN
  const c = buf[s]
  switch (e - s) {
    case 2:
      f = F_ID
      break
    case 3:
      f = c === 0x73 ? F_SEQ : F_EXT // s
      break
    case 4: // from type code body more
      if (c === 0x66) f = F_FROM
      else if (c === 0x74) f = F_TYPE
      else if (c === 0x63) f = F_CODE
      else f = c === 0x62 ? F_BODY : F_MORE
      break
    case 6:
      f = c === 0x72 ? F_REASON : F_STREAM // r
      break
    case 7: // headers credits timeout
      f = c === 0x68 ? F_HEADERS : c === 0x63 ? F_CREDITS : F_TIMEOUT
      break
    case 8:
      f = F_MAX_SIZE
      break
    case 9:
      f = c === 0x63 ? F_CONDITION : F_PEER_PORT // c
      break
    case 12:
      f = c === 0x63 ? F_CONTENT_TYPE : F_PEER_ADDRESS // c
      break
  }
  return f !== F_UNKNOWN && spanEquals(buf, s, e, FIELD_KEYS[f]) ? f : F_UNKNOWN
}

// `type` values indexed by TYPE_* (TYPE_DATA's '' is handled before the lookup).
const TYPE_VALUES: readonly Uint8Array[] = [
  ...['', 'error', 'credit', 'keep-alive', 'cancel', 'handoff-start', 'handoff-proceed'],
  ...['close', 'ping', 'pong'],
].map(asciiBytes)

/** TYPE_* for the `type` value buf[s, e) (zhttp.md 3.1); empty means data. */
function typeOf(buf: Uint8Array, s: number, e: number): number {
  if (s === e) return TYPE_DATA
  // spanEquals rejects on length first, so this is ~9 length compares and one byte loop.
  for (let t = TYPE_ERROR; t <= TYPE_PONG; t++) {
    if (spanEquals(buf, s, e, TYPE_VALUES[t])) return t
  }
  return TYPE_UNKNOWN
}

// The tnetstring type each known field must have (zhttp.md 2.3, 3.1-3.9), indexed by F_*;
// `id` may also be a list (3.1).
const FIELD_TYPES = Uint8Array.of(
  0,
  // from, id, seq, type, code, reason
  ...[TN_STRING, TN_STRING, TN_INT, TN_STRING, TN_INT, TN_STRING],
  // headers, content-type, body, credits, more, stream
  ...[TN_LIST, TN_STRING, TN_STRING, TN_INT, TN_BOOL, TN_BOOL],
  // condition, max-size, timeout, peer-address, peer-port, ext
  ...[TN_STRING, TN_INT, TN_INT, TN_STRING, TN_INT, TN_MAP],
)
// Int fields must be ≥ 0 (zhttp.md 2.3): the code for a negative one, indexed by F_*.
const NEGATIVE_CODES = new Int8Array(FIELD_TYPES.length)
NEGATIVE_CODES[F_SEQ] = PACKET_ERR_NEG_SEQ
NEGATIVE_CODES[F_CODE] = PACKET_ERR_NEG_CODE
NEGATIVE_CODES[F_CREDITS] = PACKET_ERR_NEG_CREDITS
NEGATIVE_CODES[F_MAX_SIZE] = PACKET_ERR_NEG_MAX_SIZE
NEGATIVE_CODES[F_TIMEOUT] = PACKET_ERR_NEG_TIMEOUT
NEGATIVE_CODES[F_PEER_PORT] = PACKET_ERR_NEG_PEER_PORT

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
      return PACKET_ERR_TYPE_FROM + F_FROM - f
    }
    let n = 0
    if (v.type === TN_INT) {
      n = readTnInt(buf, v.dataStart, v.dataEnd)
      if (n !== n) return PACKET_ERR_INT_RANGE // NaN: decodeTn checked the digits, so too big
      if (n < 0) return NEGATIVE_CODES[f]
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
