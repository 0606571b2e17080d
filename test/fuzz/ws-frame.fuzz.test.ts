// Differential fuzzing of zgate's client-frame reading (src/ws/frame.ts through wsRead in
// src/conn/ws-session.ts) against the `ws` package's Receiver in server mode. Generated frame
// streams are fed to zgate at every split point across two reads and one byte per read; its
// view must not depend on the split, and must match ws's under the rules of ws-judge.ts.

import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { buildFrames, closePayload, concat, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT } from '../helpers/ws-frame.ts'
import { viewAtEverySplit } from './every-split.ts'
import { fuzzParams } from './fuzz-config.ts'
import { FRAMES } from './ws-gen.ts'
import { judgeWs } from './ws-judge.ts'
import { wsLibView, zgateWsView, type WsEvent, type WsView } from './ws-views.ts'

function zgateEverySplit(input: Uint8Array): WsView {
  return viewAtEverySplit(input, (cuts) => zgateWsView(input, cuts))
}

function agrees(input: Uint8Array): boolean {
  const why = judgeWs(zgateEverySplit(input), wsLibView(input, []))
  if (why !== '') throw new Error(why)
  return true
}

describe('WebSocket frame differential (zgate vs ws Receiver)', () => {
  const run = fuzzParams<[Uint8Array]>('websocket frames', 400, 0.2)
  test(
    'client frame streams: same messages and control frames, same refusals',
    () => {
      // an unmasked client frame (issue 10 hole 7), run first
      const unmasked = buildFrames([{ opcode: OP_TEXT, payload: 'hi', mask: false }])
      fc.assert(fc.property(FRAMES, agrees), { ...run.params, examples: [[unmasked]] })
    },
    run.timeoutMs,
  )
})

describe('the WebSocket differential harness itself', () => {
  test('a fragmented text message with a ping between its fragments, then a close', () => {
    const input = buildFrames([
      { opcode: OP_TEXT, payload: 'he', fin: false },
      { opcode: OP_PING, payload: 'p' },
      { opcode: OP_CONT, payload: 'llo €', fin: true },
      { opcode: OP_BINARY, payload: new Uint8Array([0, 255]), lengthForm: 64 },
      { opcode: OP_CLOSE, payload: closePayload(1000, 'bye') },
    ])
    const z = zgateEverySplit(input)
    const w = wsLibView(input, [])
    const want: WsEvent[] = [
      { kind: 'ping', data: 'p' },
      { kind: 'text', data: 'hello \xe2\x82\xac' },
      { kind: 'binary', data: '\x00\xff' },
      { kind: 'close', code: 1000, reason: 'bye' },
    ]
    expect(z.events).toEqual(want)
    expect(w.events).toEqual(want)
    expect(judgeWs(z, w)).toBe('')
  })

  test('disagreements are caught: other events, or acceptance of a refused stream', () => {
    const input = buildFrames([{ opcode: OP_TEXT, payload: 'x' }])
    const z = zgateWsView(input, [])
    const w = wsLibView(input, [])
    expect(judgeWs({ ...z, events: [{ kind: 'text', data: 'y' }] }, w)).toContain('events differ')
    expect(judgeWs(z, { ...w, end: 'refused', code: 1002 })).toContain('zgate accepts')
    const bad = buildFrames([{ opcode: OP_TEXT, payload: new Uint8Array([0xc0, 0xaf]) }])
    expect(wsLibView(bad, []).end).toBe('refused')
    expect(zgateWsView(bad, []).end).toBe('refused')
  })

  test('a header cut short is undecided in zgate, not accepted, even where ws refuses it already', () => {
    // a binary frame, then the first 2 bytes of a compressed (RSV1) one: ws refuses at once,
    // zgate once the header's mask has come
    const input = concat([buildFrames([{ opcode: OP_BINARY, payload: 'abc' }]), Uint8Array.of(0x42, 0xac)])
    const z = zgateEverySplit(input)
    const w = wsLibView(input, [])
    expect([z.end, z.headerPending, w.end]).toEqual(['ok', true, 'refused'])
    expect(judgeWs(z, w)).toBe('')
    const whole = concat([input, new Uint8Array(4 + 44)])
    expect(zgateWsView(whole, []).end).toBe('refused')
  })
})
