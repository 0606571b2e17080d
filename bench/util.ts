// Allocation counting for benches and no-allocation tests (style rule 2: guard hot paths with a
// bun:jsc heapStats check).
//
// Why two measures: JavaScriptCore's heapStats().objectCount and heapSize only count cells that
// survived the latest collection, so garbage made and dropped between two snapshots is
// invisible to them. Fresh garbage shows up instead as heap *capacity*: cells are carved from
// free cells left by the last GC first, then from new 16 KiB blocks. So we report
// - objectsPerOp: cells still alive after a full GC, per op (leaks, caches, growth);
// - bytesPerOp: heap capacity claimed during the run, per op; a lower bound on all GC-heap
//   allocation, since free cells left by the last GC are reused without growing capacity;
// - bytesPerOpMax: adds those free bytes (capacity minus live size after the GC), so it is an
//   upper bound. For a fn that allocates nothing it is (free heap) / ops, measured at
//   0.4-1 MiB / n: pass n >= 1e6 to tell 0 from one 16-byte cell per op. Tests assert with
//   isAllocationFree(row), which checks both bounds.
// A collection during the run would hide allocation, so a run that saw one (the live cell
// count moved) is retried with half the ops, down to MIN_OPS; if even that collects, the fn
// allocates megabytes per thousand ops and bytesPerOpMax is Infinity.
// Not seen at all: memory outside the GC heap (mimalloc, ArrayBuffer contents over the inline
// limit). bytesPerOp still counts the ArrayBuffer and view cells themselves.

import { heapStats } from 'bun:jsc'

/** Fewest ops a measurement is retried down to when collections keep interrupting it. */
const MIN_OPS = 1_000
/** Calls before measuring, so that JIT tiers and lazy inits are done (capped at n). */
const WARMUP_OPS = 10_000

export interface AllocRow {
  name: string
  /** Cells still reachable after a full GC, per op. */
  objectsPerOp: number
  /** GC-heap bytes claimed per op while running (lower bound on allocation). */
  bytesPerOp: number
  /** Upper bound on GC-heap bytes allocated per op. */
  bytesPerOpMax: number
  /** Ops the figures were measured over. */
  ops: number
}

/** Calls `fn` `n` times (after a warm-up) and reports its GC-heap allocation per call. */
export function allocsPerOp(name: string, n: number, fn: () => void): AllocRow {
  const warmup = Math.min(n, WARMUP_OPS)
  for (let i = 0; i < warmup; i++) fn()
  let ops = n
  for (;;) {
    Bun.gc(true)
    const before = heapStats()
    const cellsBefore = before.objectCount
    const capacityBefore = before.heapCapacity
    const freeBefore = before.heapCapacity - before.heapSize
    for (let i = 0; i < ops; i++) fn()
    const after = heapStats()
    const collected = after.objectCount !== cellsBefore
    if (collected && ops > MIN_OPS) {
      ops = Math.max(MIN_OPS, ops >> 1)
      continue
    }
    const claimed = Math.max(0, after.heapCapacity - capacityBefore)
    Bun.gc(true)
    const retained = heapStats().objectCount - cellsBefore
    return {
      name,
      objectsPerOp: Math.max(0, retained) / ops,
      bytesPerOp: claimed / ops,
      bytesPerOpMax: collected ? Infinity : (claimed + freeBefore) / ops,
      ops,
    }
  }
}

/**
 * The verdict a no-allocation test wants: under a quarter byte per op of fresh heap (JIT and
 * measurement noise) and, even counting every free cell the run could have reused, less than
 * one 16-byte cell per op. Both bounds are needed: a large run cannot hide its garbage in the
 * free heap, and a run shortened by collections cannot pass on the lower bound alone.
 */
export function isAllocationFree(row: AllocRow): boolean {
  return row.bytesPerOp < 0.25 && row.bytesPerOpMax < 16 && row.objectsPerOp < 0.01
}

/** Prints rows as an aligned table. */
export function printAllocs(rows: readonly AllocRow[]): void {
  const width = Math.max(9, ...rows.map((r) => r.name.length))
  const lines = [
    `${'benchmark'.padEnd(width)}  ${'objects/op'.padStart(10)}  ${'bytes/op'.padStart(10)}` +
      `  ${'max bytes/op'.padStart(12)}  ${'ops'.padStart(9)}`,
  ]
  for (const r of rows) {
    lines.push(
      `${r.name.padEnd(width)}  ${fixed(r.objectsPerOp, 10)}  ${fixed(r.bytesPerOp, 10)}` +
        `  ${fixed(r.bytesPerOpMax, 12)}  ${String(r.ops).padStart(9)}`,
    )
  }
  console.log(lines.join('\n'))
}

function fixed(value: number, width: number): string {
  return (Number.isFinite(value) ? value.toFixed(3) : String(value)).padStart(width)
}
