import { describe, expect, test } from 'bun:test'
import { allocsPerOp, isAllocationFree } from '../../bench/util'
import {
  writeSessionId,
  parseSessionId,
  parsedId,
  SESSION_ID_SIZE_MAX_BYTES,
  ID_NONCE_DIGITS,
  idNonce,
  setIdNonce,
} from '../../src/zhttp/session-id.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

function render(w: number, k: number, n: number): string {
  const buf = new Uint8Array(SESSION_ID_SIZE_MAX_BYTES)
  return dec.decode(buf.subarray(0, writeSessionId(buf, 0, w, k, n)))
}

function parse(text: string): [number, number, number] | null {
  const b = enc.encode(`xx${text}yy`)
  return parseSessionId(b, 2, 2 + text.length) ? [parsedId.worker, parsedId.slot, parsedId.counter] : null
}

describe('session ids W-K-N-X (zhttp.md 1.5 plus a per-process nonce)', () => {
  const x = idNonce()

  test('the nonce: 8 lowercase hex digits, drawn per process', () => {
    expect(x).toMatch(/^[0-9a-f]{8}$/)
    expect(ID_NONCE_DIGITS).toBe(8)
    // Another process draws its own (32 random bits: equal ones are a 1 in 2^32 event).
    const other = Bun.spawnSync([process.execPath, '-e', "import { idNonce } from './src/zhttp/session-id.ts'; console.log(idNonce())"])
    const theirs = other.stdout.toString().trim()
    expect(theirs).toMatch(/^[0-9a-f]{8}$/)
    expect(theirs).not.toBe(x)
  })

  test('renders decimal worker and slot, lowercase hex counter, then the nonce', () => {
    expect(render(0, 0, 0)).toBe(`0-0-0-${x}`)
    expect(render(0, 3, 26)).toBe(`0-3-1a-${x}`)
    const longest = render(9999, 99_999_999, 2 ** 52 - 1)
    expect(longest).toBe(`9999-99999999-${(2 ** 52 - 1).toString(16)}-${x}`)
    expect(longest.length).toBe(SESSION_ID_SIZE_MAX_BYTES)
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
      expect(text).toBe(`${w}-${k}-${n.toString(16)}-${x}`)
      expect(parse(text)).toEqual([w, k, n])
    }
  })

  test('refuses anything that is not the canonical rendering with this nonce', () => {
    const bad = ['', '0', '0-0', '0-0-', '-0-0', '00-1-1', '0-01-1', '0-1-01', '0-1-A', '0-1-1g', '0-1-1 ', 'a-1-1', '0--1', '0-1-1-1']
    for (const b of bad) {
      expect(parse(b)).toBeNull()
      expect(parse(`${b}-${x}`)).toBeNull()
    }
    // Condure's form, another nonce, a nonce of another length or case: not ours.
    const flip = (x[0] === 'a' ? 'b' : 'a') + x.slice(1)
    for (const b of ['0-1-1', `0-1-1-${flip}`, `0-1-1-${x}0`, `0-1-1-${x.slice(1)}`, `0-1-1-${x.toUpperCase()}X`, `0-1-1${x}`, `0-1-1-${x} `, `-${x}`]) {
      expect(parse(b)).toBeNull()
    }
    expect(parse(`0-1-1-${x}`)).toEqual([0, 1, 1])
  })

  test('a worker thread adopts worker 0 nonce; a malformed one is refused', () => {
    const mine = idNonce()
    try {
      setIdNonce('0123abcd')
      expect(render(1, 2, 3)).toBe('1-2-3-0123abcd')
      expect(parse('1-2-3-0123abcd')).toEqual([1, 2, 3])
      expect(parse(`1-2-3-${mine}`)).toBeNull()
      for (const b of ['0123ABCD', '0123abc', '0123abcde', 'ghijklmn']) expect(() => setIdNonce(b)).toThrow()
    } finally {
      setIdNonce(mine)
    }
  })

  test('render and parse allocate nothing', () => {
    const buf = new Uint8Array(SESSION_ID_SIZE_MAX_BYTES)
    let n = 0
    let ok = 0
    const row = allocsPerOp('id render + parse', 1_000_000, () => {
      n = writeSessionId(buf, 0, 1, n & 0xffff, 0x1a2b3c)
      if (parseSessionId(buf, 0, n)) ok++
    })
    expect(ok).toBeGreaterThanOrEqual(1_000_000)
    expect(isAllocationFree(row), JSON.stringify(row)).toBe(true)
  })
})
