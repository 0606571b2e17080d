// Hierarchical timing wheel over integer handles: every per-connection timeout in zgate (the
// 60 s session timer, --stream-timeout, request timeouts) lives here, never in a setTimeout.
// Same shape as Condure's src/timer.rs: add → handle, remove, update(now), takeExpired.
//
// Time is counted in ticks of `tickMs`. A timer for `expiresAtMs` is due at
// dueTick = ceil(expiresAtMs / tickMs), and update(nowMs) advances the wheel to
// floor(nowMs / tickMs) (both guarded against division rounding). So a timer never fires
// before `expiresAtMs`, and fires at the latest on the first update() with
// nowMs >= expiresAtMs + tickMs; in between, it depends on where the expiry falls in its tick.
//
// Invariants (the tick number is read as base-64 digits; digit L picks the slot in wheel L):
// - A timer in wheel L, slot s, agrees with the current tick on every digit above L, and
//   s is greater than the current tick's digit L. So wheel L slot s fires or cascades exactly
//   when the current tick reaches digit L = s, and slot "current digit" is always empty.
// - Hence every timer in a lower wheel (or lower slot) is due before any timer in a higher one,
//   which makes nextExpiryMs() a scan of the lowest non-empty slot only.
// - Timers that differ from the current tick above the 4 wheels (due 64^4 ticks or more past
//   the current 64^4-tick epoch) wait on the overflow list, the "slot above the top wheel".
//   When the tick crosses an epoch boundary every wheel timer is due by construction and the
//   overflow list is re-placed, so very long timeouts re-cascade correctly.
// - update() re-places only the slots the tick passed over, whatever the jump: big jumps cost
//   at most 256 slot visits plus the timers moved, never one step per tick.
//
// Storage: one entry per timer in parallel typed arrays (struct of arrays), intrusive
// circular doubly linked lists through next/prev, with the 258 list heads (256 wheel slots,
// overflow, expired) as sentinel entries at the front. Free entries form a singly linked
// free list through `next`. Nothing on add/remove/update/takeExpired allocates; growth doubles
// the arrays (rare, amortised) up to `capacityMax`, so a wheel with capacityMax === capacity is
// fixed-size and add() returns -1 when it is full.
//
// Handles: generation * 2^24 + entry index, an integer below 2^53. The generation is bumped
// whenever an entry is freed, so remove() on a stale handle (already removed, already taken,
// or reused by a later timer) is a no-op. Handles need 53 bits: keep them in a number field
// or a Float64Array, not an Int32Array. -1 is never a handle, so callers can use it as "none".

/** Base-64 digit per wheel. */
const WHEEL_BITS = 6
/** Slots per wheel. */
const WHEEL_SLOTS = 1 << WHEEL_BITS
const WHEEL_MASK = WHEEL_SLOTS - 1
/** Wheels; together they resolve 64^4 ticks, an epoch. */
const WHEEL_COUNT = 4
/** Ticks per epoch (64^4): the span the wheels cover below the overflow list. */
const EPOCH_TICKS = 2 ** (WHEEL_BITS * WHEEL_COUNT)
/**
 * Due ticks are clamped here (Infinity included) so that tick arithmetic stays exact in a
 * double, and the clock stops one tick short of it: such timers never fire. At 1 ms per tick
 * that is 142,000 years away.
 */
const DUE_TICK_MAX = 2 ** 52

// List ids double as the entry index of each list's sentinel head.
/** Wheel slot lists: id = wheel * 64 + slot. */
const WHEEL_LISTS = WHEEL_COUNT * WHEEL_SLOTS
/** Timers due beyond the current epoch. */
const LIST_OVERFLOW = WHEEL_LISTS
/** Due timers waiting for takeExpired(), in the order update() found them due. */
const LIST_EXPIRED = WHEEL_LISTS + 1
/** Sentinel heads at the front of the entry arrays; timer entries follow them. */
const LIST_COUNT = WHEEL_LISTS + 2
/** `list` value of an entry on the free list. */
const LIST_NONE = -1

/** Handle bits holding the entry index. */
const HANDLE_INDEX_BITS = 24
const HANDLE_INDEX_SPAN = 2 ** HANDLE_INDEX_BITS
const HANDLE_INDEX_MASK = HANDLE_INDEX_SPAN - 1
/** Generations wrap here so that generation * 2^24 + index stays below 2^53. */
const GENERATION_MASK = 2 ** 29 - 1

/** Most timers a wheel can hold: entry indexes (heads included) must fit the handle's 24 bits. */
export const TIMERS_MAX = HANDLE_INDEX_SPAN - LIST_COUNT

export class TimerWheel {
  private readonly tickMs: number
  private readonly capacityMax: number
  private cap: number
  // Per entry; indexes 0..LIST_COUNT-1 are list heads and use only next/prev.
  private next: Int32Array
  private prev: Int32Array
  private due: Float64Array
  private user: Int32Array
  private gen: Int32Array
  /** Id of the list holding the entry, or LIST_NONE when it is free. */
  private list: Int16Array
  /** One bit per wheel slot list, set while the list is non-empty: 8 words = 256 slots. */
  private readonly occupied = new Int32Array(WHEEL_LISTS / 32)
  private freeHead = -1
  private count = 0
  /** Current tick, split into its epoch's first tick and the rest, so digits are int32 ops. */
  private cur = 0
  private epochStart = 0
  private curLow = 0
  /** Cached earliest due tick of wheel and overflow timers (Infinity when none). */
  private nextTick = Infinity
  private nextValid = true

  /**
   * @param capacity timers the arrays hold before they first grow (they double when full)
   * @param tickMs resolution; timers fire within one tick after update() passes them
   * @param nowMs the clock the first update() will continue from (any monotonic ms clock)
   * @param capacityMax growth stops here and add() returns -1; pass `capacity` for a fixed
   *   wheel. At most TIMERS_MAX.
   */
  constructor(capacity: number, tickMs: number, nowMs: number, capacityMax = TIMERS_MAX) {
    if (!(tickMs > 0) || !Number.isFinite(tickMs)) {
      throw new RangeError(`tickMs must be a positive finite number, got ${tickMs}`)
    }
    if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be finite, got ${nowMs}`)
    if (!Number.isInteger(capacityMax) || capacityMax < 1 || capacityMax > TIMERS_MAX) {
      throw new RangeError(`capacityMax must be an integer in 1..${TIMERS_MAX}`)
    }
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > capacityMax) {
      throw new RangeError(`capacity must be an integer in 1..${capacityMax}`)
    }
    this.tickMs = tickMs
    this.capacityMax = capacityMax
    this.cap = capacity
    const length = LIST_COUNT + capacity
    this.next = new Int32Array(length)
    this.prev = new Int32Array(length)
    this.due = new Float64Array(length)
    this.user = new Int32Array(length)
    this.gen = new Int32Array(length)
    this.list = new Int16Array(length)
    for (let head = 0; head < LIST_COUNT; head++) {
      this.next[head] = head
      this.prev[head] = head
      this.list[head] = head
    }
    this.pushFreeRange(LIST_COUNT, length)
    this.setCurrentTick(this.tickAtOrBefore(nowMs))
  }

  /** Live timers: pending ones plus expired ones not yet taken. */
  get size(): number {
    return this.count
  }

  /** Timers the arrays hold before they grow again. */
  get capacity(): number {
    return this.cap
  }

  /**
   * Schedules `userData` (a non-negative int32, e.g. a connection slot) to expire at
   * `expiresAtMs`. An expiry at or before the current tick goes straight to the expired list.
   * Returns the timer's handle, or -1 when the wheel is at capacityMax.
   */
  add(expiresAtMs: number, userData: number): number {
    if (expiresAtMs !== expiresAtMs) throw new RangeError('timer expiry is NaN')
    if (this.freeHead < 0 && !this.grow()) return -1
    const e = this.freeHead
    this.freeHead = this.next[e]
    const due = this.dueTickOf(expiresAtMs)
    this.due[e] = due
    this.user[e] = userData
    this.count++
    this.place(e)
    if (this.nextValid && due > this.cur && due < this.nextTick) this.nextTick = due
    return this.gen[e] * HANDLE_INDEX_SPAN + e
  }

  /** Cancels a timer, pending or expired-but-not-taken. Stale or -1 handles are a no-op. */
  remove(handle: number): void {
    const e = this.entryOf(handle)
    if (e < 0) return
    if (this.due[e] === this.nextTick) this.nextValid = false
    this.unlink(e)
    this.freeEntry(e)
  }

  /** True while `handle` names a live timer (pending or expired but not yet taken). */
  has(handle: number): boolean {
    return this.entryOf(handle) >= 0
  }

  /**
   * Advances to `nowMs` (earlier times are ignored) and moves every timer now due to the
   * expired list for takeExpired(). They are appended in due-tick order, except that timers
   * sharing a slot of a higher wheel (one jump passed all of it) keep their insertion order.
   */
  update(nowMs: number): void {
    const tick = this.tickAtOrBefore(nowMs)
    if (!(tick > this.cur)) return
    const fromEpochStart = this.epochStart
    const fromLow = this.curLow
    this.setCurrentTick(tick)
    // Re-placing keeps due ticks, so the cached earliest stays right unless it is now due.
    if (this.nextTick <= tick) this.nextValid = false
    if (fromEpochStart !== this.epochStart) {
      // New epoch: every wheel timer belonged to the old one, so all of them are due. Then the
      // overflow list is re-placed against the new epoch (some may move back onto it).
      for (let wheel = 0; wheel < WHEEL_COUNT; wheel++) this.replaceSlots(wheel, 0, WHEEL_MASK)
      this.replaceList(LIST_OVERFLOW)
      return
    }
    // `top` is the highest digit that changed. Wheels below it wrapped at least once, so each
    // of their timers (which shared the old tick's digits above their wheel) is due. In wheel
    // `top` only the slots the digit moved over, (old digit, new digit], are due or cascade.
    const top = ((31 - Math.clz32(fromLow ^ this.curLow)) / WHEEL_BITS) | 0
    for (let wheel = 0; wheel < top; wheel++) this.replaceSlots(wheel, 0, WHEEL_MASK)
    const shift = top * WHEEL_BITS
    const fromDigit = (fromLow >>> shift) & WHEEL_MASK
    this.replaceSlots(top, fromDigit + 1, (this.curLow >>> shift) & WHEEL_MASK)
  }

  /** userData of the next expired timer, freeing its handle; -1 when none is expired. */
  takeExpired(): number {
    const e = this.next[LIST_EXPIRED]
    if (e === LIST_EXPIRED) return -1
    const userData = this.user[e]
    this.unlink(e)
    this.freeEntry(e)
    return userData
  }

  /**
   * Earliest pending expiry in ms, rounded up to its tick (so at most one tick late, never
   * early); Infinity when no timer is pending, or only ones due past 2^52 ticks (never).
   * While expired timers wait to be taken it is the current tick's time, i.e. "now".
   * Cached: a scan (of one slot) runs only after the earliest timer fired or was removed.
   */
  nextExpiryMs(): number {
    if (this.next[LIST_EXPIRED] !== LIST_EXPIRED) return this.cur * this.tickMs
    if (!this.nextValid) {
      this.nextTick = this.findNextTick()
      this.nextValid = true
    }
    return this.nextTick < DUE_TICK_MAX ? this.nextTick * this.tickMs : Infinity
  }

  // --- internals ---

  /** Entry index of a live timer's handle, or -1 for stale, foreign or malformed handles. */
  private entryOf(handle: number): number {
    if (!(handle >= 0)) return -1
    // `&` takes the integer modulo 2^32 first, so it extracts the index from a 53-bit handle.
    const e = handle & HANDLE_INDEX_MASK
    if (e < LIST_COUNT || e >= this.list.length || this.list[e] === LIST_NONE) return -1
    if (this.gen[e] * HANDLE_INDEX_SPAN + e !== handle) return -1
    return e
  }

  /** The largest tick whose start is at or before `ms`, guarded against division rounding. */
  private tickAtOrBefore(ms: number): number {
    let tick = Math.floor(ms / this.tickMs)
    if (tick * this.tickMs > ms) tick -= 1
    return tick < DUE_TICK_MAX ? tick : DUE_TICK_MAX - 1
  }

  /** The smallest tick whose start is at or after `ms`: a timer due then never fires early. */
  private dueTickOf(ms: number): number {
    let tick = Math.ceil(ms / this.tickMs)
    if (tick * this.tickMs < ms) tick += 1
    return tick < DUE_TICK_MAX ? tick : DUE_TICK_MAX
  }

  private setCurrentTick(tick: number): void {
    this.cur = tick
    this.epochStart = Math.floor(tick / EPOCH_TICKS) * EPOCH_TICKS
    this.curLow = tick - this.epochStart
  }

  /** Puts entry `e` on the list its due tick belongs to, relative to the current tick. */
  private place(e: number): void {
    const due = this.due[e]
    if (due <= this.cur) {
      this.append(LIST_EXPIRED, e)
      return
    }
    // due > cur >= epoch start, so `low` is positive; past the epoch it waits on overflow.
    const low = due - this.epochStart
    if (low >= EPOCH_TICKS) {
      this.append(LIST_OVERFLOW, e)
      return
    }
    // The wheel is the highest digit where the due tick differs from the current one.
    const wheel = ((31 - Math.clz32(low ^ this.curLow)) / WHEEL_BITS) | 0
    const id = (wheel << WHEEL_BITS) | ((low >>> (wheel * WHEEL_BITS)) & WHEEL_MASK)
    this.append(id, e)
    this.occupied[id >>> 5] |= 1 << (id & 31)
  }

  /** Re-places every timer of wheel `wheel`'s slots from..to (inclusive, 0 <= from <= to). */
  private replaceSlots(wheel: number, from: number, to: number): void {
    for (let half = 0; half < 2; half++) {
      const first = half * 32
      let lo = from - first
      let hi = to - first
      if (hi < 0 || lo > 31) continue
      if (lo < 0) lo = 0
      if (hi > 31) hi = 31
      // Iterate a snapshot of the bits: lists are emptied as we go, and never refilled here
      // because re-placed timers either are due or land in a lower wheel.
      let bits = this.occupied[wheel * 2 + half] & (-1 >>> (31 - hi)) & (-1 << lo)
      while (bits !== 0) {
        const lowest = bits & -bits
        bits ^= lowest
        this.replaceList((wheel << WHEEL_BITS) | (first + 31 - Math.clz32(lowest)))
      }
    }
  }

  /** Empties list `head` and places each of its timers again against the current tick. */
  private replaceList(head: number): void {
    let e = this.next[head]
    if (e === head) return
    // Detach the chain: its last entry still links to the head, which ends the walk even if
    // a timer lands back on this same list (only the overflow list can see that).
    this.next[head] = head
    this.prev[head] = head
    if (head < WHEEL_LISTS) this.occupied[head >>> 5] &= ~(1 << (head & 31))
    while (e !== head) {
      const following = this.next[e]
      this.place(e)
      e = following
    }
  }

  private append(head: number, e: number): void {
    const tail = this.prev[head]
    this.next[tail] = e
    this.prev[e] = tail
    this.next[e] = head
    this.prev[head] = e
    this.list[e] = head
  }

  private unlink(e: number): void {
    const following = this.next[e]
    const preceding = this.prev[e]
    this.next[preceding] = following
    this.prev[following] = preceding
    const head = this.list[e]
    if (head < WHEEL_LISTS && this.next[head] === head) {
      this.occupied[head >>> 5] &= ~(1 << (head & 31))
    }
  }

  private freeEntry(e: number): void {
    this.list[e] = LIST_NONE
    this.gen[e] = (this.gen[e] + 1) & GENERATION_MASK
    this.next[e] = this.freeHead
    this.freeHead = e
    this.count--
  }

  /** Links entries from..to-1 onto the free list so that the lowest index is taken first. */
  private pushFreeRange(from: number, to: number): void {
    for (let e = to - 1; e >= from; e--) {
      this.list[e] = LIST_NONE
      this.next[e] = this.freeHead
      this.freeHead = e
    }
  }

  /** Doubles the entry arrays (up to capacityMax); false when already at capacityMax. */
  private grow(): boolean {
    const old = this.cap
    if (old >= this.capacityMax) return false
    const cap = Math.min(old * 2, this.capacityMax)
    const length = LIST_COUNT + cap
    this.next = copyInto(new Int32Array(length), this.next)
    this.prev = copyInto(new Int32Array(length), this.prev)
    this.due = copyInto(new Float64Array(length), this.due)
    this.user = copyInto(new Int32Array(length), this.user)
    this.gen = copyInto(new Int32Array(length), this.gen)
    this.list = copyInto(new Int16Array(length), this.list)
    this.cap = cap
    this.pushFreeRange(LIST_COUNT + old, length)
    return true
  }

  /** Earliest due tick among wheel and overflow timers, Infinity when there are none. */
  private findNextTick(): number {
    // Lower wheels hold strictly earlier ticks than higher ones, and lower slots earlier than
    // higher slots, so the answer is in the first non-empty slot.
    for (let word = 0; word < WHEEL_LISTS / 32; word++) {
      const bits = this.occupied[word]
      if (bits === 0) continue
      const head = word * 32 + 31 - Math.clz32(bits & -bits)
      // A wheel-0 slot holds a single tick; higher slots span 64^wheel ticks.
      if (head < WHEEL_SLOTS) return this.due[this.next[head]]
      return this.minDue(head)
    }
    return this.minDue(LIST_OVERFLOW)
  }

  private minDue(head: number): number {
    let min = Infinity
    for (let e = this.next[head]; e !== head; e = this.next[e]) {
      if (this.due[e] < min) min = this.due[e]
    }
    return min
  }
}

function copyInto<A extends Int32Array | Int16Array | Float64Array>(to: A, from: A): A {
  to.set(from)
  return to
}
