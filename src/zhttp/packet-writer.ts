// ZHTTP packet writing, gateway → handler (zhttp.md 2.1, 3.1-3.9): the writers for simple and
// batched multi-id packets, with the pre-framed keys of packet-types.ts.
//
// Invariants:
// - The writers emit condure's field order: from, id, seq, ext, type, then type-specific fields
//   (zhttp.md 2.3), and omit optional fields rather than sending them empty.
// - Writing allocates nothing: the TnWriter and IdBatch are caller-owned and preallocated.
// - Imports nothing from packet.ts (the parser): the two share only packet-types.ts.

import { BATCH_IDS_MAX } from '../limits.ts'
import type { TnWriter } from './tnetstring.ts'
import {
  CH_T,
  EMPTY_BYTES,
  EXT_MULTI_FIELD,
  KEY_CREDITS,
  KEY_FROM,
  KEY_ID,
  KEY_SEQ,
  KEY_TYPE,
  TYPE_ASCII_CREDIT,
} from './packet-types.ts'

/** Upper bound on what writeSimplePacket adds beyond the from, id and type bytes themselves:
 * `T`, the map frame, the keys, every length prefix, seq, ext and credits (zhttp.md 3.1). */
export const SIMPLE_PACKET_OVERHEAD_MAX_BYTES = 160
/** Upper bound on what one list-form id element `{id, seq}` adds beyond the id bytes. */
export const MULTI_ID_ELEMENT_OVERHEAD_MAX_BYTES = 64

/**
 * Writes `T` + `{from, id, seq, ext:{multi:true}, type, credits}` at w.pos (zhttp.md 3.1, 3.6).
 * - `from` null → omitted (req mode, zhttp.md 4.11); else from[0, fromLen).
 * - `seq` < 0 → omitted (req mode).
 * - `typeAscii` null → no `type` (a data packet without body: e.g. the end of a chunked body,
 *   zhttp.md 4.4).
 * - `credits` is written only for type `credit`, and always there (zhttp.md 2.3, 3.6).
 * Returns the bytes written; capacity needed ≤ SIMPLE_PACKET_OVERHEAD_MAX_BYTES + fromLen +
 * id length + type length.
 */
export function writeSimplePacket(
  w: TnWriter,
  from: Uint8Array | null,
  fromLen: number,
  idBuf: Uint8Array,
  idStart: number,
  idEnd: number,
  seq: number,
  typeAscii: string | null,
  credits: number,
): number {
  const start = w.pos
  w.raw(CH_T)
  // ~100 bytes with a 7-byte from and a short type: guess 3 length digits.
  w.beginMap(3)
  if (from !== null) {
    w.encoded(KEY_FROM)
    w.bytes(from, 0, fromLen)
  }
  w.encoded(KEY_ID)
  w.bytes(idBuf, idStart, idEnd)
  if (seq >= 0) {
    w.encoded(KEY_SEQ)
    w.int(seq)
  }
  w.encoded(EXT_MULTI_FIELD)
  if (typeAscii !== null) {
    w.encoded(KEY_TYPE)
    w.ascii(typeAscii)
    if (typeAscii === TYPE_ASCII_CREDIT) {
      w.encoded(KEY_CREDITS)
      w.int(credits)
    }
  }
  w.endMap()
  return w.pos - start
}

/**
 * Ids (with their next outgoing seq) of the sessions one batched keep-alive or cancel goes to
 * (zhttp.md 4.8, 4.12). Each id is bufs[i][starts[i], ends[i]); seqs[i] < 0 omits its seq.
 * Preallocated for BATCH_IDS_MAX entries; holds references to the id buffers until clear().
 */
export class IdBatch {
  readonly bufs: Uint8Array[] = new Array<Uint8Array>(BATCH_IDS_MAX).fill(EMPTY_BYTES)
  readonly starts = new Int32Array(BATCH_IDS_MAX)
  readonly ends = new Int32Array(BATCH_IDS_MAX)
  readonly seqs = new Float64Array(BATCH_IDS_MAX)
  count = 0

  /** Adds one id; false when the batch is full (the caller sends it and starts another). */
  add(buf: Uint8Array, start: number, end: number, seq: number): boolean {
    const i = this.count
    if (i === BATCH_IDS_MAX) return false
    this.bufs[i] = buf
    this.starts[i] = start
    this.ends[i] = end
    this.seqs[i] = seq
    this.count = i + 1
    return true
  }

  clear(): void {
    // Drop the references so finished sessions' buffers are not kept alive by a batch.
    for (let i = 0; i < this.count; i++) this.bufs[i] = EMPTY_BYTES
    this.count = 0
  }
}

/**
 * Writes a batched packet for ids[0, count): `T` + `{from, id: [{id, seq}, ...], ext, type}`,
 * or the plain form `{from, id, seq, ext, type}` when count is 1 (zhttp.md 3.1, checklist 65).
 * Writes nothing when count is 0. Returns the bytes written; capacity needed ≤
 * SIMPLE_PACKET_OVERHEAD_MAX_BYTES + fromLen + type length + the sum over ids of
 * (MULTI_ID_ELEMENT_OVERHEAD_MAX_BYTES + id length).
 */
export function writeMultiIdPacket(
  w: TnWriter,
  from: Uint8Array | null,
  fromLen: number,
  ids: IdBatch,
  count: number,
  typeAscii: string,
): number {
  if (count <= 0) return 0
  if (count === 1) {
    const s = ids.starts[0]
    const e = ids.ends[0]
    return writeSimplePacket(w, from, fromLen, ids.bufs[0], s, e, ids.seqs[0], typeAscii, 0)
  }
  const start = w.pos
  w.raw(CH_T)
  // An element `{id, seq}` is ~30 bytes: past ~30 ids the lengths reach 4 digits.
  const digits = count > 30 ? 4 : 3
  w.beginMap(digits)
  if (from !== null) {
    w.encoded(KEY_FROM)
    w.bytes(from, 0, fromLen)
  }
  w.encoded(KEY_ID)
  w.beginList(digits)
  for (let i = 0; i < count; i++) {
    w.beginMap(2)
    w.encoded(KEY_ID)
    w.bytes(ids.bufs[i], ids.starts[i], ids.ends[i])
    if (ids.seqs[i] >= 0) {
      w.encoded(KEY_SEQ)
      w.int(ids.seqs[i])
    }
    w.endMap()
  }
  w.endList()
  w.encoded(EXT_MULTI_FIELD)
  w.encoded(KEY_TYPE)
  w.ascii(typeAscii)
  w.endMap()
  return w.pos - start
}
