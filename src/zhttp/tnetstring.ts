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
/** Copies up to this many bytes from another buffer use an unrolled JS loop; longer ones use
 * set(subarray), a native memcpy that costs a ~50 ns view allocation. The loop (≈0.3 ns/byte)
 * breaks even around 200 bytes (bench/tnetstring.bench.ts), so header values never allocate
 * and only body-sized copies do, one small view each. */
const COPY_LOOP_MAX_BYTES = 256
/** Moves within the output buffer shorter than this use a loop; copyWithin (no allocation,
 * ~12 ns per call) above. */
const MOVE_LOOP_MAX_BYTES = 16

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

/** True when buf[s, e) equals the bytes of `key`. */
export function spanEquals(buf: Uint8Array, s: number, e: number, key: Uint8Array): boolean {
  const n = key.length
  if (e - s !== n) return false
  for (let i = 0; i < n; i++) {
    if (buf[s + i] !== key[i]) return false
  }
  return true
}

/** True when buf[s, e) equals the ASCII/latin1 string `str` (one byte per char). */
export function spanEqualsAscii(buf: Uint8Array, s: number, e: number, str: string): boolean {
  const n = str.length
  if (e - s !== n) return false
  for (let i = 0; i < n; i++) {
    if (buf[s + i] !== str.charCodeAt(i)) return false
  }
  return true
}

/** True when buf[s, e) is valid UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF);
 * map keys must be (zhttp.md 2.3). */
export function isUtf8(buf: Uint8Array, s: number, e: number): boolean {
  let i = s
  while (i < e) {
    const c = buf[i]
    if (c < 0x80) {
      i++
      continue
    }
    if (c < 0xc2 || c > 0xf4) return false
    if (c < 0xe0) {
      if (i + 1 >= e || (buf[i + 1] & 0xc0) !== 0x80) return false
      i += 2
      continue
    }
    const c1 = i + 1 < e ? buf[i + 1] : 0
    if ((c1 & 0xc0) !== 0x80) return false
    if (c < 0xf0) {
      // E0 needs A0.. (no overlong); ED needs ..9F (no surrogates).
      if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return false
      if (i + 2 >= e || (buf[i + 2] & 0xc0) !== 0x80) return false
      i += 3
      continue
    }
    // F0 needs 90.. (no overlong); F4 needs ..8F (nothing past U+10FFFF).
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return false
    if (i + 3 >= e || (buf[i + 2] & 0xc0) !== 0x80 || (buf[i + 3] & 0xc0) !== 0x80) return false
    i += 4
  }
  return true
}

/** Decimal digits of a non-negative integer up to 2^53 (powers of 10 up to 1e16 are exact).
 * The short cases first: lengths and seqs are almost always under 10^4. */
function decimalDigits(v: number): number {
  if (v < 10) return 1
  if (v < 100) return 2
  if (v < 1000) return 3
  if (v < 10000) return 4
  let d = 5
  for (let p = 100000; v >= p; p *= 10) d++
  return d
}

/** Writes the `d` digits of non-negative integer `v` so that they end just before `end`. */
function writeDigits(buf: Uint8Array, end: number, d: number, v: number): void {
  let i = end - 1
  // Int32 arithmetic is several times faster in JSC than Math.floor on doubles, but wraps past
  // 2^31: peel digits in double arithmetic until what is left fits.
  while (v > 0x7fffffff) {
    const q = Math.floor(v / 10)
    buf[i--] = CH_0 + (v - q * 10)
    v = q
  }
  let n = v | 0
  for (const stop = end - d; i >= stop; i--) {
    const q = (n / 10) | 0
    buf[i] = CH_0 + (n - q * 10)
    n = q
  }
}

/** Placeholder so a writer can exist before it is pointed at a real buffer. */
const EMPTY_BYTES = new Uint8Array(0)

/**
 * Writes tnetstrings into a caller-supplied buffer at `pos`; re-point it with reset().
 * Capacity is the caller's job (check remaining() first): byte writes past the end are
 * silently dropped and a copy of over COPY_LOOP_MAX_BYTES past it throws a RangeError, so an
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
    const buf = this.buf
    const p = this.pos
    if (e - s > COPY_LOOP_MAX_BYTES) {
      // A native memcpy beats a JS loop by far here. A whole array needs no view; a slice
      // costs one view object (~64 bytes), small next to the bytes it moves.
      if (s === 0 && e === src.length) buf.set(src, p)
      else buf.set(src.subarray(s, e), p)
    } else {
      // Unrolled by 4: about twice the speed of the plain loop in JSC.
      const d = p - s
      let i = s
      for (const e4 = e - 3; i < e4; i += 4) {
        buf[i + d] = src[i]
        buf[i + d + 1] = src[i + 1]
        buf[i + d + 2] = src[i + 2]
        buf[i + d + 3] = src[i + 3]
      }
      for (; i < e; i++) buf[i + d] = src[i]
    }
    this.pos = p + e - s
  }

  /** Raw chars of an ASCII/latin1 string, unframed (one byte per char). */
  rawAscii(str: string): void {
    const n = str.length
    const buf = this.buf
    const p = this.pos
    for (let i = 0; i < n; i++) buf[p + i] = str.charCodeAt(i)
    this.pos = p + n
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
    const n = str.length
    let size = 0
    for (let i = 0; i < n; i++) {
      const c = str.charCodeAt(i)
      if (c < 0x80) size += 1
      else if (c < 0x800) size += 2
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLowSurrogate(str.charCodeAt(i + 1))) {
        size += 4
        i++
      } else size += 3
    }
    this.lengthPrefix(size)
    const buf = this.buf
    let p = this.pos
    for (let i = 0; i < n; i++) {
      const c = str.charCodeAt(i)
      if (c < 0x80) {
        buf[p++] = c
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6)
        buf[p++] = 0x80 | (c & 0x3f)
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const c2 = i + 1 < n ? str.charCodeAt(i + 1) : 0
        if (c <= 0xdbff && isLowSurrogate(c2)) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00)
          buf[p++] = 0xf0 | (cp >> 18)
          buf[p++] = 0x80 | ((cp >> 12) & 0x3f)
          buf[p++] = 0x80 | ((cp >> 6) & 0x3f)
          buf[p++] = 0x80 | (cp & 0x3f)
          i++
        } else {
          // Lone surrogate → U+FFFD (EF BF BD).
          buf[p++] = 0xef
          buf[p++] = 0xbf
          buf[p++] = 0xbd
        }
      } else {
        buf[p++] = 0xe0 | (c >> 12)
        buf[p++] = 0x80 | ((c >> 6) & 0x3f)
        buf[p++] = 0x80 | (c & 0x3f)
      }
    }
    buf[p++] = TN_STRING
    this.pos = p
  }

  /** Integer `#`. `n` must be an integer with magnitude ≤ 2^53. */
  int(n: number): void {
    const neg = n < 0
    const v = neg ? -n : n
    const d = decimalDigits(v)
    this.lengthPrefix(neg ? d + 1 : d)
    const buf = this.buf
    if (neg) buf[this.pos++] = CH_MINUS
    const end = this.pos + d
    writeDigits(buf, end, d, v)
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
    const newStart = this.openPrefixes[depth] + d + 1
    if (newStart !== contentStart) moveBytes(buf, contentStart, newStart, len)
    writeDigits(buf, newStart - 1, d, len)
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
      const d = decimalDigits(n)
      p += d
      writeDigits(buf, p, d, n)
    }
    buf[p] = CH_COLON
    this.pos = p + 1
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

/** Moves buf[from, from + n) to `to` (ranges may overlap). */
function moveBytes(buf: Uint8Array, from: number, to: number, n: number): void {
  if (n >= MOVE_LOOP_MAX_BYTES) {
    buf.copyWithin(to, from, from + n)
  } else if (to < from) {
    for (let i = 0; i < n; i++) buf[to + i] = buf[from + i]
  } else {
    for (let i = n - 1; i >= 0; i--) buf[to + i] = buf[from + i]
  }
}

/** The tnetstring byte string for an ASCII constant, e.g. tnAsciiBytes('from') = `4:from,`.
 * Allocates: for module-level constants (packet keys), not for the hot path. */
export function tnAsciiBytes(str: string): Uint8Array {
  const out = new Uint8Array(str.length + 12)
  const w = new TnWriter(out, 0)
  w.ascii(str)
  return out.slice(0, w.pos)
}
