// Fixed-capacity slot allocator: holds connection objects by slot number, the K of the
// `W-K-N` routing ids (Condure's `arena::Memory`/connection slab in src/server.rs), so that a
// handler packet finds its connection in O(1).
//
// Invariants:
// - Capacity is fixed at construction: insert() refuses with -1 when full, and memory never
//   moves. The caller sizes it from maxconn.
// - Slots are reused LIFO: the slot freed last is taken next. That is O(1) and keeps the
//   recently used (cache-warm) slots busy; while the load stays under its peak, slot numbers
//   stay low, which keeps ids short. The first inserts take 0, 1, 2, ... in order. Lowest-free-
//   first would keep ids shortest but needs a heap or bitmap scan per insert, and slot reuse is
//   made safe by the N counter of the id, not by the reuse order.
// - `used[i]` says whether slot i is taken, so remove() of a free or out-of-range slot is a
//   no-op that returns undefined rather than pushing a slot twice onto the free stack.
// - Two ways to use it: insert()/remove() store and drop values; reuse()/release() keep each
//   slot's object across uses, so a worker makes one connection object per slot, once, and
//   recycles it (held() reads it whether the slot is taken or not).

export class Slab<T> {
  private readonly items: (T | undefined)[]
  private readonly used: Uint8Array
  /** Free slot numbers; the top is at freeCount - 1. */
  private readonly free: Int32Array
  private freeCount: number

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x7fffffff) {
      throw new RangeError(`capacity must be a positive int32, got ${capacity}`)
    }
    // fill() makes the array dense from the start, so it is never converted on first use.
    this.items = new Array<T | undefined>(capacity).fill(undefined)
    this.used = new Uint8Array(capacity)
    this.free = new Int32Array(capacity)
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i
    this.freeCount = capacity
  }

  /** Slots taken. */
  get size(): number {
    return this.free.length - this.freeCount
  }

  get capacity(): number {
    return this.free.length
  }

  /** Stores `value` in a free slot and returns its number, or -1 when the slab is full. */
  insert(value: T): number {
    if (this.freeCount === 0) return -1
    const i = this.free[--this.freeCount]
    this.used[i] = 1
    this.items[i] = value
    return i
  }

  /** The value in slot `i`, or undefined if the slot is free or out of range. */
  get(i: number): T | undefined {
    return this.used[i] === 1 ? this.items[i] : undefined
  }

  has(i: number): boolean {
    return this.used[i] === 1
  }

  /** Takes a free slot and keeps the object it held (set() one on first use); -1 when full. */
  reuse(): number {
    if (this.freeCount === 0) return -1
    const i = this.free[--this.freeCount]
    this.used[i] = 1
    return i
  }

  /** Frees slot `i` but keeps its object for the next reuse(); false if it was not taken. */
  release(i: number): boolean {
    if (this.used[i] !== 1) return false
    this.used[i] = 0
    this.free[this.freeCount++] = i
    return true
  }

  /** The object slot `i` holds, taken or not; undefined if none or out of range. */
  held(i: number): T | undefined {
    return i >= 0 && i < this.items.length ? this.items[i] : undefined
  }

  /** Puts `value` in slot `i` (a slot just taken by reuse()). */
  set(i: number, value: T): void {
    this.items[i] = value
  }

  /** Frees slot `i` and returns its value; undefined (and no change) if it was not taken. */
  remove(i: number): T | undefined {
    if (this.used[i] !== 1) return undefined
    const value = this.items[i]
    this.items[i] = undefined
    this.used[i] = 0
    this.free[this.freeCount++] = i
    return value
  }
}
