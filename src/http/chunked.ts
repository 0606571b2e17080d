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
// Leniencies, each also in the reference decoder in test/helpers/http-reference.ts:
// - Bare LF ends a line like CRLF (RFC 9112 2.2). A bare CR is an error.
// - Chunk extensions (RFC 9112 7.1.1) are skipped without parsing names or quoted values; only
//   CTLs other than HTAB are refused. BWS is allowed between the size and `;` or the line end.
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
/** A byte after the size that is neither BWS, `;` nor a line end, or a CTL in an extension. */
export const CHUNK_ERR_EXTENSION = -35
/** chunk-data not followed by CRLF (or LF). */
export const CHUNK_ERR_DATA_CRLF = -36
/** Trailer section larger than CHUNK_TRAILER_SIZE_MAX_BYTES. */
export const CHUNK_ERR_TRAILER_TOO_LARGE = -37
/** A trailer line that is not `token ":" field-value`, or a bare CR in it. */
export const CHUNK_ERR_TRAILER = -38

// --- decoder states ---
// call: step   next: SIZE (hex digit), else error
const S_SIZE_START = 0
// call: step   next: SIZE, SIZE_BWS, EXT, SIZE_LF, DATA, TRAILER_LINE
const S_SIZE = 1
// BWS after the digits. next: SIZE_BWS, EXT, SIZE_LF, DATA, TRAILER_LINE
const S_SIZE_BWS = 2
// Inside chunk-ext, skipped. next: EXT, SIZE_LF, DATA, TRAILER_LINE
const S_EXT = 3
// CR seen at the end of the size line. next: DATA, TRAILER_LINE
const S_SIZE_LF = 4
// `remaining` data bytes left in this chunk. next: DATA, DATA_CR
const S_DATA = 5
// Data finished; the line end must follow. next: DATA_LF, SIZE_START
const S_DATA_CR = 6
// CR seen after the data. next: SIZE_START
const S_DATA_LF = 7
// Start of a trailer line, or of the final empty line. next: TRAILER_NAME, END_LF, DONE
const S_TRAILER_LINE = 8
// next: TRAILER_NAME, TRAILER_VALUE
const S_TRAILER_NAME = 9
// next: TRAILER_VALUE, TRAILER_LF, TRAILER_LINE
const S_TRAILER_VALUE = 10
// CR seen at the end of a trailer line. next: TRAILER_LINE
const S_TRAILER_LF = 11
// CR of the final empty line. next: DONE
const S_END_LF = 12
// Body complete; step() is a no-op until reset().
const S_DONE = 13
// Framing error recorded in `error`; step() is a no-op until reset().
const S_ERROR = 14

// Hex digit values, -1 for anything else (RFC 9110 5.6.4 via RFC 5234 HEXDIG, any case).
const HEX_VALUE = new Int8Array(256).fill(-1)
// tchar (RFC 9110 5.6.2) for trailer field names.
const TOKEN = new Uint8Array(256)

function buildByteClasses(): void {
  for (let c = 0x30; c <= 0x39; c++) HEX_VALUE[c] = c - 0x30 // 0-9
  for (let c = 0x41; c <= 0x46; c++) HEX_VALUE[c] = c - 0x41 + 10 // A-F
  for (let c = 0x61; c <= 0x66; c++) HEX_VALUE[c] = c - 0x61 + 10 // a-f
  for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1 // 0-9
  for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1 // A-Z
  for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1 // a-z
  const punct = "!#$%&'*+-.^_`|~"
  for (let i = 0; i < punct.length; i++) TOKEN[punct.charCodeAt(i)] = 1
}
buildByteClasses()

/** A CTL other than HTAB (RFC 5234 CTL: 0x00-0x1f and DEL 0x7f). */
function isBadCtl(c: number): boolean {
  return (c < 0x20 && c !== 0x09) || c === 0x7f
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
      if (state <= S_EXT) {
        // the limit is on the line's content (size and extensions), not on its CRLF
        if (c !== 0x0d && c !== 0x0a && ++this.lineBytes > CHUNK_LINE_SIZE_MAX_BYTES) {
          return this.fail(CHUNK_ERR_LINE_TOO_LONG, i)
        }
      } else if (state >= S_TRAILER_LINE) {
        if (++this.trailerBytes > CHUNK_TRAILER_SIZE_MAX_BYTES) {
          return this.fail(CHUNK_ERR_TRAILER_TOO_LARGE, i)
        }
      }
      i++
      switch (state) {
        case S_SIZE_START:
        case S_SIZE: {
          const d = HEX_VALUE[c]
          if (d >= 0) {
            if (this.remaining > (CHUNK_SIZE_MAX_BYTES - d) / 16) {
              return this.fail(CHUNK_ERR_SIZE_TOO_LARGE, i - 1)
            }
            this.remaining = this.remaining * 16 + d
            state = S_SIZE
          } else if (state === S_SIZE_START) {
            return this.fail(CHUNK_ERR_SIZE, i - 1) // empty chunk-size
          } else if (c === 0x20 || c === 0x09) {
            state = S_SIZE_BWS // SP, HTAB
          } else if (c === 0x3b) {
            state = S_EXT // ';'
          } else if (c === 0x0d) {
            state = S_SIZE_LF // CR
          } else if (c === 0x0a) {
            state = this.endSizeLine() // LF
          } else {
            return this.fail(CHUNK_ERR_SIZE, i - 1) // non-hex byte in the size
          }
          break
        }
        case S_SIZE_BWS:
          if (c === 0x3b) state = S_EXT // ';'
          else if (c === 0x0d) state = S_SIZE_LF // CR
          else if (c === 0x0a) state = this.endSizeLine() // LF
          else if (c !== 0x20 && c !== 0x09) return this.fail(CHUNK_ERR_EXTENSION, i - 1)
          break
        case S_EXT:
          if (c === 0x0d) state = S_SIZE_LF // CR
          else if (c === 0x0a) state = this.endSizeLine() // LF
          else if (isBadCtl(c)) return this.fail(CHUNK_ERR_EXTENSION, i - 1)
          break
        case S_SIZE_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_EXTENSION, i - 1) // bare CR
          state = this.endSizeLine()
          break
        case S_DATA_CR:
          if (c === 0x0d) state = S_DATA_LF // CR
          else if (c === 0x0a) state = S_SIZE_START // LF
          else return this.fail(CHUNK_ERR_DATA_CRLF, i - 1)
          break
        case S_DATA_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_DATA_CRLF, i - 1)
          state = S_SIZE_START
          break
        case S_TRAILER_LINE:
          if (c === 0x0d) state = S_END_LF // CR
          else if (c === 0x0a) return this.finish(i) // LF: the final empty line
          else if (TOKEN[c] === 1) state = S_TRAILER_NAME
          else return this.fail(CHUNK_ERR_TRAILER, i - 1) // obs-fold, empty name...
          break
        case S_TRAILER_NAME:
          if (c === 0x3a) state = S_TRAILER_VALUE // ':'
          else if (TOKEN[c] !== 1) return this.fail(CHUNK_ERR_TRAILER, i - 1)
          break
        case S_TRAILER_VALUE:
          if (c === 0x0d) state = S_TRAILER_LF // CR
          else if (c === 0x0a) state = S_TRAILER_LINE // LF
          else if (isBadCtl(c)) return this.fail(CHUNK_ERR_TRAILER, i - 1)
          break
        case S_TRAILER_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_TRAILER, i - 1) // bare CR
          state = S_TRAILER_LINE
          break
        case S_END_LF:
          if (c !== 0x0a) return this.fail(CHUNK_ERR_TRAILER, i - 1) // bare CR
          return this.finish(i)
      }
    }
    this.state = state
    return i
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
