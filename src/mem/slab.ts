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
