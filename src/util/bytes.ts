// Byte-span primitives shared by the parsers and encoders: comparing a span of a buffer with a
// literal (exact or ignoring ASCII case), and copying or moving spans. Spans are (buf, s, e)
// offsets into the caller's bytes; nothing here allocates, except the one view a long copy
// makes for the native memcpy (COPY_LOOP_MAX_BYTES).

/**
 * Copies up to this many bytes use an unrolled JS loop; longer ones use `set(subarray)`, a
 * native memcpy that first costs a view allocation (~50 ns). The loop (≈0.3 ns/byte) breaks
 * even between 256 and 512 bytes (bench/bytes.bench.ts), so header names, values, hosts and
 * keys never allocate and only body-sized copies do, one small view each.
 */
export const COPY_LOOP_MAX_BYTES = 256
/** Moves within one buffer shorter than this use a loop; copyWithin above (no allocation,
 * ~12 ns per call). */
const MOVE_LOOP_MAX_BYTES = 16

const UPPER_A = 0x41
const UPPER_Z = 0x5a
/** Sets an ASCII capital letter to its lower case. */
const CASE_BIT = 0x20

/**
 * Copies src[s, e) to dst at pos; returns the end offset in dst. Capacity is the caller's
 * job: loop writes past dst's end are dropped, a native copy past it throws a RangeError.
 */
export function copyBytes(dst: Uint8Array, pos: number, src: Uint8Array, s: number, e: number): number {
  if (e - s > COPY_LOOP_MAX_BYTES) {
    // A whole array needs no view; a slice costs one view object, small next to its bytes.
    if (s === 0 && e === src.length) dst.set(src, pos)
    else dst.set(src.subarray(s, e), pos)
    return pos + e - s
  }
  return copyByLoop(dst, pos, src, s, e)
}

/** @internal copyBytes' short-span strategy, exported for bench/bytes.bench.ts. */
export function copyByLoop(dst: Uint8Array, pos: number, src: Uint8Array, s: number, e: number): number {
  // Unrolled by 4: about twice the speed of the plain loop in JSC.
  const d = pos - s
  let i = s
  for (const e4 = e - 3; i < e4; i += 4) {
    dst[i + d] = src[i]
    dst[i + d + 1] = src[i + 1]
    dst[i + d + 2] = src[i + 2]
    dst[i + d + 3] = src[i + 3]
  }
  for (; i < e; i++) dst[i + d] = src[i]
  return pos + e - s
}

/** Moves buf[from, from + n) to `to` (the ranges may overlap). */
export function moveBytes(buf: Uint8Array, from: number, to: number, n: number): void {
  if (n >= MOVE_LOOP_MAX_BYTES) {
    buf.copyWithin(to, from, from + n)
  } else if (to < from) {
    for (let i = 0; i < n; i++) buf[to + i] = buf[from + i]
  } else {
    for (let i = n - 1; i >= 0; i--) buf[to + i] = buf[from + i]
  }
}

/** Writes the chars of an ASCII/latin1 string (one byte per char) at pos; returns the end. */
export function writeAscii(out: Uint8Array, pos: number, str: string): number {
  const n = str.length
  for (let i = 0; i < n; i++) out[pos + i] = str.charCodeAt(i)
  return pos + n
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

/** True when buf[s, e) equals the ASCII/latin1 string `str` (one byte per char), byte for byte. */
export function spanEqualsAscii(buf: Uint8Array, s: number, e: number, str: string): boolean {
  const n = str.length
  if (e - s !== n) return false
  for (let i = 0; i < n; i++) {
    if (buf[s + i] !== str.charCodeAt(i)) return false
  }
  return true
}

/**
 * True when buf[s, e) equals the lower-case ASCII string `lower` ignoring ASCII case: header
 * names (RFC 9110 5.1), list tokens and extension names. Only A-Z fold, so no other byte (CR,
 * `@`, a latin1 letter) can match a literal by accident, whatever the span holds.
 */
export function spanEqualsLower(buf: Uint8Array, s: number, e: number, lower: string): boolean {
  const n = lower.length
  if (e - s !== n) return false
  for (let i = 0; i < n; i++) {
    let c = buf[s + i]
    if (c >= UPPER_A && c <= UPPER_Z) c |= CASE_BIT
    if (c !== lower.charCodeAt(i)) return false
  }
  return true
}
