// Micro-benchmarks for the per-connection data structures: timer wheel, buffer pool, slab.
// Run: bun bench/timer-wheel.bench.ts
// Prints mitata's ns/op, then GC-heap allocation per op for the same closures (bench/util.ts).

import { bench, do_not_optimize, group, run } from 'mitata'
import { BufferPool } from '../src/mem/buffer-pool'
import { Slab } from '../src/mem/slab'
import { TimerWheel } from '../src/time/timer-wheel'
import { allocsPerOp, printAllocs } from './util'
import type { AllocRow } from './util'

/** Timer lifetimes are drawn from this many precomputed offsets (a power of two). */
const OFFSETS = 4096
/** Ops per allocation measurement: enough to tell 0 from one cell per op. */
const ALLOC_OPS = 1_000_000

/** Offsets in 0.5x..1.5x of `meanMs`, so timers spread over several wheel slots. */
function offsets(meanMs: number): Float64Array {
  const out = new Float64Array(OFFSETS)
  let x = 0x9e3779b9
  for (let i = 0; i < OFFSETS; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = Math.floor(meanMs * (0.5 + x / 4294967296))
  }
  return out
}

/** Adds and immediately removes a timer while `live` others stay pending. */
function addRemovePair(live: number): () => void {
  const wheel = new TimerWheel(live + 16, 100, 0)
  const delay = offsets(60_000)
  for (let i = 0; i < live; i++) wheel.add(delay[i & (OFFSETS - 1)], i)
  let i = 0
  return () => {
    const h = wheel.add(delay[i & (OFFSETS - 1)], i)
    wheel.remove(h)
    i++
  }
}

/**
 * The gateway's session pattern: a packet arrives for a random one of `live` connections and
 * its 60 s timer is reset (remove + add), with the clock moving a 100 ms tick every 64 packets.
 */
function sessionReset(live: number): () => void {
  const wheel = new TimerWheel(live, 100, 0)
  const handles = new Float64Array(live)
  let now = 0
  for (let c = 0; c < live; c++) handles[c] = wheel.add(now + 60_000, c)
  let i = 0
  return () => {
    const c = (Math.imul(i, 2654435761) >>> 0) % live
    wheel.remove(handles[c])
    handles[c] = wheel.add(now + 60_000, c)
    if ((++i & 63) === 0) {
      now += 100
      wheel.update(now)
      while (wheel.takeExpired() !== -1) {}
    }
  }
}

/**
 * Steady state with ~`live` timers pending: each op advances the clock by one 1 ms tick,
 * adds one timer with a lifetime averaging `live` ms, and takes what expired (one on average).
 */
function addUpdateTake(live: number): () => void {
  const wheel = new TimerWheel(live * 2, 1, 0)
  const delay = offsets(live)
  let now = 0
  let i = 0
  let taken = 0
  const op = (): void => {
    now++
    wheel.add(now + delay[i++ & (OFFSETS - 1)], i)
    wheel.update(now)
    for (let u = wheel.takeExpired(); u !== -1; u = wheel.takeExpired()) taken += u
    taken += wheel.nextExpiryMs()
  }
  // Reach the steady state (the first timers expiring) before measuring.
  for (let k = 0; k < live * 2; k++) op()
  if (wheel.size < live * 0.8 || wheel.size > live * 1.2) throw new Error('not steady')
  do_not_optimize(taken)
  return op
}

function poolAcquireRelease(): () => void {
  const pool = new BufferPool(8192, 64)
  // A few chunks stay lent, like connections with bytes in flight.
  const held: Uint8Array[] = []
  for (let k = 0; k < 100; k++) held.push(pool.acquire())
  return () => {
    const chunk = pool.acquire()
    chunk[0] = 1
    pool.release(chunk)
  }
}

function slabInsertRemove(): () => void {
  const slab = new Slab<object>(10_000)
  const conn = {}
  for (let k = 0; k < 5_000; k++) slab.insert(conn)
  return () => {
    const k = slab.insert(conn)
    do_not_optimize(slab.get(k))
    slab.remove(k)
  }
}

const cases: [string, () => () => void][] = [
  ['wheel add+remove pair, 10k live', () => addRemovePair(10_000)],
  ['wheel add+remove pair, 100k live', () => addRemovePair(100_000)],
  ['wheel session reset, 10k live', () => sessionReset(10_000)],
  ['wheel session reset, 100k live', () => sessionReset(100_000)],
  ['wheel add+update+takeExpired, 10k live', () => addUpdateTake(10_000)],
  ['wheel add+update+takeExpired, 100k live', () => addUpdateTake(100_000)],
  ['pool acquire+release (8 KiB)', poolAcquireRelease],
  ['slab insert+get+remove', slabInsertRemove],
]

group('per-connection structures', () => {
  for (const [name, make] of cases) bench(name, make())
})

await run({ colors: process.stdout.isTTY === true })

const rows: AllocRow[] = []
for (const [name, make] of cases) rows.push(allocsPerOp(name, ALLOC_OPS, make()))
console.log()
printAllocs(rows)
