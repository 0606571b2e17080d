// Adapters between the fast tnetstring codec (src/zhttp/tnetstring.ts) and the reference
// codec's Ref values (tnetstring-reference.ts), shared by the unit tests and the fuzzers.

import {
  TN_BOOL,
  TN_FLOAT,
  TN_INT,
  TN_LIST,
  TN_NULL,
  TN_OK,
  TN_STRING,
  TnSpan,
  TnWriter,
  decodeTn,
  readTnInt,
  tnAsciiBytes,
  tnBool,
} from '../../src/zhttp/tnetstring.ts'
import { latin1, type Ref, RefError, refDecode } from './tnetstring-reference.ts'

/** Writes a Ref with the fast writer. */
export function fastEncode(w: TnWriter, v: Ref): void {
  switch (v.k) {
    case 'str':
      w.bytes(v.b, 0, v.b.length)
      return
    case 'int':
      w.int(Number(v.n))
      return
    case 'float': {
      // The writer has no float method (condure never emits one); frame it by hand.
      const f = tnAsciiBytes(v.s)
      f[f.length - 1] = TN_FLOAT
      w.encoded(f)
      return
    }
    case 'bool':
      w.bool(v.v)
      return
    case 'null':
      w.nul()
      return
    case 'list':
      w.beginList()
      for (const item of v.items) fastEncode(w, item)
      w.endList()
      return
    case 'map':
      w.beginMap()
      for (const [a, b] of v.pairs) {
        fastEncode(w, a)
        fastEncode(w, b)
      }
      w.endMap()
  }
}

/** Walks the fast decoder over a whole value; returns the Ref or the first error code. */
export function fastDecode(b: Uint8Array, start: number, end: number): { v: Ref; next: number } | number {
  const s = new TnSpan()
  const r = decodeTn(b, start, end, s)
  if (r !== TN_OK) return r
  const next = s.next
  switch (s.type) {
    case TN_STRING:
      return { v: { k: 'str', b: b.slice(s.dataStart, s.dataEnd) }, next }
    case TN_INT: {
      const n = readTnInt(b, s.dataStart, s.dataEnd)
      if (Number.isNaN(n)) return -100
      return { v: { k: 'int', n: BigInt(n) }, next }
    }
    case TN_FLOAT:
      return { v: { k: 'float', s: latin1(b.subarray(s.dataStart, s.dataEnd)) }, next }
    case TN_BOOL:
      return { v: { k: 'bool', v: tnBool(s) }, next }
    case TN_NULL:
      return { v: { k: 'null' }, next }
  }
  const items: Ref[] = []
  for (let p = s.dataStart; p < s.dataEnd; ) {
    const c = fastDecode(b, p, s.dataEnd)
    if (typeof c === 'number') return c
    items.push(c.v)
    p = c.next
  }
  if (s.type === TN_LIST) return { v: { k: 'list', items }, next }
  if (items.length % 2 !== 0) return -101
  const pairs: [Ref, Ref][] = []
  for (let i = 0; i < items.length; i += 2) pairs.push([items[i], items[i + 1]])
  return { v: { k: 'map', pairs }, next }
}

/** refDecode with its int range rule matched to readTnInt (|n| ≤ 2^53), or null on error. */
export function refDecodeOrNull(b: Uint8Array, start: number, end: number): Ref | null {
  try {
    const r = refDecode(b, start, end)
    const ok = (v: Ref): boolean =>
      v.k === 'int'
        ? (v.n < 0n ? -v.n : v.n) <= 2n ** 53n
        : v.k === 'list'
          ? v.items.every(ok)
          : v.k === 'map'
            ? v.pairs.every(([a, c]) => ok(a) && ok(c))
            : true
    return ok(r.v) ? r.v : null
  } catch (e) {
    if (e instanceof RefError) return null
    throw e
  }
}
