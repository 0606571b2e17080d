// The shared byte primitives (src/util/bytes.ts, utf8.ts, digits.ts), each checked against a
// slow, obviously correct reference (Array methods, TextDecoder/TextEncoder, String(n)) across
// both sides of every size threshold they switch strategy at.

import { describe, expect, test } from 'bun:test'
import {
  COPY_LOOP_MAX_BYTES,
  copyBytes,
  moveBytes,
  spanEquals,
  spanEqualsAscii,
  spanEqualsLower,
  writeAscii,
} from '../../src/util/bytes.ts'
import { UTF8_NATIVE_MIN_BYTES, isUtf8, utf8Length, writeUtf8 } from '../../src/util/utf8.ts'
import { decimalDigits, writeDecimal, writeDecimalDigits, writeHex } from '../../src/util/digits.ts'
import { fenced, padded } from '../helpers/fenced.ts'
import { rng } from '../helpers/rng.ts'

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b)
const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))

/** Distinct bytes, so that a byte copied from the wrong offset shows. */
function pattern(n: number, seed: number): Uint8Array {
  const r = rng(seed)
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256))
}

describe('copyBytes', () => {
  test('equals a slice copy for every length around the loop/native threshold and any offsets', () => {
    const src = pattern(COPY_LOOP_MAX_BYTES * 2 + 16, 1)
    let checked = 0
    for (let n = 0; n <= COPY_LOOP_MAX_BYTES * 2; n++) {
      for (const [s, pos] of [[0, 0], [1, 3], [7, 2], [16 - (n % 16), 5]]) {
        const dst = new Uint8Array(n + 16).fill(0xee)
        const want = dst.slice()
        want.set(src.slice(s, s + n), pos)
        expect(copyBytes(dst, pos, src, s, s + n)).toBe(pos + n)
        expect(dst).toEqual(want) // nothing written before pos or after pos + n
        checked++
      }
    }
    // The whole-array case (no view) on both sides of the threshold.
    for (const n of [COPY_LOOP_MAX_BYTES, COPY_LOOP_MAX_BYTES + 1]) {
      const whole = src.slice(0, n)
      const dst = new Uint8Array(n + 2)
      expect(copyBytes(dst, 1, whole, 0, n)).toBe(n + 1)
      expect(dst.subarray(1, n + 1)).toEqual(whole)
    }
    expect(checked).toBeGreaterThan(2000)
  })
})

describe('moveBytes', () => {
  test('equals copyWithin for overlapping moves both ways, short and long', () => {
    const base = pattern(96, 2)
    for (let n = 0; n <= 40; n++) {
      for (const [from, to] of [[10, 12], [12, 10], [20, 21], [21, 20], [0, 40], [40, 0], [5, 5]]) {
        const got = base.slice()
        const want = base.slice()
        want.copyWithin(to, from, from + n)
        moveBytes(got, from, to, n)
        expect(got).toEqual(want)
      }
    }
  })
})

describe('span comparisons', () => {
  test('spanEquals / spanEqualsAscii compare byte for byte, length first', () => {
    const b = bytesOf('xxfrom,yy')
    expect(spanEquals(b, 2, 6, bytesOf('from'))).toBe(true)
    expect(spanEquals(b, 2, 6, bytesOf('frOm'))).toBe(false)
    expect(spanEquals(b, 2, 5, bytesOf('from'))).toBe(false)
    expect(spanEquals(b, 2, 2, new Uint8Array(0))).toBe(true)
    expect(spanEqualsAscii(b, 2, 6, 'from')).toBe(true)
    expect(spanEqualsAscii(b, 2, 6, 'fro')).toBe(false)
    expect(spanEqualsAscii(b, 2, 6, 'frox')).toBe(false)
    expect(spanEqualsAscii(b, 2, 6, 'FROM')).toBe(false)
  })

  test('spanEqualsLower matches a lower-case literal exactly when toLowerCase of ASCII does', () => {
    // Every byte value at every position of a literal holding letters, '-' and '_': only A-Z
    // fold, so CR (0x0d | 0x20 = '-') and '@' / '[' (next to A-Z) never match.
    const lit = 'sec-websocket_key'
    const buf = new Uint8Array(lit.length + 2).fill(0x2c)
    writeAscii(buf, 1, lit)
    const asciiLower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)
    for (let i = 0; i < lit.length; i++) {
      for (let c = 0; c < 256; c++) {
        const b = buf.slice()
        b[1 + i] = c
        const want = asciiLower(c) === lit.charCodeAt(i)
        expect(spanEqualsLower(b, 1, 1 + lit.length, lit)).toBe(want)
      }
    }
    expect(spanEqualsLower(buf, 1, lit.length, lit)).toBe(false) // length first
    expect(spanEqualsLower(buf, 1, 1, '')).toBe(true)
    const mixed = Uint8Array.from('Sec-WebSocket_KEY', (ch) => ch.charCodeAt(0))
    expect(spanEqualsLower(mixed, 0, mixed.length, lit)).toBe(true)
  })

  test('writeAscii writes one byte per char and returns the end', () => {
    const out = new Uint8Array(12).fill(0xff)
    expect(writeAscii(out, 2, 'Host: \u00e9')).toBe(9)
    expect(latin1(out.subarray(2, 9))).toBe('Host: \u00e9')
    expect(out[1]).toBe(0xff)
    expect(out[9]).toBe(0xff)
  })
})

describe('isUtf8', () => {
  const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  const valid = (x: Uint8Array): boolean => {
    try {
      td.decode(x)
      return true
    } catch {
      return false
    }
  }
  const enc = new TextEncoder()
  /** isUtf8 on x between continuation bytes: a read past either end of the span would
   * complete a cut-off sequence or break a valid one, and so change the answer. */
  const checkPadded = (x: Uint8Array): boolean => {
    const p = padded(x, 0x80, 4)
    return isUtf8(p.buf, p.start, p.end)
  }

  test('agrees with a fatal TextDecoder at each boundary of the rules and on short random bytes', () => {
    // Overlongs, surrogates, past U+10FFFF, truncations.
    const fixed = [
      [], [0x41], [0xc2, 0x80], [0xc1, 0x80], [0xe0, 0x9f, 0x80], [0xe0, 0xa0, 0x80],
      [0xed, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82],
      [0xf0, 0x9f, 0x98], [0x80], [0xff],
    ]
    for (const f of fixed) {
      const x = Uint8Array.from(f)
      expect(isUtf8(fenced(x, 0, x.length), 0, x.length)).toBe(valid(x))
      expect(checkPadded(x)).toBe(valid(x))
    }
    const r = rng(11)
    for (let i = 0; i < 20000; i++) {
      const x = new Uint8Array(1 + Math.floor(r() * 6))
      for (let j = 0; j < x.length; j++) {
        // Bias towards lead/continuation bytes so multi-byte paths get exercised.
        x[j] = r() < 0.5 ? 0x80 + Math.floor(r() * 0x80) : Math.floor(r() * 256)
      }
      expect(isUtf8(fenced(x, 0, x.length), 0, x.length)).toBe(valid(x))
    }
  })

  test('agrees with a fatal TextDecoder on both sides of the native threshold, inside a larger buffer', () => {
    const r = rng(3629)
    const bad = [[0xc0, 0x80], [0xe0, 0x9f, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xf5]]
    let invalid = 0
    for (let n = UTF8_NATIVE_MIN_BYTES - 6; n <= UTF8_NATIVE_MIN_BYTES + 6; n++) {
      for (let round = 0; round < 40; round++) {
        const parts = ['a', '\u00e9', '\u20ac', '\u{1d11e}']
        let s = ''
        while (s.length < n) s += parts[Math.floor(r() * parts.length)]
        const x = enc.encode(s).slice(0, n) // may cut the last code point
        if (round % 2 === 1) x.set(bad[round % bad.length].slice(0, n), Math.floor(r() * n))
        const want = valid(x)
        if (!want) invalid++
        expect(checkPadded(x)).toBe(want)
      }
    }
    expect(invalid).toBeGreaterThan(200) // both answers are exercised
  })
})

describe('UTF-8 encoding', () => {
  test('utf8Length and writeUtf8 equal TextEncoder, lone surrogates included', () => {
    const r = rng(3629)
    const units = [0x41, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x20ac, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff]
    const enc = new TextEncoder()
    const out = new Uint8Array(256)
    for (let round = 0; round < 5000; round++) {
      let s = ''
      const len = Math.floor(r() * 12)
      for (let i = 0; i < len; i++) s += String.fromCharCode(units[Math.floor(r() * units.length)])
      const want = enc.encode(s)
      expect(utf8Length(s)).toBe(want.length)
      expect(writeUtf8(out, 3, s)).toBe(3 + want.length)
      expect(out.subarray(3, 3 + want.length)).toEqual(want)
    }
  })
})

describe('digits', () => {
  // Powers of 10 and their neighbours, the int32 edge, and 2^53.
  const values: number[] = [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53]
  for (let p = 1; p <= 1e16; p *= 10) values.push(p - 1, p, p + 1)
  const r = rng(10)
  for (let i = 0; i < 2000; i++) values.push(Math.floor(r() * 10 ** Math.floor(r() * 16)))

  test('decimalDigits and writeDecimal equal String(n)', () => {
    const out = new Uint8Array(24)
    for (const n of values) {
      const want = String(n)
      expect(decimalDigits(n)).toBe(want.length)
      out.fill(0xff)
      expect(writeDecimal(out, 2, n)).toBe(2 + want.length)
      expect(latin1(out.subarray(2, 2 + want.length))).toBe(want)
      expect(out[2 + want.length]).toBe(0xff)
      out.fill(0xff)
      writeDecimalDigits(out, 1, want.length, n)
      expect(latin1(out.subarray(1, 1 + want.length))).toBe(want)
      expect(out[0]).toBe(0xff)
    }
  })

  test('writeHex equals toString(16)', () => {
    const out = new Uint8Array(24)
    for (const n of values) {
      const want = n.toString(16)
      expect(writeHex(out, 1, n)).toBe(1 + want.length)
      expect(latin1(out.subarray(1, 1 + want.length))).toBe(want)
    }
  })
})
