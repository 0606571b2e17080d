// Session ids `W-K-N-X` (zhttp.md 1.5 describes Condure's `W-K-N`): W the worker index, K the
// connection slot (both decimal), N a per-worker counter in lowercase hex that advances for
// every new TCP connection and every new request on a kept-alive connection, and X a nonce of
// ID_NONCE_DIGITS lowercase hex digits drawn once per process start. Routing a handler packet
// parses K back out of the id, so delivery is O(1); N makes stale ids (an earlier request on
// the same slot) harmless; X makes the ids of this process differ from those of every other
// gateway, and from this gateway's earlier runs. Several gateways may share one handler pool
// under the same instance id (the default `condure`): each then receives every reply the pool
// publishes, and a reply whose X is not ours is an unknown id, never a delivery (issue 10).
// Handlers treat ids as opaque strings (zhttp.md 1.5), so the longer form changes nothing for
// them. Nothing here allocates: ids are rendered into and parsed from byte buffers.

import { writeDecimal, writeHex } from '../util/digits.ts'

/** Hex digits of the per-process nonce: 32 random bits. */
export const ID_NONCE_DIGITS = 8

/** Longest id: 4 decimal digits of worker, 8 of slot, 13 hex of counter, the nonce, 3 dashes. */
export const SESSION_ID_SIZE_MAX_BYTES = 4 + 8 + 13 + ID_NONCE_DIGITS + 3

/** Counter wraps before it loses integer precision; ids stay unique for 2^52 requests. */
export const COUNTER_MAX = 2 ** 52

const HEX = '0123456789abcdef'
/** This process's nonce as the ASCII bytes written into every id. */
const nonce = new Uint8Array(ID_NONCE_DIGITS)
{
  const r = new Uint8Array(ID_NONCE_DIGITS / 2)
  crypto.getRandomValues(r)
  for (let i = 0; i < r.length; i++) {
    nonce[2 * i] = HEX.charCodeAt(r[i] >> 4)
    nonce[2 * i + 1] = HEX.charCodeAt(r[i] & 15)
  }
}

/** The nonce as text, for the other worker threads of this process (setIdNonce). */
export function idNonce(): string {
  return String.fromCharCode(...nonce)
}

/**
 * Adopts the nonce of worker 0 (a worker thread loads this module afresh): one process, one
 * nonce, so worker 0 can tell every id of the process from a foreign one before relaying it.
 */
export function setIdNonce(text: string): void {
  if (!/^[0-9a-f]+$/.test(text) || text.length !== ID_NONCE_DIGITS) throw new Error(`bad id nonce ${text}`)
  for (let i = 0; i < ID_NONCE_DIGITS; i++) nonce[i] = text.charCodeAt(i)
}

/** Writes `W-K-N-X` at `pos`; returns the end offset. */
export function writeSessionId(
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
  pos = writeHex(buf, pos, counter)
  buf[pos++] = 0x2d
  for (let i = 0; i < ID_NONCE_DIGITS; i++) buf[pos++] = nonce[i]
  return pos
}

/** Parse results, set by parseSessionId (one shared scratch: the caller reads them at once). */
export const parsedId = { worker: 0, slot: 0, counter: 0 }

/**
 * Parses `W-K-N-X` in buf[start, end). Returns false unless the text is exactly the canonical
 * rendering of some (W, K, N) with this process's nonce: no leading zeros, no upper-case hex,
 * nothing else. That makes a numeric comparison equivalent to comparing the id bytes, and an
 * id of another process (another nonce) unknown.
 */
export function parseSessionId(buf: Uint8Array, start: number, end: number): boolean {
  // The nonce first: a foreign id costs a few byte comparisons.
  const x = end - ID_NONCE_DIGITS
  if (x - start < 6 || buf[x - 1] !== 0x2d) return false
  for (let i = 0; i < ID_NONCE_DIGITS; i++) if (buf[x + i] !== nonce[i]) return false
  end = x - 1
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
