import { describe, expect, test } from 'bun:test'
import { allocsPerOp, isAllocationFree } from '../../bench/util'
import { Slab } from '../../src/mem/slab'
import { rng } from '../helpers/rng.ts'

interface Conn {
  id: number
}

describe('Slab', () => {
  test('fills to capacity in slot order, then refuses with -1', () => {
    const slab = new Slab<Conn>(4)
    const keys = [0, 1, 2, 3].map((id) => slab.insert({ id }))
    expect(keys).toEqual([0, 1, 2, 3])
    expect(slab.size).toBe(4)
    expect(slab.capacity).toBe(4)
    expect(slab.insert({ id: 9 })).toBe(-1)
    expect(slab.size).toBe(4)
    for (const k of keys) expect(slab.get(k)!.id).toBe(k)
  })

  test('reuses freed slots, last freed first', () => {
    const slab = new Slab<string>(4)
    for (const v of ['a', 'b', 'c', 'd']) slab.insert(v)
    expect(slab.remove(1)).toBe('b')
    expect(slab.remove(3)).toBe('d')
    expect(slab.get(1)).toBeUndefined()
    expect(slab.has(3)).toBe(false)
    expect(slab.size).toBe(2)
    expect(slab.insert('x')).toBe(3)
    expect(slab.insert('y')).toBe(1)
    expect(slab.insert('z')).toBe(-1)
    expect(slab.get(3)).toBe('x')
    expect(slab.get(1)).toBe('y')
  })

  test('remove of a free or out-of-range slot changes nothing', () => {
    const slab = new Slab<number>(2)
    const k = slab.insert(7)
    expect(slab.remove(k)).toBe(7)
    expect(slab.remove(k)).toBeUndefined()
    for (const bad of [-1, 2, 1.5, 1e9]) {
      expect(slab.remove(bad)).toBeUndefined()
      expect(slab.get(bad)).toBeUndefined()
    }
    expect(slab.size).toBe(0)
    // Still exactly two slots: a double remove did not stack slot k twice.
    expect(slab.insert(1)).toBeGreaterThanOrEqual(0)
    expect(slab.insert(2)).toBeGreaterThanOrEqual(0)
    expect(slab.insert(3)).toBe(-1)
  })

  test('random churn matches a Map', () => {
    const slab = new Slab<number>(64)
    const model = new Map<number, number>()
    const rand = rng(12345)
    for (let i = 0; i < 20_000; i++) {
      if (rand() < 0.55) {
        const k = slab.insert(i)
        if (model.size === 64) {
          expect(k).toBe(-1)
        } else {
          expect(k).toBeGreaterThanOrEqual(0)
          expect(model.has(k)).toBe(false)
          model.set(k, i)
        }
      } else {
        const k = Math.floor(rand() * 64)
        expect(slab.remove(k)).toBe(model.get(k))
        model.delete(k)
      }
      expect(slab.size).toBe(model.size)
    }
    for (const [k, v] of model) expect(slab.get(k)).toBe(v)
  })

  test('insert/remove allocate nothing', () => {
    const slab = new Slab<Conn>(1024)
    const conns = Array.from({ length: 1024 }, (_, id) => ({ id }))
    let i = 0
    const row = allocsPerOp('slab churn', 1_000_000, () => {
      const k = slab.insert(conns[i++ & 1023])
      if (slab.get(k) === undefined) throw new Error('lost')
      slab.remove(k)
    })
    expect(isAllocationFree(row), JSON.stringify(row)).toBe(true)
  })

  test('the allocation guard itself sees one small object per op, and a leak', () => {
    let sink: object | null = null
    const garbage = allocsPerOp('garbage', 200_000, () => {
      sink = { sink }
    })
    expect(isAllocationFree(garbage)).toBe(false)
    expect(garbage.bytesPerOp).toBeGreaterThan(4)
    const kept: object[] = []
    const leak = allocsPerOp('leak', 100_000, () => {
      kept.push({})
    })
    expect(isAllocationFree(leak)).toBe(false)
    expect(leak.objectsPerOp).toBeGreaterThan(0.99)
    expect(sink).not.toBeNull()
  })

  test('capacity is checked', () => {
    expect(() => new Slab(0)).toThrow(RangeError)
    expect(() => new Slab(2.5)).toThrow(RangeError)
  })
})

describe('Slab reuse/release (objects kept per slot)', () => {
  test('a released slot comes back with the object it held, last released first', () => {
    const slab = new Slab<{ slot: number }>(3)
    const taken: number[] = []
    for (let n = 0; n < 3; n++) {
      const i = slab.reuse()
      expect(slab.held(i)).toBeUndefined()
      slab.set(i, { slot: i })
      taken.push(i)
    }
    expect(taken).toEqual([0, 1, 2])
    expect(slab.reuse()).toBe(-1)
    expect(slab.release(1)).toBe(true)
    expect(slab.release(1)).toBe(false)
    expect(slab.has(1)).toBe(false)
    expect(slab.held(1)).toEqual({ slot: 1 })
    expect(slab.size).toBe(2)
    expect(slab.reuse()).toBe(1)
    expect(slab.held(1)).toEqual({ slot: 1 })
    for (const bad of [-1, 3, 1e9]) {
      expect(slab.release(bad)).toBe(false)
      expect(slab.held(bad)).toBeUndefined()
    }
  })
})
