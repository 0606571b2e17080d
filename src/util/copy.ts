// Copying byte ranges between buffers on the hot path. `dst.set(src.subarray(s, e))` creates a
// view object per call; for the short spans of header names, values and hosts a plain loop is
// both faster and allocation-free, so views are only made for long spans.

/** Spans shorter than this are copied byte by byte. */
const SHORT_SPAN_BYTES = 64

/** Copies src[s, e) to dst at pos; returns the end offset in dst. */
export function copyBytes(dst: Uint8Array, pos: number, src: Uint8Array, s: number, e: number): number {
  const n = e - s
  if (n < SHORT_SPAN_BYTES) {
    for (let i = 0; i < n; i++) dst[pos + i] = src[s + i]
  } else {
    dst.set(src.subarray(s, e), pos)
  }
  return pos + n
}
