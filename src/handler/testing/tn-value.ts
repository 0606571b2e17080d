// A plain tnetstring ⇄ JS value codec for the fake gateway and for tests (zhttp.md 2.3),
// written for clarity, not speed: byte strings are Uint8Array, integers numbers, booleans,
// null, lists arrays, maps Map<string, TnValue> (insertion order kept).

import { concatBytes } from '../bytes.ts'

export type TnValue = Uint8Array | number | boolean | null | TnValue[] | Map<string, TnValue>

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

function frame(data: Uint8Array, type: string): Uint8Array {
  return concatBytes([utf8.encode(`${data.length}:`), data, utf8.encode(type)])
}

/** Encodes a value; strings become UTF-8 byte strings, plain objects maps. */
export function encodeTn(v: TnValue | string | Record<string, unknown>): Uint8Array {
  if (typeof v === 'string') return frame(utf8.encode(v), ',')
  if (v instanceof Uint8Array) return frame(v, ',')
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError('tnetstring: only integers')
    return frame(utf8.encode(String(v)), '#')
  }
  if (typeof v === 'boolean') return frame(utf8.encode(String(v)), '!')
  if (v === null) return frame(new Uint8Array(0), '~')
  if (Array.isArray(v)) return frame(concatBytes(v.map((x) => encodeTn(x))), ']')
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v)
  const parts: Uint8Array[] = []
  for (const [k, x] of entries) {
    if (x === undefined) continue
    parts.push(encodeTn(k), encodeTn(x as TnValue))
  }
  return frame(concatBytes(parts), '}')
}

/** Decodes one tnetstring at buf[0..]; throws on malformed input. */
export function decodeTn(buf: Uint8Array): TnValue {
  const [v, next] = decodeAt(buf, 0)
  if (next > buf.length) throw new Error('tnetstring: past end')
  return v
}

function decodeAt(buf: Uint8Array, pos: number): [TnValue, number] {
  let i = pos
  let len = 0
  while (i < buf.length && buf[i] !== 0x3a) {
    const d = buf[i] - 0x30
    if (d < 0 || d > 9) throw new Error('tnetstring: bad length')
    len = len * 10 + d
    i++
  }
  if (i >= buf.length || i === pos) throw new Error('tnetstring: no length')
  const s = i + 1
  const e = s + len
  if (e >= buf.length) throw new Error('tnetstring: past end')
  const data = buf.subarray(s, e)
  const type = buf[e]
  switch (type) {
    case 0x2c:
      return [data.slice(), e + 1]
    case 0x23:
      return [Number(utf8Decoder.decode(data)), e + 1]
    case 0x21:
      return [utf8Decoder.decode(data) === 'true', e + 1]
    case 0x7e:
      return [null, e + 1]
    case 0x5d: {
      const out: TnValue[] = []
      let p = s
      while (p < e) {
        const [x, n] = decodeAt(buf.subarray(0, e), p)
        out.push(x)
        p = n
      }
      return [out, e + 1]
    }
    case 0x7d: {
      const out = new Map<string, TnValue>()
      let p = s
      while (p < e) {
        const [k, n] = decodeAt(buf.subarray(0, e), p)
        if (!(k instanceof Uint8Array)) throw new Error('tnetstring: map key not a string')
        const [x, n2] = decodeAt(buf.subarray(0, e), n)
        out.set(utf8Decoder.decode(k), x)
        p = n2
      }
      return [out, e + 1]
    }
    default:
      throw new Error(`tnetstring: bad type byte ${type}`)
  }
}

/** A decoded map's field as text (undefined when absent or not a byte string). */
export function fieldText(m: Map<string, TnValue>, k: string): string | undefined {
  const v = m.get(k)
  return v instanceof Uint8Array ? utf8Decoder.decode(v) : undefined
}
