// Fuzzing of the ZHTTP packet parser (src/zhttp/packet.ts, parseHandlerPacket). Generated
// handler packets (every known field with its zhttp.md type, unknown keys, keys in any order)
// are encoded with the reference codec and must parse to exactly the generated fields; random,
// truncated and mutated packets must give PACKET_OK or an error code, never a throw, and the
// same answer wherever the packet sits in a buffer. Packets stay under a few KiB and the parser
// advances at least one byte per step, so each case is bounded in time by construction.

import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { PACKET_HEADERS_MAX, PACKET_IDS_MAX } from '../../src/limits.ts'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { PACKET_OK } from '../../src/zhttp/packet-errors.ts'
import { TYPE_DATA, TYPE_UNKNOWN } from '../../src/zhttp/packet-types.ts'
import { bytesOf, concat, Pairs, tn, type Val } from '../helpers/tnetstring-reference.ts'
import { fuzzParams } from './fuzz-config.ts'

/** `type` values in TYPE_* order (zhttp.md 3.1); '' is data. */
const TYPES = ['', 'error', 'credit', 'keep-alive', 'cancel', 'handoff-start', 'handoff-proceed', 'close', 'ping', 'pong']

interface Spec {
  from?: string
  id?: string | { id: string; seq?: number }[]
  seq?: number
  type?: string
  code?: number
  reason?: string
  headers?: [string, Uint8Array][]
  contentType?: string
  body?: Uint8Array
  credits?: number
  more?: boolean
  stream?: boolean
  condition?: string
  unknown: [string, Val][]
}

const NAT = fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom(0, 2 ** 31, Number.MAX_SAFE_INTEGER))
const ID = fc.stringMatching(/^[0-9]-[0-9]{1,3}-[0-9a-f]{1,4}$/)
const VALUE: fc.Arbitrary<Val> = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 5 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
)

const SPEC: fc.Arbitrary<Spec> = fc.record(
  {
    from: fc.string({ maxLength: 10 }),
    id: fc.oneof(ID, fc.array(fc.record({ id: ID, seq: NAT }, { requiredKeys: ['id'] }), { minLength: 1, maxLength: 4 })),
    seq: NAT,
    type: fc.oneof(fc.constantFrom(...TYPES), fc.constantFrom('Cancel', 'pang', 'x')),
    code: NAT,
    reason: fc.string({ maxLength: 8 }),
    headers: fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 })), { maxLength: 5 }),
    contentType: fc.constantFrom('binary', 'text', ''),
    body: fc.uint8Array({ maxLength: 64 }),
    credits: NAT,
    more: fc.boolean(),
    stream: fc.boolean(),
    condition: fc.constantFrom('rejected', 'bad-request', ''),
    unknown: fc.array(fc.tuple(fc.constantFrom('x-extra', 'user-data', 'peer-address', 'max-size', 'timeout', 'ext'), VALUE), { maxLength: 2 }),
  },
  { requiredKeys: ['unknown'] },
).map((s) => ({
  ...s,
  // peer-address, max-size, timeout and ext are known keys with fixed types: give them theirs
  unknown: s.unknown.map(([k, v]): [string, Val] =>
    k === 'peer-address' ? [k, '127.0.0.1'] : k === 'max-size' || k === 'timeout' ? [k, 5] : k === 'ext' ? [k, { multi: true }] : [k, v],
  ),
}))

/** The spec's entries in a shuffled order (`order` holds one sort key per entry). */
function encode(s: Spec, order: number[]): Uint8Array {
  const entries: [Val, Val][] = []
  if (s.from !== undefined) entries.push(['from', s.from])
  if (s.id !== undefined) entries.push(['id', typeof s.id === 'string' ? s.id : s.id.map((e) => ({ ...e }))])
  if (s.seq !== undefined) entries.push(['seq', s.seq])
  if (s.type !== undefined) entries.push(['type', s.type])
  if (s.code !== undefined) entries.push(['code', s.code])
  if (s.reason !== undefined) entries.push(['reason', s.reason])
  if (s.headers !== undefined) entries.push(['headers', s.headers.map(([n, v]) => [n, v])])
  if (s.contentType !== undefined) entries.push(['content-type', s.contentType])
  if (s.body !== undefined) entries.push(['body', s.body])
  if (s.credits !== undefined) entries.push(['credits', s.credits])
  if (s.more !== undefined) entries.push(['more', s.more])
  if (s.stream !== undefined) entries.push(['stream', s.stream])
  if (s.condition !== undefined) entries.push(['condition', s.condition])
  // each unknown key once: a repeat would overwrite (last wins), which this spec does not model
  const seen = new Set<string>()
  for (const [k, v] of s.unknown) if (!seen.has(k)) seen.add(k) && entries.push([k, v])
  const keyed = entries.map((e, i) => ({ e, key: order[i % order.length] ?? 0 }))
  keyed.sort((a, b) => a.key - b.key)
  return concat([bytesOf('T'), tn(new Pairs(keyed.map((k) => k.e)))])
}

const utf8 = new TextEncoder()
const hex = (b: Uint8Array, s: number, e: number): string => (s < 0 ? '-' : Buffer.from(b.subarray(s, e)).toString('hex'))
const hexOf = (v: string | Uint8Array | undefined): string => (v === undefined ? '-' : Buffer.from(typeof v === 'string' ? utf8.encode(v) : v).toString('hex'))

/** What the parser extracted, in a comparable shape. */
function fieldsOf(p: HandlerPacket) {
  const ids = Array.from({ length: p.idCount }, (_, i) => [hex(p.buf, p.idStart[i], p.idEnd[i]), p.idSeq[i]])
  const headers = Array.from({ length: p.headerCount }, (_, i) => [
    hex(p.buf, p.headerNameStart[i], p.headerNameEnd[i]),
    hex(p.buf, p.headerValueStart[i], p.headerValueEnd[i]),
  ])
  return {
    from: hex(p.buf, p.fromStart, p.fromEnd),
    ids,
    type: p.type,
    code: p.code,
    reason: hex(p.buf, p.reasonStart, p.reasonEnd),
    headers,
    body: hex(p.buf, p.bodyStart, p.bodyEnd),
    credits: p.credits,
    more: p.more,
    stream: p.stream,
    contentType: [p.hasContentType, p.binary],
    condition: hex(p.buf, p.conditionStart, p.conditionEnd),
  }
}

/** The fields a correct parser extracts from the spec (zhttp.md 3.1-3.9). */
function expectedFields(s: Spec): ReturnType<typeof fieldsOf> {
  const seq = s.seq ?? -1
  const ids =
    s.id === undefined ? [] : typeof s.id === 'string' ? [[hexOf(s.id), seq]] : s.id.map((e) => [hexOf(e.id), e.seq ?? -1])
  const typeIndex = s.type === undefined ? TYPE_DATA : TYPES.indexOf(s.type)
  return {
    from: hexOf(s.from),
    ids,
    type: typeIndex < 0 ? TYPE_UNKNOWN : typeIndex,
    code: s.code ?? -1,
    reason: hexOf(s.reason),
    headers: (s.headers ?? []).map(([n, v]) => [hexOf(n), hexOf(v)]),
    body: hexOf(s.body),
    credits: s.credits ?? -1,
    more: s.more ?? false,
    stream: s.stream ?? false,
    contentType: [s.contentType !== undefined, s.contentType === 'binary'],
    condition: hexOf(s.condition),
  }
}

/** Parses `b` alone and inside a larger buffer with junk around; both answers must match. */
function parseBoth(b: Uint8Array): { code: number; fields: ReturnType<typeof fieldsOf> | null } {
  const p = new HandlerPacket()
  const code = parseHandlerPacket(b, 0, b.length, p)
  const fields = code === PACKET_OK ? fieldsOf(p) : null
  const pad = 5
  const framed = new Uint8Array(pad + b.length + pad).fill(0x7d) // '}'
  framed.set(b, pad)
  const q = new HandlerPacket()
  const code2 = parseHandlerPacket(framed, pad, pad + b.length, q)
  expect(code2).toBe(code)
  if (code === PACKET_OK) expect(fieldsOf(q)).toEqual(fields as ReturnType<typeof fieldsOf>)
  return { code, fields }
}

const MUTATION = fc.tuple(
  fc.constantFrom('flip', 'insert', 'delete', 'cut'),
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  fc.constantFrom(0x30, 0x39, 0x3a, 0x2c, 0x23, 0x21, 0x7e, 0x5d, 0x7d, 0x2d, 0x54, 0x00, 0xc0, 0xff),
)

function mutate(b: Uint8Array, [kind, at, byte]: [string, number, number]): Uint8Array {
  const i = Math.floor(at * (b.length + 1))
  if (kind === 'cut') return b.slice(0, i)
  if (kind === 'insert') return concat([b.subarray(0, i), Uint8Array.of(byte), b.subarray(i)])
  if (i >= b.length) return b
  if (kind === 'delete') return concat([b.subarray(0, i), b.subarray(i + 1)])
  const out = b.slice()
  out[i] = byte
  return out
}

const ORDER = fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 20 })

describe('ZHTTP packet parser fuzzing', () => {
  const valid = fuzzParams<[Spec, number[]]>('zhttp packets', 400, 0.05)
  test(
    'generated packets parse to exactly their fields, wherever they sit in a buffer',
    () => {
      expect(PACKET_IDS_MAX).toBeGreaterThan(4) // the generator stays under both limits
      expect(PACKET_HEADERS_MAX).toBeGreaterThan(5)
      fc.assert(
        fc.property(SPEC, ORDER, (s, order) => {
          const { code, fields } = parseBoth(encode(s, order))
          expect(code).toBe(PACKET_OK)
          expect(fields).toEqual(expectedFields(s))
        }),
        valid.params,
      )
    },
    valid.timeoutMs,
  )

  const hostile = fuzzParams<[Spec, number[], [string, number, number][]]>('zhttp packet mutations', 600, 0.05)
  test(
    'truncated and mutated packets: OK or an error code, never a throw, same answer at any offset',
    () => {
      fc.assert(
        fc.property(SPEC, ORDER, fc.array(MUTATION, { minLength: 1, maxLength: 3 }), (s, order, muts) => {
          const b = muts.reduce(mutate, encode(s, order))
          const { code } = parseBoth(b)
          expect(code === PACKET_OK || code < 0).toBe(true)
        }),
        hostile.params,
      )
    },
    hostile.timeoutMs,
  )
})
