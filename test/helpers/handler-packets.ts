// Handler packets for the packet unit tests (packet*.test.ts), built with the reference
// encoder (tnetstring-reference.ts), and readers for what parseHandlerPacket found.

import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { bytesOf, concat, latin1, Pairs, tn } from './tnetstring-reference.ts'
import type { Val } from './tnetstring-reference.ts'

/** `T` + tnetstring. */
export const pkt = (v: Val): Uint8Array => concat([bytesOf('T'), tn(v)])
/** A gateway packet as the reference encoder writes it, as latin1 text. */
export const gw = (...entries: [Val, Val][]): string => latin1(pkt(new Pairs(entries)))
export const FROM: [Val, Val] = ['from', 'condure']
export const EXT: [Val, Val] = ['ext', { multi: true }]

/** The UTF-8 text at [s, e) of the parsed packet's buffer, null for an absent field (s < 0). */
export const text = (p: HandlerPacket, s: number, e: number): string | null =>
  s < 0 ? null : new TextDecoder().decode(p.buf.subarray(s, e))

export const idsOf = (p: HandlerPacket): (string | null)[] =>
  Array.from({ length: p.idCount }, (_, i) => text(p, p.idStart[i], p.idEnd[i]))
export const headersOf = (p: HandlerPacket): (string | null)[][] =>
  Array.from({ length: p.headerCount }, (_, i) => [
    text(p, p.headerNameStart[i], p.headerNameEnd[i]),
    text(p, p.headerValueStart[i], p.headerValueEnd[i]),
  ])

export function parse(bytes: Uint8Array, p = new HandlerPacket()): number {
  return parseHandlerPacket(bytes, 0, bytes.length, p)
}

/** A realistic handler response (zhttp.md 3.4), ~200 bytes. */
export const RESPONSE: Val = {
  from: 'handler-1',
  id: '0-12-1a',
  seq: 3,
  code: 200,
  reason: 'OK',
  headers: [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Cache-Control', 'no-cache'],
    ['Set-Cookie', 'a=1'],
    ['Set-Cookie', 'b=2'],
  ],
  body: 'hello world\n',
  more: true,
}
