import { describe, expect, test } from 'bun:test'
import { allocsPerOp, isAllocationFree } from '../../bench/util'
import { BufferPool, DoubleReleaseError, ForeignBufferError } from '../../src/mem/buffer-pool'

describe('BufferPool', () => {
  test('chunks are distinct, chunk-sized views of one slab', () => {
    const pool = new BufferPool(16, 4)
    expect(pool.capacity).toBe(4)
    const chunks = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()]
    expect(pool.inUse).toBe(4)
    expect(pool.capacity).toBe(4)
    const offsets = chunks.map((c) => c.byteOffset).sort((a, b) => a - b)
    expect(offsets).toEqual([0, 16, 32, 48])
    for (const c of chunks) {
      expect(c.length).toBe(16)
      expect(c.buffer).toBe(chunks[0].buffer)
    }
    // Writes stay inside their chunk.
    chunks.forEach((c, i) => c.fill(i + 1))
    chunks.forEach((c, i) => expect(c.every((b) => b === i + 1)).toBe(true))
  })

  test('release then acquire hands back the same view object (LIFO)', () => {
    const pool = new BufferPool(8, 4)
    const a = pool.acquire()
    const b = pool.acquire()
    pool.release(a)
    expect(pool.acquire()).toBe(a)
    pool.release(b)
    pool.release(a)
    expect(pool.inUse).toBe(0)
    expect(pool.acquire()).toBe(a)
    expect(pool.acquire()).toBe(b)
  })

  test('grows a whole slab at a time and reuses every view', () => {
    const pool = new BufferPool(32, 3)
    const first = Array.from({ length: 10 }, () => pool.acquire())
    expect(pool.capacity).toBe(12)
    expect(pool.inUse).toBe(10)
    expect(new Set(first).size).toBe(10)
    expect(new Set(first.map((c) => c.buffer)).size).toBe(4)
    for (const c of first) pool.release(c)
    const second = Array.from({ length: 12 }, () => pool.acquire())
    expect(new Set([...first, ...second]).size).toBe(12)
    expect(pool.capacity).toBe(12)
  })

  test('double release throws and leaves the pool intact', () => {
    const pool = new BufferPool(8, 2)
    const a = pool.acquire()
    pool.release(a)
    expect(() => pool.release(a)).toThrow(DoubleReleaseError)
    try {
      pool.release(a)
    } catch (err) {
      expect((err as DoubleReleaseError).code).toBe('ZGATE_ERR_DOUBLE_RELEASE')
    }
    expect(pool.inUse).toBe(0)
    // The free stack holds each chunk once: two acquires give two different chunks.
    const x = pool.acquire()
    const y = pool.acquire()
    expect(x).not.toBe(y)
    expect(pool.capacity).toBe(2)
  })

  test('foreign buffers and subarrays are refused', () => {
    const pool = new BufferPool(8, 2)
    const other = new BufferPool(8, 2)
    const a = pool.acquire()
    expect(() => pool.release(new Uint8Array(8))).toThrow(ForeignBufferError)
    expect(() => pool.release(a.subarray(0, 4))).toThrow(ForeignBufferError)
    expect(() => pool.release(a.subarray(1))).toThrow(ForeignBufferError)
    expect(() => pool.release(other.acquire())).toThrow(ForeignBufferError)
    expect(() => pool.release(new Uint8Array(a.buffer, 0, 8))).toThrow(ForeignBufferError)
    expect(pool.inUse).toBe(1)
    pool.release(a)
    expect(pool.inUse).toBe(0)
  })

  test('trim frees wholly unused slabs beyond the first, and growth reuses their ids', () => {
    const pool = new BufferPool(8, 2)
    const held = Array.from({ length: 8 }, () => pool.acquire())
    expect(pool.capacity).toBe(8)
    // Keep one chunk of slab 2 lent: slabs 1 and 3 become wholly free, slab 0 is never freed.
    const keep = held.filter((c) => c.buffer === held[4].buffer)[0]
    for (const c of held) if (c !== keep) pool.release(c)
    expect(pool.trim()).toBe(2)
    expect(pool.capacity).toBe(4)
    expect(pool.inUse).toBe(1)
    expect(pool.trim()).toBe(0)
    // Trimmed chunks are no longer accepted.
    const dropped = held.find((c) => c.buffer === held[2].buffer)!
    expect(() => pool.release(dropped)).toThrow(ForeignBufferError)
    const again = Array.from({ length: 7 }, () => pool.acquire())
    expect(new Set([keep, ...again]).size).toBe(8)
    expect(pool.capacity).toBe(8)
    for (const c of again) pool.release(c)
    pool.release(keep)
    expect(pool.inUse).toBe(0)
  })

  test('trim keeps spareChunks free', () => {
    const pool = new BufferPool(8, 4)
    const held = Array.from({ length: 16 }, () => pool.acquire())
    for (const c of held) pool.release(c)
    expect(pool.trim(5)).toBe(2)
    expect(pool.capacity).toBe(8)
    expect(pool.trim()).toBe(1)
    expect(pool.capacity).toBe(4)
  })

  test('steady acquire/release allocates nothing', () => {
    const pool = new BufferPool(8192, 16)
    const held: Uint8Array[] = []
    for (let i = 0; i < 40; i++) held.push(pool.acquire())
    for (const c of held) pool.release(c)
    let i = 0
    const ring = new Array<Uint8Array | null>(8).fill(null)
    const row = allocsPerOp('pool churn', 1_000_000, () => {
      const slot = i++ & 7
      const old = ring[slot]
      if (old !== null) pool.release(old)
      const c = pool.acquire()
      c[0] = slot
      ring[slot] = c
    })
    expect(isAllocationFree(row), JSON.stringify(row)).toBe(true)
    expect(pool.capacity).toBe(48)
  })

  test('constructor arguments are checked', () => {
    expect(() => new BufferPool(0, 4)).toThrow(RangeError)
    expect(() => new BufferPool(8, 0)).toThrow(RangeError)
    expect(() => new BufferPool(8.5, 4)).toThrow(RangeError)
  })
})
