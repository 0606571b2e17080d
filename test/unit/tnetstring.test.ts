// The fast tnetstring decoder and span helpers (src/zhttp/tnetstring.ts) checked against the
// slow, obviously correct reference decoder/encoder in test/helpers/tnetstring-reference.ts
// (zhttp.md 2.3), and the writer and decoder together against it on random and mutated
// values. TnWriter's own cases are in tnetstring-writer.test.ts.

import { describe, expect, test } from 'bun:test'
import {
  TN_BOOL,
  TN_ERR_BOOL,
  TN_ERR_FLOAT,
  TN_ERR_INCOMPLETE,
  TN_ERR_INT,
  TN_ERR_LENGTH,
  TN_ERR_NULL,
  TN_ERR_PAST_END,
  TN_ERR_TYPE,
  TN_FLOAT,
  TN_INT,
  TN_LIST,
  TN_MAP,
  TN_NULL,
  TN_OK,
  TN_STRING,
  TnSpan,
  TnWriter,
  decodeTn,
  readTnInt,
  tnAsciiBytes,
  tnBool,
  tnErrorText,
} from '../../src/zhttp/tnetstring.ts'
import {
  bytesOf,
  int,
  latin1,
  type Ref,
  RefError,
  refDecode,
  refEncode,
  str,
} from '../helpers/tnetstring-reference.ts'
import { fenced } from '../helpers/fenced.ts'
import { fastDecode, fastEncode, refDecodeOrNull } from '../helpers/tnetstring-fast.ts'
import { rng } from '../helpers/rng.ts'

// --- fast-codec adapters and inputs ---

function randomRef(r: () => number, depth: number): Ref {
  const pick = Math.floor(r() * (depth > 3 ? 5 : 7))
  switch (pick) {
    case 0: {
      const b = new Uint8Array(Math.floor(r() * (r() < 0.1 ? 300 : 12)))
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256)
      return { k: 'str', b }
    }
    case 1: {
      const mag = [0, 9, 10, 1234567, 2 ** 31, 2 ** 53][Math.floor(r() * 6)]
      return int(r() < 0.3 ? -mag : mag)
    }
    case 2:
      return { k: 'bool', v: r() < 0.5 }
    case 3:
      return { k: 'null' }
    case 4:
      return { k: 'float', s: ['1.5', '-0.25', '1e10', '3'][Math.floor(r() * 4)] }
    case 5:
      return {
        k: 'list',
        items: Array.from({ length: Math.floor(r() * 5) }, () => randomRef(r, depth + 1)),
      }
    default:
      return {
        k: 'map',
        pairs: Array.from({ length: Math.floor(r() * 4) }, (): [Ref, Ref] => [
          str(`k${Math.floor(r() * 100)}`),
          randomRef(r, depth + 1),
        ]),
      }
  }
}

function writeAll(v: Ref, cap = 1 << 20): Uint8Array {
  const out = new Uint8Array(cap)
  const w = new TnWriter(out, 0)
  fastEncode(w, v)
  expect(w.depth).toBe(0)
  return out.slice(0, w.pos)
}

const seq5: [Ref, Ref] = [str('seq'), int(5)]
const sampleNested: Ref = {
  k: 'map',
  pairs: [
    [str('from'), str('h1')],
    [str('id'), { k: 'list', items: [{ k: 'map', pairs: [[str('id'), str('0-0-0')], seq5] }] }],
    [str('headers'), { k: 'list', items: [{ k: 'list', items: [str('Host'), str('x')] }] }],
    [str('more'), { k: 'bool', v: true }],
    [str('n'), { k: 'null' }],
    [str('f'), { k: 'float', s: '1.5' }],
    [str('neg'), int(-42)],
    [str('bin'), { k: 'str', b: Uint8Array.from([0, 0x3a, 0x2c, 0xff, 0x7d]) }],
  ],
}

// --- tests ---

describe('type bytes', () => {
  test('match the zhttp.md 2.3 table', () => {
    expect([TN_STRING, TN_INT, TN_FLOAT, TN_BOOL, TN_NULL, TN_LIST, TN_MAP]).toEqual(
      [...',#^!~]}'].map((c) => c.charCodeAt(0)),
    )
  })
})

describe('decodeTn', () => {
  const span = new TnSpan()
  const dec = (s: string, start = 0, end = s.length): number =>
    decodeTn(bytesOf(s), start, end, span)

  test('scalar frames give offsets into the input', () => {
    expect(dec('5:hello,')).toBe(TN_OK)
    const fields = (): number[] => [span.type, span.start, span.dataStart, span.dataEnd, span.next]
    expect(fields()).toEqual([TN_STRING, 0, 2, 7, 8])
    expect(dec('xx0:,yy', 2, 5)).toBe(TN_OK)
    expect([span.type, span.dataStart, span.dataEnd, span.next]).toEqual([TN_STRING, 4, 4, 5])
    expect(dec('4:true!')).toBe(TN_OK)
    expect(span.type).toBe(TN_BOOL)
    expect(tnBool(span)).toBe(true)
    expect(dec('5:false!')).toBe(TN_OK)
    expect(tnBool(span)).toBe(false)
    expect(dec('0:~')).toBe(TN_OK)
    expect(span.type).toBe(TN_NULL)
    expect(dec('3:-12#')).toBe(TN_OK)
    expect(span.type).toBe(TN_INT)
    expect(dec('4:-1.5^')).toBe(TN_OK)
    expect(span.type).toBe(TN_FLOAT)
    expect(dec('0:]')).toBe(TN_OK)
    expect(span.type).toBe(TN_LIST)
    expect(dec('0:}')).toBe(TN_OK)
    expect(span.type).toBe(TN_MAP)
  })

  test('leading zeros in a length are read (decoding is liberal), 9 digits at most', () => {
    expect(dec('03:abc,')).toBe(TN_OK)
    expect(span.dataEnd).toBe(6)
    expect(dec('000000003:abc,')).toBe(TN_OK)
    expect(dec('0000000003:abc,')).toBe(TN_ERR_LENGTH)
  })

  test('each error code', () => {
    expect(dec('')).toBe(TN_ERR_INCOMPLETE)
    expect(dec('12')).toBe(TN_ERR_INCOMPLETE)
    expect(dec(':a,')).toBe(TN_ERR_LENGTH)
    expect(dec('-1:a,')).toBe(TN_ERR_LENGTH)
    expect(dec('+1:a,')).toBe(TN_ERR_LENGTH)
    expect(dec(' 1:a,')).toBe(TN_ERR_LENGTH)
    expect(dec('1 :a,')).toBe(TN_ERR_LENGTH)
    expect(dec('1234567890:')).toBe(TN_ERR_LENGTH)
    expect(dec('1234567890')).toBe(TN_ERR_LENGTH)
    expect(dec('999999999:abc,')).toBe(TN_ERR_PAST_END)
    expect(dec('5:ab,')).toBe(TN_ERR_PAST_END)
    expect(dec('1:a')).toBe(TN_ERR_PAST_END)
    expect(dec('1:a,', 0, 3)).toBe(TN_ERR_PAST_END)
    expect(dec('1:ax')).toBe(TN_ERR_TYPE)
    expect(dec('1:a:')).toBe(TN_ERR_TYPE)
    expect(dec('4:True!')).toBe(TN_ERR_BOOL)
    expect(dec('3:yes!')).toBe(TN_ERR_BOOL)
    expect(dec('0:!')).toBe(TN_ERR_BOOL)
    expect(dec('0:#')).toBe(TN_ERR_INT)
    expect(dec('1:-#')).toBe(TN_ERR_INT)
    expect(dec('2:1a#')).toBe(TN_ERR_INT)
    expect(dec('2:+1#')).toBe(TN_ERR_INT)
    expect(dec('2: 1#')).toBe(TN_ERR_INT)
    expect(dec('1:a~')).toBe(TN_ERR_NULL)
    expect(dec('0:^')).toBe(TN_ERR_FLOAT)
    expect(dec('3:1x0^')).toBe(TN_ERR_FLOAT)
  })

  test('error texts are distinct and short', () => {
    const codes = [TN_ERR_INCOMPLETE, TN_ERR_LENGTH, TN_ERR_PAST_END, TN_ERR_TYPE]
    codes.push(TN_ERR_BOOL, TN_ERR_INT, TN_ERR_NULL, TN_ERR_FLOAT)
    const texts = codes.map(tnErrorText)
    expect(new Set(texts).size).toBe(codes.length)
    expect(tnErrorText(TN_ERR_INCOMPLETE)).toBe('incomplete length prefix')
    expect(tnErrorText(-999)).toBe('unknown tnetstring error')
  })

  test('an end past the buffer is clamped, never read', () => {
    const b = bytesOf('3:ab')
    expect(decodeTn(fenced(b, 0, 4), 0, 100, span)).toBe(TN_ERR_PAST_END)
  })

  test('truncation at every split point fails without throwing or reading out of range', () => {
    const full = refEncode(sampleNested)
    for (let cut = 0; cut < full.length; cut++) {
      // A short buffer holding just the prefix...
      const short = full.slice(0, cut)
      expect(decodeTn(short, 0, cut, span)).toBeLessThan(0)
      expect(fastDecode(short, 0, cut)).toBeLessThan(0 as never)
      // ...and the whole buffer bounded only by `end`, fenced so a read past it throws.
      const b = fenced(full, 0, cut)
      expect(decodeTn(b, 0, cut, span)).toBeLessThan(0)
      expect(fastDecode(b, 0, cut)).toBeLessThan(0 as never)
    }
    const whole = fastDecode(fenced(full, 0, full.length), 0, full.length)
    expect(whole).toEqual({ v: sampleNested, next: full.length })
  })
})

describe('readTnInt', () => {
  const read = (s: string): number => readTnInt(bytesOf(s), 0, s.length)
  test('values', () => {
    expect(read('0')).toBe(0)
    expect(Object.is(read('-0'), 0)).toBe(true)
    expect(read('007')).toBe(7)
    expect(read('123')).toBe(123)
    expect(read('-45')).toBe(-45)
    expect(read('4294967296')).toBe(2 ** 32)
    expect(read('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER)
    expect(read('9007199254740992')).toBe(2 ** 53)
    expect(read('-9007199254740992')).toBe(-(2 ** 53))
    expect(read('00009007199254740992')).toBe(2 ** 53)
  })
  test('invalid gives NaN', () => {
    const bad = ['', '-', '+5', '1a', 'a1', ' 1', '1.0', '--1', '9007199254740993']
    bad.push('9007199254740999', '90071992547409920', '99999999999999999999', '-9007199254740993')
    for (const s of bad) {
      expect(read(s)).toBeNaN()
    }
  })
  test('agrees with BigInt on many values around the limit', () => {
    const r = rng(7)
    for (let i = 0; i < 2000; i++) {
      const base = BigInt(Math.floor(r() * 2 ** 53)) * (r() < 0.5 ? 1n : 2n)
      const n = base + BigInt(Math.floor(r() * 20))
      const s = (r() < 0.5 ? '-' : '') + n.toString()
      const want = (n <= 2n ** 53n) ? Number(BigInt(s)) : NaN
      expect(read(s)).toBe(want)
    }
  })
})

describe('fast codec against the reference', () => {
  test('round trip of a nested sample, byte-identical to the reference encoder', () => {
    const bytes = writeAll(sampleNested)
    expect(bytes).toEqual(refEncode(sampleNested))
    expect(refDecode(bytes, 0, bytes.length).v).toEqual(sampleNested)
    expect(fastDecode(bytes, 0, bytes.length)).toEqual({ v: sampleNested, next: bytes.length })
  })

  test('random values: writer = reference encoder, fast decoder = reference decoder', () => {
    const r = rng(1)
    for (let i = 0; i < 1500; i++) {
      const v = randomRef(r, 0)
      const bytes = writeAll(v)
      expect(bytes).toEqual(refEncode(v))
      expect(fastDecode(bytes, 0, bytes.length)).toEqual({ v, next: bytes.length })
    }
  })

  test('mutated inputs: both decoders agree on success and value, nothing throws', () => {
    const r = rng(2)
    let failed = 0
    let decoded = 0
    for (let i = 0; i < 3000; i++) {
      const bytes = refEncode(randomRef(r, 0))
      const edits = 1 + Math.floor(r() * 3)
      for (let j = 0; j < edits; j++) {
        const at = Math.floor(r() * bytes.length)
        // Digits and the grammar's bytes (`:` and the type bytes) do the most damage.
        const choices = [0x30 + Math.floor(r() * 10), 0x3a, 0x2c, 0x23, 0x5d, 0x7d, 0x21, 0x7e]
        choices.push(0x5e, 0x2d, Math.floor(r() * 256))
        bytes[at] = choices[Math.floor(r() * choices.length)]
      }
      const cut = r() < 0.3 ? Math.floor(r() * bytes.length) : bytes.length
      const ref = refDecodeOrNull(bytes, 0, cut)
      const fast = fastDecode(fenced(bytes, 0, cut), 0, cut)
      if (ref === null) {
        expect(typeof fast).toBe('number')
        failed++
      } else {
        expect(fast).toMatchObject({ v: ref })
        decoded++
      }
    }
    // Both outcomes must be well represented for the comparison to mean something.
    expect(failed).toBeGreaterThan(500)
    expect(decoded).toBeGreaterThan(200)
  })

  test('trailing bytes after a frame are left alone', () => {
    const bytes = bytesOf('3:abc,GARBAGE')
    expect(fastDecode(bytes, 0, bytes.length)).toEqual({ v: str('abc'), next: 6 })
  })
})
