// The handler's packet codec (src/handler/wire-in.ts, wire-out.ts) against the plain reference
// codec of zgate/handler/testing (tn-value.ts): every field of a gateway packet, every
// truncation point, wrong types, and what the writer emits decoded back.

import { describe, expect, test } from 'bun:test'
import { decodeTn, encodeTn, type TnValue } from '../../src/handler/testing/tn-value.ts'
import {
  GatewayPacket,
  GP_ERR_FIELD_TYPE,
  GP_ERR_NEGATIVE,
  GP_ERR_NO_ID,
  GP_ERR_PREFIX,
  GP_ERR_TOO_MANY_HEADERS,
  GP_ERR_TOO_MANY_IDS,
  GP_OK,
  parseGatewayPacket,
  PT_CREDIT,
  PT_DATA,
  PT_KEEP_ALIVE,
  PT_UNKNOWN,
} from '../../src/handler/wire-in.ts'
import { PacketWriter } from '../../src/handler/wire-out.ts'

const utf8 = new TextEncoder()
const dec = new TextDecoder()

function packet(fields: Record<string, unknown>): Uint8Array {
  const m = encodeTn(fields as Record<string, TnValue>)
  const out = new Uint8Array(m.length + 1)
  out[0] = 0x54
  out.set(m, 1)
  return out
}

function text(p: GatewayPacket, s: number, e: number): string {
  return dec.decode(p.buf.subarray(s, e))
}

const FIRST = {
  from: 'condure',
  id: '0-1-2a',
  seq: 0,
  ext: { multi: true },
  method: 'POST',
  uri: 'http://example.com:8080/p?x=1',
  headers: [
    ['Host', 'example.com:8080'],
    ['Cookie', 'a=1'],
    ['cookie', 'b=2'],
  ],
  credits: 8192,
  more: true,
  stream: true,
  'peer-address': '::1',
  'peer-port': 5555,
  'user-data': { ignored: [1, 2] },
}

describe('parseGatewayPacket', () => {
  test('reads every field of a first packet (zhttp.md 4.3)', () => {
    const p = new GatewayPacket()
    const b = packet(FIRST)
    expect(parseGatewayPacket(b, 0, b.length, p)).toBe(GP_OK)
    expect(text(p, p.fromStart, p.fromEnd)).toBe('condure')
    expect(p.idCount).toBe(1)
    expect(text(p, p.idStart[0], p.idEnd[0])).toBe('0-1-2a')
    expect(p.idSeq[0]).toBe(0)
    expect(p.type).toBe(PT_DATA)
    expect(text(p, p.methodStart, p.methodEnd)).toBe('POST')
    expect(text(p, p.uriStart, p.uriEnd)).toBe('http://example.com:8080/p?x=1')
    expect(p.headerCount).toBe(3)
    expect(text(p, p.headerNameStart[2], p.headerNameEnd[2])).toBe('cookie')
    expect(text(p, p.headerValueStart[2], p.headerValueEnd[2])).toBe('b=2')
    expect(p.credits).toBe(8192)
    expect(p.more).toBe(true)
    expect(p.stream).toBe(true)
    expect(text(p, p.peerAddressStart, p.peerAddressEnd)).toBe('::1')
    expect(p.peerPort).toBe(5555)
  })

  test('a multi-id keep-alive gives each id its own seq (zhttp.md 3.1)', () => {
    const p = new GatewayPacket()
    const b = packet({ from: 'c', id: [{ id: 'a', seq: 5 }, { id: 'bb', seq: 7 }, { id: 'c' }], type: 'keep-alive' })
    expect(parseGatewayPacket(b, 0, b.length, p)).toBe(GP_OK)
    expect(p.type).toBe(PT_KEEP_ALIVE)
    expect(p.idCount).toBe(3)
    expect([...p.idSeq.subarray(0, 3)]).toEqual([5, 7, -1])
    expect(text(p, p.idStart[1], p.idEnd[1])).toBe('bb')
  })

  test('types: credit, unknown; WebSocket content-type binary', () => {
    const p = new GatewayPacket()
    let b = packet({ from: 'c', id: 'x', seq: 3, type: 'credit', credits: 100 })
    expect(parseGatewayPacket(b, 0, b.length, p)).toBe(GP_OK)
    expect(p.type).toBe(PT_CREDIT)
    expect(p.credits).toBe(100)
    b = packet({ from: 'c', id: 'x', type: 'bogus' })
    expect(parseGatewayPacket(b, 0, b.length, p)).toBe(GP_OK)
    expect(p.type).toBe(PT_UNKNOWN)
    b = packet({ from: 'c', id: 'x', 'content-type': 'binary', body: utf8.encode('\x00\x01') })
    expect(parseGatewayPacket(b, 0, b.length, p)).toBe(GP_OK)
    expect(p.binary).toBe(true)
    expect(p.bodyLength).toBe(2)
  })

  test('refuses wrong types, negatives, missing ids, too many ids and headers', () => {
    const p = new GatewayPacket()
    const cases: [Record<string, unknown>, number][] = [
      [{ id: 'x', credits: 'many' }, GP_ERR_FIELD_TYPE],
      [{ id: 'x', more: 1 }, GP_ERR_FIELD_TYPE],
      [{ id: 'x', seq: -1 }, GP_ERR_NEGATIVE],
      [{ from: 'c' }, GP_ERR_NO_ID],
      [{ id: Array.from({ length: 129 }, (_, i) => ({ id: `i${i}` })) }, GP_ERR_TOO_MANY_IDS],
      [{ id: 'x', headers: Array.from({ length: 65 }, () => ['a', 'b']) }, GP_ERR_TOO_MANY_HEADERS],
    ]
    for (const [f, want] of cases) {
      const b = packet(f)
      expect(parseGatewayPacket(b, 0, b.length, p)).toBe(want)
    }
    const raw = utf8.encode('X2:{}')
    expect(parseGatewayPacket(raw, 0, raw.length, p)).toBe(GP_ERR_PREFIX)
  })

  test('every truncation of a valid packet is refused, never thrown', () => {
    const p = new GatewayPacket()
    const b = packet(FIRST)
    for (let cut = 0; cut < b.length; cut++) {
      expect(parseGatewayPacket(b, 0, cut, p)).toBeLessThan(0)
    }
    expect(parseGatewayPacket(b, 0, b.length, p)).toBe(GP_OK)
  })

  test('every single-byte corruption is either refused or parsed, never thrown', () => {
    const p = new GatewayPacket()
    const b = packet(FIRST)
    let refused = 0
    for (let i = 0; i < b.length; i++) {
      const c = b.slice()
      c[i] = c[i] === 0x3a ? 0x2c : 0x3a // swap ':' and ','
      let rc = 0
      expect(() => {
        rc = parseGatewayPacket(c, 0, c.length, p)
      }).not.toThrow()
      if (rc < 0) refused++
    }
    // Swapping a length's ':' or a string's ',' breaks the framing around it.
    expect(refused).toBeGreaterThan(0)
  })
})

describe('PacketWriter', () => {
  test('a stream response head decodes to the same fields (zhttp.md 2.2, 3.4)', () => {
    const w = new PacketWriter()
    w.beginStream(utf8.encode('condure'), utf8.encode('h1'), utf8.encode('0-0-0'), 3, 64)
    w.head(200, 'OK', [
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=ü'],
    ])
    w.body(utf8.encode('hello'))
    w.flag('more')
    const out = w.end()
    const space = out.indexOf(0x20)
    expect(dec.decode(out.subarray(0, space))).toBe('condure')
    expect(out[space + 1]).toBe(0x54)
    const m = decodeTn(out.subarray(space + 2)) as Map<string, TnValue>
    expect(dec.decode(m.get('from') as Uint8Array)).toBe('h1')
    expect(dec.decode(m.get('id') as Uint8Array)).toBe('0-0-0')
    expect(m.get('seq')).toBe(3)
    expect(m.get('code')).toBe(200)
    expect(dec.decode(m.get('reason') as Uint8Array)).toBe('OK')
    const h = (m.get('headers') as Uint8Array[][]).map((pair) => pair.map((x) => dec.decode(x)))
    expect(h).toEqual([
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=ü'],
    ])
    expect(dec.decode(m.get('body') as Uint8Array)).toBe('hello')
    expect(m.get('more')).toBe(true)
  })

  test('a batch keeps each id with its seq; a large body grows the scratch', () => {
    const w = new PacketWriter()
    w.beginBatch(utf8.encode('g'), utf8.encode('h'), 2, 8)
    w.batchId(utf8.encode('a'), 1)
    w.batchId(utf8.encode('b'), 9)
    w.endBatch()
    w.type('keep-alive')
    let out = w.end()
    let m = decodeTn(out.subarray(3)) as Map<string, TnValue>
    const ids = (m.get('id') as Map<string, TnValue>[]).map((e) => [dec.decode(e.get('id') as Uint8Array), e.get('seq')])
    expect(ids).toEqual([
      ['a', 1],
      ['b', 9],
    ])
    const big = new Uint8Array(300_000).fill(7)
    w.beginReq(utf8.encode('r1'), big.length)
    w.head(200, 'OK', undefined)
    w.body(big)
    out = w.end()
    m = decodeTn(out.subarray(1)) as Map<string, TnValue>
    expect((m.get('body') as Uint8Array).length).toBe(300_000)
    expect(m.has('from')).toBe(false)
    expect(m.has('seq')).toBe(false)
  })
})
