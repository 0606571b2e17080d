// The test-side WebSocket frame codec (test/helpers/ws-frame.ts) against the examples of
// RFC 6455 5.7 and RFC 7692 7.2.3.1, so the e2e tests' own reference is itself checked, plus
// the deflate reference (ws-deflate.ts) against RFC 7692's sample bytes.

import { describe, expect, test } from 'bun:test'
import { deflateMessage, inflateAlone, inflateMessages } from '../helpers/ws-deflate.ts'
import {
  acceptFor,
  buildFrame,
  closePayload,
  concat,
  messagesOf,
  OP_BINARY,
  OP_CONT,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  parseClose,
  parseFrameAt,
  parseFrames,
  RSV1,
  text,
} from '../helpers/ws-frame.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('ws-frame reference codec', () => {
  test('RFC 6455 5.7 examples', () => {
    expect(hex(buildFrame({ opcode: OP_TEXT, payload: 'Hello', mask: false }))).toBe('810548656c6c6f')
    // The RFC's masked example uses the key 37 fa 21 3d, which is TEST_MASK.
    expect(hex(buildFrame({ opcode: OP_TEXT, payload: 'Hello' }))).toBe('818537fa213d7f9f4d5158')
    expect(hex(buildFrame({ opcode: OP_TEXT, payload: 'Hel', fin: false, mask: false }))).toBe('010348656c')
    expect(hex(buildFrame({ opcode: OP_CONT, payload: 'lo', mask: false }))).toBe('80026c6f')
    expect(hex(buildFrame({ opcode: OP_PING, payload: 'Hello', mask: false }))).toBe('890548656c6c6f')
    expect(hex(buildFrame({ opcode: OP_PONG, payload: 'Hello' }))).toBe('8a8537fa213d7f9f4d5158')
    expect(hex(buildFrame({ opcode: OP_BINARY, payload: new Uint8Array(256), mask: false }).subarray(0, 4))).toBe('827e0100')
    expect(hex(buildFrame({ opcode: OP_BINARY, payload: new Uint8Array(65536), mask: false }).subarray(0, 10))).toBe('827f0000000000010000')
  })

  test('RFC 6455 1.3 accept example', () => {
    expect(acceptFor('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  })

  test('every length form and mask round-trips, and partial input parses as incomplete', () => {
    for (const len of [0, 1, 125, 126, 127, 65535, 65536]) {
      for (const form of ['auto', 16, 64] as const) {
        if (form === 16 && len > 65535) continue
        for (const mask of [undefined, false] as const) {
          const payload = new Uint8Array(len).map((_, i) => i & 0xff)
          const wire = buildFrame({ opcode: OP_BINARY, payload, mask, lengthForm: form, rsv: RSV1, fin: len % 2 === 0 })
          const f = parseFrameAt(wire, 0)!
          expect([f.opcode, f.rsv, f.fin, f.masked, f.wireLength]).toEqual([OP_BINARY, RSV1, len % 2 === 0, mask !== false, wire.length])
          expect(hex(f.payload)).toBe(hex(payload))
          for (const cut of [1, 2, 3, wire.length - 1]) if (cut < wire.length) expect(parseFrameAt(wire.subarray(0, cut), 0)).toBeNull()
        }
      }
    }
  })

  test('a lying length is written as told', () => {
    const w = buildFrame({ opcode: OP_BINARY, payload: 'ab', lengthForm: 64, declaredLength: 1n << 63n, mask: false })
    expect(hex(w)).toBe('827f80000000000000006162')
  })

  test('parseFrames and messagesOf group fragments and skip interleaved control frames', () => {
    const wire = concat([
      buildFrame({ opcode: OP_TEXT, payload: 'a', fin: false, mask: false }),
      buildFrame({ opcode: OP_PING, payload: 'p', mask: false }),
      buildFrame({ opcode: OP_CONT, payload: 'b', mask: false }),
      buildFrame({ opcode: OP_BINARY, payload: 'c', mask: false }),
      buildFrame({ opcode: OP_TEXT, payload: 'tail', mask: false }).subarray(0, 3),
    ])
    const { frames, end } = parseFrames(wire)
    expect(frames.length).toBe(4)
    expect(end).toBe(wire.length - 3)
    expect(messagesOf(frames).map((m) => [m.opcode, text(m.payload), m.frames])).toEqual([
      [OP_TEXT, 'ab', 2],
      [OP_BINARY, 'c', 1],
    ])
  })

  test('close payloads', () => {
    expect(hex(closePayload(1000, 'bye'))).toBe('03e8627965')
    expect(parseClose(closePayload(1001, 'going'))).toEqual({ code: 1001, reason: new TextEncoder().encode('going') })
    expect(parseClose(new Uint8Array([3]))).toEqual({ reason: new Uint8Array(0) })
  })
})

describe('ws-deflate reference', () => {
  test('RFC 7692 7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00', () => {
    expect(hex(deflateMessage('Hello'))).toBe('f248cdc9c90700')
    expect(text(inflateAlone(new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])))).toBe('Hello')
  })

  test('RFC 7692 7.2.3.2: a second "Hello" sharing the context inflates as a stream', () => {
    const first = new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
    const second = new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00])
    expect(inflateMessages([first, second]).map(text)).toEqual(['Hello', 'Hello'])
  })
})
