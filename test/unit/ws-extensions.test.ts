// src/ws/extensions.ts against the outcomes recorded on condure (test/helpers/ws-extension-cases.ts,
// zhttp.md 5.1, 5.7, checklist 119-122) and against a slow reference written with strings and
// regular expressions, over generated, mutated and random offers.

import { describe, expect, test } from 'bun:test'
import { allocsPerOp, isAllocationFree } from '../../bench/util'
import {
  EXT_CLIENT_NO_CONTEXT_TAKEOVER,
  EXT_DEFLATE,
  EXT_MALFORMED,
  EXT_NONE,
  EXT_SERVER_NO_CONTEXT_TAKEOVER,
  extensionResponseValue,
  negotiateExtensions,
  writeExtensionResponse,
} from '../../src/ws/extensions.ts'
import { EXTENSION_CASES, EXTENSION_CASES_NO_COMPRESSION } from '../helpers/ws-extension-cases.ts'
import type { ExtensionOutcome } from '../helpers/ws-extension-cases.ts'
import { rng } from '../helpers/rng.ts'

/** Header value strings in the cases are one char per byte. */
const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
const text = (b: Uint8Array): string => String.fromCharCode(...b)

/** The fast parser over values placed at odd offsets of one buffer, with junk around. */
function fast(values: string[]): number {
  let result = EXT_NONE
  for (const v of values) {
    const bytes = latin1(v)
    const buf = new Uint8Array(bytes.length + 7)
    buf.fill(0x2c) // commas around the value: reading past [start, end) would change results
    buf.set(bytes, 3)
    result = negotiateExtensions(result, buf, 3, 3 + bytes.length)
  }
  return result
}

function outcomeOf(result: number): ExtensionOutcome {
  if (result === EXT_MALFORMED) return 'closed'
  if (result === EXT_NONE) return 'none'
  return text(extensionResponseValue(result))
}

// --- slow reference: strings and regular expressions, Condure's observed rules ---

/** Rust's char::is_whitespace (Unicode White_Space), which str::trim strips. */
const UWS = '[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]'
const TRIM = new RegExp(`^${UWS}+|${UWS}+$`, 'g')
const trim = (s: string): string => s.replace(TRIM, '')
const QUOTED = /^[ \t]*"([^"]*)"[ \t]*(?=[;,]|$)/
const KNOWN = ['client_no_context_takeover', 'server_no_context_takeover', 'client_max_window_bits', 'server_max_window_bits']

interface RefOffer {
  name: string
  params: [string, string][]
}

/** Offers of one value, or null when it is malformed. */
function refOffers(raw: string): RefOffer[] | null {
  let str: string
  try {
    str = new TextDecoder('utf-8', { fatal: true }).decode(latin1(raw))
  } catch {
    return null
  }
  const offers: RefOffer[] = []
  let rest = str
  for (;;) {
    const nameRaw = /^[^,;]*/.exec(rest)![0]
    rest = rest.slice(nameRaw.length)
    const name = trim(nameRaw)
    if (name === '') return null
    const params: [string, string][] = []
    while (rest.startsWith(';')) {
      rest = rest.slice(1)
      const keyRaw = /^[^=;,]*/.exec(rest)![0]
      rest = rest.slice(keyRaw.length)
      const key = trim(keyRaw)
      if (key === '') return null
      let value = ''
      if (rest.startsWith('=')) {
        rest = rest.slice(1)
        const q = QUOTED.exec(rest)
        if (q !== null) {
          value = q[1]!
          rest = rest.slice(q[0].length)
        } else if (/^[ \t]*"/.test(rest)) {
          return null
        } else {
          const bare = /^[^;,]*/.exec(rest)![0]
          rest = rest.slice(bare.length)
          value = trim(bare)
        }
      }
      params.push([key, value])
    }
    offers.push({ name, params })
    if (rest === '') return offers
    rest = rest.slice(1) // the comma
  }
}

/** Rust's u8 parse: NaN unless `+`? digits with a value up to 255. */
function rustU8(s: string): number {
  if (!/^\+?[0-9]+$/.test(s)) return NaN
  const n = Number.parseInt(s.replace(/^\+/, ''), 10)
  return n <= 255 ? n : NaN
}

/** ASCII letters to lower case, nothing else (names and keys ignore ASCII case only). */
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase())

function refAcceptable(offer: RefOffer): number {
  const o = { name: asciiLower(offer.name), params: offer.params.map(([k, v]): [string, string] => [asciiLower(k), v]) }
  if (o.name !== 'permessage-deflate') return EXT_NONE
  const keys = o.params.map(([k]) => k)
  if (new Set(keys).size !== keys.length || keys.some((k) => !KNOWN.includes(k))) return EXT_NONE
  const get = (k: string): string | undefined => o.params.find(([key]) => key === k)?.[1]
  for (const k of ['client_no_context_takeover', 'server_no_context_takeover']) {
    if (get(k) !== undefined && get(k) !== '') return EXT_NONE
  }
  const inRange = (v: string): boolean => rustU8(v) >= 8 && rustU8(v) <= 15
  const cbits = get('client_max_window_bits')
  if (cbits !== undefined && cbits !== '' && !inRange(cbits)) return EXT_NONE
  const sbits = get('server_max_window_bits')
  if (sbits !== undefined && (!inRange(sbits) || rustU8(sbits) !== 15)) return EXT_NONE
  let r = EXT_DEFLATE
  if (get('client_no_context_takeover') !== undefined) r |= EXT_CLIENT_NO_CONTEXT_TAKEOVER
  if (get('server_no_context_takeover') !== undefined) r |= EXT_SERVER_NO_CONTEXT_TAKEOVER
  return r
}

function reference(values: string[]): number {
  let result = EXT_NONE
  for (const v of values) {
    const offers = refOffers(v)
    if (offers === null) return EXT_MALFORMED
    for (const o of offers) if (result === EXT_NONE) result = refAcceptable(o)
  }
  return result
}

// --- generated offers ---

const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1')
const NAMES = ['permessage-deflate', 'permessage-deflate', 'permessage-deflate', 'foo', 'Permessage-Deflate', 'x y', '"q"', '']
const KEYS = [...KNOWN, ...KNOWN, 'Server_Max_Window_Bits', 'CLIENT_NO_CONTEXT_TAKEOVER', 'foo', '"client_no_context_takeover"', '']
const VALUES = [
  null, null, '', '15', '8', '9', '7', '16', '255', '256', '"15"', '" 15 "', '015', '+15', '++1', '+', 'x', '"a;b"',
  '"a,b"', '"unterminated', '""', '"a"b', '"15" ', '1 5', '-15', '0015', utf8('\u00a015'), utf8('"15"\u00a0'),
]
const SPACES = ['', '', '', ' ', '\t', '  ', utf8('\u00a0'), utf8('\u3000'), utf8('\u0085')]

function generatedValue(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
  const elements: string[] = []
  const count = 1 + Math.floor(r() * 3)
  for (let e = 0; e < count; e++) {
    let el = pick(SPACES) + pick(NAMES) + pick(SPACES)
    const params = Math.floor(r() * 4)
    for (let p = 0; p < params; p++) {
      const v = pick(VALUES)
      el += `;${pick(SPACES)}${pick(KEYS)}${pick(SPACES)}`
      if (v !== null) el += `=${pick(SPACES)}${v}${pick(SPACES)}`
    }
    elements.push(el)
  }
  return elements.join(',')
}

/** A byte alphabet rich in the grammar's separators, plus UTF-8 lead and odd bytes. */
const FUZZ_BYTES = [0x2c, 0x3b, 0x3d, 0x22, 0x20, 0x09, 0x5c, 0x61, 0x31, 0x35, 0x2b, 0xc2, 0xa0, 0x85, 0xe3, 0x80, 0xff, 0xc0]

function fuzzValue(r: () => number): string {
  const n = Math.floor(r() * 24)
  let s = ''
  for (let i = 0; i < n; i++) s += String.fromCharCode(FUZZ_BYTES[Math.floor(r() * FUZZ_BYTES.length)]!)
  return s
}

function mutate(r: () => number, s: string): string {
  const at = Math.floor(r() * (s.length + 1))
  const b = String.fromCharCode(FUZZ_BYTES[Math.floor(r() * FUZZ_BYTES.length)]!)
  const op = Math.floor(r() * 3)
  if (op === 0) return s.slice(0, at) + b + s.slice(at)
  if (op === 1) return s.slice(0, at) + s.slice(at + 1)
  return s.slice(0, at) + b + s.slice(at + 1)
}

describe('negotiateExtensions', () => {
  test('every case recorded on condure gives its outcome, or zgate its own (fast and reference)', () => {
    for (const [values, condure, zgate] of EXTENSION_CASES) {
      const want = zgate ?? condure
      expect([values, outcomeOf(fast(values))]).toEqual([values, want])
      expect([values, outcomeOf(reference(values))]).toEqual([values, want])
    }
  })

  test('malformed cases recorded without --compression are malformed here too (5.1)', () => {
    for (const [values, want] of EXTENSION_CASES_NO_COMPRESSION) {
      expect([values, fast(values) === EXT_MALFORMED]).toEqual([values, want === 'closed'])
    }
  })

  test('120-122: the doc cases', () => {
    expect(fast(['permessage-deflate; server_max_window_bits=10'])).toBe(EXT_NONE)
    const two = 'permessage-deflate; server_max_window_bits=10, permessage-deflate; client_no_context_takeover; server_no_context_takeover'
    expect(fast([two])).toBe(EXT_DEFLATE | EXT_CLIENT_NO_CONTEXT_TAKEOVER | EXT_SERVER_NO_CONTEXT_TAKEOVER)
    expect(fast(['permessage-deflate; foo=1', 'permessage-deflate; server_no_context_takeover'])).toBe(
      EXT_DEFLATE | EXT_SERVER_NO_CONTEXT_TAKEOVER,
    )
  })

  test('generated offers agree with the reference, alone and as two header lines', () => {
    const r = rng(7692)
    let accepted = 0
    let malformed = 0
    for (let i = 0; i < 20_000; i++) {
      const values = r() < 0.8 ? [generatedValue(r)] : [generatedValue(r), generatedValue(r)]
      const got = fast(values)
      if (got !== reference(values)) expect([values, got]).toEqual([values, reference(values)])
      if (got > 0) accepted++
      if (got === EXT_MALFORMED) malformed++
    }
    // The corpus exercises all three outcomes in bulk.
    expect(accepted).toBeGreaterThan(1000)
    expect(malformed).toBeGreaterThan(1000)
  })

  test('mutated recorded cases and random bytes agree with the reference', () => {
    const r = rng(6455)
    const seeds = EXTENSION_CASES.map(([values]) => values[0]!)
    for (let i = 0; i < 30_000; i++) {
      let v: string
      if (i % 3 === 0) v = fuzzValue(r)
      else {
        v = seeds[i % seeds.length]!
        const edits = 1 + Math.floor(r() * 3)
        for (let k = 0; k < edits; k++) v = mutate(r, v)
      }
      const got = fast([v])
      if (got !== reference([v])) expect([v, got]).toEqual([v, reference([v])])
    }
  })

  test('reads only [start, end): the same value at every offset of a larger buffer', () => {
    const v = latin1('permessage-deflate; client_no_context_takeover')
    for (const junk of [0x2c, 0x3b, 0x22, 0x20]) {
      for (let at = 0; at < 5; at++) {
        const buf = new Uint8Array(v.length + 10).fill(junk)
        buf.set(v, at)
        expect(negotiateExtensions(EXT_NONE, buf, at, at + v.length)).toBe(EXT_DEFLATE | EXT_CLIENT_NO_CONTEXT_TAKEOVER)
      }
    }
  })

  test('a malformed earlier value stays malformed; an accepted one is kept', () => {
    const good = latin1('permessage-deflate')
    const other = latin1('permessage-deflate; server_no_context_takeover')
    expect(negotiateExtensions(EXT_MALFORMED, good, 0, good.length)).toBe(EXT_MALFORMED)
    expect(negotiateExtensions(EXT_DEFLATE, other, 0, other.length)).toBe(EXT_DEFLATE)
  })

  test('allocates nothing', () => {
    const v = latin1('foo; bar="x,y", permessage-deflate; client_max_window_bits; server_max_window_bits=15; client_no_context_takeover')
    let sink = 0
    const row = allocsPerOp('negotiate', 1_000_000, () => {
      sink += negotiateExtensions(EXT_NONE, v, 0, v.length)
    })
    expect(sink).toBeGreaterThan(0)
    expect(isAllocationFree(row), JSON.stringify(row)).toBe(true)
  })
})

describe('response value', () => {
  test('permessage-deflate, then the asked no_context_takeover params, client first', () => {
    const C = EXT_CLIENT_NO_CONTEXT_TAKEOVER
    const S = EXT_SERVER_NO_CONTEXT_TAKEOVER
    expect(text(extensionResponseValue(EXT_DEFLATE))).toBe('permessage-deflate')
    expect(text(extensionResponseValue(EXT_DEFLATE | C))).toBe('permessage-deflate; client_no_context_takeover')
    expect(text(extensionResponseValue(EXT_DEFLATE | S))).toBe('permessage-deflate; server_no_context_takeover')
    expect(text(extensionResponseValue(EXT_DEFLATE | C | S))).toBe(
      'permessage-deflate; client_no_context_takeover; server_no_context_takeover',
    )
  })

  test('writeExtensionResponse writes at an offset and returns the end', () => {
    const out = new Uint8Array(100).fill(0x2a)
    const end = writeExtensionResponse(EXT_DEFLATE | EXT_SERVER_NO_CONTEXT_TAKEOVER, out, 5)
    expect(text(out.subarray(5, end))).toBe('permessage-deflate; server_no_context_takeover')
    expect(out[4]).toBe(0x2a)
    expect(out[end]).toBe(0x2a)
  })

  test('refuses results without an accepted offer', () => {
    expect(() => extensionResponseValue(EXT_NONE)).toThrow(RangeError)
    expect(() => extensionResponseValue(EXT_MALFORMED)).toThrow(RangeError)
  })
})
