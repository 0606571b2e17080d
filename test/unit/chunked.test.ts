// src/http/chunked.ts against the reference de-chunker in test/helpers/http-reference.ts:
// valid bodies fed split at every point with several maxData values, invalid bodies, limits,
// and an allocation guard.

import { describe, expect, test } from 'bun:test'
import { heapStats, memoryUsage } from 'bun:jsc'
import { CHUNK_LINE_SIZE_MAX_BYTES, CHUNK_TRAILER_SIZE_MAX_BYTES } from '../../src/limits.ts'
import {
  ChunkedDecoder,
  CHUNK_ERR_BARE_LF,
  CHUNK_ERR_DATA_CRLF,
  CHUNK_ERR_EXTENSION,
  CHUNK_ERR_LINE_TOO_LONG,
  CHUNK_ERR_SIZE,
  CHUNK_ERR_SIZE_TOO_LARGE,
  CHUNK_ERR_TRAILER,
  CHUNK_ERR_TRAILER_TOO_LARGE,
} from '../../src/http/chunked.ts'
import { bytesOf, latin1, refDechunk, REF_CHUNKED_INCOMPLETE } from '../helpers/http-reference.ts'

/** Bytes around each fragment: digits and line ends that would change the result if read. */
const PAD = '0\r\n5\n'
const LARGE_MAX = 1 << 20

interface Decoded {
  data: string
  /** Input bytes consumed over all fragments. */
  consumed: number
  done: boolean
  error: number
}

/**
 * Feeds `s` cut at `cuts` to one decoder, each piece in its own padded buffer, looping step()
 * like a connection would, and checks the step contract on every call.
 */
function decode(s: string, cuts: number[], maxData: number): Decoded {
  const dec = new ChunkedDecoder()
  const bounds = [0, ...cuts, s.length]
  let data = ''
  let consumed = 0
  for (let f = 0; f + 1 < bounds.length && !dec.done && dec.error === 0; f++) {
    const piece = PAD + s.slice(bounds[f], bounds[f + 1]) + PAD
    const buf = bytesOf(piece)
    const end = piece.length - PAD.length
    let pos = PAD.length
    while (pos < end && !dec.done && dec.error === 0) {
      const next = dec.step(buf, pos, end, maxData)
      // plain checks: expect() per step would dominate the run time
      if (next < pos || next > end) throw new Error(`step returned ${next} outside ${pos}..${end}`)
      const n = dec.dataEnd - dec.dataStart
      if (n > 0) {
        if (n > maxData) throw new Error(`${n} data bytes with maxData ${maxData}`)
        if (dec.dataStart < pos || dec.dataEnd > next) throw new Error('data outside the step')
        data += latin1(buf, dec.dataStart, dec.dataEnd)
      } else if (next === pos && !dec.done && dec.error === 0) {
        throw new Error('step made no progress')
      }
      consumed += next - pos
      pos = next
    }
  }
  return { data, consumed, done: dec.done, error: dec.error }
}

function binary(n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += String.fromCharCode((i * 7 + 13) & 0xff)
  return s
}

const BIG = binary(5000)
// the trailer section starts after the last-chunk line and ends with the final empty line
const TRAILER_FILL = CHUNK_TRAILER_SIZE_MAX_BYTES - 'X: \r\n\r\n'.length
const EXT_FILL = CHUNK_LINE_SIZE_MAX_BYTES - '5;'.length

const VALID: [string, string][] = [
  ['one chunk', '5\r\nhello\r\n0\r\n\r\n'],
  ['data holding CRLF', '4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n'],
  [
    'hex digits of both cases',
    'A\r\n0123456789\r\na\r\nabcdefghij\r\nF\r\n' + 'z'.repeat(15) + '\r\n0\r\n\r\n',
  ],
  ['leading zeros', '0005\r\nhello\r\n000\r\n\r\n'],
  ['extensions', '5;name=value\r\nhello\r\n3 ; a="q;uoted"\t\r\nabc\r\n0;last\r\n\r\n'],
  [
    'extensions: BWS around each part, quoted-pairs, several per line',
    '2 ;\ta = "x\\"y\\\\z" ; b=tok;c\t;d\r\nhi\r\n1;e="";f="\xe9 \t"\r\n!\r\n0\r\n\r\n',
  ],
  ['BWS before the line end', '5 \t\r\nhello\r\n0 \r\n\r\n'],
  ['trailers', '3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum:1\r\n\r\n'],
  ['every byte value', '100\r\n' + binary(256) + '\r\n0\r\n\r\n'],
  ['large chunk', '1388\r\n' + BIG + '\r\n1\r\n!\r\n0\r\n\r\n'],
  ['empty body', '0\r\n\r\n'],
  ['pipelined bytes after the body', '2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n'],
  ['trailer section of the maximum size', `0\r\nX: ${'t'.repeat(TRAILER_FILL)}\r\n\r\n`],
  ['size line of the maximum size', `5;${'e'.repeat(EXT_FILL)}\r\nhello\r\n0\r\n\r\n`],
  ['size 2^32-1 accepted', 'ffffffff\r\n'],
]

const INVALID: [string, string, number][] = [
  ['non-hex size', 'x\r\n', CHUNK_ERR_SIZE],
  ['empty size', '\r\n', CHUNK_ERR_SIZE],
  ['negative size', '-5\r\nhello\r\n', CHUNK_ERR_SIZE],
  ['0x prefix', '0x5\r\nhello\r\n', CHUNK_ERR_SIZE],
  ['size then junk', '5x\r\nhello\r\n', CHUNK_ERR_SIZE],
  ['junk after BWS', '5 x\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['CTL in extension', '5;a\x01\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['CTL in a quoted extension value', '5;a="\x0b"\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['DEL after a backslash', '5;a="\\\x7f"\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['empty extension name', '5;\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['empty extension value', '5;a=\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['unterminated quoted value', '5;a="x\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['junk after a quoted value', '5;a="x"y\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['extension name not a token', '5;a(b\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['bare LF ends the size line', '5\nhello\r\n0\r\n\r\n', CHUNK_ERR_BARE_LF],
  ['bare LF after BWS', '5 \nhello\r\n', CHUNK_ERR_BARE_LF],
  // the desync of issue 10: a proxy reading to the CRLF sees one chunk of 0x28 bytes
  ['bare LF inside an extension', '28;\naaaa\r\n0\r\n\r\n', CHUNK_ERR_EXTENSION],
  ['bare LF after an extension name', '28;x\naaaa\r\n0\r\n\r\n', CHUNK_ERR_BARE_LF],
  ['bare LF after an extension value', '5;a="b"\nhello\r\n', CHUNK_ERR_BARE_LF],
  ['bare LF after data', '5\r\nhello\n0\r\n\r\n', CHUNK_ERR_BARE_LF],
  ['bare LF everywhere', '3\nabc\n0\nX: y\n\n', CHUNK_ERR_BARE_LF],
  ['bare LF after the last-chunk', '0\n\r\n', CHUNK_ERR_BARE_LF],
  ['bare LF ending a trailer', '0\r\nX: y\n\r\n', CHUNK_ERR_BARE_LF],
  ['bare LF as the final line', '0\r\n\n', CHUNK_ERR_BARE_LF],
  ['CR CR LF after data', '5\r\nhello\r\r\n0\r\n\r\n', CHUNK_ERR_DATA_CRLF],
  ['vertical tab in the size line', '5\x0b\r\nhello\r\n', CHUNK_ERR_SIZE],
  ['NUL after BWS', '5 \x00\r\nhello\r\n', CHUNK_ERR_EXTENSION],
  ['bare CR in size line', '5\rhello\r\n', CHUNK_ERR_EXTENSION],
  ['size 2^32', '100000000\r\n', CHUNK_ERR_SIZE_TOO_LARGE],
  ['size of 17 hex digits', 'fffffffffffffffff\r\n', CHUNK_ERR_SIZE_TOO_LARGE],
  ['size line too long', `5;${'e'.repeat(EXT_FILL + 1)}\r\nhello\r\n`, CHUNK_ERR_LINE_TOO_LONG],
  ['no CRLF after data', '5\r\nhelloX\r\n0\r\n\r\n', CHUNK_ERR_DATA_CRLF],
  ['bare CR after data', '5\r\nhello\rX0\r\n\r\n', CHUNK_ERR_DATA_CRLF],
  ['data longer than its size', '3\r\nhello\r\n0\r\n\r\n', CHUNK_ERR_DATA_CRLF],
  ['obs-fold trailer', '0\r\nX: a\r\n b\r\n\r\n', CHUNK_ERR_TRAILER],
  ['SP before trailer colon', '0\r\nX : a\r\n\r\n', CHUNK_ERR_TRAILER],
  ['trailer without colon', '0\r\nNoColon\r\n\r\n', CHUNK_ERR_TRAILER],
  ['NUL in trailer value', '0\r\nX: \x00\r\n\r\n', CHUNK_ERR_TRAILER],
  ['bare CR in the final line', '0\r\n\rX\r\n', CHUNK_ERR_TRAILER],
  [
    'trailer section too large',
    `0\r\nX: ${'t'.repeat(TRAILER_FILL + 1)}\r\n\r\n`,
    CHUNK_ERR_TRAILER_TOO_LARGE,
  ],
]

describe('valid bodies == reference, split at every point', () => {
  for (const [name, s] of VALID) {
    test(name, () => {
      const ref = refDechunk(s)
      const complete = ref.code === 0
      if (!complete) expect(ref.code).toBe(REF_CHUNKED_INCOMPLETE)
      const want = (r: Decoded): void => {
        expect(r.error).toBe(0)
        expect(r.done).toBe(complete)
        if (complete) {
          expect(r.data).toBe(ref.data!)
          expect(r.consumed).toBe(ref.consumed)
        }
      }
      for (const maxData of [1, 3, LARGE_MAX]) {
        want(decode(s, [], maxData))
        for (let k = 0; k <= s.length; k++) want(decode(s, [k], maxData))
      }
      if (s.length <= 64) {
        // three pieces: every pair of cut points
        for (let a = 0; a <= s.length; a++) {
          for (let b = a; b <= s.length; b++) want(decode(s, [a, b], 3))
        }
      }
      // one byte per call
      const cuts: number[] = []
      for (let k = 1; k < s.length; k++) cuts.push(k)
      want(decode(s, cuts, LARGE_MAX))
    })
  }
})

describe('invalid bodies == reference, at every split point', () => {
  for (const [name, s, code] of INVALID) {
    test(name, () => {
      expect(refDechunk(s).code).toBe(code)
      for (const maxData of [1, LARGE_MAX]) {
        for (let k = 0; k <= s.length; k++) {
          const r = decode(s, [k], maxData)
          expect(r.error).toBe(code)
          expect(r.done).toBe(false)
        }
      }
    })
  }
})

describe('step contract', () => {
  test('one step reports one run of data and consumes the framing after it', () => {
    const buf = bytesOf('3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n')
    const dec = new ChunkedDecoder()
    let pos = dec.step(buf, 0, buf.length, LARGE_MAX)
    expect(latin1(buf, dec.dataStart, dec.dataEnd)).toBe('abc')
    expect(pos).toBe(11) // past "2\r\n": the next run starts here
    pos = dec.step(buf, pos, buf.length, LARGE_MAX)
    expect(latin1(buf, dec.dataStart, dec.dataEnd)).toBe('de')
    expect(dec.done).toBe(true)
    expect(pos).toBe(buf.length)
    expect(dec.bodyBytes).toBe(5)
  })

  test('maxData 0 stops at data without consuming it', () => {
    const buf = bytesOf('3\r\nabc\r\n0\r\n\r\n')
    const dec = new ChunkedDecoder()
    const pos = dec.step(buf, 0, buf.length, 0)
    expect(pos).toBe(3)
    expect(dec.dataEnd).toBe(dec.dataStart)
    expect(dec.step(buf, pos, buf.length, 0)).toBe(3)
    expect(dec.step(buf, pos, buf.length, 2)).toBe(5)
    expect(latin1(buf, dec.dataStart, dec.dataEnd)).toBe('ab')
  })

  test('done and error are sticky until reset()', () => {
    const ok = bytesOf('0\r\n\r\nmore')
    const dec = new ChunkedDecoder()
    expect(dec.step(ok, 0, ok.length, 10)).toBe(5)
    expect(dec.done).toBe(true)
    expect(dec.step(ok, 5, ok.length, 10)).toBe(5)
    const bad = bytesOf('z\r\n')
    dec.reset()
    expect(dec.done).toBe(false)
    dec.step(bad, 0, bad.length, 10)
    expect(dec.error).toBe(CHUNK_ERR_SIZE)
    expect(dec.step(bad, 1, bad.length, 10)).toBe(1)
    dec.reset()
    expect(dec.error).toBe(0)
    expect(dec.step(ok, 0, ok.length, 10)).toBe(5)
    expect(dec.done).toBe(true)
  })

  test('an empty range is a no-op', () => {
    const dec = new ChunkedDecoder()
    const buf = bytesOf('5\r\n')
    expect(dec.step(buf, 2, 2, 10)).toBe(2)
    expect(dec.error).toBe(0)
    expect(dec.done).toBe(false)
  })
})

/** xorshift32: a seeded PRNG so a failing mutation can be replayed. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x100000000
  }
}

test('seeded mutations, split at a random point: decoder == reference', () => {
  const rand = rng(0xc4c4)
  const alphabet = ' \t\r\n:;,="\\0aAfF9xZ\x00\x7f\xff-'
  const pick = (): string => alphabet[Math.floor(rand() * alphabet.length)]
  const bases = VALID.map(([, s]) => s).filter((s) => s.length < 200)
  let errors = 0
  for (let iter = 0; iter < 10_000; iter++) {
    let s = bases[Math.floor(rand() * bases.length)]
    for (let e = 1 + Math.floor(rand() * 3); e > 0; e--) {
      const at = Math.floor(rand() * s.length)
      const op = rand()
      if (op < 0.4) s = s.slice(0, at) + pick() + s.slice(at + 1)
      else if (op < 0.7) s = s.slice(0, at) + pick() + s.slice(at)
      else s = s.slice(0, at) + s.slice(at + 1)
    }
    const ref = refDechunk(s)
    const got = decode(s, [Math.floor(rand() * (s.length + 1))], 1 + Math.floor(rand() * 8))
    const code = got.error !== 0 ? got.error : got.done ? 0 : REF_CHUNKED_INCOMPLETE
    // The reference judges whole lines, so on a truncated bad line it still waits for more
    // where the decoder has already failed: the only disagreement allowed.
    if (ref.code === REF_CHUNKED_INCOMPLETE && code < 0) continue
    if (code !== ref.code) throw new Error(`${code} != ${ref.code} for ${JSON.stringify(s)}`)
    if (code === 0 && (got.data !== ref.data || got.consumed !== ref.consumed)) {
      throw new Error(`data or end differ for ${JSON.stringify(s)}`)
    }
    if (code < 0) errors++
  }
  expect(errors).toBeGreaterThan(1_000)
})

test('no allocation per decoded body', () => {
  let body = ''
  for (let i = 0; i < 16; i++) body += '400\r\n' + 'x'.repeat(1024) + '\r\n'
  const buf = bytesOf(body + '0\r\nX-Trailer: y\r\n\r\n')
  const dec = new ChunkedDecoder()
  let sink = 0
  const run = (iterations: number): void => {
    for (let i = 0; i < iterations; i++) {
      dec.reset()
      let pos = 0
      while (!dec.done && dec.error === 0) {
        pos = dec.step(buf, pos, buf.length, 4096)
        sink += dec.dataEnd - dec.dataStart
      }
    }
  }
  run(100_000) // warm up: JIT tier-up allocates, and must finish before measuring
  Bun.gc(true)
  const objectsBefore = heapStats().objectCount
  const bytesBefore = memoryUsage().current
  run(20_000)
  const grownBytes = memoryUsage().current - bytesBefore
  Bun.gc(true)
  expect(sink).toBe(120_000 * 16 * 1024)
  expect(heapStats().objectCount - objectsBefore).toBeLessThan(100)
  expect(grownBytes).toBeLessThan(1 << 20)
})
