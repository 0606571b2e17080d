// WebSocket protocol errors from clients (RFC 6455 5-7, zhttp.md 5.4, checklist 113, 114,
// 117 and issue 4): whatever a client sends, the gateway must neither crash nor hang, and the
// handler must learn that the session is over.
//
// condure 1.9.1 (observed): every protocol error closes TCP without a close frame and sends
// the handler `cancel`. It does NOT treat as errors: RSV2/RSV3 on data frames, invalid close
// codes (999, 1005, 5000 ... are forwarded as `close`), invalid UTF-8 in text messages, a
// 64-bit length with the high bit set or beyond 2^53 (the frame is streamed as a huge one),
// non-minimal length encodings, unmasked frames (checklist 101).
//
// zgate (issue 4): the same towards the handler (`cancel`, no `close` packet), but the client
// first gets a close frame with the right code (1002 protocol error, 1007 invalid UTF-8, 1009
// too big), then TCP closes. Where condure accepts what RFC 6455 forbids, zgate fails it:
// RSV2/RSV3 (5.2), close codes outside 7.4 (7.4.1/7.4.2), non-UTF-8 text and close reasons
// (8.1, 5.5.1), a 64-bit length with its high bit set (5.2), lengths past 2^53 (1009: more
// than zgate can represent) and unmasked frames (5.1: the server MUST close, 1002).
// Non-minimal lengths stay accepted (condure compatibility).

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, gatewayTargets, sleep } from '../helpers/harness.ts'
import type { GatewayTarget } from '../helpers/harness.ts'
import {
  buildFrame,
  buildFrames,
  closePayload,
  concat,
  OP_BINARY,
  OP_CLOSE,
  OP_CONT,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  RSV1,
  RSV2,
  RSV3,
  text,
  utf8,
} from '../helpers/ws-frame.ts'
import type { FrameSpec } from '../helpers/ws-frame.ts'
import type { WsRaw } from '../helpers/ws-raw.ts'
import { bodyBytes, bodyText, readMessage, startWsEnv, upgrade } from '../helpers/ws-session.ts'
import type { HandlerSession, WsEnv } from '../helpers/ws-session.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, 30_000)

const QUIET_MS = 400
const SPLIT_PAUSE_MS = 15 // between the two writes of a split, so they arrive apart
const BYTE_PAUSE_MS = 3
const BIG_FRAME_BYTES = 12 * 8192 // --buffer-size default times 12

// RFC 6455 7.4.1 close codes zgate sends on protocol errors.
const PROTOCOL_ERROR = 1002
const INVALID_PAYLOAD = 1007
const MESSAGE_TOO_BIG = 1009

for (const target of gatewayTargets()) {
  if (target.skipReason) describe.skip(`websocket errors against ${target.name} (${target.skipReason})`, () => {})
  else describe(`websocket errors against ${target.name}`, () => errorSuite(target))
}

function errorSuite(target: GatewayTarget) {
  const isCondure = target.name === 'condure'
  // Behaviours where the two gateways deliberately differ are registered only for their own.
  const zgateOnly = target.name === 'zgate' ? test : noTest
  const condureOnly = target.name === 'condure' ? test : noTest
  let env: WsEnv
  beforeAll(async () => {
    env = await startWsEnv(target)
  }, 30_000)
  afterAll(() => env?.stop(), 30_000)

  /**
   * The session failed: TCP closes, the handler gets `cancel` and no `close`; condure writes
   * no close frame, zgate a close frame with `zgateCode` before closing.
   */
  const expectFailed = async (ws: WsRaw, hs: HandlerSession, zgateCode: number) => {
    const closed = await ws.waitClosed()
    expect(closed.how === 'fin' || closed.how === 'reset').toBe(true)
    if (isCondure) expect(closed.closeFrame).toBeUndefined()
    else expect(closed.closeFrame?.code).toBe(zgateCode)
    await hs.nextCancel()
    expect(env.peer.queued().some((p) => p.packet.id === hs.id && p.packet.type === 'close')).toBe(false)
  }

  /** The session is still fine: a text message goes through and nothing was closed. */
  const expectAlive = async (ws: WsRaw, hs: HandlerSession) => {
    ws.send({ opcode: OP_TEXT, payload: 'still here' })
    const m = await readMessage(hs)
    expect(text(m.body)).toBe('still here')
    expect(ws.conn.isClosed).toBe(false)
    expect(ws.frames()).toEqual([])
  }

  const errors: [string, FrameSpec[], number][] = [
    ['113: a ping with a 126-byte payload', [{ opcode: OP_PING, payload: 'p'.repeat(126) }], PROTOCOL_ERROR],
    ['a close with a 126-byte payload', [{ opcode: OP_CLOSE, payload: closePayload(1000, 'r'.repeat(124)) }], PROTOCOL_ERROR],
    ['a fragmented ping', [{ opcode: OP_PING, payload: 'x', fin: false }], PROTOCOL_ERROR],
    ['a ping with RSV1', [{ opcode: OP_PING, payload: 'x', rsv: RSV1 }], PROTOCOL_ERROR],
    ['a text frame with RSV1 without deflate', [{ opcode: OP_TEXT, payload: 'x', rsv: RSV1 }], PROTOCOL_ERROR],
    ['a continuation with RSV1', [{ opcode: OP_TEXT, payload: 'a', fin: false }, { opcode: OP_CONT, payload: 'b', rsv: RSV1 }], PROTOCOL_ERROR],
    ['a continuation without a message', [{ opcode: OP_CONT, payload: 'x' }], PROTOCOL_ERROR],
    ['a new message while one is fragmented', [{ opcode: OP_TEXT, payload: 'a', fin: false }, { opcode: OP_BINARY, payload: 'b' }], PROTOCOL_ERROR],
    ['opcode 3 (reserved data)', [{ opcode: 3, payload: 'x' }], PROTOCOL_ERROR],
    ['opcode 0xb (reserved control)', [{ opcode: 0xb, payload: 'x' }], PROTOCOL_ERROR],
    ['opcode 0xf without payload', [{ opcode: 0xf }], PROTOCOL_ERROR],
    ['117: a close whose reason is not UTF-8', [{ opcode: OP_CLOSE, payload: closePayload(1000, new Uint8Array([0x62, 0xff, 0xfe])) }], INVALID_PAYLOAD],
  ]
  // condure fails a control frame between fragments (checklist 114); RFC 6455 5.4 allows it,
  // and zgate forwards it as its own packet (README: differences towards clients).
  const betweenFragments: [string, FrameSpec[]][] = [
    ['114: a ping between the fragments of a message', [{ opcode: OP_TEXT, payload: 'a', fin: false }, { opcode: OP_PING, payload: 'x' }, { opcode: OP_CONT, payload: 'b' }]],
    ['a close between the fragments of a message', [{ opcode: OP_TEXT, payload: 'a', fin: false }, { opcode: OP_CLOSE, payload: closePayload(1000) }]],
  ]
  for (const [what, specs] of betweenFragments) {
    if (isCondure) {
      test(`${what}: TCP closed, handler gets cancel (condure)`, async () => {
        const { ws, hs } = await upgrade(env)
        ws.sendBytes(buildFrames(specs))
        await expectFailed(ws, hs, PROTOCOL_ERROR)
      })
      continue
    }
    test(`${what}: forwarded between the message's packets (zgate, RFC 6455 5.4)`, async () => {
      const { ws, hs } = await upgrade(env)
      ws.sendBytes(buildFrames(specs))
      const first = (await hs.nextEvent()).packet
      expect([bodyText(first), first.more]).toEqual(['a', true])
      const control = (await hs.nextEvent()).packet
      expect(control.type).toBe(specs[1]!.opcode === OP_PING ? 'ping' : 'close')
      if (specs.length === 3) {
        expect(bodyText(control)).toBe('x')
        const last = (await hs.nextEvent()).packet
        expect(bodyText(last)).toBe('b')
        expect('more' in last).toBe(false)
        await expectAlive(ws, hs)
      } else {
        expect(control.code).toBe(1000)
      }
      expect(ws.conn.isClosed).toBe(false)
      ws.close()
    })
  }

  for (const [what, specs, zgateCode] of errors) {
    test(`${what}: TCP closed, handler gets cancel (zgate: close ${zgateCode} first)`, async () => {
      const { ws, hs } = await upgrade(env)
      ws.sendBytes(buildFrames(specs))
      await expectFailed(ws, hs, zgateCode)
    })
  }

  // Accepted by condure 1.9.1, protocol errors for zgate (RFC 6455, see the header).
  const strict: [string, FrameSpec[], number, (hs: HandlerSession) => Promise<void>][] = [
    ['a text frame with RSV2', [{ opcode: OP_TEXT, payload: 'x', rsv: RSV2 }], PROTOCOL_ERROR, dataArrives('x')],
    ['a binary frame with RSV3', [{ opcode: OP_BINARY, payload: 'x', rsv: RSV3 }], PROTOCOL_ERROR, dataArrives('x')],
    ['a text message that is not UTF-8', [{ opcode: OP_TEXT, payload: new Uint8Array([0xc3, 0x28]) }], INVALID_PAYLOAD, dataArrives('\xc3\x28')],
    [
      'a fragmented text message ending in a truncated UTF-8 sequence',
      [{ opcode: OP_TEXT, payload: 'ok', fin: false }, { opcode: OP_CONT, payload: new Uint8Array([0xe2, 0x82]) }],
      INVALID_PAYLOAD,
      dataArrives('ok\xe2\x82'),
    ],
    [
      'a 64-bit length with the high bit set',
      [{ opcode: OP_BINARY, payload: 'abc', lengthForm: 64, declaredLength: (1n << 63n) + 3n }],
      PROTOCOL_ERROR,
      partialArrives('abc'),
    ],
    [
      'a 64-bit length of 2^62 (more than the gateway can take)',
      [{ opcode: OP_BINARY, payload: 'abcdef', lengthForm: 64, declaredLength: 1n << 62n }],
      MESSAGE_TOO_BIG,
      partialArrives('abcdef'),
    ],
  ]
  for (const [what, specs, zgateCode, condureSees] of strict) {
    test(`${what}: condure forwards it; zgate closes with ${zgateCode} and cancels`, async () => {
      const { ws, hs } = await upgrade(env)
      ws.sendBytes(buildFrames(specs))
      if (!isCondure) return expectFailed(ws, hs, zgateCode)
      await condureSees(hs)
      await sleep(QUIET_MS)
      expect(ws.conn.isClosed).toBe(false)
      ws.close()
    })
  }

  const invalidCodes = [0, 999, 1004, 1005, 1006, 1015, 5000, 65535]
  for (const code of invalidCodes) {
    test(`client close code ${code} (invalid, RFC 6455 7.4): condure forwards it; zgate closes with 1002 and cancels`, async () => {
      const { ws, hs } = await upgrade(env)
      ws.send({ opcode: OP_CLOSE, payload: closePayload(code, 'r') })
      if (!isCondure) return expectFailed(ws, hs, PROTOCOL_ERROR)
      const c = (await hs.nextEvent()).packet
      expect([c.type, c.code, bodyText(c)]).toEqual(['close', code, 'r'])
      ws.close()
    })
  }

  for (const code of [1000, 1001, 1003, 1007, 1011, 3000, 4999]) {
    test(`client close code ${code} (valid) is forwarded with its reason`, async () => {
      const { ws, hs } = await upgrade(env)
      ws.send({ opcode: OP_CLOSE, payload: closePayload(code, 'why') })
      const c = (await hs.nextEvent()).packet
      expect([c.type, c.code, bodyText(c)]).toEqual(['close', code, 'why'])
      await hs.send({ type: 'close', code })
      expect((await ws.waitCloseFrame()).code).toBe(code)
      await ws.waitClosed()
    })
  }

  // RFC 6455 5.5.1: a close body starts with a 2-byte code, so zgate fails a 1-byte one.
  zgateOnly('a 1-byte close payload is a protocol error (zgate: 1002, handler gets cancel)', async () => {
    const { ws, hs } = await upgrade(env)
    ws.send({ opcode: OP_CLOSE, payload: new Uint8Array([3]) })
    await expectFailed(ws, hs, PROTOCOL_ERROR)
  })

  condureOnly('a 1-byte close payload is forwarded as a close without code (condure, zhttp.md 5.4)', async () => {
    const { ws, hs } = await upgrade(env)
    ws.send({ opcode: OP_CLOSE, payload: new Uint8Array([3]) })
    const c = (await hs.nextEvent()).packet
    expect(c.type).toBe('close')
    expect('code' in c).toBe(false)
    ws.close()
  })

  test('a ping with exactly 125 bytes is fine', async () => {
    const { ws, hs } = await upgrade(env)
    ws.send({ opcode: OP_PING, payload: 'p'.repeat(125) })
    const p = (await hs.nextEvent()).packet
    expect([p.type, bodyText(p).length]).toEqual(['ping', 125])
    await expectAlive(ws, hs)
    ws.close()
  })

  test('non-minimal length encodings (16- and 64-bit for 5 bytes) are accepted', async () => {
    const { ws, hs } = await upgrade(env)
    ws.send({ opcode: OP_TEXT, payload: 'hello', lengthForm: 16 })
    ws.send({ opcode: OP_TEXT, payload: 'world', lengthForm: 64 })
    expect(text((await readMessage(hs)).body)).toBe('hello')
    expect(text((await readMessage(hs)).body)).toBe('world')
    ws.close()
  })

  test('a single frame 12 times the buffer size is streamed to the handler in pieces, not refused', async () => {
    const { ws, hs } = await upgrade(env)
    const big = new Uint8Array(BIG_FRAME_BYTES).map((_, i) => (i * 7) & 0xff)
    ws.send({ opcode: OP_BINARY, payload: big })
    const m = await readMessage(hs, 5000, { grant: true })
    expect(m.packets.length).toBeGreaterThan(1)
    expect(Buffer.from(m.body).equals(Buffer.from(big))).toBe(true)
    await expectAlive(ws, hs)
    ws.close()
  })

  test('a 64-bit length of 2^40 is streamed (the frame is not refused for its size)', async () => {
    const { ws, hs } = await upgrade(env)
    ws.send({ opcode: OP_BINARY, payload: 'abcdef', lengthForm: 64, declaredLength: 1n << 40n })
    await partialArrives('abcdef')(hs)
    await sleep(QUIET_MS)
    expect(ws.conn.isClosed).toBe(false)
    ws.close()
    await hs.nextCancel()
  })

  test('valid UTF-8 split across fragments inside a character is one text message', async () => {
    const { ws, hs } = await upgrade(env)
    const euro = utf8('€') // e2 82 ac
    ws.sendBytes(buildFrames([
      { opcode: OP_TEXT, payload: concat([utf8('a'), euro.subarray(0, 1)]), fin: false },
      { opcode: OP_CONT, payload: euro.subarray(1, 2), fin: false },
      { opcode: OP_CONT, payload: concat([euro.subarray(2), utf8('b')]) },
    ]))
    expect(text((await readMessage(hs)).body)).toBe('a€b')
    await expectAlive(ws, hs)
    ws.close()
  })

  condureOnly('unmasked client frames are accepted (condure, checklist 101)', async () => {
    const { ws, hs } = await upgrade(env)
    ws.send({ opcode: OP_TEXT, payload: 'bare', mask: false })
    ws.send({ opcode: OP_PING, payload: 'p', mask: false })
    expect(text((await readMessage(hs)).body)).toBe('bare')
    expect((await hs.nextEvent()).packet.type).toBe('ping')
    await expectAlive(ws, hs)
    ws.close()
  })

  // RFC 6455 5.1: a server MUST close the connection on an unmasked frame (status 1002).
  const unmasked: [string, FrameSpec[]][] = [
    ['an unmasked text frame', [{ opcode: OP_TEXT, payload: 'bare', mask: false }]],
    ['an unmasked empty binary frame', [{ opcode: OP_BINARY, mask: false }]],
    ['an unmasked ping', [{ opcode: OP_PING, payload: 'p', mask: false }]],
    ['an unmasked close', [{ opcode: OP_CLOSE, payload: closePayload(1000), mask: false }]],
    ['an unmasked continuation after a masked first fragment', [{ opcode: OP_TEXT, payload: 'a', fin: false }, { opcode: OP_CONT, payload: 'b', mask: false }]],
    ['an unmasked 64-bit length frame', [{ opcode: OP_BINARY, payload: 'q64', lengthForm: 64, mask: false }]],
  ]
  for (const [what, specs] of unmasked) {
    zgateOnly(`${what}: close 1002, handler gets cancel (zgate, RFC 6455 5.1)`, async () => {
      const { ws, hs } = await upgrade(env)
      ws.sendBytes(buildFrames(specs))
      // A fragment sent masked before the unmasked one still reached the handler.
      if (specs.length === 2) expect(bodyText((await hs.nextEvent()).packet)).toBe('a')
      await expectFailed(ws, hs, PROTOCOL_ERROR)
    })
  }

  zgateOnly('an unmasked frame fails at its second byte, before its length arrives (zgate)', async () => {
    const { ws, hs } = await upgrade(env)
    ws.sendBytes(new Uint8Array([0x82, 0x7f])) // binary, unmasked, a 64-bit length follows
    await expectFailed(ws, hs, PROTOCOL_ERROR)
  })

  // A short sequence covering every header shape (7-bit, 16-bit, 64-bit lengths, masks,
  // fragments, control frames, close) fed with one split at each byte, then byte by byte.
  const sequence: FrameSpec[] = [
    { opcode: OP_TEXT, payload: 'héllo' },
    { opcode: OP_BINARY, payload: 'ab', fin: false },
    { opcode: OP_CONT, payload: 'c' },
    { opcode: OP_PING, payload: 'pi' },
    { opcode: OP_BINARY, payload: 'q16', lengthForm: 16 },
    { opcode: OP_PONG },
    { opcode: OP_TEXT, payload: 'xyz', lengthForm: 64 },
    { opcode: OP_CLOSE, payload: closePayload(1000, 'end') },
  ]
  const wire = buildFrames(sequence)
  const expected = ['data text héllo', 'data binary abc', 'ping pi', 'data binary q16', 'pong ', 'data text xyz', 'close 1000 end']

  const feedAndCheck = async (parts: Uint8Array[], pauseMs: number) => {
    const { ws, hs } = await upgrade(env)
    for (const p of parts) {
      ws.sendBytes(p)
      await sleep(pauseMs)
    }
    const got = await handlerEvents(hs, expected.length)
    await hs.send({ type: 'close', code: 1000 })
    await ws.waitClosed()
    return got
  }

  test('a frame sequence split once at every byte arrives the same', async () => {
    const splits = Array.from({ length: wire.length - 1 }, (_, i) => i + 1)
    for (const at of splits) {
      const got = await feedAndCheck([wire.subarray(0, at), wire.subarray(at)], SPLIT_PAUSE_MS)
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`split at ${at}: ${JSON.stringify(got)}`)
    }
    expect(splits.length).toBe(wire.length - 1)
  }, 120_000)

  test('a frame sequence fed one byte at a time arrives the same', async () => {
    const parts = Array.from(wire, (b) => new Uint8Array([b]))
    expect(await feedAndCheck(parts, BYTE_PAUSE_MS)).toEqual(expected)
  })

  const midFrame: [string, Uint8Array, 'close' | 'reset' | 'end'][] = [
    ['after one header byte', buildFrame({ opcode: OP_TEXT, payload: 'hello' }).subarray(0, 1), 'close'],
    ['after the header and mask', buildFrame({ opcode: OP_TEXT, payload: 'hello' }).subarray(0, 6), 'close'],
    ['inside the payload', buildFrame({ opcode: OP_TEXT, payload: 'hello' }).subarray(0, 8), 'close'],
    ['inside the payload, with a reset', buildFrame({ opcode: OP_TEXT, payload: 'hello' }).subarray(0, 8), 'reset'],
    ['inside a fragmented message', buildFrame({ opcode: OP_TEXT, payload: 'hello', fin: false }), 'close'],
    ['after a full message, half-closing without a close frame', buildFrame({ opcode: OP_TEXT, payload: 'hello' }), 'end'],
  ]
  for (const [what, bytes, how] of midFrame) {
    test(`a client that disconnects ${what}: the handler gets cancel`, async () => {
      const { ws, hs } = await upgrade(env)
      ws.sendBytes(bytes)
      await sleep(50)
      if (how === 'reset') ws.conn.reset()
      else if (how === 'end') ws.conn.end()
      else ws.close()
      await hs.nextCancel()
      if (how === 'end') await ws.waitClosed()
      expect(env.peer.queued().some((p) => p.packet.id === hs.id && p.packet.type === 'close')).toBe(false)
    })
  }

  test('the gateway keeps serving new sessions after all of the above', async () => {
    const { ws, hs } = await upgrade(env)
    await expectAlive(ws, hs)
    await hs.send({ body: 'fine' })
    expect(text((await ws.waitMessages(1))[0]!.payload)).toBe('fine')
    ws.close()
  })
}

/** condure forwards the frame's payload as one complete data packet. */
function dataArrives(latin1: string) {
  return async (hs: HandlerSession) => {
    const m = await readMessage(hs)
    expect(Buffer.from(m.body).toString('latin1')).toBe(latin1)
  }
}

/** condure streams the start of a (huge) frame: the bytes so far, more: true. */
function partialArrives(body: string) {
  return async (hs: HandlerSession) => {
    const p = (await hs.next((x) => x.type === undefined)).packet
    expect(text(bodyBytes(p))).toBe(body)
    expect(p.more).toBe(true)
  }
}

/**
 * The handler's view of `n` client events: data messages merged from their packets
 * ("data <content-type> <text>"), "ping <body>", "pong <body>", "close <code> <reason>".
 */
async function handlerEvents(hs: HandlerSession, n: number): Promise<string[]> {
  const out: string[] = []
  let msg: { type: string; body: Uint8Array[] } | undefined
  while (out.length < n) {
    const p = (await hs.nextEvent()).packet
    if (p.type === undefined) {
      msg ??= { type: String(p['content-type']), body: [] }
      msg.body.push(bodyBytes(p))
      if (p.more !== true) {
        out.push(`data ${msg.type} ${text(concat(msg.body))}`)
        msg = undefined
      }
    } else if (p.type === 'close') out.push(`close ${p.code} ${bodyText(p)}`)
    else out.push(`${p.type} ${bodyText(p)}`)
  }
  return out
}

/** Registers nothing: a case that does not apply to this gateway. */
function noTest(_name: string, _fn: () => Promise<void>): void {}
