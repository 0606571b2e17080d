// Sec-WebSocket-Extensions negotiation for permessage-deflate (RFC 6455 9.1, RFC 7692 5 and 7,
// zhttp.md 5.1 and 5.7).
//
// Invariants:
// - Zero-copy and allocation-free: the input is (buf, start, end) per header value, the result
//   a small integer, the response value a prebuilt byte array.
// - A request may carry the header several times; the caller folds every value, in order,
//   through negotiateExtensions(), starting from EXT_NONE. Offers are taken in that order
//   across values (RFC 7230 3.2.2: several fields are one comma-separated list).
// - Any syntax error in any value makes the whole result EXT_MALFORMED, which closes the
//   connection even when compression is off (zhttp.md 5.1). Once malformed, it stays so.
//
// Grammar (RFC 6455 9.1 with RFC 7230 7 lists; implied whitespace between elements):
//   extension-list = 1#extension        ; empty list elements are skipped (RFC 7230 7)
//   extension      = token *( OWS ";" OWS param )
//   param          = token [ OWS "=" OWS ( token / quoted-string ) ]
// A quoted value must unescape to a token (RFC 6455 9.1); one that does not is malformed.
// Names are compared byte-exact (lower case), as registered (RFC 7692 5, 7.1).
//
// Acceptance (zhttp.md 5.7, condure's rule): the first `permessage-deflate` offer whose
// parameters are each known and present at most once: client_no_context_takeover and
// server_no_context_takeover without value, client_max_window_bits without value or 8-15,
// server_max_window_bits 8-15 (decimal, no leading zero: RFC 7692 7.1.2.1); and which leaves
// server_max_window_bits absent or 15, since zgate always compresses with a 15-bit window.
// Other extensions are ignored. No acceptable offer is EXT_NONE, not an error (RFC 7692 5).

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

// A param value's meaning, from scanValue(): none, a window-bits number (8-15), or another.
const VALUE_NONE = -1
const VALUE_OTHER = -2

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
const NAME_DEFLATE = ascii('permessage-deflate')
const PARAM_NAMES = [
  ascii('client_no_context_takeover'),
  ascii('server_no_context_takeover'),
  ascii('client_max_window_bits'),
  ascii('server_max_window_bits'),
]

/** tchar (RFC 9110 5.6.2): 1 for the bytes a token may hold. */
const TCHAR = new Uint8Array(256)
for (let c = 0x21; c < 0x7f; c++) TCHAR[c] = 1
for (const c of '"(),/:;<=>?@[\\]{}') TCHAR[c.charCodeAt(0)] = 0

const SP = 0x20
const HTAB = 0x09
const COMMA = 0x2c
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const DQUOTE = 0x22
const BACKSLASH = 0x5c
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const DEL = 0x7f

/** Scanner position and the last value's meaning, shared by the helpers (single-threaded). */
let pos = 0
let value = VALUE_NONE

/**
 * Folds one Sec-WebSocket-Extensions value, buf[start, end), into `prev` (EXT_NONE for the
 * first value; the previous result for later ones). Returns EXT_MALFORMED, EXT_NONE, or
 * EXT_DEFLATE plus the no_context_takeover flags of the first acceptable offer.
 */
export function negotiateExtensions(prev: number, buf: Uint8Array, start: number, end: number): number {
  if (prev === EXT_MALFORMED) return EXT_MALFORMED
  let result = prev
  pos = start
  for (;;) {
    skipOws(buf, end)
    if (pos >= end) return result
    if (buf[pos] === COMMA) {
      pos++
      continue
    }
    const nameStart = pos
    if (!scanToken(buf, end)) return EXT_MALFORMED
    const isDeflate = result === EXT_NONE && equals(buf, nameStart, pos, NAME_DEFLATE)
    let seen = 0
    let usable = isDeflate
    let serverBits = SERVER_WINDOW_BITS
    skipOws(buf, end)
    while (pos < end && buf[pos] === SEMICOLON) {
      pos++
      skipOws(buf, end)
      const paramStart = pos
      if (!scanToken(buf, end)) return EXT_MALFORMED
      const paramEnd = pos
      skipOws(buf, end)
      value = VALUE_NONE
      if (pos < end && buf[pos] === EQUALS) {
        pos++
        skipOws(buf, end)
        if (!scanValue(buf, end)) return EXT_MALFORMED
        skipOws(buf, end)
      }
      if (!usable) continue
      const id = paramId(buf, paramStart, paramEnd)
      if (id === PARAM_UNKNOWN || (seen & (1 << id)) !== 0) {
        usable = false
        continue
      }
      seen |= 1 << id
      if (id === PARAM_CLIENT_NO_CONTEXT_TAKEOVER || id === PARAM_SERVER_NO_CONTEXT_TAKEOVER) {
        if (value !== VALUE_NONE) usable = false
      } else if (id === PARAM_CLIENT_MAX_WINDOW_BITS) {
        if (value === VALUE_OTHER) usable = false
      } else if (value < 0) {
        usable = false // server_max_window_bits needs a value
      } else {
        serverBits = value
      }
    }
    if (pos < end) {
      if (buf[pos] !== COMMA) return EXT_MALFORMED
      pos++
    }
    if (usable && serverBits === SERVER_WINDOW_BITS) {
      result = EXT_DEFLATE
      if ((seen & (1 << PARAM_CLIENT_NO_CONTEXT_TAKEOVER)) !== 0) result |= EXT_CLIENT_NO_CONTEXT_TAKEOVER
      if ((seen & (1 << PARAM_SERVER_NO_CONTEXT_TAKEOVER)) !== 0) result |= EXT_SERVER_NO_CONTEXT_TAKEOVER
    }
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

function skipOws(buf: Uint8Array, end: number): void {
  let p = pos
  while (p < end && (buf[p] === SP || buf[p] === HTAB)) p++
  pos = p
}

/** Advances over 1*tchar; false if there is none. */
function scanToken(buf: Uint8Array, end: number): boolean {
  const s = pos
  let p = s
  while (p < end && TCHAR[buf[p]] === 1) p++
  pos = p
  return p > s
}

/**
 * Advances over a token or a quoted-string whose unescaped content is a token; sets `value`
 * to the window-bits number it spells (8-15, no leading zero) or VALUE_OTHER. False on a
 * syntax error (nothing there, an unterminated or non-token quoted string).
 */
function scanValue(buf: Uint8Array, end: number): boolean {
  let p = pos
  const quoted = p < end && buf[p] === DQUOTE
  if (quoted) p++
  let length = 0
  let number = 0
  let digits = true
  for (;;) {
    if (p >= end) {
      if (quoted) return false // unterminated quoted-string
      break
    }
    let c = buf[p]
    if (quoted) {
      if (c === DQUOTE) {
        p++
        break
      }
      if (c === BACKSLASH) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) (RFC 9110 5.6.4)
        p++
        if (p >= end) return false
        c = buf[p]
        if ((c < SP && c !== HTAB) || c === DEL) return false
      }
    } else if (TCHAR[c] !== 1) {
      break
    }
    if (TCHAR[c] !== 1) return false // RFC 6455 9.1: the unescaped value must be a token
    if (c < DIGIT_0 || c > DIGIT_9 || (length === 0 && c === DIGIT_0)) digits = false
    else number = number * 10 + (c - DIGIT_0)
    length++
    p++
  }
  pos = p
  if (length === 0) return false
  value = digits && length <= 2 && number >= WINDOW_BITS_MIN && number <= WINDOW_BITS_MAX ? number : VALUE_OTHER
  return true
}

function paramId(buf: Uint8Array, start: number, end: number): number {
  for (let i = 0; i < PARAM_NAMES.length; i++) {
    if (equals(buf, start, end, PARAM_NAMES[i])) return i + 1
  }
  return PARAM_UNKNOWN
}

function equals(buf: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false
  for (let i = 0; i < name.length; i++) if (buf[start + i] !== name[i]) return false
  return true
}
