// Fuzzing of zgate's tnetstring codec (src/zhttp/tnetstring.ts) against the reference codec in
// test/helpers/tnetstring-reference.ts: random, truncated and mutated input decodes to the same
// value or fails in both (never a throw), and generated values encode to the same bytes with
// TnWriter and decode back unchanged. Inputs are a few hundred bytes at most and every walk
// below advances at least one byte per step, so each case is bounded in time by construction.

import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { TN_WRITER_DEPTH_MAX, TnWriter } from '../../src/zhttp/tnetstring.ts'
import { fastDecode, fastEncode, refDecodeOrNull } from '../helpers/tnetstring-fast.ts'
import { refEncode, type Ref } from '../helpers/tnetstring-reference.ts'
import { fuzzParams } from './fuzz-config.ts'

function text(b: Uint8Array, s: number, e: number): string {
  let out = ''
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i])
  return out
}

/** The whole value as zgate's decoder reads it (see fastDecode), or null when refused. */
function zgateValue(b: Uint8Array, end: number): Ref | null {
  const r = fastDecode(b, 0, end)
  return typeof r === 'number' ? null : r.v
}

const SCALAR: fc.Arbitrary<Ref> = fc.oneof(
  fc.uint8Array({ maxLength: 12 }).map((b): Ref => ({ k: 'str', b })),
  fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger()).map((n): Ref => ({ k: 'int', n: BigInt(n) })),
  fc.boolean().map((v): Ref => ({ k: 'bool', v })),
  fc.constant<Ref>({ k: 'null' }),
)

/** Values nested at most TN_WRITER_DEPTH_MAX deep (floats come in with the mutated inputs). */
const VALUE: fc.Arbitrary<Ref> = fc.letrec<{ v: Ref }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    SCALAR,
    fc.array(tie('v'), { maxLength: 4 }).map((items): Ref => ({ k: 'list', items })),
    fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 3 }).map((pairs): Ref => ({ k: 'map', pairs })),
  ),
})).v.filter((v) => depth(v) <= TN_WRITER_DEPTH_MAX)

function depth(v: Ref): number {
  if (v.k === 'list') return 1 + Math.max(0, ...v.items.map(depth))
  if (v.k === 'map') return 1 + Math.max(0, ...v.pairs.flatMap(([a, b]) => [depth(a), depth(b)]))
  return 0
}

/** The grammar's own bytes do the most damage: digits, `:`, type bytes, sign. */
const GRAMMAR_BYTE = fc.constantFrom(0x30, 0x31, 0x39, 0x3a, 0x2c, 0x23, 0x5e, 0x21, 0x7e, 0x5d, 0x7d, 0x2d, 0x2b, 0x2e, 0x65, 0x00, 0xff)

const MUTATION = fc.tuple(fc.constantFrom('flip', 'insert', 'delete', 'cut'), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), GRAMMAR_BYTE)

function mutate(b: Uint8Array, [kind, at, byte]: [string, number, number]): Uint8Array {
  const i = Math.floor(at * (b.length + 1))
  const before = b.subarray(0, i)
  switch (kind) {
    case 'flip':
      return i < b.length ? Uint8Array.from([...before, byte, ...b.subarray(i + 1)]) : b
    case 'insert':
      return Uint8Array.from([...before, byte, ...b.subarray(i)])
    case 'delete':
      return Uint8Array.from([...before, ...b.subarray(i + 1)])
    default:
      return b.slice(0, i)
  }
}

/** Mutated encodings of generated values (floats too: the decoder reads them), or raw bytes. */
const INPUT: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.oneof(VALUE, fc.stringMatching(/^-?[0-9]{1,3}(\.[0-9])?([eE][+-]?[0-9])?$/).map((s): Ref => ({ k: 'float', s }))), fc.array(MUTATION, { maxLength: 3 })).map(([v, muts]) => muts.reduce(mutate, refEncode(v))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.array(GRAMMAR_BYTE, { maxLength: 30 }).map((a) => Uint8Array.from(a)) },
)

describe('tnetstring fuzzing (zgate vs reference codec)', () => {
  const dec = fuzzParams<[Uint8Array]>('tnetstring decode', 1000, 0.05)
  test(
    'random, truncated and mutated input: same value and end, or refused by both; never a throw',
    () => {
      fc.assert(
        fc.property(INPUT, (b) => {
          // the reference's ints held to zgate's range, |n| <= 2^53 (readTnInt)
          const want = refDecodeOrNull(b, 0, b.length)
          expect(zgateValue(b, b.length)).toEqual(want)
          // bytes after `end` are never looked at: the same bytes inside a larger buffer
          const padded = new Uint8Array(b.length + 8).fill(0x2c) // ','
          padded.set(b)
          expect(zgateValue(padded, b.length)).toEqual(want)
        }),
        dec.params,
      )
    },
    dec.timeoutMs,
  )

  const enc = fuzzParams<[Ref]>('tnetstring encode', 500, 0.05)
  test(
    'generated values: TnWriter writes the reference bytes, and they decode back unchanged',
    () => {
      fc.assert(
        fc.property(VALUE, (v) => {
          const want = refEncode(v)
          const out = new Uint8Array(want.length * 2 + 64)
          const w = new TnWriter(out, 0)
          fastEncode(w, v)
          expect(text(out, 0, w.pos)).toBe(text(want, 0, want.length))
          expect(fastDecode(want, 0, want.length)).toEqual({ v, next: want.length })
        }),
        enc.params,
      )
    },
    enc.timeoutMs,
  )
})
