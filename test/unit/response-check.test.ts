// Handler response checks (src/http/response-check.ts) against a slow reference written from
// the RFC grammar with regular expressions, and the length discipline of composeResponse
// (src/conn/response-writer.ts): a body may never run past, or stop short of, the length
// the head announced without the caller being told.

import { describe, expect, test } from 'bun:test'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { PACKET_OK } from '../../src/zhttp/packet-errors.ts'
import {
  checkResponseHead,
  INVALID_BODY_OVER_LENGTH,
  INVALID_BODY_UNDER_LENGTH,
  INVALID_CONTENT_LENGTH,
  INVALID_HEADER_NAME,
  INVALID_HEADER_VALUE,
  INVALID_NONE,
  INVALID_REASON,
  INVALID_STATUS,
} from '../../src/http/response-check.ts'
import { composeResponse, composed } from '../../src/conn/response-writer.ts'
import type { ResponseState } from '../../src/conn/response-writer.ts'
import { FRAMING_NONE } from '../../src/http/response-head.ts'
import { bytesOf, concat, latin1, tn, type Val } from '../helpers/tnetstring-reference.ts'
import { rng as mulberry } from '../helpers/rng.ts'
import { allocsPerOp, isAllocationFree } from '../../bench/util'

/** Uniform integers in [0, m) from a seeded generator. */
type Rng = { int(m: number): number }
const seeded = (seed: number): Rng => {
  const next = mulberry(seed)
  return { int: (m) => Math.floor(next() * m) }
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const TEXT_RE = /^[\t\x20-\x7e\x80-\xff]*$/

/** The reference: RFC 9112 4 status-line and RFC 9110 5.1, 5.5 field grammar, as regexes. */
function reference(code: number | undefined, reason: string | undefined, headers: [string, string][], switching: boolean): number {
  const c = code ?? -1
  if (!(switching && c === 101) && !(c >= 200 && c <= 999)) return INVALID_STATUS
  if (reason !== undefined && !TEXT_RE.test(reason)) return INVALID_REASON
  for (const [n, v] of headers) {
    if (!TOKEN_RE.test(n)) return INVALID_HEADER_NAME
    if (!TEXT_RE.test(v)) return INVALID_HEADER_VALUE
  }
  return INVALID_NONE
}

/** Latin1 text to the exact bytes (the reference encoder writes strings as UTF-8). */
const raw = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0))

function packet(fields: { [k: string]: Val }, p = new HandlerPacket()): HandlerPacket {
  const bytes = concat([bytesOf('T'), tn({ from: 'h', id: '0-0-0', seq: 0, ...fields })])
  expect(parseHandlerPacket(bytes, 0, bytes.length, p)).toBe(PACKET_OK)
  return p
}

function headFields(code: number | undefined, reason: string | undefined, headers: [string, string][]): { [k: string]: Val } {
  const f: { [k: string]: Val } = {}
  if (code !== undefined) f.code = code
  if (reason !== undefined) f.reason = raw(reason)
  if (headers.length > 0) f.headers = headers.map(([n, v]) => [raw(n), raw(v)])
  return f
}

function headPacket(code: number | undefined, reason: string | undefined, headers: [string, string][]): HandlerPacket {
  return packet(headFields(code, reason, headers))
}

/** The packet, or null when the parser drops it first (a header name that is not UTF-8). */
function maybePacket(fields: { [k: string]: Val }): HandlerPacket | null {
  const bytes = concat([bytesOf('T'), tn({ from: 'h', id: '0-0-0', seq: 0, ...fields })])
  const p = new HandlerPacket()
  return parseHandlerPacket(bytes, 0, bytes.length, p) === PACKET_OK ? p : null
}

// Bytes that matter to the grammar, over-represented: controls, separators, DEL, obs-text.
const SPECIAL = [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x22, 0x28, 0x2c, 0x3a, 0x3b, 0x7f, 0x80, 0xff, 0x7e, 0x21, 0x7c]

/** Mostly letters; one text in four has special or random bytes mixed in. */
function randomText(rng: Rng, max: number): string {
  const n = rng.int(max + 1)
  const hostile = rng.int(4) === 0
  let s = ''
  for (let i = 0; i < n; i++) {
    const r = hostile ? rng.int(3) : 2
    s += String.fromCharCode(r === 0 ? SPECIAL[rng.int(SPECIAL.length)]! : r === 1 ? rng.int(256) : 0x61 + rng.int(26))
  }
  return s
}

describe('checkResponseHead', () => {
  test('known cases', () => {
    const ok: [string, string][] = [['Content-Type', 'text/plain'], ['X-T', 'a\tb \x80\xff'], ["!#$%&'*+-.^_`|~", '']]
    expect(checkResponseHead(headPacket(200, 'OK', ok), false)).toBe(INVALID_NONE)
    expect(checkResponseHead(headPacket(999, 'r\x80', []), false)).toBe(INVALID_NONE)
    expect(checkResponseHead(headPacket(200, undefined, []), false)).toBe(INVALID_NONE)
    for (const code of [undefined, 0, 99, 100, 101, 103, 199, 1000, 65536]) {
      expect(checkResponseHead(headPacket(code, 'X', []), false)).toBe(INVALID_STATUS)
    }
    expect(checkResponseHead(headPacket(101, 'Switching Protocols', []), true)).toBe(INVALID_NONE)
    expect(checkResponseHead(headPacket(100, 'Continue', []), true)).toBe(INVALID_STATUS)
    expect(checkResponseHead(headPacket(200, 'OK\r\nSet-Cookie: a=b', []), false)).toBe(INVALID_REASON)
    expect(checkResponseHead(headPacket(200, 'OK\x7f', []), false)).toBe(INVALID_REASON)
    for (const name of ['', 'X Y', 'X:', 'X\r\nY', 'X\0', 'X\x7f', 'X(', 'X"', 'X\xc3\xa9']) {
      expect(checkResponseHead(headPacket(200, 'OK', [['A', 'b'], [name, 'v']]), false)).toBe(INVALID_HEADER_NAME)
    }
    for (const value of ['a\r\nSet-Cookie: x=1', 'a\nb', 'a\rb', 'a\0b', 'a\x01', 'a\x7f', '\x1b[31m']) {
      expect(checkResponseHead(headPacket(200, 'OK', [['X', value]]), false)).toBe(INVALID_HEADER_VALUE)
    }
  })

  test('agrees with the grammar reference on random heads', () => {
    const rng = seeded(0x8e5a)
    const codes = [undefined, 0, 100, 101, 199, 200, 200, 204, 404, 599, 999, 999, 1000, -1]
    let invalid = 0
    let unparsed = 0
    for (let i = 0; i < 5000; i++) {
      const code = codes[rng.int(codes.length)]
      const reason = rng.int(4) === 0 ? undefined : randomText(rng, 12)
      const headers: [string, string][] = []
      for (let h = rng.int(5); h > 0; h--) headers.push([randomText(rng, 6), randomText(rng, 10)])
      const switching = rng.int(2) === 0
      const want = reference(code === -1 ? undefined : code, reason, headers, switching)
      const p = maybePacket(headFields(code === -1 ? undefined : code, reason, headers))
      if (p === null) {
        unparsed++
        continue
      }
      const got = checkResponseHead(p, switching)
      if (got !== want) throw new Error(`${JSON.stringify({ code, reason, headers, switching })}: got ${got}, want ${want}`)
      if (got !== INVALID_NONE) invalid++
    }
    // Both outcomes are well represented.
    const valid = 5000 - unparsed - invalid
    expect(Math.min(valid, invalid)).toBeGreaterThan(500)
  })
})

test('checkResponseHead allocates nothing', () => {
  const p = headPacket(200, 'OK', [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1; Path=/'], ['X-Bad', 'a\r\nb']])
  let sink = 0
  const row = allocsPerOp('checkResponseHead', 1_000_000, () => {
    sink += checkResponseHead(p, false)
  })
  expect(sink).toBeGreaterThanOrEqual(1_000_000 * INVALID_HEADER_VALUE) // every call found the bad value
  expect(isAllocationFree(row), JSON.stringify(row)).toBe(true)
})

describe('composeResponse keeps the body to the announced length', () => {
  const fresh = (o: Partial<ResponseState> = {}): ResponseState => ({
    respStarted: false,
    framing: FRAMING_NONE,
    keepAlive: true,
    http10: false,
    headRequest: false,
    lengthLeft: 0,
    ...o,
  })
  const out = new Uint8Array(1 << 16)
  const write = (st: ResponseState, f: { [k: string]: Val }): string | null => {
    const n = composeResponse(out, packet(f), st)
    return n < 0 ? null : latin1(out.subarray(0, n))
  }

  test('an exact length over several packets is written and keeps the connection', () => {
    const st = fresh()
    expect(write(st, { code: 200, reason: 'OK', headers: [['Content-Length', '10']], body: '0123', more: true })).toBe(
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123',
    )
    expect(write(st, { body: '456', more: true })).toBe('456')
    expect(write(st, { body: '789' })).toBe('789')
    expect(composed.invalid).toBe(INVALID_NONE)
    expect(st.keepAlive).toBe(true)
    expect(st.lengthLeft).toBe(0)
  })

  test('in the first packet, too much or too little body is refused before any byte', () => {
    for (const [cl, body, why] of [
      ['2', 'abcdef', INVALID_BODY_OVER_LENGTH],
      ['9', 'abc', INVALID_BODY_UNDER_LENGTH],
      ['abc', 'x', INVALID_CONTENT_LENGTH],
      ['-1', 'x', INVALID_CONTENT_LENGTH],
    ] as const) {
      const st = fresh()
      expect(write(st, { code: 200, headers: [['Content-Length', cl]], body })).toBeNull()
      expect(composed.invalid).toBe(why)
      expect(st.respStarted).toBe(false)
    }
    const st = fresh()
    expect(write(st, { code: 200, headers: [['Content-Length', '3'], ['content-length', '4']], body: 'abc' })).toBeNull()
    expect(composed.invalid).toBe(INVALID_CONTENT_LENGTH)
    // Two equal values are one length.
    expect(write(fresh(), { code: 200, headers: [['Content-Length', '3'], ['content-length', ' 3']], body: 'abc' })).toEndWith('\r\n\r\nabc')
  })

  test('later: a packet past the length is refused whole; an early end is written, then no reuse', () => {
    const over = fresh()
    expect(write(over, { code: 200, headers: [['Content-Length', '5']], body: 'abc', more: true })).toEndWith('abc')
    expect(write(over, { body: 'defg', more: true })).toBeNull()
    expect(composed.invalid).toBe(INVALID_BODY_OVER_LENGTH)
    const under = fresh()
    expect(write(under, { code: 200, headers: [['Content-Length', '5']], body: 'abc', more: true })).toEndWith('abc')
    expect(under.keepAlive).toBe(true)
    expect(write(under, { body: 'd' })).toBe('d')
    expect(composed.invalid).toBe(INVALID_BODY_UNDER_LENGTH)
    expect(under.keepAlive).toBe(false)
  })

  test('HEAD: the announced length stands, body bytes are never written', () => {
    const st = fresh({ headRequest: true })
    expect(write(st, { code: 200, headers: [['Content-Length', '100']] })).toBe('HTTP/1.1 200 \r\nContent-Length: 100\r\n\r\n')
    expect(composed.invalid).toBe(INVALID_NONE)
    const b = fresh({ headRequest: true })
    expect(write(b, { code: 200, body: 'hello' })).toBe('HTTP/1.1 200 \r\nContent-Length: 5\r\n\r\n')
    expect(composed.bodyWritten).toBe(0)
    expect(b.keepAlive).toBe(true)
  })
})
