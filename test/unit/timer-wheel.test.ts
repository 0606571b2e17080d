// The timer wheel is checked against a slow reference: a plain array scanned linearly, with the
// same tick rounding (due at ceil(expiry / tick), time at floor(now / tick)). Seeded random
// workloads mix adds, removes of live and stale handles, removes of expired-but-untaken timers,
// and time jumps from zero ticks to several 64^4-tick epochs.

import { describe, expect, test } from 'bun:test'
import { allocsPerOp, isAllocationFree } from '../../bench/util'
import { TIMERS_MAX, TimerWheel } from '../../src/time/timer-wheel'
import { rng } from '../helpers/rng.ts'

/** Ticks one 4-wheel epoch spans. */
const EPOCH_TICKS = 64 ** 4

interface RefTimer {
  handle: number
  expiresAtMs: number
  dueTick: number
  userData: number
}

/** The slow reference: every operation is a linear scan. Integer ms and tickMs only. */
class ReferenceTimers {
  timers: RefTimer[] = []
  curTick: number

  constructor(
    readonly tickMs: number,
    nowMs: number,
  ) {
    this.curTick = Math.floor(nowMs / tickMs)
  }

  add(handle: number, expiresAtMs: number, userData: number): void {
    const dueTick = Math.ceil(expiresAtMs / this.tickMs)
    this.timers.push({ handle, expiresAtMs, dueTick, userData })
  }

  remove(handle: number): boolean {
    const i = this.timers.findIndex((t) => t.handle === handle)
    if (i < 0) return false
    this.timers.splice(i, 1)
    return true
  }

  update(nowMs: number): void {
    this.curTick = Math.max(this.curTick, Math.floor(nowMs / this.tickMs))
  }

  due(): RefTimer[] {
    return this.timers.filter((t) => t.dueTick <= this.curTick)
  }

  /** Takes every due timer, like draining takeExpired(). */
  takeDue(): RefTimer[] {
    const due = this.due()
    this.timers = this.timers.filter((t) => t.dueTick > this.curTick)
    return due
  }

  nextExpiryMs(): number {
    let min = Infinity
    for (const t of this.timers) min = Math.min(min, t.dueTick)
    return min * this.tickMs
  }
}

function drain(wheel: TimerWheel): number[] {
  const out: number[] = []
  for (let u = wheel.takeExpired(); u !== -1; u = wheel.takeExpired()) out.push(u)
  return out
}

const byNumber = (a: number, b: number): number => a - b

/** A random expiry offset in ticks: near, every wheel, epoch boundaries, past, far, never. */
function randomDelayTicks(rand: () => number, curTick: number): number {
  const r = rand()
  if (r < 0.3) return Math.floor(rand() * 200)
  if (r < 0.45) return Math.floor(rand() * 64 ** 2)
  if (r < 0.58) return Math.floor(rand() * 64 ** 3)
  if (r < 0.68) return Math.floor(rand() * EPOCH_TICKS)
  if (r < 0.78) return EPOCH_TICKS + Math.floor(rand() * 4 * EPOCH_TICKS)
  if (r < 0.88) {
    // Just around the next multiple of 64^k of the absolute tick, where cascades happen.
    const span = 64 ** (1 + Math.floor(rand() * 4))
    const boundary = (Math.floor(curTick / span) + 1 + Math.floor(rand() * 2)) * span
    return boundary - curTick + Math.floor(rand() * 3) - 1
  }
  if (r < 0.94) return -Math.floor(rand() * 1000)
  if (r < 0.97) return 0
  return Infinity
}

/**
 * A random clock step in ticks. Calm phases move a few ticks at a time, with some whole-wheel
 * steps, so timers pile up across all wheels and cascade; storms jump over wheels and epochs
 * and land on 64^k boundaries.
 */
function randomJumpTicks(rand: () => number, curTick: number, storm: boolean): number {
  const r = rand()
  if (!storm) {
    if (r < 0.9) return Math.floor(rand() * 4)
    if (r < 0.98) return Math.floor(rand() * 64)
    if (r < 0.998) return Math.floor(rand() * 64 ** 2)
    return Math.floor(rand() * 64 ** 3)
  }
  if (r < 0.3) return Math.floor(rand() * 4)
  if (r < 0.5) return Math.floor(rand() * 64 ** 2)
  if (r < 0.65) return Math.floor(rand() * 64 ** 3)
  if (r < 0.75) return Math.floor(rand() * EPOCH_TICKS)
  if (r < 0.8) return Math.floor(rand() * 3 * EPOCH_TICKS)
  const span = 64 ** (1 + Math.floor(rand() * 4))
  return (Math.floor(curTick / span) + 1) * span - curTick + Math.floor(rand() * 3) - 1
}

function runAgainstReference(seed: number, tickMs: number, startMs: number, ops: number): void {
  const rand = rng(seed)
  let nowMs = startMs
  const wheel = new TimerWheel(16, tickMs, nowMs)
  const ref = new ReferenceTimers(tickMs, nowMs)
  const dead: number[] = []
  let nextUser = 0
  let fired = 0
  let epochsCrossed = 0
  let maxLive = 0

  for (let op = 0; op < ops; op++) {
    const r = rand()
    if (r < 0.5) {
      const delayTicks = randomDelayTicks(rand, ref.curTick)
      // A random offset inside the tick checks the ceil rounding of due ticks.
      const expiresAtMs = nowMs + delayTicks * tickMs + Math.floor(rand() * tickMs)
      const userData = nextUser++
      const handle = wheel.add(expiresAtMs, userData)
      expect(handle).toBeGreaterThanOrEqual(0)
      expect(Number.isSafeInteger(handle)).toBe(true)
      ref.add(handle, expiresAtMs, userData)
    } else if (r < 0.65) {
      if (rand() < 0.7 && ref.timers.length > 0) {
        const t = ref.timers[Math.floor(rand() * ref.timers.length)]
        expect(wheel.has(t.handle)).toBe(true)
        wheel.remove(t.handle)
        ref.remove(t.handle)
        expect(wheel.has(t.handle)).toBe(false)
        dead.push(t.handle)
      } else if (dead.length > 0) {
        // Stale: removed or fired long ago, its entry maybe reused by a live timer since.
        const size = wheel.size
        const stale = dead[Math.floor(rand() * dead.length)]
        wheel.remove(stale)
        expect(wheel.has(stale)).toBe(false)
        expect(wheel.size).toBe(size)
      }
    } else {
      const fromEpoch = Math.floor(ref.curTick / EPOCH_TICKS)
      const storm = op % 15_000 >= 13_500
      nowMs += randomJumpTicks(rand, ref.curTick, storm) * tickMs + Math.floor(rand() * tickMs)
      // An earlier time is ignored: the clock does not run backwards.
      if (rand() < 0.05) wheel.update(nowMs - 1 - Math.floor(rand() * 10 * tickMs))
      wheel.update(nowMs)
      ref.update(nowMs)
      if (Math.floor(ref.curTick / EPOCH_TICKS) !== fromEpoch) epochsCrossed++
      // Cancel some timers that are due but not yet taken: they must never come out.
      const due = ref.due()
      if (due.length > 0 && rand() < 0.3) {
        const t = due[Math.floor(rand() * due.length)]
        wheel.remove(t.handle)
        ref.remove(t.handle)
        dead.push(t.handle)
      }
      const got = drain(wheel).sort(byNumber)
      const want = ref.takeDue()
      expect(got).toEqual(want.map((t) => t.userData).sort(byNumber))
      for (const t of want) dead.push(t.handle)
      fired += want.length
      // Never early; and never more than one tick late, i.e. whatever is still pending
      // expires after now - tick.
      expect(want.find((t) => t.expiresAtMs > nowMs)).toBeUndefined()
      expect(ref.timers.find((t) => t.expiresAtMs + tickMs <= nowMs)).toBeUndefined()
      expect(wheel.nextExpiryMs()).toBe(ref.nextExpiryMs())
    }
    expect(wheel.size).toBe(ref.timers.length)
    maxLive = Math.max(maxLive, ref.timers.length)
  }
  // The workload must really have fired timers, held many at once and crossed epochs.
  expect(fired).toBeGreaterThan(ops / 10)
  expect(maxLive).toBeGreaterThan(500)
  expect(epochsCrossed).toBeGreaterThan(5)
  // Everything left fires once time runs far enough (Infinity never does).
  nowMs += 20 * EPOCH_TICKS * tickMs
  wheel.update(nowMs)
  ref.update(nowMs)
  expect(drain(wheel).sort(byNumber)).toEqual(
    ref
      .takeDue()
      .map((t) => t.userData)
      .sort(byNumber),
  )
  expect(ref.timers.every((t) => t.expiresAtMs === Infinity)).toBe(true)
  expect(wheel.size).toBe(ref.timers.length)
}

describe('TimerWheel against the linear reference', () => {
  test('tick 1 ms, Date.now()-like clock, seed 1', () => {
    runAgainstReference(1, 1, 1_700_000_000_123, 30_000)
  })
  test('tick 7 ms, clock from 0, seed 2', () => {
    runAgainstReference(2, 7, 0, 30_000)
  })
  test('tick 100 ms, clock just before an epoch boundary, seed 3', () => {
    runAgainstReference(3, 100, (EPOCH_TICKS - 3) * 100, 30_000)
  })
  test('tick 1 ms, negative clock, seed 4', () => {
    runAgainstReference(4, 1, -5 * EPOCH_TICKS + 17, 20_000)
  })
})

describe('TimerWheel', () => {
  test('fires at its tick and not before', () => {
    const wheel = new TimerWheel(8, 100, 0)
    wheel.add(150, 7) // due at tick 2 (200 ms)
    wheel.update(199)
    expect(wheel.takeExpired()).toBe(-1)
    expect(wheel.nextExpiryMs()).toBe(200)
    wheel.update(200)
    expect(wheel.takeExpired()).toBe(7)
    expect(wheel.takeExpired()).toBe(-1)
    expect(wheel.size).toBe(0)
    expect(wheel.nextExpiryMs()).toBe(Infinity)
  })

  test('an expiry already past goes straight to the expired list', () => {
    const wheel = new TimerWheel(8, 10, 1000)
    wheel.add(1000, 1)
    wheel.add(3, 2)
    expect(wheel.nextExpiryMs()).toBe(1000)
    expect(drain(wheel)).toEqual([1, 2])
  })

  test('expired timers come out oldest tick first', () => {
    const wheel = new TimerWheel(8, 1, 0)
    wheel.add(30, 3)
    wheel.add(10, 1)
    wheel.add(20, 2)
    wheel.update(100)
    expect(drain(wheel)).toEqual([1, 2, 3])
  })

  test('remove of a stale handle is a no-op, also after the entry is reused', () => {
    const wheel = new TimerWheel(1, 1, 0, 1)
    const a = wheel.add(10, 1)
    wheel.remove(a)
    wheel.remove(a)
    expect(wheel.size).toBe(0)
    const b = wheel.add(10, 2) // the only entry again, with a new generation
    expect(b).not.toBe(a)
    wheel.remove(a)
    expect(wheel.has(b)).toBe(true)
    expect(wheel.size).toBe(1)
    wheel.update(10)
    expect(wheel.takeExpired()).toBe(2)
    wheel.remove(b) // already taken
    expect(wheel.size).toBe(0)
    for (const junk of [-1, NaN, 0.5, 3, 2 ** 53, Infinity]) wheel.remove(junk)
    expect(wheel.add(11, 3)).toBeGreaterThanOrEqual(0)
    expect(wheel.size).toBe(1)
  })

  test('remove of an expired but untaken timer cancels it', () => {
    const wheel = new TimerWheel(4, 1, 0)
    const a = wheel.add(5, 1)
    wheel.add(5, 2)
    wheel.update(6)
    wheel.remove(a)
    expect(drain(wheel)).toEqual([2])
  })

  test('grows by doubling and keeps every timer', () => {
    const wheel = new TimerWheel(1, 1, 0)
    const handles: number[] = []
    for (let i = 0; i < 5000; i++) handles.push(wheel.add(1 + (i % 300) * 1000, i))
    expect(wheel.capacity).toBe(8192)
    expect(wheel.size).toBe(5000)
    for (let i = 0; i < 5000; i += 2) wheel.remove(handles[i])
    wheel.update(10_000_000)
    const got = drain(wheel)
    expect(got.length).toBe(2500)
    expect(got.every((u) => u % 2 === 1)).toBe(true)
  })

  test('a fixed capacity refuses with -1 when full', () => {
    const wheel = new TimerWheel(4, 1, 0, 4)
    for (let i = 0; i < 4; i++) expect(wheel.add(100, i)).toBeGreaterThanOrEqual(0)
    expect(wheel.add(100, 9)).toBe(-1)
    expect(wheel.capacity).toBe(4)
    wheel.update(100)
    expect(wheel.takeExpired()).toBe(0)
    expect(wheel.add(200, 9)).toBeGreaterThanOrEqual(0)
  })

  test('timeouts longer than 64^4 ticks re-cascade and fire on their exact tick', () => {
    const wheel = new TimerWheel(4, 1, 5)
    const delays = [3 * EPOCH_TICKS + 5, EPOCH_TICKS, EPOCH_TICKS - 5, 10 * EPOCH_TICKS + 64 ** 3]
    for (const d of delays) wheel.add(5 + d, d)
    let now = 5
    const seen: number[] = []
    // Walk in uneven steps that land on both sides of every due tick.
    while (seen.length < delays.length) {
      const next = wheel.nextExpiryMs()
      expect(next).toBeGreaterThan(now)
      wheel.update(next - 1)
      expect(wheel.takeExpired()).toBe(-1)
      now = next
      wheel.update(now)
      const d = wheel.takeExpired()
      expect(now).toBe(5 + d)
      seen.push(d)
    }
    expect(seen).toEqual([...delays].sort(byNumber))
  })

  test('Infinity never fires and NaN is refused', () => {
    const wheel = new TimerWheel(4, 1, 0)
    wheel.add(Infinity, 1)
    expect(() => wheel.add(NaN, 2)).toThrow(RangeError)
    wheel.update(1e15)
    expect(wheel.takeExpired()).toBe(-1)
    expect(wheel.size).toBe(1)
  })

  test('fractional clocks and ticks: never early, at most one tick late', () => {
    const rand = rng(99)
    const tickMs = 0.3
    let now = 12.345
    const wheel = new TimerWheel(64, tickMs, now)
    const expiry = new Map<number, number>()
    for (let i = 0; i < 20_000; i++) {
      if (rand() < 0.5) {
        const at = now + rand() * 50
        const user = i
        expiry.set(user, at)
        wheel.add(at, user)
      } else {
        now += rand() * 2
        wheel.update(now)
        for (let u = wheel.takeExpired(); u !== -1; u = wheel.takeExpired()) {
          expect(expiry.get(u)!).toBeLessThanOrEqual(now)
          expiry.delete(u)
        }
        for (const at of expiry.values()) expect(at + tickMs).toBeGreaterThan(now)
        const next = wheel.nextExpiryMs()
        let min = Infinity
        for (const at of expiry.values()) min = Math.min(min, at)
        expect(next).toBeGreaterThanOrEqual(min)
        if (min !== Infinity) expect(next).toBeLessThan(min + tickMs * 1.000001)
      }
    }
  })

  test('constructor arguments are checked', () => {
    expect(() => new TimerWheel(0, 1, 0)).toThrow(RangeError)
    expect(() => new TimerWheel(8, 0, 0)).toThrow(RangeError)
    expect(() => new TimerWheel(8, 1, NaN)).toThrow(RangeError)
    expect(() => new TimerWheel(8, 1, 0, 4)).toThrow(RangeError)
    expect(() => new TimerWheel(8, 1, 0, TIMERS_MAX + 1)).toThrow(RangeError)
  })

  test('add, remove, update and takeExpired allocate nothing', () => {
    const wheel = new TimerWheel(1 << 14, 1, 0)
    let now = 0
    let sink = 0
    for (let i = 0; i < 10_000; i++) wheel.add(now + 1 + ((i * 7919) % 20_000), i)
    let i = 0
    const row = allocsPerOp('timer churn', 1_000_000, () => {
      now += 1
      const h = wheel.add(now + 1 + ((i * 7919) % 20_000), i)
      if ((i & 3) === 0) wheel.remove(h)
      i++
      wheel.update(now)
      for (let u = wheel.takeExpired(); u !== -1; u = wheel.takeExpired()) sink += u
      sink += wheel.nextExpiryMs()
    })
    expect(sink).toBeGreaterThan(0)
    expect(isAllocationFree(row), JSON.stringify(row)).toBe(true)
  })
})
