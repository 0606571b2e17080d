// Fuzzing of zgate's tnetstring codec (src/zhttp/tnetstring.ts) against the reference codec in
// test/helpers/tnetstring-reference.ts: random, truncated and mutated input decodes to the same
// value or fails in both (never a throw), and generated values encode to the same bytes with
// TnWriter and decode back unchanged. Inputs are a few hundred bytes at most and every walk
// below advances at least one byte per step, so each case is bounded in time by construction.

import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import {
  decodeTn,
  TN_BOOL,
  TN_FLOAT,
  TN_INT,
  TN_LIST,
  TN_MAP,
  TN_NULL,
  TN_OK,
  TN_STRING,
  TN_WRITER_DEPTH_MAX,
  TnSpan,
  TnWriter,
} from '../../src/zhttp/tnetstring.ts'
import { refDecode, refEncode, RefError, type Ref } from '../helpers/tnetstring-reference.ts'
import { fuzzParams } from './fuzz-config.ts'

function text(b: Uint8Array, s: number, e: number): string {
  let out = ''
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i])
  return out
}

/**
 * The whole value at `pos` as zgate's decoder sees it, walking containers the way packet.ts
 * does (each child from the previous one's `next` up to the container's dataEnd). Null when
 * decodeTn refuses any frame.
 */
function zgateDecode(b: Uint8Array, pos: number, end: number): { v: Ref; next: number } | null {
  const span = new TnSpan()
  if (decodeTn(b, pos, end, span) !== TN_OK) return null
  const { type, dataStart, dataEnd, next } = span
  const body = text(b, dataStart, dataEnd)
  switch (type) {
    case TN_STRING:
      return { v: { k: 'str', b: b.slice(dataStart, dataEnd) }, next }
    case TN_INT:
      return { v: { k: 'int', n: BigInt(body) }, next }
    case TN_FLOAT:
      return { v: { k: 'float', s: body }, next }
    case TN_BOOL:
      return { v: { k: 'bool', v: body === 'true' }, next }
    case TN_NULL:
      return { v: { k: 'null' }, next }
  }
  const items: Ref[] = []
  for (let p = dataStart; p < dataEnd; ) {
    const child = zgateDecode(b, p, dataEnd)
    if (child === null) return null
    items.push(child.v)
    p = child.next
  }
  if (type === TN_LIST) return { v: { k: 'list', items }, next }
  if (type !== TN_MAP || items.length % 2 !== 0) return null
  const pairs: [Ref, Ref][] = []
  for (let i = 0; i < items.length; i += 2) pairs.push([items[i], items[i + 1]])
  return { v: { k: 'map', pairs }, next }
}

function refOrNull(b: Uint8Array): { v: Ref; next: number } | null {
  try {
    return refDecode(b, 0, b.length)
  } catch (e) {
    if (e instanceof RefError) return null
    throw e
  }
}

/** Writes `v` with zgate's TnWriter (no float writer there: floats are never sent). */
function writeZgate(w: TnWriter, v: Ref): void {
  switch (v.k) {
    case 'str':
      w.bytes(v.b, 0, v.b.length)
      return
    case 'int':
      w.int(Number(v.n))
      return
    case 'bool':
      w.bool(v.v)
      return
    case 'null':
      w.nul()
      return
    case 'list':
      w.beginList()
      for (const item of v.items) writeZgate(w, item)
      w.endList()
      return
    case 'map':
      w.beginMap()
      for (const [k, x] of v.pairs) {
        writeZgate(w, k)
        writeZgate(w, x)
      }
      w.endMap()
      return
    case 'float':
      throw new Error('no float writer')
  }
}

const SCALAR: fc.Arbitrary<Ref> = fc.oneof(
  fc.uint8Array({ maxLength: 12 }).map((b): Ref => ({ k: 'str', b })),
  fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger()).map((n): Ref => ({ k: 'int', n: BigInt(n) })),
  fc.boolean().map((v): Ref => ({ k: 'bool', v })),
  fc.constant<Ref>({ k: 'null' }),
)

/** Values nested at most TN_WRITER_DEPTH_MAX deep, without floats (TnWriter writes none). */
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
  const dec = fuzzParams<[Uint8Array]>('tnetstring decode', 3000, 0.05)
  test(
    'random, truncated and mutated input: same value and end, or refused by both; never a throw',
    () => {
      fc.assert(
        fc.property(INPUT, (b) => {
          const want = refOrNull(b)
          const got = zgateDecode(b, 0, b.length)
          expect(got).toEqual(want)
          // bytes after `end` are never looked at: the same bytes inside a larger buffer
          const padded = new Uint8Array(b.length + 8).fill(0x2c) // ','
          padded.set(b)
          expect(zgateDecode(padded, 0, b.length)).toEqual(want)
        }),
        dec.params,
      )
    },
    dec.timeoutMs,
  )

  const enc = fuzzParams<[Ref]>('tnetstring encode', 1500, 0.05)
  test(
    'generated values: TnWriter writes the reference bytes, and they decode back unchanged',
    () => {
      fc.assert(
        fc.property(VALUE, (v) => {
          const want = refEncode(v)
          const out = new Uint8Array(want.length * 2 + 64)
          const w = new TnWriter(out, 0)
          writeZgate(w, v)
          expect(text(out, 0, w.pos)).toBe(text(want, 0, want.length))
          expect(zgateDecode(want, 0, want.length)).toEqual({ v, next: want.length })
        }),
        enc.params,
      )
    },
    enc.timeoutMs,
  )
})
