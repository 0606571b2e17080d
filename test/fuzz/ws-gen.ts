// fast-check generators of client WebSocket frame streams for the frame differential: data
// and control frames, fragmentation in and out of order, masked or not, every length encoding,
// RSV bits and reserved opcodes now and then, valid and invalid UTF-8 and close codes, then
// byte-level mutations. Frames are built by the independent test codec (test/helpers/ws-frame.ts).

import fc from 'fast-check'
import { buildFrame, closePayload, concat, type FrameSpec } from '../helpers/ws-frame.ts'

const TEXT_PIECE = fc.constantFrom('a', 'hello', 'é', '€', '😀', ' ', '\u0000')
/** Bytes that break UTF-8: a lone continuation, an overlong form, a surrogate, a cut sequence. */
const BAD_UTF8 = fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [0xf4, 0x90, 0x80, 0x80])

const PAYLOAD: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: fc.array(TEXT_PIECE, { maxLength: 6 }).map((p) => new TextEncoder().encode(p.join(''))) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.array(TEXT_PIECE, { maxLength: 2 }), BAD_UTF8).map(([p, b]) => concat([new TextEncoder().encode(p.join('')), new Uint8Array(b)])),
  },
  // past the 7-bit and 16-bit length forms
  { weight: 1, arbitrary: fc.constantFrom(126, 300).map((n) => new Uint8Array(n).fill(0x61)) },
)

const CLOSE_PAYLOAD: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(1000, 1001, 1003, 1007, 1011, 3000, 4999), fc.constantFrom('', 'bye', 'é')).map(([c, r]) => closePayload(c, r)) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535).map((c) => closePayload(c)) },
  { weight: 1, arbitrary: fc.constantFrom(new Uint8Array([0x03]), closePayload(1000, new Uint8Array([0xc0, 0x80]))) },
)

const MASK = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant(false as const) },
)

const RSV = fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0x40, 0x20, 0x10) })

const LENGTH_FORM = fc.oneof(
  { weight: 8, arbitrary: fc.constant('auto' as const) },
  { weight: 1, arbitrary: fc.constantFrom(16 as const, 64 as const) },
)

const DATA_FRAME: fc.Arbitrary<FrameSpec> = fc.record({
  opcode: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0x1, 0x2, 0x0) }, { weight: 1, arbitrary: fc.constantFrom(0x3, 0x7, 0xb, 0xf) }),
  payload: PAYLOAD,
  fin: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }),
  rsv: RSV,
  mask: MASK,
  lengthForm: LENGTH_FORM,
})

const CONTROL_FRAME: fc.Arbitrary<FrameSpec> = fc.oneof(
  fc.record({
    opcode: fc.constantFrom(0x9, 0xa),
    payload: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 20 }) }, { weight: 1, arbitrary: fc.constant(new Uint8Array(126)) }),
    fin: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: RSV,
    mask: MASK,
    lengthForm: LENGTH_FORM,
  }),
  fc.record({ opcode: fc.constant(0x8), payload: CLOSE_PAYLOAD, fin: fc.constant(true), rsv: RSV, mask: MASK, lengthForm: LENGTH_FORM }),
)

/** A lying 64-bit length: the top bit, beyond 2^53, or longer than what follows. */
const ODD_LENGTH: fc.Arbitrary<FrameSpec> = fc.record({
  opcode: fc.constant(0x2),
  payload: fc.constant(new Uint8Array(3)),
  mask: MASK,
  lengthForm: fc.constant(64 as const),
  declaredLength: fc.constantFrom(1n << 63n, 1n << 53n, (1n << 53n) - 1n, 10n),
})

const FRAME = fc.oneof({ weight: 8, arbitrary: DATA_FRAME }, { weight: 3, arbitrary: CONTROL_FRAME }, { weight: 1, arbitrary: ODD_LENGTH })

const MUTATION = fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 0, max: 255 }))

/** 1 to 6 frames, then 0 to 2 byte flips. */
export const FRAMES: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.array(FRAME, { minLength: 1, maxLength: 6 }),
    fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(MUTATION, { minLength: 1, maxLength: 2 }) }),
  )
  .map(([frames, muts]) => {
    const out = concat(frames.map(buildFrame))
    for (const [at, byte] of muts) if (out.length > 0) out[Math.floor(at * out.length)] = byte
    return out
  })
