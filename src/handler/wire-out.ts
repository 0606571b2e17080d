// Writing handler → gateway packets (the response direction, zhttp.md 3.1-3.9) into one
// reusable, growing scratch buffer. A stream-mode packet goes out on PUB as the single frame
// `<gateway-instance-id> T{from, id, seq, ...}` (zhttp.md 1.3, 2.2); a req-mode reply is the bare
// `T{id, ...}` (zhttp.md 1.4). The caller adds fields between begin*() and end(), which returns
// a view of the scratch valid until the next begin*(): the transport copies it.

import { TnWriter } from '../zhttp/tnetstring.ts'

/** Initial scratch size; grown (doubling) for larger bodies. */
export const OUT_SCRATCH_INITIAL_BYTES = 64 << 10
/** Room reserved for every field of a packet but its body and headers. */
const PACKET_FIXED_OVERHEAD_BYTES = 512
/** Per header: two length prefixes, two type bytes and the pair's list framing. */
const HEADER_FRAMING_BYTES = 24

const CH_SPACE = 0x20
const CH_T = 0x54
const utf8 = new TextEncoder()

/** A header list as given by applications: pairs in order, or a record. */
export type HeaderInit = ReadonlyArray<readonly [string, string]> | Record<string, string>

/** Bytes a header list may take at most once encoded (UTF-8 is ≤ 3 bytes per UTF-16 unit). */
export function headersSizeBound(h: HeaderInit | undefined): number {
  if (h === undefined) return 0
  let n = 0
  if (Array.isArray(h)) {
    const list = h as ReadonlyArray<readonly [string, string]>
    for (let i = 0; i < list.length; i++) n += 3 * (list[i][0].length + list[i][1].length) + HEADER_FRAMING_BYTES
  } else {
    for (const k in h) n += 3 * (k.length + (h as Record<string, string>)[k].length) + HEADER_FRAMING_BYTES
  }
  return n
}

/** Writes packets; one per handler, reused for every packet. */
export class PacketWriter {
  private scratch = new Uint8Array(OUT_SCRATCH_INITIAL_BYTES)
  readonly w = new TnWriter()
  private start = 0

  /** Makes sure `bytes` more fit after the current position. */
  private reserve(bytes: number): void {
    if (this.scratch.length >= bytes) return
    let n = this.scratch.length
    while (n < bytes) n *= 2
    this.scratch = new Uint8Array(n)
  }

  /** `<instance> T{from` with room for `extraBytes` more; the map's length guessed at `digits`. */
  private open(instance: Uint8Array, from: Uint8Array, extraBytes: number, digits: number): TnWriter {
    this.reserve(instance.length + from.length + extraBytes + PACKET_FIXED_OVERHEAD_BYTES)
    const buf = this.scratch
    buf.set(instance, 0)
    buf[instance.length] = CH_SPACE
    const w = this.w
    w.reset(buf, instance.length + 1)
    this.start = 0
    w.raw(CH_T)
    w.beginMap(digits)
    w.ascii('from')
    w.bytes(from, 0, from.length)
    return w
  }

  /**
   * Begins `<instance> T{from, id, seq` with room for `extraBytes` of body and headers;
   * `seq` < 0 leaves it out (handoff takes care to keep it, zhttp.md 4.10).
   */
  beginStream(instance: Uint8Array, from: Uint8Array, id: Uint8Array, seq: number, extraBytes: number): void {
    const w = this.open(instance, from, id.length + extraBytes, extraBytes > 9000 ? 5 : 3)
    w.ascii('id')
    w.bytes(id, 0, id.length)
    if (seq >= 0) {
      w.ascii('seq')
      w.int(seq)
    }
  }

  /**
   * Begins a batch `<instance> T{from, id: [{id, seq}...]` (zhttp.md 3.1, multi-id); add each
   * id with batchId(), then endBatch() and the type field.
   */
  beginBatch(instance: Uint8Array, from: Uint8Array, count: number, idBytesMax: number): void {
    const w = this.open(instance, from, count * (idBytesMax + 40), 4)
    w.ascii('id')
    w.beginList(4)
  }

  batchId(id: Uint8Array, seq: number): void {
    const w = this.w
    w.beginMap()
    w.ascii('id')
    w.bytes(id, 0, id.length)
    w.ascii('seq')
    w.int(seq)
    w.endMap()
  }

  endBatch(): void {
    this.w.endList()
  }

  /** Begins a req-mode reply `T{id` (zhttp.md 4.11: no from, no seq). */
  beginReq(id: Uint8Array, extraBytes: number): void {
    this.reserve(id.length + extraBytes + PACKET_FIXED_OVERHEAD_BYTES)
    const w = this.w
    w.reset(this.scratch, 0)
    this.start = 0
    w.raw(CH_T)
    w.beginMap(extraBytes > 9000 ? 5 : 3)
    w.ascii('id')
    w.bytes(id, 0, id.length)
  }

  type(name: string): void {
    this.w.ascii('type')
    this.w.ascii(name)
  }

  int(name: string, n: number): void {
    this.w.ascii(name)
    this.w.int(n)
  }

  flag(name: string): void {
    this.w.ascii(name)
    this.w.bool(true)
  }

  text(name: string, value: string): void {
    this.w.ascii(name)
    this.w.utf8(value)
  }

  body(b: Uint8Array, s = 0, e = b.length): void {
    this.w.ascii('body')
    this.w.bytes(b, s, e)
  }

  /** `code`, `reason`, `headers` of a response head (zhttp.md 3.4). */
  head(code: number, reason: string, headers: HeaderInit | undefined): void {
    const w = this.w
    w.ascii('code')
    w.int(code)
    w.ascii('reason')
    w.utf8(reason)
    this.headers(headers)
  }

  headers(headers: HeaderInit | undefined): void {
    const w = this.w
    w.ascii('headers')
    w.beginList(4)
    if (headers !== undefined) {
      if (Array.isArray(headers)) {
        const list = headers as ReadonlyArray<readonly [string, string]>
        for (let i = 0; i < list.length; i++) pair(w, list[i][0], list[i][1])
      } else {
        for (const k in headers) pair(w, k, (headers as Record<string, string>)[k])
      }
    }
    w.endList()
  }

  /** Ends the map; the packet is the returned view (valid until the next begin*()). */
  end(): Uint8Array {
    this.w.endMap()
    return this.scratch.subarray(this.start, this.w.pos)
  }
}

function pair(w: TnWriter, k: string, v: string): void {
  w.beginList()
  w.utf8(k)
  w.utf8(v)
  w.endList()
}

/** UTF-8 bytes of a string (allocates; control path). */
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s)
}
