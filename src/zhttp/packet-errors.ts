// Why parseHandlerPacket (packet.ts) rejected a handler packet: one negative code per cause,
// and a constant text for each, worded as condure's WARN lines where the doc gives them
// (zhttp.md 2.3, checklist 12-15). A rejected packet is dropped whole.

import {
  F_CODE,
  F_CREDITS,
  F_FROM,
  F_MAX_SIZE,
  F_PEER_PORT,
  F_SEQ,
  F_TIMEOUT,
  FIELD_TYPES,
} from './packet-types.ts'

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
// A known field holding the wrong tnetstring type (zhttp.md 2.3), in the order of the F_*
// field numbers (packet-types.ts): see wrongTypeCode.
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

/** The PACKET_ERR_TYPE_* code of known field `f` (an F_* number). */
export function wrongTypeCode(f: number): number {
  return PACKET_ERR_TYPE_FROM + F_FROM - f
}

// Int fields must be ≥ 0 (zhttp.md 2.3): the code for a negative one, indexed by F_*.
const NEGATIVE_CODES = new Int8Array(FIELD_TYPES.length)
NEGATIVE_CODES[F_SEQ] = PACKET_ERR_NEG_SEQ
NEGATIVE_CODES[F_CODE] = PACKET_ERR_NEG_CODE
NEGATIVE_CODES[F_CREDITS] = PACKET_ERR_NEG_CREDITS
NEGATIVE_CODES[F_MAX_SIZE] = PACKET_ERR_NEG_MAX_SIZE
NEGATIVE_CODES[F_TIMEOUT] = PACKET_ERR_NEG_TIMEOUT
NEGATIVE_CODES[F_PEER_PORT] = PACKET_ERR_NEG_PEER_PORT

/** The PACKET_ERR_NEG_* code of int field `f` (an F_* number) holding a negative value. */
export function negativeCode(f: number): number {
  return NEGATIVE_CODES[f]
}

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
