// The reference tnetstring codec for TypeScript tests: tnetstring-codec.mjs (the one
// implementation, shared with the Node handler peers) and, on top of it, `Val`, shorthand for
// hand-written packets (`{ id: 'x', seq: 1 }`): tn() converts a Val to a Ref and encodes that
// with refEncode, so everything goes through the one encoder. The unit tests check
// src/zhttp/tnetstring.ts against it and build ZHTTP packets with it (style.md rule 8).

import { int, refEncode, str } from './tnetstring-codec.mjs'
import type { WireRef } from './tnetstring-codec.mjs'

export { bytesOf, concat, int, latin1, RefError, refDecode, refEncode, str } from './tnetstring-codec.mjs'
export type { Ref, WireRef } from './tnetstring-codec.mjs'

// --- Val: shorthand for hand-written packets ---

/** A map with explicit entries: keeps order, allows duplicates and non-string keys. */
export class Pairs {
  constructor(readonly entries: [Val, Val][]) {}
}
/** A float, written as its text. */
export class Flt {
  constructor(readonly text: string) {}
}
/** Bytes written as they are, in place of an element (malformed input on purpose). */
export class Raw {
  constructor(readonly b: Uint8Array) {}
}
export type Scalar = string | Uint8Array | number | bigint | boolean | null
/** A plain object is a map in insertion order; undefined values are left out. */
export interface ValMap {
  [k: string]: Val | undefined
}
/** A string is UTF-8 bytes, a number an integer (BigInt throws on a fraction: use Flt). */
export type Val = Scalar | Val[] | Pairs | Flt | Raw | ValMap

/** The Ref a Val stands for. */
export function refOf(v: Val): WireRef {
  if (typeof v === 'string') return str(v)
  if (v instanceof Uint8Array) return { k: 'str', b: v }
  if (typeof v === 'number' || typeof v === 'bigint') return int(v)
  if (typeof v === 'boolean') return { k: 'bool', v }
  if (v === null) return { k: 'null' }
  if (v instanceof Flt) return { k: 'float', s: v.text }
  if (v instanceof Raw) return { k: 'raw', b: v.b }
  if (Array.isArray(v)) return { k: 'list', items: v.map(refOf) }
  const entries = v instanceof Pairs ? v.entries : Object.entries(v)
  const present = entries.filter((e): e is [Val, Val] => e[1] !== undefined)
  return { k: 'map', pairs: present.map(([k, x]): [WireRef, WireRef] => [refOf(k), refOf(x)]) }
}

/** A Val as tnetstring bytes (through refEncode). */
export const tn = (v: Val): Uint8Array<ArrayBuffer> => refEncode(refOf(v))
