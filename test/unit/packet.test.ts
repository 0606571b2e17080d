// ZHTTP handler packet parsing (parseHandlerPacket, src/zhttp/packet.ts) against zhttp.md
// 2.1-3.10 and checklist items 12-16: the document's examples, field types, ids, headers,
// rejected and tolerated input. Hostile input and allocation are in packet-hostile.test.ts,
// writing in packet-write.test.ts. Inputs are built with the reference encoder in
// test/helpers/tnetstring-reference.ts.

import { describe, expect, test } from 'bun:test'
import { PACKET_HEADERS_MAX, PACKET_IDS_MAX } from '../../src/limits.ts'
import * as errors from '../../src/zhttp/packet-errors.ts'
import { PACKET_OK } from '../../src/zhttp/packet-errors.ts'
import * as types from '../../src/zhttp/packet-types.ts'
import * as writer from '../../src/zhttp/packet-writer.ts'
import { HandlerPacket, packetFieldEquals, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { headersOf, idsOf, parse, pkt, RESPONSE, text } from '../helpers/handler-packets.ts'
import { bytesOf, concat, Flt, latin1, Pairs, tn, type Val } from '../helpers/tnetstring-reference.ts'

/** The packet modules' exports under one name. */
const zp = { ...errors, ...types, ...writer, packetFieldEquals }

const BAD_UTF8 = Uint8Array.from([0x66, 0xc0, 0x80])
const HEADER_SIZE = zp.PACKET_ERR_HEADER_SIZE
const HEADER_TYPE = zp.PACKET_ERR_TYPE_HEADERS
const KEY = zp.PACKET_ERR_KEY

describe('parseHandlerPacket: zhttp.md examples', () => {
  test('section 2.2 PUB example, after the caller strips "condure "', () => {
    const doc = 'T60:4:from,2:h1,2:id,5:0-0-0,3:seq,1:0#4:code,3:200#4:body,2:hi,}'
    const frame = bytesOf(`condure ${doc}`)
    const p = new HandlerPacket()
    const start = frame.indexOf(0x20) + 1
    expect(parseHandlerPacket(frame, start, frame.length, p)).toBe(PACKET_OK)
    expect(p.buf).toBe(frame)
    expect(text(p, p.fromStart, p.fromEnd)).toBe('h1')
    expect(p.idCount).toBe(1)
    expect(text(p, p.idStart[0], p.idEnd[0])).toBe('0-0-0')
    expect(p.seq).toBe(0)
    expect(p.idSeq[0]).toBe(0)
    expect(p.type).toBe(zp.TYPE_DATA)
    expect(p.code).toBe(200)
    expect(text(p, p.bodyStart, p.bodyEnd)).toBe('hi')
    const rest = [p.reasonStart, p.credits, p.headerCount, p.more, p.hasContentType]
    expect(rest).toEqual([-1, -1, 0, false, false])
  })

  test('appendix B handler packets', () => {
    const p = new HandlerPacket()
    const credit = pkt({ from: 'h1', id: '0-0-2', seq: 0, type: 'credit', credits: 4 })
    expect(parse(credit, p)).toBe(PACKET_OK)
    expect([p.type, p.credits, p.seq]).toEqual([zp.TYPE_CREDIT, 4, 0])
    const head = { from: 'h1', id: '0-0-2', seq: 2, code: 200, reason: 'OK' }
    expect(parse(pkt({ ...head, headers: [], more: true }), p)).toBe(PACKET_OK)
    const got = [p.type, p.code, p.headerCount, p.more, p.bodyStart]
    expect(got).toEqual([zp.TYPE_DATA, 200, 0, true, -1])
    expect(text(p, p.reasonStart, p.reasonEnd)).toBe('OK')
    expect(parse(pkt({ from: 'h1', id: '0-0-2', seq: 4, body: 'part2' }), p)).toBe(PACKET_OK)
    expect([p.more, text(p, p.bodyStart, p.bodyEnd)]).toEqual([false, 'part2'])
  })

  test('a realistic response: every field lands where it should', () => {
    const p = new HandlerPacket()
    expect(parse(pkt(RESPONSE), p)).toBe(PACKET_OK)
    expect(p.headerCount).toBe(4)
    expect(headersOf(p)).toEqual((RESPONSE as { headers: string[][] }).headers)
    expect([text(p, p.fromStart, p.fromEnd), idsOf(p)]).toEqual(['handler-1', ['0-12-1a']])
    expect(text(p, p.bodyStart, p.bodyEnd)).toBe('hello world\n')
    expect([p.code, p.seq, p.more]).toEqual([200, 3, true])
  })
})

describe('parseHandlerPacket: types (zhttp.md 3.1)', () => {
  // Index = TYPE_* value; then near misses, which are all unknown.
  const names = ['', 'error', 'credit', 'keep-alive', 'cancel', 'handoff-start']
  names.push('handoff-proceed', 'close', 'ping', 'pong')
  const cases: [string | undefined, number][] = names.map((n, i) => [n, i])
  cases.push([undefined, zp.TYPE_DATA])
  for (const n of ['Cancel', 'keep-alivf', 'pang', 'whatever']) cases.push([n, zp.TYPE_UNKNOWN])
  expect([zp.TYPE_DATA, zp.TYPE_ERROR, zp.TYPE_PONG, zp.TYPE_UNKNOWN]).toEqual([0, 1, 9, 10])
  for (const [name, want] of cases) {
    test(`type ${JSON.stringify(name)}`, () => {
      const p = new HandlerPacket()
      const v: { [k: string]: Val } = { from: 'h', id: 'x' }
      if (name !== undefined) v.type = name
      expect(parse(pkt(v), p)).toBe(PACKET_OK)
      expect(p.type).toBe(want)
      if (name !== undefined) expect(text(p, p.typeStart, p.typeEnd)).toBe(name)
    })
  }

  test('error condition, compared without allocating', () => {
    const p = new HandlerPacket()
    const rej = { from: 'h', id: 'x', type: 'error', condition: 'rejected', code: 403 }
    const rejected = pkt({ ...rej, reason: 'No', headers: [['X', 'y']], body: 'no' })
    expect(parse(rejected, p)).toBe(PACKET_OK)
    expect(zp.packetFieldEquals(p, p.conditionStart, p.conditionEnd, 'rejected')).toBe(true)
    expect(zp.packetFieldEquals(p, p.conditionStart, p.conditionEnd, 'rejecte')).toBe(false)
    expect([p.code, p.headerCount]).toEqual([403, 1])
    expect(parse(pkt({ from: 'h', id: 'x', type: 'cancel' }), p)).toBe(PACKET_OK)
    expect(zp.packetFieldEquals(p, p.conditionStart, p.conditionEnd, '')).toBe(false)
  })

  test('content-type: only exactly "binary" is binary (zhttp.md 3.4)', () => {
    const p = new HandlerPacket()
    const cases = [['binary', true], ['text', false], ['Binary', false], ['binaryx', false]]
    for (const [ct, bin] of [...cases, ['', false]] as [string, boolean][]) {
      expect(parse(pkt({ id: 'x', 'content-type': ct, body: 'b' }), p)).toBe(PACKET_OK)
      expect([p.hasContentType, p.binary]).toEqual([true, bin])
    }
    expect(parse(pkt({ id: 'x' }), p)).toBe(PACKET_OK)
    expect([p.hasContentType, p.binary]).toEqual([false, false])
  })

  test('booleans and request-only fields', () => {
    const p = new HandlerPacket()
    const v = { id: 'x', more: false, stream: true, 'max-size': 10, timeout: 0 }
    expect(parse(pkt({ ...v, 'peer-address': '::1', 'peer-port': 65535 }), p)).toBe(PACKET_OK)
    expect([p.more, p.stream]).toEqual([false, true])
  })
})

describe('parseHandlerPacket: ids (zhttp.md 3.1)', () => {
  test('plain form: top-level seq goes to idSeq[0], whatever the field order', () => {
    const p = new HandlerPacket()
    expect(parse(pkt(new Pairs([['seq', 7], ['id', 'a']])), p)).toBe(PACKET_OK)
    expect([p.idCount, p.seq, p.idSeq[0]]).toEqual([1, 7, 7])
    expect(parse(pkt({ id: 'a' }), p)).toBe(PACKET_OK)
    expect([p.idCount, p.seq, p.idSeq[0]]).toEqual([1, -1, -1])
  })

  test('list form: each element carries its own optional seq', () => {
    const p = new HandlerPacket()
    const id = [{ id: '0-0-0', seq: 5 }, { id: '0-1-1', seq: 2 }, { seq: 0, id: '1-0-3' }]
    const v = { from: 'h', id: [...id, { id: '1-2-3', 'x-extra': 1 }], seq: 9 }
    expect(parse(pkt(v), p)).toBe(PACKET_OK)
    expect(p.idCount).toBe(4)
    expect(idsOf(p)).toEqual(['0-0-0', '0-1-1', '1-0-3', '1-2-3'])
    expect(Array.from(p.idSeq.subarray(0, 4))).toEqual([5, 2, 0, -1])
    expect(p.seq).toBe(9)
  })

  test('128 ids accepted, 129 rejected as too many ids (checklist 15)', () => {
    const ids = (n: number): Val[] =>
      Array.from({ length: n }, (_, i) => ({ id: `0-${i}-0`, seq: i }))
    const p = new HandlerPacket()
    const full = pkt({ from: 'h', id: ids(PACKET_IDS_MAX), type: 'keep-alive' })
    expect(parse(full, p)).toBe(PACKET_OK)
    expect(p.idCount).toBe(128)
    expect(p.idSeq[127]).toBe(127)
    const over = pkt({ from: 'h', id: ids(PACKET_IDS_MAX + 1) })
    expect(parse(over, p)).toBe(zp.PACKET_ERR_TOO_MANY_IDS)
    expect(zp.packetErrorText(zp.PACKET_ERR_TOO_MANY_IDS)).toBe('too many ids')
  })

  test('empty list, absent id', () => {
    const p = new HandlerPacket()
    expect(parse(pkt({ id: [] }), p)).toBe(PACKET_OK)
    expect(p.idCount).toBe(0)
    expect(parse(pkt({ from: 'h' }), p)).toBe(PACKET_OK)
    expect(p.idCount).toBe(0)
  })
})

describe('parseHandlerPacket: headers (zhttp.md 3.4)', () => {
  const hs = (n: number): Val[] => Array.from({ length: n }, (_, i) => [`H${i}`, `v${i}`])
  test('64 accepted, 65 rejected as too many headers (checklist 14)', () => {
    const p = new HandlerPacket()
    expect(parse(pkt({ id: 'x', code: 200, headers: hs(PACKET_HEADERS_MAX) }), p)).toBe(PACKET_OK)
    expect(p.headerCount).toBe(64)
    expect(text(p, p.headerValueStart[63], p.headerValueEnd[63])).toBe('v63')
    const over = pkt({ id: 'x', code: 200, headers: hs(PACKET_HEADERS_MAX + 1) })
    expect(parse(over, p)).toBe(zp.PACKET_ERR_TOO_MANY_HEADERS)
    expect(zp.packetErrorText(zp.PACKET_ERR_TOO_MANY_HEADERS)).toBe('too many headers')
    // A later valid packet still parses into the same scratch (checklist 14).
    expect(parse(pkt({ id: 'x', code: 204, headers: hs(1) }), p)).toBe(PACKET_OK)
    expect([p.code, p.headerCount]).toEqual([204, 1])
  })

  test('binary and empty header values', () => {
    const p = new HandlerPacket()
    const bin = Uint8Array.from([0, 0xff, 0x3a, 0x2c])
    expect(parse(pkt({ id: 'x', headers: [['', bin]] }), p)).toBe(PACKET_OK)
    expect(p.headerNameEnd[0] - p.headerNameStart[0]).toBe(0)
    expect(p.buf.slice(p.headerValueStart[0], p.headerValueEnd[0])).toEqual(bin)
  })

  test('items after name and value are ignored, as Condure does', () => {
    const p = new HandlerPacket()
    expect(parse(pkt({ id: 'x', headers: [['X-Three', 'a', 'b'], ['Y', 'z']] }), p)).toBe(PACKET_OK)
    expect(p.headerCount).toBe(2)
    expect(latin1(p.buf.slice(p.headerValueStart[0], p.headerValueEnd[0]))).toBe('a')
    expect(latin1(p.buf.slice(p.headerNameStart[1], p.headerNameEnd[1]))).toBe('Y')
  })
})

describe('parseHandlerPacket: rejected packets (zhttp.md 2.1, 2.3, checklist 12-13)', () => {
  const reject: [string, Uint8Array, number][] = [
    ['empty payload', new Uint8Array(0), zp.PACKET_ERR_FORMAT],
    ['no T prefix', tn({ id: 'x' }), zp.PACKET_ERR_FORMAT],
    ['lower-case t', concat([bytesOf('t'), tn({ id: 'x' })]), zp.PACKET_ERR_FORMAT],
    ['JSON', bytesOf('J{"id":"x"}'), zp.PACKET_ERR_FORMAT],
    ['T alone', bytesOf('T'), zp.PACKET_ERR_TNETSTRING],
    ['malformed tnetstring', bytesOf('T5:abc}'), zp.PACKET_ERR_TNETSTRING],
    ['top level list', pkt(['id', 'x']), zp.PACKET_ERR_NOT_MAP],
    ['top level string', pkt('hello'), zp.PACKET_ERR_NOT_MAP],
    ['odd map', bytesOf('T5:2:id,}'), zp.PACKET_ERR_TNETSTRING],
    ['bad child frame', bytesOf('T8:2:id,1:x}'), zp.PACKET_ERR_TNETSTRING],
    ['int key', pkt(new Pairs([[1, 'x']])), zp.PACKET_ERR_KEY],
    ['list key', pkt(new Pairs([[['id'], 'x']])), zp.PACKET_ERR_KEY],
    ['non-UTF-8 unknown key', pkt(new Pairs([[BAD_UTF8, 'x']])), KEY],
    ['non-UTF-8 key in an id', pkt({ id: [new Pairs([['id', 'a'], [BAD_UTF8, 1]])] }), KEY],
    ['id element not a map', pkt({ id: ['a', 'b'] }), zp.PACKET_ERR_TYPE_ID],
    ['id element without id', pkt({ id: [{ seq: 1 }] }), zp.PACKET_ERR_ID_MISSING],
    ['id element id int', pkt({ id: [{ id: 5 }] }), zp.PACKET_ERR_TYPE_ID],
    ['id element seq string', pkt({ id: [{ id: 'a', seq: '1' }] }), zp.PACKET_ERR_TYPE_SEQ],
    ['id element seq negative', pkt({ id: [{ id: 'a', seq: -1 }] }), zp.PACKET_ERR_NEG_SEQ],
    ['id as int', pkt({ id: 5 }), zp.PACKET_ERR_TYPE_ID],
    ['id as map', pkt({ id: { id: 'a' } }), zp.PACKET_ERR_TYPE_ID],
    ['header not a list', pkt({ id: 'x', headers: ['Host'] }), zp.PACKET_ERR_TYPE_HEADERS],
    ['header with 1 element', pkt({ id: 'x', headers: [['Host']] }), zp.PACKET_ERR_HEADER_SIZE],
    ['header with 0 elements', pkt({ id: 'x', headers: [[]] }), zp.PACKET_ERR_HEADER_SIZE],
    ['header name not UTF-8', pkt({ id: 'x', headers: [[BAD_UTF8, 'v']] }), zp.PACKET_ERR_HEADER_NAME],
    ['header value int', pkt({ id: 'x', headers: [['Content-Length', 5]] }), HEADER_TYPE],
    ['header name null', pkt({ id: 'x', headers: [[null, 'v']] }), zp.PACKET_ERR_TYPE_HEADERS],
    ['headers as map', pkt({ id: 'x', headers: { Host: 'x' } }), zp.PACKET_ERR_TYPE_HEADERS],
    ['seq past 2^53', pkt({ id: 'x', seq: 2n ** 53n + 1n }), zp.PACKET_ERR_INT_RANGE],
    ['credits i64 max', pkt({ id: 'x', credits: 2n ** 63n - 1n }), zp.PACKET_ERR_INT_RANGE],
    ['ext as bool', pkt({ id: 'x', ext: true }), zp.PACKET_ERR_TYPE_EXT],
    ['ext as list', pkt({ id: 'x', ext: [] }), zp.PACKET_ERR_TYPE_EXT],
  ]
  for (const [name, bytes, code] of reject) {
    test(name, () => {
      expect(parse(bytes)).toBe(code)
    })
  }

  // Every known field with a value of the wrong tnetstring type.
  const wrongType: [string, Val, number][] = [
    ['from', 5, zp.PACKET_ERR_TYPE_FROM], ['from', ['h'], zp.PACKET_ERR_TYPE_FROM],
    ['id', true, zp.PACKET_ERR_TYPE_ID], ['seq', '1', zp.PACKET_ERR_TYPE_SEQ],
    ['seq', new Flt('1.0'), zp.PACKET_ERR_TYPE_SEQ], ['type', 1, zp.PACKET_ERR_TYPE_TYPE],
    ['type', null, zp.PACKET_ERR_TYPE_TYPE], ['code', '200', zp.PACKET_ERR_TYPE_CODE],
    ['reason', 200, zp.PACKET_ERR_TYPE_REASON], ['headers', 'Host: x', zp.PACKET_ERR_TYPE_HEADERS],
    ['content-type', false, zp.PACKET_ERR_TYPE_CONTENT_TYPE], ['body', [], zp.PACKET_ERR_TYPE_BODY],
    ['body', null, zp.PACKET_ERR_TYPE_BODY], ['credits', '100', zp.PACKET_ERR_TYPE_CREDITS],
    ['credits', true, zp.PACKET_ERR_TYPE_CREDITS], ['more', 1, zp.PACKET_ERR_TYPE_MORE],
    ['more', 'true', zp.PACKET_ERR_TYPE_MORE], ['stream', 1, zp.PACKET_ERR_TYPE_STREAM],
    ['condition', 5, zp.PACKET_ERR_TYPE_CONDITION],
    ['max-size', 'big', zp.PACKET_ERR_TYPE_MAX_SIZE], ['timeout', true, zp.PACKET_ERR_TYPE_TIMEOUT],
    ['peer-address', 127, zp.PACKET_ERR_TYPE_PEER_ADDRESS],
    ['peer-port', '80', zp.PACKET_ERR_TYPE_PEER_PORT], ['ext', 'multi', zp.PACKET_ERR_TYPE_EXT],
  ]
  for (const [field, value, code] of wrongType) {
    test(`wrong type for ${field}: ${latin1(tn(value))}`, () => {
      // The bad field sits between valid ones: the whole packet is rejected.
      const v = new Pairs([['from', 'h'], ['id', 'x'], [field, value], ['body', 'b']])
      expect(parse(pkt(v))).toBe(code)
      expect(zp.packetErrorText(code)).toBe(`wrong type for field ${field}`)
    })
  }

  const negative: [string, number][] = [
    ['seq', zp.PACKET_ERR_NEG_SEQ],
    ['code', zp.PACKET_ERR_NEG_CODE],
    ['credits', zp.PACKET_ERR_NEG_CREDITS],
    ['max-size', zp.PACKET_ERR_NEG_MAX_SIZE],
    ['timeout', zp.PACKET_ERR_NEG_TIMEOUT],
    ['peer-port', zp.PACKET_ERR_NEG_PEER_PORT],
  ]
  for (const [field, code] of negative) {
    test(`negative ${field}`, () => {
      expect(parse(pkt({ id: 'x', [field]: -1 }))).toBe(code)
      expect(zp.packetErrorText(code)).toBe(`negative ${field}`)
      // Zero is fine, and "-0" reads as 0.
      expect(parse(pkt({ id: 'x', [field]: 0 }))).toBe(PACKET_OK)
      const body = `${latin1(tn(field))}2:-0#`
      expect(parse(bytesOf(`T${body.length}:${body}}`))).toBe(PACKET_OK)
    })
  }

  test('error texts: one per code, first one as condure words it', () => {
    expect(zp.packetErrorText(zp.PACKET_ERR_FORMAT)).toBe('unrecognized data format')
    expect(zp.packetErrorText(zp.PACKET_ERR_TYPE_CREDITS)).toBe('wrong type for field credits')
    expect(zp.packetErrorText(zp.PACKET_ERR_KEY)).toBe('map key must be a utf-8 string')
    expect(zp.packetErrorText(1)).toBe('unknown packet error')
    const texts = new Set<string>()
    for (let c = -1; c >= zp.PACKET_ERR_NEG_PEER_PORT; c--) texts.add(zp.packetErrorText(c))
    expect(texts.size).toBe(-zp.PACKET_ERR_NEG_PEER_PORT)
    expect(texts.has('unknown packet error')).toBe(false)
  })
})

describe('parseHandlerPacket: tolerated input (zhttp.md 2.1, 3.10, checklist 16)', () => {
  test('unknown fields of any type are ignored', () => {
    const p = new HandlerPacket()
    const v = {
      'user-data': { a: [1, 2, { b: null }], f: new Flt('1.5') },
      from: 'h1',
      'router-resp': true,
      ext: { multi: true, other: 'x' },
      id: '0-0-0',
      'x-float': new Flt('-2.5e3'),
      'x-null': null,
      'x-utf8-ключ': 'ok',
      seq: 1,
      method: 5,
      body: 'b',
    }
    expect(parse(pkt(v), p)).toBe(PACKET_OK)
    expect([text(p, p.fromStart, p.fromEnd), idsOf(p), p.seq]).toEqual(['h1', ['0-0-0'], 1])
  })

  test('ext contents are not inspected', () => {
    expect(parse(pkt({ id: 'x', ext: new Pairs([[5, 'not even a string key']]) }))).toBe(PACKET_OK)
  })

  test('bytes after the top-level tnetstring are ignored', () => {
    const p = new HandlerPacket()
    const bytes = concat([pkt({ id: 'x', body: 'b' }), bytesOf('trailing garbage 9999:')])
    expect(parse(bytes, p)).toBe(PACKET_OK)
    expect(text(p, p.bodyStart, p.bodyEnd)).toBe('b')
  })

  test('duplicate keys: the last one wins', () => {
    const p = new HandlerPacket()
    const v = new Pairs([['headers', [['a', '1'], ['b', '2']]], ['headers', [['c', '3']]]])
    v.entries.push(['code', 1], ['code', 2])
    expect(parse(pkt(v), p)).toBe(PACKET_OK)
    expect([headersOf(p), p.code]).toEqual([[['c', '3']], 2])
  })

  test('the scratch is reset between packets', () => {
    const p = new HandlerPacket()
    expect(parse(pkt(RESPONSE), p)).toBe(PACKET_OK)
    expect(parse(pkt({ id: 'y' }), p)).toBe(PACKET_OK)
    const got = [p.fromStart, p.seq, p.code, p.reasonStart, p.headerCount, p.bodyStart]
    expect([...got, p.more, p.credits]).toEqual([-1, -1, -1, -1, 0, -1, false, -1])
  })

  test('offsets honour a start inside a larger buffer', () => {
    const p = new HandlerPacket()
    const inner = pkt({ id: 'x', body: 'payload' })
    const bytes = concat([bytesOf('prefix bytes '), inner, bytesOf('after')])
    expect(parseHandlerPacket(bytes, 13, 13 + inner.length, p)).toBe(PACKET_OK)
    expect(text(p, p.bodyStart, p.bodyEnd)).toBe('payload')
  })
})
