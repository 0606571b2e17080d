// Interned handler addresses (the `from` of handler packets, zhttp.md 4.6). A session keeps a
// small integer instead of its own copy of up to 64 bytes: sessions of the same handler share
// one entry, keep-alive batching groups by that integer, and a lookup hashes the bytes in place
// (FNV-1a) without creating a string. Entries are reference-counted; a few unreferenced ones
// stay interned for the next request of the same handler, the rest are recycled.

import { HANDLER_ADDRESS_MAX_BYTES } from '../limits.ts'

/** Distinct live handler addresses; beyond it new addresses are refused (session closed). */
export const HANDLER_ADDRESSES_MAX = 65_536
/** Unreferenced addresses kept interned for reuse; beyond it they are dropped at once. */
export const HANDLER_IDLE_ENTRIES_MAX = 256

const INITIAL_ENTRIES = 64

export class HandlerTable {
  bytes = new Uint8Array(INITIAL_ENTRIES * HANDLER_ADDRESS_MAX_BYTES)
  len = new Int32Array(INITIAL_ENTRIES)
  refs = new Int32Array(INITIAL_ENTRIES)
  hash = new Int32Array(INITIAL_ENTRIES)
  /** Next entry with the same hash, -1 at the end of a chain. */
  chain = new Int32Array(INITIAL_ENTRIES)
  private byHash = new Map<number, number>()
  private free: number[] = []
  private used = 0
  /** Entries with no reference that are kept for reuse. */
  private idle = 0

  /** Offset of entry `h`'s bytes in `bytes`. */
  offset(h: number): number {
    return h * HANDLER_ADDRESS_MAX_BYTES
  }

  /** True when entry `h` holds exactly buf[start, end) (the common case: same handler). */
  matches(h: number, buf: Uint8Array, start: number, end: number): boolean {
    const n = end - start
    if (this.len[h] !== n) return false
    const o = h * HANDLER_ADDRESS_MAX_BYTES
    for (let i = 0; i < n; i++) if (this.bytes[o + i] !== buf[start + i]) return false
    return true
  }

  /**
   * Returns the entry for buf[start, end) with one more reference, creating it when new.
   * -1 when the address is too long or the table is full.
   */
  acquire(buf: Uint8Array, start: number, end: number): number {
    const n = end - start
    if (n > HANDLER_ADDRESS_MAX_BYTES) return -1
    let h = 0x811c9dc5
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193)
    h |= 0
    const head = this.byHash.get(h)
    for (let e = head === undefined ? -1 : head; e >= 0; e = this.chain[e]) {
      if (this.len[e] !== n) continue
      const o = e * HANDLER_ADDRESS_MAX_BYTES
      let same = true
      for (let i = 0; i < n; i++) {
        if (this.bytes[o + i] !== buf[start + i]) {
          same = false
          break
        }
      }
      if (same) {
        if (this.refs[e]++ === 0) this.idle--
        return e
      }
    }
    const e = this.allocEntry()
    if (e < 0) return -1
    this.bytes.set(buf.subarray(start, end), e * HANDLER_ADDRESS_MAX_BYTES)
    this.len[e] = n
    this.refs[e] = 1
    this.hash[e] = h
    this.chain[e] = head === undefined ? -1 : head
    this.byHash.set(h, e)
    return e
  }

  release(e: number): void {
    if (--this.refs[e] > 0) return
    // Keep a few unreferenced addresses interned: a handler between two requests on a
    // kept-alive connection would otherwise be dropped and re-interned every request.
    if (this.idle < HANDLER_IDLE_ENTRIES_MAX) {
      this.idle++
      return
    }
    this.forget(e)
  }

  private forget(e: number): void {
    const h = this.hash[e]
    let prev = -1
    let cur = this.byHash.get(h) ?? -1
    while (cur >= 0 && cur !== e) {
      prev = cur
      cur = this.chain[cur]
    }
    if (prev < 0) {
      if (this.chain[e] < 0) this.byHash.delete(h)
      else this.byHash.set(h, this.chain[e])
    } else {
      this.chain[prev] = this.chain[e]
    }
    this.free.push(e)
  }

  private allocEntry(): number {
    const f = this.free.pop()
    if (f !== undefined) return f
    if (this.used === this.len.length) {
      if (this.used >= HANDLER_ADDRESSES_MAX) return this.evictIdle()
      this.grow(this.used * 2)
    }
    return this.used++
  }

  /** The table is full: reuse an unreferenced entry if there is one (rare, O(n)). */
  private evictIdle(): number {
    if (this.idle === 0) return -1
    for (let e = 0; e < this.used; e++) {
      if (this.refs[e] !== 0) continue
      this.idle--
      this.forget(e)
      return this.free.pop() as number
    }
    return -1
  }

  private grow(n: number): void {
    const bytes = new Uint8Array(n * HANDLER_ADDRESS_MAX_BYTES)
    bytes.set(this.bytes)
    this.bytes = bytes
    for (const k of ['len', 'refs', 'hash', 'chain'] as const) {
      const a = new Int32Array(n)
      a.set(this[k])
      this[k] = a
    }
  }
}
