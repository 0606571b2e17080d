// Incremental decoder for the chunked transfer coding of request bodies (RFC 9112 section 7.1).
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// Invariants:
// - Zero-copy and allocation-free: step() reports the data it found as offsets into the caller's
//   buffer (dataStart/dataEnd) and keeps all state in number fields set up in the constructor.
// - Any split of the input is fine: every state survives between calls, one byte at a time if
//   need be. step() reads only bytes in [pos, end).
// - One step() reports at most one contiguous run of data, at most maxData bytes (the handler's
//   credits, zhttp.md 4.4). Framing bytes after that run are consumed eagerly, so `done` can
//   turn true in the same step that returns the last data.
// - Errors are sticky negative CHUNK_ERR_* codes; Condure closes the connection on any of them.
//
// Rules, each also in the reference decoder in test/helpers/http-reference.ts:
// - Every line of the framing ends in CRLF: the size lines, the CRLF after each chunk's data,
//   the trailer lines and the final empty line. The bare-LF leniency of RFC 9112 2.2 covers the
//   start line and header fields only; in a chunked body a front proxy that waits for CRLF would
//   read different chunk boundaries than zgate (request smuggling), so a bare LF or a bare CR is
//   an error.
// - Chunk extensions (RFC 9112 7.1.1) are parsed to their grammar, `;` name [ `=` token or
//   quoted-string ] with BWS around each part, then ignored. BWS is also allowed between the
//   size and the line end. Any CTL other than HTAB in a size line is an error.
// - Trailer fields (RFC 9112 7.1.2) are checked for `token ":" field-value` shape and dropped,
//   as Condure does (zhttp.md 4.4).

import { CHUNK_LINE_SIZE_MAX_BYTES, CHUNK_TRAILER_SIZE_MAX_BYTES } from '../limits.ts'

/**
 * Largest chunk-size accepted. Condure refuses sizes that do not fit a u32 (ChunkTooLarge in
 * http1.rs); the same bound keeps `remaining` exact in a JS number with room to spare.
 */
const CHUNK_SIZE_MAX_BYTES = 0xffffffff

// --- error codes: disjoint from PARSE_ERR_* so one table can map both ---
/** chunk-size empty or holding a non-hex byte (RFC 9112 7.1). */
export const CHUNK_ERR_SIZE = -32
/** chunk-size above CHUNK_SIZE_MAX_BYTES (4 GiB - 1, Condure's bound). */
export const CHUNK_ERR_SIZE_TOO_LARGE = -33
/** chunk-size line (size plus extensions) longer than CHUNK_LINE_SIZE_MAX_BYTES. */
export const CHUNK_ERR_LINE_TOO_LONG = -34
/** A byte after the size that is neither BWS, `;` nor CR, or an extension off its grammar. */
export const CHUNK_ERR_EXTENSION = -35
/** chunk-data not followed by CRLF. */
export const CHUNK_ERR_DATA_CRLF = -36
/** Trailer section larger than CHUNK_TRAILER_SIZE_MAX_BYTES. */
export const CHUNK_ERR_TRAILER_TOO_LARGE = -37
/** A trailer line that is not `token ":" field-value`, or a bare CR in it. */
export const CHUNK_ERR_TRAILER = -38
/** A line of the framing ended by a bare LF where CRLF is required (RFC 9112 7.1). */
export const CHUNK_ERR_BARE_LF = -39

// --- decoder states ---
// The size-line states come first: `state <= S_EXT_VALUE_BWS` counts the line's bytes.
// call: step   next: SIZE (hex digit), else error
const S_SIZE_START = 0
// next: SIZE, SIZE_BWS, EXT_NAME_START, SIZE_LF
const S_SIZE = 1
// BWS after the digits. next: SIZE_BWS, EXT_NAME_START, SIZE_LF
const S_SIZE_BWS = 2
// After `;`: BWS, then the extension's name. next: EXT_NAME_START, EXT_NAME
const S_EXT_NAME_START = 3
// next: EXT_NAME, EXT_NAME_BWS, EXT_VALUE_START, EXT_NAME_START, SIZE_LF
const S_EXT_NAME = 4
// BWS after a name. next: EXT_NAME_BWS, EXT_VALUE_START, EXT_NAME_START, SIZE_LF
const S_EXT_NAME_BWS = 5
// After `=`: BWS, then a token or a quoted-string. next: EXT_VALUE_START, EXT_TOKEN, EXT_QUOTED
const S_EXT_VALUE_START = 6
// next: EXT_TOKEN, EXT_VALUE_BWS, EXT_NAME_START, SIZE_LF
const S_EXT_TOKEN = 7
// Inside a quoted-string (RFC 9110 5.6.4). next: EXT_QUOTED, EXT_QUOTED_PAIR, EXT_VALUE_BWS
const S_EXT_QUOTED = 8
// After a backslash in a quoted-string. next: EXT_QUOTED
const S_EXT_QUOTED_PAIR = 9
// BWS after a value. next: EXT_VALUE_BWS, EXT_NAME_START, SIZE_LF
const S_EXT_VALUE_BWS = 10
// CR seen at the end of the size line. next: DATA, TRAILER_LINE
const S_SIZE_LF = 11
// `remaining` data bytes left in this chunk. next: DATA, DATA_CR
const S_DATA = 12
// Data finished; CR must follow. next: DATA_LF
const S_DATA_CR = 13
// CR seen after the data. next: SIZE_START
const S_DATA_LF = 14
// Start of a trailer line, or of the final empty line. next: TRAILER_NAME, END_LF
const S_TRAILER_LINE = 15
// next: TRAILER_NAME, TRAILER_VALUE
const S_TRAILER_NAME = 16
// next: TRAILER_VALUE, TRAILER_LF
const S_TRAILER_VALUE = 17
// CR seen at the end of a trailer line. next: TRAILER_LINE
const S_TRAILER_LF = 18
// CR of the final empty line. next: DONE
const S_END_LF = 19
// Body complete; step() is a no-op until reset().
const S_DONE = 20
// Framing error recorded in `error`; step() is a no-op until reset().
const S_ERROR = 21

// Hex digit values, -1 for anything else (RFC 9110 5.6.4 via RFC 5234 HEXDIG, any case).
const HEX_VALUE = new Int8Array(256).fill(-1)
// tchar (RFC 9110 5.6.2) for trailer field names and extension names and values.
const TOKEN = new Uint8Array(256)
// qdtext (RFC 9110 5.6.4): HTAB, SP, VCHAR except `"` and `\`, obs-text.
const QDTEXT = new Uint8Array(256)

function buildByteClasses(): void {
  for (let c = 0x30; c <= 0x39; c++) HEX_VALUE[c] = c - 0x30 // 0-9
  for (let c = 0x41; c <= 0x46; c++) HEX_VALUE[c] = c - 0x41 + 10 // A-F
  for (let c = 0x61; c <= 0x66; c++) HEX_VALUE[c] = c - 0x61 + 10 // a-f
  for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1 // 0-9
  for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1 // A-Z
  for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1 // a-z
  const punct = "!#$%&'*+-.^_`|~"
  for (let i = 0; i < punct.length; i++) TOKEN[punct.charCodeAt(i)] = 1
  for (let c = 0x20; c <= 0xff; c++) QDTEXT[c] = 1
  QDTEXT[0x09] = 1 // HTAB
  QDTEXT[0x22] = 0 // '"'
  QDTEXT[0x5c] = 0 // '\\'
  QDTEXT[0x7f] = 0 // DEL
}
buildByteClasses()

/** A CTL other than HTAB (RFC 5234 CTL: 0x00-0x1f and DEL 0x7f). */
function isBadCtl(c: number): boolean {
  return (c < 0x20 && c !== 0x09) || c === 0x7f
}

/** SP or HTAB: BWS (RFC 9110 5.6.3). */
function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09
}

export class ChunkedDecoder {
  /** Data bytes found by the last step(): buf[dataStart, dataEnd); empty when equal. */
  dataStart: number
  dataEnd: number
  /** The last-chunk and the trailer section have been consumed. */
  done: boolean
  /** 0, or the CHUNK_ERR_* code that stopped decoding. */
  error: number
  /** Data bytes decoded since reset(), for the caller's accounting. */
  bodyBytes: number
  private state: number
  /** Current chunk-size while its digits arrive, then the data bytes left in the chunk. */
  private remaining: number
  /** Bytes of the current chunk-size line so far (CHUNK_LINE_SIZE_MAX_BYTES). */
  private lineBytes: number
  /** Bytes of the trailer section so far (CHUNK_TRAILER_SIZE_MAX_BYTES). */
  private trailerBytes: number
  /** The error code of an afterPart() that returned S_ERROR. */
  private pendingError: number

  constructor() {
    this.dataStart = 0
    this.dataEnd = 0
    this.done = false
    this.error = 0
    this.bodyBytes = 0
    this.state = S_SIZE_START
    this.remaining = 0
    this.lineBytes = 0
    this.trailerBytes = 0
    this.pendingError = 0
  }

  /** Prepares for a new chunked body. */
  reset(): void {
    this.dataStart = 0
    this.dataEnd = 0
    this.done = false
    this.error = 0
    this.bodyBytes = 0
    this.state = S_SIZE_START
    this.remaining = 0
    this.lineBytes = 0
    this.trailerBytes = 0
  }

  private fail(code: number, at: number): number {
    this.state = S_ERROR
    this.error = code
    return at
  }

  /**
   * Consumes input from buf[pos, end) and returns the new position. Afterwards dataStart/dataEnd
   * hold the data found (at most maxData bytes), and `done` / `error` say whether the body ended
   * or broke. The decoder stops before `end` only after the body, on an error, or at data it
   * may not report now: a second run of data, or any data when maxData is 0 (no credits).
   * Callers loop until the position reaches `end` or one of those holds.
   */
  step(buf: Uint8Array, pos: number, end: number, maxData: number): number {
    this.dataStart = pos
    this.dataEnd = pos
    let state = this.state
    if (state === S_DONE || state === S_ERROR) return pos
    let i = pos
    let hasData = false
    while (i < end) {
      if (state === S_DATA) {
        // The one bulk case: hand out a view instead of walking the bytes.
        if (hasData || maxData <= 0) break
        let n = end - i
        if (n > this.remaining) n = this.remaining
        if (n > maxData) n = maxData
        this.dataStart = i
        this.dataEnd = i + n
        this.bodyBytes += n
        this.remaining -= n
        hasData = true
        i += n
        if (this.remaining > 0) break // out of input or out of maxData
        state = S_DATA_CR
        continue
      }
      const c = buf[i]
      if (state <= S_EXT_VALUE_BWS) {
        // the limit is on the line's content (size and extensions), not on its CRLF
        if (c !== 0x0d && c !== 0x0a && ++this.lineBytes > CHUNK_LINE_SIZE_MAX_BYTES) {
          return this.fail(CHUNK_ERR_LINE_TOO_LONG, i)
        }
      } else if (state >= S_TRAILER_LINE) {
        if (++this.trailerBytes > CHUNK_TRAILER_SIZE_MAX_BYTES) {
          return this.fail(CHUNK_ERR_TRAILER_TOO_LARGE, i)
        }
      }
      // The byte that fails is not consumed: the error position is the offending byte.
      let next = state
      switch (state) {
        case S_SIZE_START:
        case S_SIZE: {
          const d = HEX_VALUE[c]
          if (d >= 0) {
            if (this.remaining > (CHUNK_SIZE_MAX_BYTES - d) / 16) {
              return this.fail(CHUNK_ERR_SIZE_TOO_LARGE, i)
            }
            this.remaining = this.remaining * 16 + d
            next = S_SIZE
          } else if (state === S_SIZE_START) {
            return this.fail(CHUNK_ERR_SIZE, i) // empty chunk-size
          } else if (isWs(c)) {
            next = S_SIZE_BWS
          } else {
            next = this.afterPart(c, CHUNK_ERR_SIZE)
          }
          break
        }
        case S_SIZE_BWS:
        case S_EXT_VALUE_BWS:
          if (!isWs(c)) next = this.afterPart(c, CHUNK_ERR_EXTENSION)
          break
        case S_EXT_NAME_START:
          if (TOKEN[c] === 1) next = S_EXT_NAME
          else if (!isWs(c)) return this.fail(CHUNK_ERR_EXTENSION, i) // empty name
          break
        case S_EXT_NAME:
        case S_EXT_NAME_BWS:
          if (TOKEN[c] === 1 && state === S_EXT_NAME) break
          if (isWs(c)) next = S_EXT_NAME_BWS
          else if (c === 0x3d) next = S_EXT_VALUE_START // '='
          else next = this.afterPart(c, CHUNK_ERR_EXTENSION)
          break
        case S_EXT_VALUE_START:
          if (TOKEN[c] === 1) next = S_EXT_TOKEN
          else if (c === 0x22) next = S_EXT_QUOTED // '"'
          else if (!isWs(c)) return this.fail(CHUNK_ERR_EXTENSION, i) // empty value
          break
        case S_EXT_TOKEN:
          if (TOKEN[c] === 1) break
          if (isWs(c)) next = S_EXT_VALUE_BWS
          else next = this.afterPart(c, CHUNK_ERR_EXTENSION)
          break
        case S_EXT_QUOTED:
          if (c === 0x22) next = S_EXT_VALUE_BWS // '"'
          else if (c === 0x5c) next = S_EXT_QUOTED_PAIR // '\\'
          else if (QDTEXT[c] !== 1) return this.fail(CHUNK_ERR_EXTENSION, i) // a CTL
          break
        case S_EXT_QUOTED_PAIR:
          // quoted-pair = "\\" ( HTAB / SP / VCHAR / obs-text )
          if (isBadCtl(c)) return this.fail(CHUNK_ERR_EXTENSION, i)
          next = S_EXT_QUOTED
          break
        case S_SIZE_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_EXTENSION, i) // bare CR
          next = this.endSizeLine()
          break
        case S_DATA_CR:
          if (c === 0x0d) next = S_DATA_LF // CR
          else return this.fail(c === 0x0a ? CHUNK_ERR_BARE_LF : CHUNK_ERR_DATA_CRLF, i)
          break
        case S_DATA_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_DATA_CRLF, i)
          next = S_SIZE_START
          break
        case S_TRAILER_LINE:
          if (c === 0x0d) next = S_END_LF // CR
          else if (c === 0x0a) return this.fail(CHUNK_ERR_BARE_LF, i)
          else if (TOKEN[c] === 1) next = S_TRAILER_NAME
          else return this.fail(CHUNK_ERR_TRAILER, i) // obs-fold, empty name...
          break
        case S_TRAILER_NAME:
          if (c === 0x3a) next = S_TRAILER_VALUE // ':'
          else if (TOKEN[c] !== 1) return this.fail(CHUNK_ERR_TRAILER, i)
          break
        case S_TRAILER_VALUE:
          if (c === 0x0d) next = S_TRAILER_LF // CR
          else if (c === 0x0a) return this.fail(CHUNK_ERR_BARE_LF, i)
          else if (isBadCtl(c)) return this.fail(CHUNK_ERR_TRAILER, i)
          break
        case S_TRAILER_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_TRAILER, i) // bare CR
          next = S_TRAILER_LINE
          break
        case S_END_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_TRAILER, i) // bare CR
          return this.finish(i + 1)
      }
      if (next === S_ERROR) return this.fail(this.pendingError, i)
      state = next
      i++
    }
    this.state = state
    return i
  }


  /**
   * The state after a size or an extension part, when the byte `c` is not part of it: `;`
   * starts the next extension, CR ends the line. A bare LF gets CHUNK_ERR_BARE_LF, anything
   * else `err`: S_ERROR is returned and the code left in pendingError.
   */
  private afterPart(c: number, err: number): number {
    if (c === 0x3b) return S_EXT_NAME_START // ';'
    if (c === 0x0d) return S_SIZE_LF // CR
    this.pendingError = c === 0x0a ? CHUNK_ERR_BARE_LF : err // LF
    return S_ERROR
  }

  /** The size line ended: start the chunk's data, or the trailer after the last-chunk. */
  private endSizeLine(): number {
    this.lineBytes = 0
    if (this.remaining === 0) {
      this.trailerBytes = 0
      return S_TRAILER_LINE
    }
    return S_DATA
  }

  private finish(at: number): number {
    this.state = S_DONE
    this.done = true
    return at
  }
}
