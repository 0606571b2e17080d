// Tnetstring codec over caller-owned byte views (zhttp.md 2.3).
//
// Grammar: `<length>:<data><type>`; `<length>` is the decimal byte length of `<data>`, `<type>`
// is one byte (`,` `#` `^` `!` `~` `]` `}`).
//
// Invariants:
// - Decoding allocates nothing: results are offsets into the caller's Uint8Array, written into
//   a reusable TnSpan. Failures are negative TN_ERR_* codes; bad input never throws.
// - decodeTn never reads outside [start, min(end, buf.length)).
// - decodeTn checks one frame: its length, its type byte and, for scalars, the shape of the
//   body. A list or map is only checked on the outside; its children are checked when the
//   caller walks them (decodeTn again, from `dataStart`, then from each child's `next`), the
//   same way condure parses a frame and only looks inside the fields it reads.
// - TnWriter emits canonical tnetstrings (no leading zeros, no sign in lengths) straight into
//   the caller's buffer. The caller guarantees capacity; remaining() is there to check it.

import { copyBytes, moveBytes, spanEquals, writeAscii } from '../util/bytes.ts'
import { decimalDigits, writeDecimal, writeDecimalDigits } from '../util/digits.ts'
import { utf8Length, writeUtf8 } from '../util/utf8.ts'

/** Length prefixes longer than this are refused: the tnetstring spec caps data at 999,999,999
 * bytes, and any inbound message (INBOUND_MESSAGE_SIZE_MAX_BYTES) is far smaller anyway. */
export const TN_LENGTH_DIGITS_MAX = 9
/** Nesting depth the writer supports; ZHTTP packets use 3 (map → headers list → pair). */
export const TN_WRITER_DEPTH_MAX = 16
/** A container's length is unknown until it ends, so begin*() reserves room for this many
 * length digits (plus `:`) unless told otherwise, and end*() moves the content (one
 * copyWithin) when the guess was wrong. 2 fits the small containers that are most numerous
 * (a header pair, an id element); callers pass 3 or 4 for a top-level map or a headers list.
 * Measured in bench/tnetstring.bench.ts. */
export const TN_CONTAINER_DIGITS_GUESS = 2

// --- type bytes (zhttp.md 2.3 table) ---
/** `,` byte string: raw bytes, binary-safe. */
export const TN_STRING = 0x2c
/** `#` integer: ASCII decimal with optional leading `-`. */
export const TN_INT = 0x23
/** `^` float: ASCII decimal float (condure parses it but never emits it). */
export const TN_FLOAT = 0x5e
/** `!` boolean: exactly `true` or `false`. */
export const TN_BOOL = 0x21
/** `~` null: empty data (condure parses it but never emits it). */
export const TN_NULL = 0x7e
/** `]` list: zero or more tnetstrings. */
export const TN_LIST = 0x5d
/** `}` map: alternating key and value tnetstrings. */
export const TN_MAP = 0x7d

// --- decode results ---
export const TN_OK = 0
/** No `:` before the end: more bytes could still complete the length prefix. */
export const TN_ERR_INCOMPLETE = -1
/** The length prefix is empty, has a non-digit or more than TN_LENGTH_DIGITS_MAX digits. */
export const TN_ERR_LENGTH = -2
/** The data plus its type byte run past the end of the input. */
export const TN_ERR_PAST_END = -3
/** The type byte is none of the seven types. */
export const TN_ERR_TYPE = -4
/** A `!` body other than `true` / `false`. */
export const TN_ERR_BOOL = -5
/** A `#` body that is not `-?[0-9]+`. */
export const TN_ERR_INT = -6
/** A `~` with a non-empty body. */
export const TN_ERR_NULL = -7
/** A `^` body that is empty or has a byte outside `0-9 + - . e E`. */
export const TN_ERR_FLOAT = -8

// Indexed by -code.
const TN_ERROR_TEXTS: readonly string[] = ['ok', 'incomplete length prefix', 'bad length prefix']
  .concat(['length past end', 'bad type byte', 'bad boolean', 'bad integer', 'bad null'])
  .concat(['bad float'])

/** A short message for a TN_ERR_* code (a constant string, no allocation). */
export function tnErrorText(code: number): string {
  return TN_ERROR_TEXTS[-code] ?? 'unknown tnetstring error'
}

// Char codes used below.
const CH_0 = 0x30
const CH_9 = 0x39
const CH_COLON = 0x3a
const CH_MINUS = 0x2d
const CH_PLUS = 0x2b
const CH_DOT = 0x2e
const CH_E = 0x65
const CH_UPPER_E = 0x45

/** 2^53 = 9007199254740992, the largest integer readTnInt accepts, as quotient and remainder by
 * 10 so the overflow check happens before the multiply could round. */
const INT_LIMIT_DIV_10 = 900719925474099
const INT_LIMIT_MOD_10 = 2

/** One decoded frame, as offsets into the decoded buffer. Reuse one per nesting level. */
export class TnSpan {
  /** Type byte (TN_STRING ... TN_MAP). */
  type = 0
  /** Offset of the first length digit, i.e. where the whole frame starts. */
  start = 0
  /** Offset of the first data byte. */
  dataStart = 0
  /** Offset just past the last data byte (where the type byte sits). */
  dataEnd = 0
  /** Offset just past the type byte: where a following sibling starts. */
  next = 0
}

/**
 * Decodes the frame at `start` (reading no further than `end`) into `out`.
 * Returns TN_OK or a negative TN_ERR_* code; `out` is only meaningful on TN_OK.
 * To walk a list or map: decode from `out.dataStart` with end `out.dataEnd`, then from each
 * child's `next` until it equals `dataEnd` (a child error there means the container is bad).
 */
export function decodeTn(buf: Uint8Array, start: number, end: number, out: TnSpan): number {
  if (end > buf.length) end = buf.length
  // Length prefix: digits only, no sign and no spaces (zhttp.md 2.3).
  let i = start
  let len = 0
  const digitsEnd = start + TN_LENGTH_DIGITS_MAX
  for (;;) {
    if (i >= end) return TN_ERR_INCOMPLETE
    const c = buf[i]
    if (c === CH_COLON) break
    if (c < CH_0 || c > CH_9 || i >= digitsEnd) return TN_ERR_LENGTH
    len = len * 10 + (c - CH_0)
    i++
  }
  if (i === start) return TN_ERR_LENGTH
  const dataStart = i + 1
  const dataEnd = dataStart + len
  // The type byte sits at dataEnd, so it must be inside the input too.
  if (dataEnd >= end) return TN_ERR_PAST_END
  const type = buf[dataEnd]
  switch (type) {
    case TN_STRING:
    case TN_LIST:
    case TN_MAP:
      break
    case TN_INT:
      if (!isIntBody(buf, dataStart, dataEnd)) return TN_ERR_INT
      break
    case TN_BOOL:
      if (!isBoolBody(buf, dataStart, dataEnd)) return TN_ERR_BOOL
      break
    case TN_NULL:
      if (len !== 0) return TN_ERR_NULL
      break
    case TN_FLOAT:
      if (!isFloatBody(buf, dataStart, dataEnd)) return TN_ERR_FLOAT
      break
    default:
      return TN_ERR_TYPE
  }
  out.type = type
  out.start = start
  out.dataStart = dataStart
  out.dataEnd = dataEnd
  out.next = dataEnd + 1
  return TN_OK
}

function isIntBody(buf: Uint8Array, s: number, e: number): boolean {
  if (s < e && buf[s] === CH_MINUS) s++
  if (s >= e) return false
  for (let i = s; i < e; i++) {
    const c = buf[i]
    if (c < CH_0 || c > CH_9) return false
  }
  return true
}

const TRUE_BODY = Uint8Array.of(0x74, 0x72, 0x75, 0x65) // true
const FALSE_BODY = Uint8Array.of(0x66, 0x61, 0x6c, 0x73, 0x65) // false
const TRUE_FRAME = Uint8Array.of(0x34, CH_COLON, ...TRUE_BODY, TN_BOOL) // 4:true!
const FALSE_FRAME = Uint8Array.of(0x35, CH_COLON, ...FALSE_BODY, TN_BOOL) // 5:false!

function isBoolBody(buf: Uint8Array, s: number, e: number): boolean {
  return spanEquals(buf, s, e, TRUE_BODY) || spanEquals(buf, s, e, FALSE_BODY)
}

// Floats are never read by zgate; this only keeps garbage out, like condure's structural pass.
function isFloatBody(buf: Uint8Array, s: number, e: number): boolean {
  if (s >= e) return false
  for (let i = s; i < e; i++) {
    const c = buf[i]
    if ((c >= CH_0 && c <= CH_9) || c === CH_MINUS || c === CH_PLUS || c === CH_DOT) continue
    if (c === CH_E || c === CH_UPPER_E) continue
    return false
  }
  return true
}

/** The value of a boolean span (decodeTn already checked it is `true` or `false`). */
export function tnBool(span: TnSpan): boolean {
  return span.dataEnd - span.dataStart === 4
}

/**
 * Reads the decimal integer in buf[s, e): `-?[0-9]+`, magnitude up to 2^53 (every integer up
 * to there is exact in a double). Anything else, including a `+` sign or a larger magnitude,
 * gives NaN. Condure holds i64 here; values past 2^53 are refused rather than rounded.
 */
export function readTnInt(buf: Uint8Array, s: number, e: number): number {
  let neg = false
  if (s < e && buf[s] === CH_MINUS) {
    neg = true
    s++
  }
  if (s >= e) return NaN
  let n = 0
  for (let i = s; i < e; i++) {
    const d = buf[i] - CH_0
    if (d < 0 || d > 9) return NaN
    if (n > INT_LIMIT_DIV_10 || (n === INT_LIMIT_DIV_10 && d > INT_LIMIT_MOD_10)) return NaN
    n = n * 10 + d
  }
  // 0 - n rather than -n so that `-0` reads as +0.
  return neg ? 0 - n : n
}

/** Placeholder so a writer can exist before it is pointed at a real buffer. */
const EMPTY_BYTES = new Uint8Array(0)

/**
 * Writes tnetstrings into a caller-supplied buffer at `pos`; re-point it with reset().
 * Capacity is the caller's job (check remaining() first): byte writes past the end are
 * silently dropped and a copy of over COPY_LOOP_MAX_BYTES (util/bytes.ts) past it throws a RangeError, so an
 * undersized buffer gives a broken packet or an exception, never a write out of bounds.
 * Typical use: `w.raw(0x54) // 'T'`, `w.beginMap()`, `w.ascii('id')`, `w.bytes(...)`, ...,
 * `w.endMap()`.
 */
export class TnWriter {
  buf: Uint8Array
  pos: number
  /** Open containers. */
  depth: number
  /** Where each open container's length prefix starts, innermost last. */
  private readonly openPrefixes: Int32Array
  /** Where each open container's content starts (after the reserved prefix). */
  private readonly openContents: Int32Array

  constructor(buf: Uint8Array = EMPTY_BYTES, pos = 0) {
    this.buf = buf
    this.pos = pos
    this.depth = 0
    this.openPrefixes = new Int32Array(TN_WRITER_DEPTH_MAX)
    this.openContents = new Int32Array(TN_WRITER_DEPTH_MAX)
  }

  /** Points the writer at `buf`, writing from `pos`, with no open containers. */
  reset(buf: Uint8Array, pos: number): void {
    this.buf = buf
    this.pos = pos
    this.depth = 0
  }

  /** Bytes left in the buffer after `pos`. */
  remaining(): number {
    return this.buf.length - this.pos
  }

  /** One raw byte (e.g. the `T` payload prefix, zhttp.md 2.1). */
  raw(byte: number): void {
    this.buf[this.pos++] = byte
  }

  /** Raw bytes copied verbatim: for pre-encoded tnetstring fragments such as packet keys. */
  encoded(src: Uint8Array): void {
    this.rawBytes(src, 0, src.length)
  }

  /** Byte string `,` holding src[s, e). */
  bytes(src: Uint8Array, s: number, e: number): void {
    this.lengthPrefix(e - s)
    this.rawBytes(src, s, e)
    this.buf[this.pos++] = TN_STRING
  }

  /** Raw bytes src[s, e), unframed: content inside beginString()/endString(). */
  rawBytes(src: Uint8Array, s: number, e: number): void {
    this.pos = copyBytes(this.buf, this.pos, src, s, e)
  }

  /** Raw chars of an ASCII/latin1 string, unframed (one byte per char). */
  rawAscii(str: string): void {
    this.pos = writeAscii(this.buf, this.pos, str)
  }

  /** Byte string `,` from a JS string of chars ≤ 0xff (ASCII/latin1), one byte per char. */
  ascii(str: string): void {
    this.lengthPrefix(str.length)
    this.rawAscii(str)
    this.buf[this.pos++] = TN_STRING
  }

  /** Byte string `,` holding the UTF-8 encoding of `str`; a lone surrogate becomes U+FFFD,
   * as TextEncoder does. Two charCodeAt passes (size, then bytes): no allocation. */
  utf8(str: string): void {
    this.lengthPrefix(utf8Length(str))
    const p = writeUtf8(this.buf, this.pos, str)
    this.buf[p] = TN_STRING
    this.pos = p + 1
  }

  /** Integer `#`. `n` must be an integer with magnitude ≤ 2^53. */
  int(n: number): void {
    const neg = n < 0
    const v = neg ? -n : n
    const d = decimalDigits(v)
    this.lengthPrefix(neg ? d + 1 : d)
    const buf = this.buf
    if (neg) buf[this.pos++] = CH_MINUS
    writeDecimalDigits(buf, this.pos, d, v)
    const end = this.pos + d
    buf[end] = TN_INT
    this.pos = end + 1
  }

  /** Boolean `!`: `4:true!` or `5:false!` (zhttp.md 2.3). */
  bool(b: boolean): void {
    this.rawBytes(b ? TRUE_FRAME : FALSE_FRAME, 0, b ? 7 : 8)
  }

  /** Null `0:~` (condure never emits it; here for completeness and tests). */
  nul(): void {
    const buf = this.buf
    const p = this.pos
    buf[p] = CH_0
    buf[p + 1] = CH_COLON
    buf[p + 2] = TN_NULL
    this.pos = p + 3
  }

  /** A byte string `,` assembled from several pieces (rawBytes, rawAscii, raw) up to
   * endString(), e.g. the `uri` = scheme + `://` + host + target (zhttp.md 4.3). Framed like
   * a container, so its length need not be known up front. */
  beginString(lengthDigits = TN_CONTAINER_DIGITS_GUESS): void {
    this.begin(lengthDigits)
  }

  endString(): void {
    this.end(TN_STRING)
  }

  /** `lengthDigits`: expected digits of the content length; a wrong guess costs one move. */
  beginList(lengthDigits = TN_CONTAINER_DIGITS_GUESS): void {
    this.begin(lengthDigits)
  }

  endList(): void {
    this.end(TN_LIST)
  }

  /** `lengthDigits`: expected digits of the content length; a wrong guess costs one move. */
  beginMap(lengthDigits = TN_CONTAINER_DIGITS_GUESS): void {
    this.begin(lengthDigits)
  }

  endMap(): void {
    this.end(TN_MAP)
  }

  private begin(lengthDigits: number): void {
    if (this.depth >= TN_WRITER_DEPTH_MAX) {
      // Only a coding error can get here: packets nest 3 deep.
      throw new RangeError(`tnetstring nesting deeper than ${TN_WRITER_DEPTH_MAX}`)
    }
    this.openPrefixes[this.depth] = this.pos
    // At least one digit; a bad hint only costs a move.
    this.pos += lengthDigits > 1 ? lengthDigits + 1 : 2
    this.openContents[this.depth++] = this.pos
  }

  // Writes the real `<len>:` in front of the content, moving the content if the reserve was
  // the wrong size, then the type byte.
  private end(type: number): void {
    const buf = this.buf
    const depth = --this.depth
    const contentStart = this.openContents[depth]
    const len = this.pos - contentStart
    const d = decimalDigits(len)
    const prefixStart = this.openPrefixes[depth]
    const newStart = prefixStart + d + 1
    if (newStart !== contentStart) moveBytes(buf, contentStart, newStart, len)
    writeDecimalDigits(buf, prefixStart, d, len)
    buf[newStart - 1] = CH_COLON
    const end = newStart + len
    buf[end] = type
    this.pos = end + 1
  }

  /** `<n>:`, with the 1- and 2-digit lengths of keys and header fields written inline. */
  private lengthPrefix(n: number): void {
    const buf = this.buf
    let p = this.pos
    if (n < 10) {
      buf[p++] = CH_0 + n
    } else if (n < 100) {
      const q = (n / 10) | 0
      buf[p] = CH_0 + q
      buf[p + 1] = CH_0 + (n - q * 10)
      p += 2
    } else {
      p = writeDecimal(buf, p, n)
    }
    buf[p] = CH_COLON
    this.pos = p + 1
  }
}

/** The tnetstring byte string for an ASCII constant, e.g. tnAsciiBytes('from') = `4:from,`.
 * Allocates: for module-level constants (packet keys), not for the hot path. */
export function tnAsciiBytes(str: string): Uint8Array {
  const out = new Uint8Array(TN_LENGTH_DIGITS_MAX + 1 + str.length + 1) // <len>:<data>,
  const w = new TnWriter(out, 0)
  w.ascii(str)
  return out.slice(0, w.pos)
}
