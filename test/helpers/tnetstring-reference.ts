// A slow, obviously-correct reference tnetstring codec, written from the grammar in zhttp.md 2.3
// ("a correct encoder for tests"). The unit tests check src/zhttp/tnetstring.ts against it and
// build ZHTTP packets with it (style.md rule 8). Strings and regular expressions over latin1
// text, nothing clever: bytes map 1:1 onto latin1 characters, so string indexes are offsets.
//
// Two ways to write a value:
// - `Ref`, a tagged union that can express every tnetstring (the codec's own model): refEncode
//   and refDecode.
// - `Val`, shorthand for hand-written packets (`{ id: 'x', seq: 1 }`): tn() converts it to a
//   Ref and encodes that, so both go through the one encoder.

/** Reference values: bytes, int (bigint), float (its text), bool, null, list, map (pairs). */
export type Ref =
  | { k: 'str'; b: Uint8Array }
  | { k: 'int'; n: bigint }
  | { k: 'float'; s: string }
  | { k: 'bool'; v: boolean }
  | { k: 'null' }
  | { k: 'list'; items: Ref[] }
  | { k: 'map'; pairs: [Ref, Ref][] }

/** The reference decoder rejected its input (the message names the rule). */
export class RefError extends Error {}

const utf8 = new TextEncoder()

export const latin1 = (b: Uint8Array): string => String.fromCharCode(...b)
export const bytesOf = (s: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(s, (c) => c.charCodeAt(0))
/** A UTF-8 string value. */
export const str = (s: string): Ref => ({ k: 'str', b: utf8.encode(s) })
export const int = (n: number | bigint): Ref => ({ k: 'int', n: BigInt(n) })

export function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Recursive reference decoder: whole-frame regexes over a latin1 string. Throws RefError. */
export function refDecode(b: Uint8Array, pos: number, end: number): { v: Ref; next: number } {
  const text = latin1(b.subarray(pos, end))
  const m = /^(\d{1,9}):/.exec(text)
  if (m === null) throw new RefError('length')
  const len = Number(m[1])
  const dataStart = pos + m[0].length
  const dataEnd = dataStart + len
  if (dataEnd >= end) throw new RefError('past end')
  const data = b.subarray(dataStart, dataEnd)
  const body = latin1(data)
  const next = dataEnd + 1
  switch (String.fromCharCode(b[dataEnd])) {
    case ',':
      return { v: { k: 'str', b: data.slice() }, next }
    case '#':
      if (!/^-?\d+$/.test(body)) throw new RefError('int')
      return { v: { k: 'int', n: BigInt(body) }, next }
    case '^':
      if (!/^[0-9+\-.eE]+$/.test(body)) throw new RefError('float')
      return { v: { k: 'float', s: body }, next }
    case '!':
      if (body !== 'true' && body !== 'false') throw new RefError('bool')
      return { v: { k: 'bool', v: body === 'true' }, next }
    case '~':
      if (body !== '') throw new RefError('null')
      return { v: { k: 'null' }, next }
    case ']': {
      const items: Ref[] = []
      for (let p = dataStart; p < dataEnd; ) {
        const r = refDecode(b, p, dataEnd)
        items.push(r.v)
        p = r.next
      }
      return { v: { k: 'list', items }, next }
    }
    case '}': {
      const flat: Ref[] = []
      for (let p = dataStart; p < dataEnd; ) {
        const r = refDecode(b, p, dataEnd)
        flat.push(r.v)
        p = r.next
      }
      if (flat.length % 2 !== 0) throw new RefError('odd map')
      const pairs: [Ref, Ref][] = []
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]])
      return { v: { k: 'map', pairs }, next }
    }
  }
  throw new RefError('type')
}

/** Reference encoder, as zhttp.md 2.3 describes it: lengths from the encoded children. */
export function refEncode(v: Ref): Uint8Array<ArrayBuffer> {
  const frame = (data: Uint8Array, type: string): Uint8Array<ArrayBuffer> => {
    const head = bytesOf(`${data.length}:`)
    const out = new Uint8Array(head.length + data.length + 1)
    out.set(head, 0)
    out.set(data, head.length)
    out[out.length - 1] = type.charCodeAt(0)
    return out
  }
  switch (v.k) {
    case 'str':
      return frame(v.b, ',')
    case 'int':
      return frame(bytesOf(v.n.toString()), '#')
    case 'float':
      return frame(bytesOf(v.s), '^')
    case 'bool':
      return frame(bytesOf(v.v ? 'true' : 'false'), '!')
    case 'null':
      return frame(new Uint8Array(0), '~')
    case 'list':
      return frame(concat(v.items.map(refEncode)), ']')
    case 'map':
      return frame(concat(v.pairs.flatMap(([a, b]) => [refEncode(a), refEncode(b)])), '}')
  }
}

// --- Val: shorthand for hand-written packets ---

/** A map with explicit entries: keeps order, allows duplicates and non-string keys. */
export class Pairs {
  constructor(readonly entries: [Val, Val][]) {}
}
/** A float, written as its text. */
export class Flt {
  constructor(readonly text: string) {}
}
export type Scalar = string | Uint8Array | number | bigint | boolean | null
/** A plain object is a map in insertion order; undefined values are left out. */
export interface ValMap {
  [k: string]: Val | undefined
}
/** A string is UTF-8 bytes, a number an integer (BigInt throws on a fraction: use Flt). */
export type Val = Scalar | Val[] | Pairs | Flt | ValMap

/** The Ref a Val stands for. */
export function refOf(v: Val): Ref {
  if (typeof v === 'string') return str(v)
  if (v instanceof Uint8Array) return { k: 'str', b: v }
  if (typeof v === 'number' || typeof v === 'bigint') return int(v)
  if (typeof v === 'boolean') return { k: 'bool', v }
  if (v === null) return { k: 'null' }
  if (v instanceof Flt) return { k: 'float', s: v.text }
  if (Array.isArray(v)) return { k: 'list', items: v.map(refOf) }
  const entries = v instanceof Pairs ? v.entries : Object.entries(v)
  const present = entries.filter((e): e is [Val, Val] => e[1] !== undefined)
  return { k: 'map', pairs: present.map(([k, x]): [Ref, Ref] => [refOf(k), refOf(x)]) }
}

/** A Val as tnetstring bytes (through refEncode). */
export const tn = (v: Val): Uint8Array<ArrayBuffer> => refEncode(refOf(v))
