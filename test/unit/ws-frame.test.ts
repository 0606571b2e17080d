// WebSocket frame header codec and UTF-8 validation (src/ws/frame.ts, src/ws/utf8.ts, validText
// of src/conn/ws-session.ts) against slow references: a plain bit-by-bit header decoder
// written from RFC 6455 5.2, and TextDecoder in fatal mode for UTF-8, fed at every split point.

import { describe, expect, test } from 'bun:test'
import {
  FrameHeader,
  decodeFrameHeader,
  unmask,
  writeFrameHeader,
  isValidCloseCode,
  WS_ERR_CONTROL,
  WS_ERR_LENGTH,
  WS_ERR_OPCODE,
  WS_ERR_RSV,
  WS_ERR_TOO_BIG,
  WS_ERR_UNMASKED,
} from '../../src/ws/frame.ts'
import { Utf8Validator } from '../../src/ws/utf8.ts'
import { validText } from '../../src/ws/utf8.ts'

/** Deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x1_0000_0000
  }
}

interface RefHeader {
  fin: boolean
  rsv1: boolean
  opcode: number
  masked: boolean
  mask: number
  len: number
  headerLen: number
}

/** RFC 6455 5.2 read literally, using BigInt for the 64-bit length. */
function refDecode(b: number[]): RefHeader | 'more' | 'error' {
  if (b.length < 2) return 'more'
  const fin = (b[0] >> 7) & 1
  const rsv = (b[0] >> 4) & 7
  const opcode = b[0] & 15
  const masked = (b[1] >> 7) & 1
  let len = BigInt(b[1] & 127)
  let p = 2
  if (rsv & 3) return 'error'
  if (![0, 1, 2, 8, 9, 10].includes(opcode)) return 'error'
  if (opcode >= 8 && (!fin || rsv & 4 || len > 125n)) return 'error'
  if (!masked) return 'error' // RFC 6455 5.1: a client frame is always masked
  if (len === 126n) {
    if (b.length < 4) return 'more'
    len = BigInt(b[2] * 256 + b[3])
    p = 4
  } else if (len === 127n) {
    if (b.length < 10) return 'more'
    len = 0n
    for (let i = 2; i < 10; i++) len = len * 256n + BigInt(b[i])
    if (len >= 1n << 63n) return 'error'
    if (len > BigInt(Number.MAX_SAFE_INTEGER)) return 'error'
    p = 10
  }
  let mask = 0
  if (masked) {
    if (b.length < p + 4) return 'more'
    mask = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0
    p += 4
  }
  return { fin: fin === 1, rsv1: (rsv & 4) !== 0, opcode, masked: masked === 1, mask, len: Number(len), headerLen: p }
}

function randomHeader(r: () => number): number[] {
  const kind = Math.floor(r() * 4)
  const out = [Math.floor(r() * 256)]
  if (r() < 0.7) out[0] = (out[0] & 0x8f) | (r() < 0.1 ? 0x40 : 0) // mostly valid RSV bits
  const masked = r() < 0.7 ? 0x80 : 0
  if (kind === 0) out.push(masked | Math.floor(r() * 126))
  else if (kind === 1) out.push(masked | 126, Math.floor(r() * 256), Math.floor(r() * 256))
  else {
    out.push(masked | 127)
    for (let i = 0; i < 8; i++) out.push(i < 2 && r() < 0.8 ? 0 : Math.floor(r() * 256))
  }
  if (masked) for (let i = 0; i < 4; i++) out.push(Math.floor(r() * 256))
  return out
}

describe('decodeFrameHeader', () => {
  test('agrees with the RFC 6455 reference on 20k random headers, at every truncation', () => {
    const r = rng(6455)
    const h = new FrameHeader()
    for (let n = 0; n < 20_000; n++) {
      const bytes = randomHeader(r)
      for (let cut = 0; cut <= bytes.length; cut++) {
        const part = bytes.slice(0, cut)
        const ref = refDecode(part)
        const got = decodeFrameHeader(new Uint8Array([0xee, ...part, 0xee]), 1, 1 + cut, h)
        if (ref === 'more') expect(got).toBe(0)
        else if (ref === 'error') expect(got).toBeLessThan(0)
        else {
          expect(got).toBe(ref.headerLen)
          expect([h.fin, h.rsv1, h.opcode, h.masked, h.mask, h.payloadLength]).toEqual([
            ref.fin,
            ref.rsv1,
            ref.opcode,
            ref.masked,
            ref.mask,
            ref.len,
          ])
        }
        if (ref !== 'more') break
      }
    }
  })

  test('names the error of each bad header', () => {
    const h = new FrameHeader()
    const d = (...b: number[]): number => decodeFrameHeader(new Uint8Array(b), 0, b.length, h)
    expect(d(0x83, 0x80, 0, 0, 0, 0)).toBe(WS_ERR_OPCODE)
    expect(d(0x8b, 0x80, 0, 0, 0, 0)).toBe(WS_ERR_OPCODE)
    expect(d(0xa1, 0x80, 0, 0, 0, 0)).toBe(WS_ERR_RSV)
    expect(d(0x09, 0x80, 0, 0, 0, 0)).toBe(WS_ERR_CONTROL) // fragmented ping
    expect(d(0xc9, 0x80, 0, 0, 0, 0)).toBe(WS_ERR_CONTROL) // compressed ping
    expect(d(0x89, 0xfe, 0, 126, 0, 0, 0, 0)).toBe(WS_ERR_CONTROL) // 126-byte ping (checklist 113)
    expect(d(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0)).toBe(WS_ERR_LENGTH)
    expect(d(0x82, 0xff, 0, 0x20, 0, 0, 0, 0, 0, 0)).toBe(WS_ERR_TOO_BIG)
    // RFC 6455 5.1: unmasked, known from the second byte whatever follows
    expect(d(0x81, 0x03, 0x61, 0x62, 0x63)).toBe(WS_ERR_UNMASKED)
    expect(d(0x89, 0x00)).toBe(WS_ERR_UNMASKED)
    expect(d(0x82, 0x7f)).toBe(WS_ERR_UNMASKED)
    expect(d(0x82, 0x7e)).toBe(WS_ERR_UNMASKED)
  })
})

describe('writeFrameHeader', () => {
  test('round-trips through the decoder with the shortest length form', () => {
    const h = new FrameHeader()
    const out = new Uint8Array(16)
    for (const len of [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      for (const op of [0, 1, 2]) {
        const n = writeFrameHeader(out, 0, len % 2 === 0, op === 1, op, len)
        expect(n).toBe(len < 126 ? 2 : len < 65536 ? 4 : 10)
        // A server frame is unmasked (5.1), which the client-frame decoder refuses; with the
        // mask bit and a key added it reads back.
        expect(decodeFrameHeader(out, 0, n, h)).toBe(WS_ERR_UNMASKED)
        out[1] |= 0x80
        out.set([1, 2, 3, 4], n)
        expect(decodeFrameHeader(out, 0, n + 4, h)).toBe(n + 4)
        expect([h.fin, h.rsv1, h.opcode, h.masked, h.mask, h.payloadLength]).toEqual([len % 2 === 0, op === 1, op, true, 0x01020304, len])
      }
    }
  })
})

describe('unmask', () => {
  test('unmasking in pieces at every split equals unmasking at once', () => {
    const r = rng(7)
    for (let round = 0; round < 200; round++) {
      const len = Math.floor(r() * 40)
      const data = Array.from({ length: len }, () => Math.floor(r() * 256))
      const mask = Math.floor(r() * 0x1_0000_0000) >>> 0
      const key = [mask >>> 24, (mask >>> 16) & 255, (mask >>> 8) & 255, mask & 255]
      const expected = data.map((b, i) => b ^ key[i % 4])
      for (let a = 0; a <= len; a++) {
        for (let b = a; b <= len; b++) {
          const buf = new Uint8Array([9, ...data, 9])
          unmask(buf, 1, 1 + a, mask, 0)
          unmask(buf, 1 + a, 1 + b, mask, a)
          unmask(buf, 1 + b, 1 + len, mask, b)
          expect(Array.from(buf)).toEqual([9, ...expected, 9])
        }
      }
    }
  })
})

describe('isValidCloseCode', () => {
  test('matches RFC 6455 7.4.1/7.4.2 and the IANA registry', () => {
    const ok = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014])
    for (let c = 0; c < 6000; c++) {
      expect(isValidCloseCode(c)).toBe(ok.has(c) || (c >= 3000 && c <= 4999))
    }
  })
})

const fatal = new TextDecoder('utf-8', { fatal: true })
function refValid(b: Uint8Array): boolean {
  try {
    fatal.decode(b)
    return true
  } catch {
    return false
  }
}

describe('Utf8Validator', () => {
  const samples: number[][] = [
    [...new TextEncoder().encode('héllo wörld € 𝄞 ok')],
    [0xc0, 0x80], // overlong NUL
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // surrogate
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0xf0, 0x9f, 0x98], // cut off
    [0xe2, 0x82, 0xac, 0x80], // stray continuation
    [0xf5],
    [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5],
  ]

  test('agrees with fatal TextDecoder on samples at every split point', () => {
    const v = new Utf8Validator()
    for (const s of samples) {
      const bytes = new Uint8Array(s)
      const want = refValid(bytes)
      for (let cut = 0; cut <= bytes.length; cut++) {
        v.reset()
        const got = v.update(bytes, 0, cut) && v.update(bytes, cut, bytes.length) && v.complete()
        expect(got).toBe(want)
      }
    }
  })

  test('agrees with fatal TextDecoder on 30k random byte strings fed in random pieces', () => {
    const r = rng(3629)
    const v = new Utf8Validator()
    for (let n = 0; n < 30_000; n++) {
      const len = Math.floor(r() * 12)
      const bytes = new Uint8Array(len)
      // Bias towards lead and continuation bytes so that near-valid sequences are common.
      for (let i = 0; i < len; i++) bytes[i] = r() < 0.5 ? 0x80 + Math.floor(r() * 0x75) : Math.floor(r() * 256)
      v.reset()
      let ok = true
      for (let pos = 0; pos < len && ok; ) {
        const step = 1 + Math.floor(r() * 3)
        ok = v.update(bytes, pos, Math.min(len, pos + step))
        pos += step
      }
      expect(ok && v.complete()).toBe(refValid(bytes))
    }
  })
})

// validText (src/ws/utf8.ts): the native fast path for long text pieces, fed at every
// split point and in random pieces, so code points cut between pieces and invalid bytes next to
// the cut are covered.

/** Valid text of about n bytes with 1- to 4-byte code points. */
function text(n: number, r: () => number): Uint8Array {
  const parts = ['a', 'é', '€', '𝄞', 'z', ' ']
  let s = ''
  while (s.length < n) s += parts[Math.floor(r() * parts.length)]
  return new TextEncoder().encode(s).subarray(0, n)
}

const BAD = [
  [0xc0, 0x80], // overlong NUL
  [0xe0, 0x80, 0x80], // overlong
  [0xed, 0xa0, 0x80], // surrogate
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0x80], // stray continuation
  [0xf5],
  [0xf0, 0x9f, 0x98], // cut off
]

/** Feeds b in the given pieces; true when the whole message is valid. */
function feed(v: Utf8Validator, b: Uint8Array, cuts: number[]): boolean {
  v.reset()
  let pos = 0
  for (const c of [...cuts, b.length]) {
    if (!validText(v, b, pos, c)) return false
    pos = c
  }
  return v.complete()
}

describe('validText', () => {
  test('agrees with fatal TextDecoder at every split point of long messages', () => {
    const r = rng(6455)
    const v = new Utf8Validator()
    const samples: Uint8Array[] = []
    const base = text(1100, r)
    samples.push(base)
    // a valid prefix cut inside its last code point: incomplete at the end
    samples.push(new TextEncoder().encode('a'.repeat(600) + '𝄞').subarray(0, 603))
    for (const bad of BAD) {
      for (const at of [0, 1, 300, 599, 600, 1096, 1097, 1098, 1099]) {
        const b = base.slice()
        b.set(bad.slice(0, b.length - at), at)
        samples.push(b)
      }
    }
    let checked = 0
    for (const b of samples) {
      const want = refValid(b)
      for (let cut = 0; cut <= b.length; cut++) {
        expect(feed(v, b, [cut])).toBe(want)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(60_000)
  })

  test('agrees with fatal TextDecoder on 3k random messages fed in random pieces', () => {
    const r = rng(3629)
    const v = new Utf8Validator()
    let invalid = 0
    for (let n = 0; n < 3000; n++) {
      const b = text(200 + Math.floor(r() * 3000), r)
      if (r() < 0.5) b[Math.floor(r() * b.length)] = Math.floor(r() * 256)
      const cuts: number[] = []
      for (let pos = Math.floor(r() * 1500); pos < b.length; pos += 1 + Math.floor(r() * 1500)) cuts.push(pos)
      const want = refValid(b)
      if (!want) invalid++
      expect(feed(v, b, cuts)).toBe(want)
    }
    expect(invalid).toBeGreaterThan(500) // both outcomes are exercised
  })
})

describe('unmask, word-wise path', () => {
  test('long payloads at every buffer alignment and mask phase equal the byte-wise reference', () => {
    const r = rng(5300)
    for (let round = 0; round < 300; round++) {
      const len = 64 + Math.floor(r() * 300)
      const data = Array.from({ length: len }, () => Math.floor(r() * 256))
      const mask = Math.floor(r() * 0x1_0000_0000) >>> 0
      const key = [mask >>> 24, (mask >>> 16) & 255, (mask >>> 8) & 255, mask & 255]
      const phase = Math.floor(r() * 4)
      const expected = data.map((b, i) => b ^ key[(i + phase) % 4]!)
      // A view at a random byte offset of a larger buffer, as pooled buffers are.
      const shift = Math.floor(r() * 8)
      const whole = new Uint8Array(len + 16)
      const view = whole.subarray(shift, shift + len + 8)
      view.set(data, 3)
      const cut = Math.floor(r() * len)
      unmask(view, 3, 3 + cut, mask, phase)
      unmask(view, 3 + cut, 3 + len, mask, phase + cut)
      expect(Array.from(view.subarray(3, 3 + len))).toEqual(expected)
      expect(whole[shift + 2]).toBe(0)
      expect(whole[shift + 3 + len]).toBe(0)
    }
  })
})
