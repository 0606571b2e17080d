// Sec-WebSocket-Extensions negotiation for permessage-deflate (RFC 6455 9.1, RFC 7692 5 and 7,
// zhttp.md 5.1 and 5.7).
//
// Invariants:
// - Zero-copy and allocation-free: the input is (buf, start, end) per header value, the result
//   a small integer, the response value a prebuilt byte array.
// - A request may carry the header several times; the caller folds every value, in order,
//   through negotiateExtensions(), starting from EXT_NONE. Offers are taken in that order
//   across values (RFC 9110 5.3: several fields are one comma-separated list).
// - Any syntax error in any value makes the whole result EXT_MALFORMED, which closes the
//   connection even when compression is off (zhttp.md 5.1). Once malformed, it stays so.
//
// Syntax: Condure's, as observed on Debian condure 1.9.1 (test/e2e/ws-extensions.test.ts
// replays every case of test/helpers/ws-extension-cases.ts against it). It is the shape of
// RFC 6455 9.1 (`ext *( ";" param )`, params `key [= token / quoted-string]`, a list split on
// commas) read loosely, with these observed rules:
// - The value must be UTF-8 (Condure reads it as a Rust str): invalid bytes are malformed.
// - "Trimmed" means of Unicode White_Space (Rust's str::trim: SP, HTAB, NBSP, U+2028, ...).
// - Elements are split on `,`; an empty element (an empty value, `a,,b`, a leading or
//   trailing comma) is malformed, unlike RFC 9110 5.6.1 lists.
// - An element's name is every byte up to `;` or `,`, trimmed; it must not be empty but need
//   not be a token (`foo bar`, `"x"`, `a=b` are names of unknown extensions).
// - A param's key is every byte up to `=`, `;` or `,`, trimmed, and must not be empty.
// - A value after `=` and any SP/HTAB is either quoted: `"`, a run without `"` (no backslash
//   escapes), `"`, then only SP/HTAB before `;`, `,` or the end, else malformed; or bare: a
//   run up to `;` or `,`, trimmed, quotes and all (so `=<NBSP>"15"` is the bare `"15"`).
// - "No value" is an empty value: `k`, `k=`, `k=""` are the same.
// - A window-bits value is read as an unsigned 8-bit decimal: an optional `+`, digits,
//   leading zeros allowed (`015`, `+15`, `"15"` all mean 15), at most 255.
// - Names and keys are compared ignoring ASCII case (`Permessage-Deflate` is permessage-deflate,
//   as RFC 9110 5.6.6 has for parameter names and RFC 6455 4.2.1 for the handshake's other
//   tokens). Here zgate parts from Condure, which compares them byte-exact and so ignores such
//   an offer (README, differences from Condure).
//
// Acceptance (zhttp.md 5.7, checked on condure too): the first `permessage-deflate` offer
// whose parameters are each known and present at most once: client_no_context_takeover and
// server_no_context_takeover without value, client_max_window_bits without value or 8-15,
// server_max_window_bits 8-15; and which leaves server_max_window_bits absent or 15, since
// zgate always compresses with a 15-bit window (RFC 7692 7.1.2.1). Other extensions are
// ignored. No acceptable offer is EXT_NONE, not an error (RFC 7692 5).

import { spanEqualsLower } from '../util/bytes.ts'
import { isUtf8 } from '../util/utf8.ts'

// --- results (a negative code, or a set of flag bits) ---
/** A value is not valid Sec-WebSocket-Extensions syntax: close the connection. */
export const EXT_MALFORMED = -1
/** No acceptable permessage-deflate offer (so far): the session runs uncompressed. */
export const EXT_NONE = 0
/** permessage-deflate accepted. */
export const EXT_DEFLATE = 1
/** With EXT_DEFLATE: the client asked client_no_context_takeover (echoed). */
export const EXT_CLIENT_NO_CONTEXT_TAKEOVER = 2
/** With EXT_DEFLATE: the client asked server_no_context_takeover (echoed). */
export const EXT_SERVER_NO_CONTEXT_TAKEOVER = 4

/** Window bits range of the two *_max_window_bits parameters (RFC 7692 7.1.2). */
const WINDOW_BITS_MIN = 8
const WINDOW_BITS_MAX = 15
/** The only compressor window zgate uses, so the only server_max_window_bits it accepts. */
const SERVER_WINDOW_BITS = 15

// Parameter ids; bit (1 << id) marks one as seen in the current offer.
const PARAM_UNKNOWN = 0
const PARAM_CLIENT_NO_CONTEXT_TAKEOVER = 1
const PARAM_SERVER_NO_CONTEXT_TAKEOVER = 2
const PARAM_CLIENT_MAX_WINDOW_BITS = 3
const PARAM_SERVER_MAX_WINDOW_BITS = 4

// A param value's meaning, from scanValue(): empty (no value), a number 0-255, or another.
const VALUE_EMPTY = -1
const VALUE_OTHER = -2
/** Largest value of Condure's 8-bit window-bits parse. */
const U8_MAX = 255

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
/** Names and keys, lower case: compared ignoring ASCII case (spanEqualsLower). */
const NAME_DEFLATE = 'permessage-deflate'
const PARAM_NAMES = [
  'client_no_context_takeover',
  'server_no_context_takeover',
  'client_max_window_bits',
  'server_max_window_bits',
]

const SP = 0x20
const HTAB = 0x09
const CR = 0x0d
const COMMA = 0x2c
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const DQUOTE = 0x22
const PLUS = 0x2b
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39

/** Scanner position and the last value's meaning, shared by the helpers (single-threaded). */
let pos = 0
let value = VALUE_EMPTY

/**
 * Folds one Sec-WebSocket-Extensions value, buf[start, end), into `prev` (EXT_NONE for the
 * first value; the previous result for later ones). Returns EXT_MALFORMED, EXT_NONE, or
 * EXT_DEFLATE plus the no_context_takeover flags of the first acceptable offer.
 */
export function negotiateExtensions(prev: number, buf: Uint8Array, start: number, end: number): number {
  if (prev === EXT_MALFORMED) return EXT_MALFORMED
  if (!isUtf8(buf, start, end)) return EXT_MALFORMED
  let result = prev
  pos = start
  for (;;) {
    const nameStart = pos
    const nameEnd = scanUntil(buf, end, COMMA, SEMICOLON, COMMA)
    const ns = trimStart(buf, nameStart, nameEnd)
    const ne = trimEnd(buf, ns, nameEnd)
    if (ns === ne) return EXT_MALFORMED
    const isDeflate = result === EXT_NONE && spanEqualsLower(buf, ns, ne, NAME_DEFLATE)
    let seen = 0
    let usable = isDeflate
    let serverBits = SERVER_WINDOW_BITS
    while (pos < end && buf[pos] === SEMICOLON) {
      pos++
      const keyStart = pos
      const keyEnd = scanUntil(buf, end, EQUALS, SEMICOLON, COMMA)
      const ks = trimStart(buf, keyStart, keyEnd)
      const ke = trimEnd(buf, ks, keyEnd)
      if (ks === ke) return EXT_MALFORMED
      value = VALUE_EMPTY
      if (pos < end && buf[pos] === EQUALS) {
        pos++
        if (!scanValue(buf, end)) return EXT_MALFORMED
      }
      if (!usable) continue
      const id = paramId(buf, ks, ke)
      if (id === PARAM_UNKNOWN || (seen & (1 << id)) !== 0) {
        usable = false
        continue
      }
      seen |= 1 << id
      if (id === PARAM_CLIENT_NO_CONTEXT_TAKEOVER || id === PARAM_SERVER_NO_CONTEXT_TAKEOVER) {
        if (value !== VALUE_EMPTY) usable = false
      } else if (id === PARAM_CLIENT_MAX_WINDOW_BITS) {
        if (value !== VALUE_EMPTY && !isWindowBits(value)) usable = false
      } else if (isWindowBits(value)) {
        serverBits = value
      } else {
        usable = false // server_max_window_bits needs a value in range
      }
    }
    if (usable && serverBits === SERVER_WINDOW_BITS) {
      result = EXT_DEFLATE
      if ((seen & (1 << PARAM_CLIENT_NO_CONTEXT_TAKEOVER)) !== 0) result |= EXT_CLIENT_NO_CONTEXT_TAKEOVER
      if ((seen & (1 << PARAM_SERVER_NO_CONTEXT_TAKEOVER)) !== 0) result |= EXT_SERVER_NO_CONTEXT_TAKEOVER
    }
    // scanUntil and scanValue stop only at the end, `;` (consumed above) or `,`.
    if (pos >= end) return result
    pos++
  }
}

/** Response values indexed by result >> 1 (the two no_context_takeover bits). */
const RESPONSE_VALUES = [
  ascii('permessage-deflate'),
  ascii('permessage-deflate; client_no_context_takeover'),
  ascii('permessage-deflate; server_no_context_takeover'),
  ascii('permessage-deflate; client_no_context_takeover; server_no_context_takeover'),
]

/**
 * The Sec-WebSocket-Extensions response value for an accepted result (zhttp.md 5.7: the
 * no_context_takeover parameters the client asked for, client first; window bits never).
 * Shared bytes: do not modify. Throws for EXT_NONE / EXT_MALFORMED.
 */
export function extensionResponseValue(result: number): Uint8Array {
  if (result <= EXT_NONE || (result & EXT_DEFLATE) === 0) {
    throw new RangeError(`no extension was accepted (result ${result})`)
  }
  return RESPONSE_VALUES[(result >> 1) & 3]
}

/** Writes extensionResponseValue(result) into out at `offset`; returns the end offset. */
export function writeExtensionResponse(result: number, out: Uint8Array, offset: number): number {
  const v = extensionResponseValue(result)
  out.set(v, offset)
  return offset + v.length
}

function isWindowBits(v: number): boolean {
  return v >= WINDOW_BITS_MIN && v <= WINDOW_BITS_MAX
}

/** Advances pos to the first of the three bytes (or end) and returns that position. */
function scanUntil(buf: Uint8Array, end: number, a: number, b: number, c: number): number {
  let p = pos
  while (p < end) {
    const x = buf[p]
    if (x === a || x === b || x === c) break
    p++
  }
  pos = p
  return p
}

function skipSpTab(buf: Uint8Array, start: number, end: number): number {
  let p = start
  while (p < end && (buf[p] === SP || buf[p] === HTAB)) p++
  return p
}

/** First position in [start, end) not in a run of Unicode whitespace from `start`. */
function trimStart(buf: Uint8Array, start: number, end: number): number {
  let p = start
  for (;;) {
    const n = whitespaceAt(buf, p, end)
    if (n === 0) return p
    p += n
  }
}

/** End of [start, end) once trailing Unicode whitespace is dropped. */
function trimEnd(buf: Uint8Array, start: number, end: number): number {
  let p = end
  for (;;) {
    const n = whitespaceBefore(buf, start, p)
    if (n === 0) return p
    p -= n
  }
}

/**
 * Byte length of the White_Space character starting at p (0 if none): U+0009-000D, U+0020,
 * U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000.
 */
function whitespaceAt(buf: Uint8Array, p: number, end: number): number {
  if (p >= end) return 0
  const c = buf[p]
  if (c === SP || (c >= HTAB && c <= CR)) return 1
  if (c === 0xc2) return p + 1 < end && (buf[p + 1] === 0x85 || buf[p + 1] === 0xa0) ? 2 : 0
  if (c < 0xe1 || c > 0xe3 || p + 2 >= end) return 0
  return isWhitespace3(c, buf[p + 1], buf[p + 2]) ? 3 : 0
}

/** Byte length of the White_Space character ending at p (0 if none); buf is valid UTF-8. */
function whitespaceBefore(buf: Uint8Array, start: number, p: number): number {
  if (p <= start) return 0
  const c = buf[p - 1]
  if (c === SP || (c >= HTAB && c <= CR)) return 1
  if (p - 2 >= start && buf[p - 2] === 0xc2) return c === 0x85 || c === 0xa0 ? 2 : 0
  if (p - 3 < start) return 0
  return isWhitespace3(buf[p - 3], buf[p - 2], c) ? 3 : 0
}

/** The three-byte White_Space characters. */
function isWhitespace3(a: number, b: number, c: number): boolean {
  if (a === 0xe1) return b === 0x9a && c === 0x80 // U+1680
  if (a === 0xe3) return b === 0x80 && c === 0x80 // U+3000
  if (a !== 0xe2) return false
  if (b === 0x80) return c <= 0x8a || c === 0xa8 || c === 0xa9 || c === 0xaf // U+2000-200A, 2028, 2029, 202F
  return b === 0x81 && c === 0x9f // U+205F
}

/**
 * Reads a param value after `=` (pos just past it) up to the next `;`, `,` or the end, and
 * sets `value`. False for a quoted value that is unterminated or followed by more than
 * whitespace.
 */
function scanValue(buf: Uint8Array, end: number): boolean {
  let vs = skipSpTab(buf, pos, end)
  let ve: number
  if (vs < end && buf[vs] === DQUOTE) {
    vs++
    let p = vs
    while (p < end && buf[p] !== DQUOTE) p++
    if (p >= end) return false
    ve = p
    p = skipSpTab(buf, p + 1, end)
    if (p < end && buf[p] !== SEMICOLON && buf[p] !== COMMA) return false
    pos = p
  } else {
    pos = vs
    ve = scanUntil(buf, end, SEMICOLON, COMMA, COMMA)
    vs = trimStart(buf, vs, ve)
    ve = trimEnd(buf, vs, ve)
  }
  value = parseU8(buf, vs, ve)
  return true
}

/** VALUE_EMPTY, the number an unsigned 8-bit parse gives (`+`? digits, <= 255), or VALUE_OTHER. */
function parseU8(buf: Uint8Array, start: number, end: number): number {
  if (start === end) return VALUE_EMPTY
  let p = buf[start] === PLUS ? start + 1 : start
  if (p === end) return VALUE_OTHER
  let n = 0
  for (; p < end; p++) {
    const c = buf[p]
    if (c < DIGIT_0 || c > DIGIT_9) return VALUE_OTHER
    n = n * 10 + (c - DIGIT_0)
    if (n > U8_MAX) return VALUE_OTHER
  }
  return n
}

function paramId(buf: Uint8Array, start: number, end: number): number {
  for (let i = 0; i < PARAM_NAMES.length; i++) {
    if (spanEqualsLower(buf, start, end, PARAM_NAMES[i])) return i + 1
  }
  return PARAM_UNKNOWN
}
