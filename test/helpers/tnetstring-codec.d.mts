// Types for tnetstring-codec.mjs (the reference tnetstring codec, plain JavaScript so that the
// Node handler peers can load it).

/** Reference values with `X` as an extra kind (see Ref and WireRef). */
export type RefOf<X> =
  | { k: 'str'; b: Uint8Array }
  | { k: 'int'; n: bigint }
  | { k: 'float'; s: string }
  | { k: 'bool'; v: boolean }
  | { k: 'null' }
  | { k: 'list'; items: RefOf<X>[] }
  | { k: 'map'; pairs: [RefOf<X>, RefOf<X>][] }
  | X

/** Reference values: bytes, int (bigint), float (its text), bool, null, list, map (pairs). */
export type Ref = RefOf<never>
/** What refEncode takes: a Ref, where any element may also be bytes written as they are. */
export type WireRef = RefOf<{ k: 'raw'; b: Uint8Array }>

/** The reference decoder rejected its input (the message names the rule). */
export class RefError extends Error {}

export function latin1(b: Uint8Array): string
export function bytesOf(s: string): Uint8Array<ArrayBuffer>
/** A UTF-8 string value. */
export function str(s: string): Ref
export function int(n: number | bigint | string): Ref
export function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer>
/** Decodes the value at b[pos], bounded by `end`; `next` is the offset after it. */
export function refDecode(b: Uint8Array, pos: number, end: number): { v: Ref; next: number }
export function refEncode(v: WireRef): Uint8Array<ArrayBuffer>

/** A JSON value in the peers' mapping (zhttp-peer.mjs header). */
export type CodecJson = string | number | boolean | null | CodecJson[] | { [key: string]: CodecJson }
export function isPlainObject(v: unknown): v is Record<string, unknown>
export function encode(v: CodecJson): Buffer
export function bytesToJson(b: Uint8Array): string | { $b64: string }
export function decodePayload(payload: Uint8Array): { packet: CodecJson; error?: string; trailing?: number }
