// TnWriter (src/zhttp/tnetstring.ts), the fast tnetstring writer, case by case against the
// reference encoder in test/helpers/tnetstring-reference.ts (zhttp.md 2.3): canonical
// scalars, integer edges, UTF-8 and latin1 text, binary and large copies, containers at every
// length-digit boundary, nesting limits. Random values are in tnetstring.test.ts.

import { describe, expect, test } from 'bun:test'
import { TN_STRING, TN_WRITER_DEPTH_MAX, TnWriter, tnAsciiBytes } from '../../src/zhttp/tnetstring.ts'
import { bytesOf, int, latin1, refEncode, str, type Ref } from '../helpers/tnetstring-reference.ts'

describe('TnWriter', () => {
  const out = new Uint8Array(4096)
  const w = new TnWriter()
  const written = (): string => latin1(out.subarray(0, w.pos))

  test('scalars are canonical', () => {
    w.reset(out, 0)
    w.bytes(bytesOf('hello'), 1, 4)
    w.ascii('')
    w.ascii('from')
    w.int(0)
    w.int(9)
    w.int(10)
    w.int(-42)
    w.bool(true)
    w.bool(false)
    w.nul()
    w.raw(0x54)
    expect(written()).toBe('3:ell,0:,4:from,1:0#1:9#2:10#3:-42#4:true!5:false!0:~T')
  })

  test('ints at the edges', () => {
    const edges = [1, 99, 100, 999, 1000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 1e15, 2 ** 53]
    for (const n of [...edges, -(2 ** 53), -1, -10]) {
      w.reset(out, 0)
      w.int(n)
      const digits = BigInt(n).toString()
      expect(written()).toBe(`${digits.length}:${digits}#`)
    }
  })

  test('utf8 matches TextEncoder, including lone surrogates', () => {
    const te = new TextEncoder()
    const samples = ['', 'abc', 'é', 'ü€', '日本語', '😀', 'a😀b', 'ÿ', '\u07ff\u0800\uffff']
    // Lone surrogates: high at the end, low alone, high followed by a high.
    samples.push('\ud800', 'x\udc00y', '\ud83d', '\ud83d\ud83d\ude00')
    for (const s of samples) {
      w.reset(out, 0)
      w.utf8(s)
      expect(out.slice(0, w.pos)).toEqual(refEncode({ k: 'str', b: te.encode(s) }))
    }
  })

  test('ascii writes one byte per char (latin1)', () => {
    w.reset(out, 0)
    w.ascii('\u00ff\u0041')
    expect(Array.from(out.subarray(0, w.pos))).toEqual([0x32, 0x3a, 0xff, 0x41, 0x2c])
  })

  test('binary bytes and large copies', () => {
    const all = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)
    for (const [s, e] of [[0, 256], [10, 60], [0, 3], [1, 6], [0, 255], [1, 258]]) {
      w.reset(out, 7)
      w.bytes(all, s, e)
      expect(out.slice(7, w.pos)).toEqual(refEncode({ k: 'str', b: all.slice(s, e) }))
    }
    const big = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff)
    const bigOut = new Uint8Array(200_100)
    w.reset(bigOut, 0)
    w.bytes(big, 0, big.length)
    expect(latin1(bigOut.subarray(0, 7))).toBe('200000:')
    expect(bigOut.subarray(7, 200_007)).toEqual(big)
    expect(bigOut[200_007]).toBe(TN_STRING)
  })

  test('containers at every length-digit boundary', () => {
    const bigOut = new Uint8Array(300_000)
    // A one-child container of payload n has content digits(n) + 2 + n bytes, so these cover
    // every content length from 3 to ~1200 (1 → 4 prefix digits: the reserve is 3 digits,
    // so content moves left or stays) and 5- and 6-digit lengths (content moves right).
    const sizes = Array.from({ length: 1200 }, (_, i) => i)
    sizes.push(9_993, 9_994, 99_992, 99_993, 250_000)
    for (const n of sizes) {
      const payload = new Uint8Array(n).fill(0x61)
      for (const v of [
        { k: 'list', items: [{ k: 'str', b: payload }] },
        { k: 'map', pairs: [[{ k: 'str', b: new Uint8Array(0) }, { k: 'str', b: payload }]] },
      ] as Ref[]) {
        const want = refEncode(v)
        // Every length-digit hint, from too small to too large, gives the same bytes.
        for (const hint of [0, 1, 2, 3, 4, 6]) {
          w.reset(bigOut, 5)
          if (v.k === 'list') w.beginList(hint)
          else w.beginMap(hint)
          if (v.k === 'map') w.bytes(new Uint8Array(0), 0, 0)
          w.bytes(payload, 0, n)
          if (v.k === 'list') w.endList()
          else w.endMap()
          expect(w.pos - 5).toBe(want.length)
          expect(bigOut.subarray(5, w.pos)).toEqual(want)
        }
      }
    }
  })

  test('beginString / rawBytes / rawAscii / raw assemble one byte string', () => {
    const src = Uint8Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff)
    for (const [s, e] of [[0, 0], [1, 4], [0, 255], [0, 256], [3, 260], [0, 600]]) {
      for (const hint of [1, 2, 3, 4]) {
        w.reset(out, 1)
        w.beginString(hint)
        w.rawAscii('http://')
        w.rawBytes(src, s, e)
        w.raw(0x2f)
        w.endString()
        const content = new Uint8Array([...bytesOf('http://'), ...src.subarray(s, e), 0x2f])
        expect(out.slice(1, w.pos)).toEqual(refEncode({ k: 'str', b: content }))
      }
    }
  })

  test('empty and nested containers', () => {
    w.reset(out, 0)
    w.beginList()
    w.endList()
    w.beginMap()
    w.endMap()
    w.beginList()
    w.beginList()
    w.beginMap()
    w.endMap()
    w.endList()
    w.endList()
    expect(written()).toBe('0:]0:}6:3:0:}]]')
  })

  test('nesting to the depth limit, then a RangeError', () => {
    w.reset(out, 0)
    for (let i = 0; i < TN_WRITER_DEPTH_MAX; i++) w.beginList()
    for (let i = 0; i < TN_WRITER_DEPTH_MAX; i++) w.endList()
    let want: Ref = { k: 'list', items: [] }
    for (let i = 1; i < TN_WRITER_DEPTH_MAX; i++) want = { k: 'list', items: [want] }
    expect(out.slice(0, w.pos)).toEqual(refEncode(want))
    w.reset(out, 0)
    for (let i = 0; i < TN_WRITER_DEPTH_MAX; i++) w.beginList()
    expect(() => w.beginList()).toThrow(RangeError)
  })

  test('reset re-points the writer; remaining() counts free bytes', () => {
    const a = new Uint8Array(10)
    const b = new Uint8Array(20)
    w.reset(a, 2)
    expect(w.remaining()).toBe(8)
    w.ascii('ab')
    expect(w.remaining()).toBe(3)
    w.beginMap()
    w.reset(b, 0)
    expect(w.depth).toBe(0)
    expect(w.remaining()).toBe(20)
    expect(latin1(a.subarray(2, 7))).toBe('2:ab,')
  })

  test('tnAsciiBytes frames a constant', () => {
    expect(latin1(tnAsciiBytes('from'))).toBe('4:from,')
    expect(latin1(tnAsciiBytes('0123456789'))).toBe('10:0123456789,')
    expect(latin1(tnAsciiBytes(''))).toBe('0:,')
  })
})
