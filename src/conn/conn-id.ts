// Session ids `W-K-N` (zhttp.md 1.5): W the worker index, K the connection slot (both
// decimal), N a per-worker counter in lowercase hex that advances for every new TCP connection
// and every new request on a kept-alive connection. Routing a handler packet parses K back out
// of the id, so delivery is O(1); N makes stale ids (an earlier request on the same slot)
// harmless. Nothing here allocates: ids are rendered into and parsed from byte buffers.

import { writeDecimal, writeHex } from '../util/digits.ts'

/** Longest id: 4 decimal digits of worker, 8 of slot, 13 hex digits of counter, 2 dashes. */
export const CONN_ID_SIZE_MAX_BYTES = 32

/** Counter wraps before it loses integer precision; ids stay unique for 2^52 requests. */
export const COUNTER_MAX = 2 ** 52

/** Writes `W-K-N` at `pos`; returns the end offset. */
export function writeConnId(
  buf: Uint8Array,
  pos: number,
  worker: number,
  slot: number,
  counter: number,
): number {
  pos = writeDecimal(buf, pos, worker)
  buf[pos++] = 0x2d // '-'
  pos = writeDecimal(buf, pos, slot)
  buf[pos++] = 0x2d
  return writeHex(buf, pos, counter)
}

/** Parse results, set by parseConnId (one shared scratch: the caller reads them at once). */
export const parsedId = { worker: 0, slot: 0, counter: 0 }

/**
 * Parses `W-K-N` in buf[start, end). Returns false unless the text is exactly the canonical
 * rendering of some (W, K, N): no leading zeros, no upper-case hex, nothing else. That makes a
 * numeric comparison equivalent to comparing the id bytes.
 */
export function parseConnId(buf: Uint8Array, start: number, end: number): boolean {
  let i = start
  let worker = 0
  let slot = 0
  let counter = 0
  const wStart = i
  while (i < end && buf[i] >= 0x30 && buf[i] <= 0x39) worker = worker * 10 + (buf[i++] - 0x30)
  if (i === wStart || i - wStart > 4 || (buf[wStart] === 0x30 && i - wStart > 1)) return false
  if (i >= end || buf[i] !== 0x2d) return false
  i++
  const kStart = i
  while (i < end && buf[i] >= 0x30 && buf[i] <= 0x39) slot = slot * 10 + (buf[i++] - 0x30)
  if (i === kStart || i - kStart > 8 || (buf[kStart] === 0x30 && i - kStart > 1)) return false
  if (i >= end || buf[i] !== 0x2d) return false
  i++
  const nStart = i
  while (i < end) {
    const c = buf[i]
    if (c >= 0x30 && c <= 0x39) counter = counter * 16 + (c - 0x30)
    else if (c >= 0x61 && c <= 0x66) counter = counter * 16 + (c - 0x57)
    else return false
    i++
  }
  if (i === nStart || i - nStart > 13 || (buf[nStart] === 0x30 && i - nStart > 1)) return false
  parsedId.worker = worker
  parsedId.slot = slot
  parsedId.counter = counter
  return true
}
