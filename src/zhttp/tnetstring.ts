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
/** A container's length is unknown until it ends, so the writer reserves this many bytes for
 * `<digits>:` and shifts the content when the real prefix differs. 4 bytes (3 digits) means
 * the large containers of a typical packet (the top map and the headers list, 100-999 bytes)
 * never move; measured against 2, 3 and 5 in bench/tnetstring.bench.ts. */
const CONTAINER_PREFIX_RESERVE_BYTES = 4
/** Copies shorter than this use a plain loop: cheaper than a native call, and it needs no
 * subarray view of the source (which would allocate). Measured in bench/tnetstring.bench.ts. */
const COPY_LOOP_MAX_BYTES = 64

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

const TN_ERROR_TEXTS: readonly string[] = [
  'ok',
  'incomplete length prefix',
  'bad length prefix',
  'length past end',
  'bad type byte',
  'bad boolean',
  'bad integer',
  'bad null',
  'bad float',
]

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
  type: number
  /** Offset of the first length digit, i.e. where the whole frame starts. */
  start: number
  /** Offset of the first data byte. */
  dataStart: number
  /** Offset just past the last data byte (where the type byte sits). */
  dataEnd: number
  /** Offset just past the type byte: where a following sibling starts. */
  next: number

  constructor() {
    this.type = 0
    this.start = 0
    this.dataStart = 0
    this.dataEnd = 0
    this.next = 0
  }
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

function isBoolBody(buf: Uint8Array, s: number, e: number): boolean {
  const n = e - s
  // 'true' = 74 72 75 65, 'false' = 66 61 6c 73 65
  if (n === 4) {
    return buf[s] === 0x74 && buf[s + 1] === 0x72 && buf[s + 2] === 0x75 && buf[s + 3] === 0x65
  }
  if (n === 5) {
    return (
      buf[s] === 0x66 &&
      buf[s + 1] === 0x61 &&
      buf[s + 2] === 0x6c &&
      buf[s + 3] === 0x73 &&
      buf[s + 4] === 0x65
    )
  }
  return false
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

/** Decimal digits of a non-negative integer up to 2^53 (powers of 10 up to 1e16 are exact). */
function decimalDigits(v: number): number {
  let d = 1
  let p = 10
  while (v >= p) {
    d++
    p *= 10
  }
  return d
}

/** Writes the digits of non-negative integer `v`, exactly `d` of them, ending before `end`. */
function writeDigits(buf: Uint8Array, end: number, d: number, v: number): void {
  for (let i = end - 1; i >= end - d; i--) {
    const q = Math.floor(v / 10)
    buf[i] = CH_0 + (v - q * 10)
    v = q
  }
}

/** Placeholder so a writer can exist before it is pointed at a real buffer. */
const EMPTY_BYTES = new Uint8Array(0)

/**
 * Writes tnetstrings into a caller-supplied buffer at `pos`; re-point it with reset().
 * Capacity is the caller's job (check remaining()): typed-array writes past the end are
 * silently dropped, so an undersized buffer gives a truncated packet, never an exception.
 * Typical use: `w.raw(0x54) // 'T'`, `w.beginMap()`, `w.ascii('id')`, `w.bytes(...)`, ...,
 * `w.endMap()`.
 */
export class TnWriter {
  buf: Uint8Array
  pos: number
  /** Open containers. */
  depth: number
  /** Content start of each open container, innermost last. */
  private readonly openStarts: Int32Array

  constructor(buf: Uint8Array = EMPTY_BYTES, pos = 0) {
    this.buf = buf
    this.pos = pos
    this.depth = 0
    this.openStarts = new Int32Array(TN_WRITER_DEPTH_MAX)
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
    const n = src.length
    if (n < COPY_LOOP_MAX_BYTES) {
      const buf = this.buf
      const p = this.pos
      for (let i = 0; i < n; i++) buf[p + i] = src[i]
    } else {
      this.buf.set(src, this.pos)
    }
    this.pos += n
  }

  /** Byte string `,` holding src[s, e). */
  bytes(src: Uint8Array, s: number, e: number): void {
    this.lengthPrefix(e - s)
    this.rawBytes(src, s, e)
    this.buf[this.pos++] = TN_STRING
  }

  /** Raw bytes src[s, e), unframed: content inside beginString()/endString(). */
  rawBytes(src: Uint8Array, s: number, e: number): void {
    const n = e - s
    const buf = this.buf
    const p = this.pos
    if (n < COPY_LOOP_MAX_BYTES) {
      for (let i = 0; i < n; i++) buf[p + i] = src[s + i]
    } else {
      // One view object per large copy (a body chunk): a native memcpy beats a JS loop by
      // far there, and the view is small next to the bytes it moves.
      buf.set(src.subarray(s, e), p)
    }
    this.pos = p + n
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
    const n = str.length
    this.lengthPrefix(n)
    const buf = this.buf
    const p = this.pos
    for (let i = 0; i < n; i++) buf[p + i] = str.charCodeAt(i)
    this.pos = p + n
    buf[this.pos++] = TN_STRING
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
      let c = str.charCodeAt(i)
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
    const buf = this.buf
    let p = this.pos
    if (b) {
      // 4:true!
      buf[p] = 0x34
      buf[p + 1] = CH_COLON
      buf[p + 2] = 0x74
      buf[p + 3] = 0x72
      buf[p + 4] = 0x75
      buf[p + 5] = 0x65
      p += 6
    } else {
      // 5:false!
      buf[p] = 0x35
      buf[p + 1] = CH_COLON
      buf[p + 2] = 0x66
      buf[p + 3] = 0x61
      buf[p + 4] = 0x6c
      buf[p + 5] = 0x73
      buf[p + 6] = 0x65
      p += 7
    }
    buf[p] = TN_BOOL
    this.pos = p + 1
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
  beginString(): void {
    this.begin()
  }

  endString(): void {
    this.end(TN_STRING)
  }

  beginList(): void {
    this.begin()
  }

  endList(): void {
    this.end(TN_LIST)
  }

  beginMap(): void {
    this.begin()
  }

  endMap(): void {
    this.end(TN_MAP)
  }

  private begin(): void {
    if (this.depth >= TN_WRITER_DEPTH_MAX) {
      // Only a coding error can get here: packets nest 3 deep.
      throw new RangeError(`tnetstring nesting deeper than ${TN_WRITER_DEPTH_MAX}`)
    }
    this.pos += CONTAINER_PREFIX_RESERVE_BYTES
    this.openStarts[this.depth++] = this.pos
  }

  // Writes the real `<len>:` in front of the content, moving the content if the reserve was
  // the wrong size, then the type byte.
  private end(type: number): void {
    const buf = this.buf
    const contentStart = this.openStarts[--this.depth]
    const len = this.pos - contentStart
    const d = decimalDigits(len)
    const prefixStart = contentStart - CONTAINER_PREFIX_RESERVE_BYTES
    const newStart = prefixStart + d + 1
    if (newStart !== contentStart) moveBytes(buf, contentStart, newStart, len)
    writeDigits(buf, newStart - 1, d, len)
    buf[newStart - 1] = CH_COLON
    const end = newStart + len
    buf[end] = type
    this.pos = end + 1
  }

  /** `<n>:` */
  private lengthPrefix(n: number): void {
    const d = decimalDigits(n)
    const end = this.pos + d
    writeDigits(this.buf, end, d, n)
    this.buf[end] = CH_COLON
    this.pos = end + 1
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

/** Moves buf[from, from + n) to `to` (ranges may overlap). */
function moveBytes(buf: Uint8Array, from: number, to: number, n: number): void {
  if (n >= COPY_LOOP_MAX_BYTES) {
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
