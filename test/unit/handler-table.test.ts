import { describe, expect, test } from 'bun:test'
import { HandlerTable } from '../../src/zhttp/handler-table.ts'

const enc = new TextEncoder()

function acquire(t: HandlerTable, s: string): number {
  const b = enc.encode(`__${s}__`)
  return t.acquire(b, 2, 2 + b.length - 4)
}

function text(t: HandlerTable, h: number): string {
  const o = t.offset(h)
  return new TextDecoder().decode(t.bytes.subarray(o, o + t.len[h]))
}

describe('interned handler addresses', () => {
  test('the same bytes give the same entry; distinct bytes distinct entries', () => {
    const t = new HandlerTable()
    const a = acquire(t, 'handler-a')
    expect(acquire(t, 'handler-a')).toBe(a)
    const b = acquire(t, 'handler-b')
    expect(b).not.toBe(a)
    expect(text(t, a)).toBe('handler-a')
    expect(text(t, b)).toBe('handler-b')
    expect(acquire(t, 'x'.repeat(65))).toBe(-1)
    expect(acquire(t, 'x'.repeat(64))).toBeGreaterThanOrEqual(0)
  })

  test('entries are released at zero references and reused; growth keeps contents', () => {
    const t = new HandlerTable()
    const names = Array.from({ length: 300 }, (_, i) => `h-${i}`)
    const ids = names.map((n) => acquire(t, n))
    expect(new Set(ids).size).toBe(300)
    names.forEach((n, i) => expect(text(t, ids[i])).toBe(n))
    const a = ids[5]
    acquire(t, 'h-5') // second reference
    t.release(a)
    expect(acquire(t, 'h-5')).toBe(a) // still live
    t.release(a)
    t.release(a)
    // Unreferenced but kept interned: the same address finds the same entry again.
    expect(acquire(t, 'h-5')).toBe(a)
    t.release(a)
    // Past HANDLER_IDLE_ENTRIES_MAX idle entries, released ones are recycled.
    for (let i = 0; i < 300; i++) if (i !== 5) t.release(ids[i])
    const reused = acquire(t, 'new-name')
    expect(ids).toContain(reused)
    expect(text(t, reused)).toBe('new-name')
    // entries still referenced are unaffected, lookups still find them
    const keep = acquire(t, 'keep-me')
    expect(acquire(t, 'keep-me')).toBe(keep)
    expect(text(t, keep)).toBe('keep-me')
  })
})
