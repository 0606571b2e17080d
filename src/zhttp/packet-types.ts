// The ZHTTP vocabulary both directions share (zhttp.md 2.1, 3.1-3.10): the payload format
// byte, the field keys (pre-framed for writing, raw for matching), the packet type codes, and
// which tnetstring type each known field must have. packet.ts parses with these and
// packet-writer.ts writes with them; this file depends on neither.

import {
  TN_BOOL,
  TN_INT,
  TN_LIST,
  TN_MAP,
  TN_STRING,
  tnAsciiBytes,
} from './tnetstring.ts'
import { spanEquals } from '../util/bytes.ts'

/** `T`: the one payload format condure emits and accepts (zhttp.md 2.1). */
export const CH_T = 0x54
export const EMPTY_BYTES = new Uint8Array(0)

/** Raw (not tnetstring-framed) bytes of an ASCII string. Allocates: for module-level
 * constants only. */
export function asciiBytes(str: string): Uint8Array {
  const out = new Uint8Array(str.length)
  for (let i = 0; i < str.length; i++) out[i] = str.charCodeAt(i)
  return out
}

// Pre-framed keys (`4:from,` ...): writing one is a short copy, no length formatting. The
// session code composes the first request and body packets from these with a TnWriter.
export const KEY_FROM = tnAsciiBytes('from')
export const KEY_ID = tnAsciiBytes('id')
export const KEY_SEQ = tnAsciiBytes('seq')
export const KEY_EXT = tnAsciiBytes('ext')
export const KEY_TYPE = tnAsciiBytes('type')
export const KEY_METHOD = tnAsciiBytes('method')
export const KEY_URI = tnAsciiBytes('uri')
export const KEY_HEADERS = tnAsciiBytes('headers')
export const KEY_CONTENT_TYPE = tnAsciiBytes('content-type')
export const KEY_BODY = tnAsciiBytes('body')
export const KEY_CREDITS = tnAsciiBytes('credits')
export const KEY_MORE = tnAsciiBytes('more')
export const KEY_STREAM = tnAsciiBytes('stream')
export const KEY_PEER_ADDRESS = tnAsciiBytes('peer-address')
export const KEY_PEER_PORT = tnAsciiBytes('peer-port')
export const KEY_CODE = tnAsciiBytes('code')
export const KEY_REASON = tnAsciiBytes('reason')
export const KEY_CONDITION = tnAsciiBytes('condition')
/** The whole `ext` field condure puts on every packet it originates: key `ext` and value
 * `{multi: true}`, announcing it accepts multi-id packets (zhttp.md 3.1). */
export const EXT_MULTI_FIELD = asciiBytes('3:ext,15:5:multi,4:true!}')

/** The `type` value after which writeSimplePacket adds `credits` (zhttp.md 3.6). */
export const TYPE_ASCII_CREDIT = 'credit'

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

// `type` values indexed by TYPE_* (TYPE_DATA's '' is handled before the lookup).
const TYPE_VALUES: readonly Uint8Array[] = [
  ...['', 'error', 'credit', 'keep-alive', 'cancel', 'handoff-start', 'handoff-proceed'],
  ...['close', 'ping', 'pong'],
].map(asciiBytes)

/** TYPE_* for the `type` value buf[s, e) (zhttp.md 3.1); empty means data. */
export function typeOf(buf: Uint8Array, s: number, e: number): number {
  if (s === e) return TYPE_DATA
  // spanEquals rejects on length first, so this is ~9 length compares and one byte loop.
  for (let t = TYPE_ERROR; t <= TYPE_PONG; t++) {
    if (spanEquals(buf, s, e, TYPE_VALUES[t])) return t
  }
  return TYPE_UNKNOWN
}

// --- known fields, for the parser's key dispatch ---
// Numbered in the order of the PACKET_ERR_TYPE_* codes (packet-errors.ts), so that a field's
// wrong-type code follows from its number.
export const F_UNKNOWN = 0
export const F_FROM = 1
export const F_ID = 2
export const F_SEQ = 3
export const F_TYPE = 4
export const F_CODE = 5
export const F_REASON = 6
export const F_HEADERS = 7
export const F_CONTENT_TYPE = 8
export const F_BODY = 9
export const F_CREDITS = 10
export const F_MORE = 11
export const F_STREAM = 12
export const F_CONDITION = 13
export const F_MAX_SIZE = 14
export const F_TIMEOUT = 15
export const F_PEER_ADDRESS = 16
export const F_PEER_PORT = 17
export const F_EXT = 18

/** Raw key bytes (not tnetstring-framed), indexed by F_*. */
export const FIELD_KEYS: readonly Uint8Array[] = [
  ...['', 'from', 'id', 'seq', 'type', 'code', 'reason', 'headers', 'content-type', 'body'],
  ...['credits', 'more', 'stream', 'condition', 'max-size', 'timeout', 'peer-address'],
  ...['peer-port', 'ext'],
].map(asciiBytes)

/** The tnetstring type each known field must have (zhttp.md 2.3, 3.1-3.9), indexed by F_*;
 * `id` may also be a list (3.1). */
export const FIELD_TYPES = Uint8Array.of(
  0,
  // from, id, seq, type, code, reason
  ...[TN_STRING, TN_STRING, TN_INT, TN_STRING, TN_INT, TN_STRING],
  // headers, content-type, body, credits, more, stream
  ...[TN_LIST, TN_STRING, TN_STRING, TN_INT, TN_BOOL, TN_BOOL],
  // condition, max-size, timeout, peer-address, peer-port, ext
  ...[TN_STRING, TN_INT, TN_INT, TN_STRING, TN_INT, TN_MAP],
)

/** Which known field buf[s, e) names: a switch on length and first byte picks the one
 * candidate, then a single compare confirms it. */
export function fieldOf(buf: Uint8Array, s: number, e: number): number {
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
