import { describe, expect, test } from 'bun:test'
import { writeConnId, parseConnId, parsedId, CONN_ID_SIZE_MAX_BYTES } from '../../src/conn/conn-id.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

function render(w: number, k: number, n: number): string {
  const buf = new Uint8Array(CONN_ID_SIZE_MAX_BYTES)
  return dec.decode(buf.subarray(0, writeConnId(buf, 0, w, k, n)))
}

function parse(text: string): [number, number, number] | null {
  const b = enc.encode(`xx${text}yy`)
  return parseConnId(b, 2, 2 + text.length) ? [parsedId.worker, parsedId.slot, parsedId.counter] : null
}

describe('session ids W-K-N (zhttp.md 1.5)', () => {
  test('renders decimal worker and slot, lowercase hex counter', () => {
    expect(render(0, 0, 0)).toBe('0-0-0')
    expect(render(0, 3, 26)).toBe('0-3-1a')
    expect(render(12, 9999, 2 ** 52 - 1)).toBe(`12-9999-${(2 ** 52 - 1).toString(16)}`)
  })

  test('parse is the inverse of render over many values', () => {
    let seed = 7
    const rnd = (m: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % m
    }
    for (let i = 0; i < 5000; i++) {
      const w = rnd(1025)
      const k = rnd(10_000_000)
      const n = rnd(2 ** 31) * 2 ** 20 + rnd(2 ** 20)
      const text = render(w, k, n)
      expect(text).toBe(`${w}-${k}-${n.toString(16)}`)
      expect(parse(text)).toEqual([w, k, n])
    }
  })

  test('refuses anything that is not the canonical rendering', () => {
    for (const bad of ['', '0', '0-0', '0-0-', '-0-0', '00-1-1', '0-01-1', '0-1-01', '0-1-A', '0-1-1g', '0-1-1 ', 'a-1-1', '0--1', '0-1-1-1']) {
      expect(parse(bad)).toBeNull()
    }
  })
})
