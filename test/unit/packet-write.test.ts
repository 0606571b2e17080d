// Writing gateway → handler packets (src/zhttp/packet.ts, src/zhttp/stream-client.ts) against
// zhttp.md 3.6, 4.3, 4.8, 4.11 and checklist item 65, byte for byte: the stream first request
// packet as a real Connection and StreamClient write it, credits, keep-alives, cancels and
// batched ids, and that writing allocates nothing.

import { afterAll, describe, expect, test } from 'bun:test'
import { memoryUsage } from 'bun:jsc'
import { PACKET_OK } from '../../src/zhttp/packet-errors.ts'
import * as types from '../../src/zhttp/packet-types.ts'
import * as writer from '../../src/zhttp/packet-writer.ts'
import { IdBatch } from '../../src/zhttp/packet-writer.ts'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { idNonce } from '../../src/zhttp/session-id.ts'
import { TnWriter } from '../../src/zhttp/tnetstring.ts'
import { setLogLevel, WARN } from '../../src/log.ts'
import { ZmqContext } from '../../src/zmq/socket.ts'
import { EXT, FROM, gw } from '../helpers/handler-packets.ts'
import { open, TestWorker } from '../helpers/stream-worker.ts'
import { bytesOf, latin1 } from '../helpers/tnetstring-reference.ts'

/** The packet writer's and types' exports under one name. */
const zp = { ...types, ...writer }

setLogLevel(WARN)
const ctx = new ZmqContext()
afterAll(() => ctx.close())

describe('writing gateway → handler packets', () => {
  const out = new Uint8Array(65536)
  const w = new TnWriter()
  const written = (from: number): string => latin1(out.subarray(from, w.pos))
  const cid = bytesOf('xx0-0-2yy')

  test('the section 4.3 first request packet, as a stream connection writes it, is byte-exact', () => {
    // The production path end to end: Connection parses the request and the request reader
    // composes the packet through the StreamClient, whose PUSH the handler's PULL reads. The
    // worker, slot and counter give id 0-0-0, --id cid and --buffer-size 8192 as in the
    // zhttp.md example.
    const w = new TestWorker(ctx, { bufferSize: 8192, id: 'cid' })
    const { c } = open(w, 0, 33020)
    c.onData(bytesOf('GET /path?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n'))
    const payloads = w.firstPayloads()
    w.close()
    const doc =
      'T266:4:from,3:cid,2:id,5:0-0-0,3:seq,1:0#3:ext,15:5:multi,4:true!}6:method,3:GET,' +
      '3:uri,32:http://example.com:8080/path?x=1,7:headers,53:27:4:Host,16:example.com:8080,]' +
      '18:10:User-Agent,1:t,]]7:credits,4:8192#6:stream,4:true!12:peer-address,9:127.0.0.1,' +
      '9:peer-port,5:33020#}'
    // zgate's ids end in the process's nonce (`W-K-N-X`, zhttp.md 1.5); the rest is the doc's.
    const id = `0-0-0-${idNonce()}`
    const body = doc.slice('T266:'.length).replace('2:id,5:0-0-0,', `2:id,${id.length}:${id},`)
    expect(payloads.map(latin1)).toEqual([`T${body.length - 1}:${body}`])
  })

  test('credit packet: condure order, credits always present (zhttp.md 3.6)', () => {
    w.reset(out, 3)
    const n = zp.writeSimplePacket(w, bytesOf('condure'), 7, cid, 2, 7, 3, 'credit', 5)
    const want = gw(FROM, ['id', '0-0-2'], ['seq', 3], EXT, ['type', 'credit'], ['credits', 5])
    expect(written(3)).toBe(want)
    expect(n).toBe(want.length)
    const exact = 'T95:4:from,7:condure,2:id,5:0-0-2,3:seq,1:3#3:ext,15:5:multi,4:true!}'
    expect(written(3)).toBe(`${exact}4:type,6:credit,7:credits,1:5#}`)
    w.reset(out, 0)
    zp.writeSimplePacket(w, bytesOf('condure'), 7, cid, 2, 7, 4, 'credit', 0)
    expect(written(0)).toContain('7:credits,1:0#}')
  })

  test('keep-alive, cancel, handoff-proceed carry no credits; data without type', () => {
    const from = bytesOf('condure-with-padding')
    for (const type of ['keep-alive', 'cancel', 'handoff-proceed']) {
      w.reset(out, 0)
      zp.writeSimplePacket(w, from, 7, cid, 2, 7, 12, type, 99)
      expect(written(0)).toBe(gw(FROM, ['id', '0-0-2'], ['seq', 12], EXT, ['type', type]))
    }
    w.reset(out, 0)
    zp.writeSimplePacket(w, from, 7, cid, 2, 7, 2, null, 0)
    expect(written(0)).toBe(gw(FROM, ['id', '0-0-2'], ['seq', 2], EXT))
  })

  test('req mode: no from, no seq (zhttp.md 4.11)', () => {
    w.reset(out, 0)
    zp.writeSimplePacket(w, null, 0, cid, 2, 7, -1, null, 0)
    expect(written(0)).toBe('T38:2:id,5:0-0-2,3:ext,15:5:multi,4:true!}}')
  })

  test('what we write, we parse back', () => {
    w.reset(out, 0)
    const u32Max = 4294967295
    const len = zp.writeSimplePacket(w, bytesOf('condure'), 7, cid, 2, 7, u32Max, 'credit', 8192)
    const p = new HandlerPacket()
    expect(parseHandlerPacket(out, 0, len, p)).toBe(PACKET_OK)
    expect([p.type, p.seq, p.credits, p.idSeq[0]]).toEqual([zp.TYPE_CREDIT, u32Max, 8192, u32Max])
    expect(len).toBeLessThanOrEqual(zp.SIMPLE_PACKET_OVERHEAD_MAX_BYTES + 7 + 5 + 6)
  })

  test('batched keep-alive: list form with per-id seq (zhttp.md 4.8)', () => {
    const batch = new IdBatch()
    const a = bytesOf('0-0-0')
    const b = bytesOf('__0-1-1')
    expect(batch.add(a, 0, 5, 5)).toBe(true)
    expect(batch.add(b, 2, 7, 2)).toBe(true)
    w.reset(out, 0)
    const n = zp.writeMultiIdPacket(w, bytesOf('condure'), 7, batch, batch.count, 'keep-alive')
    const id = [{ id: '0-0-0', seq: 5 }, { id: '0-1-1', seq: 2 }]
    const want = gw(FROM, ['id', id], EXT, ['type', 'keep-alive'])
    expect(written(0)).toBe(want)
    expect(n).toBe(want.length)
    const p = new HandlerPacket()
    expect(parseHandlerPacket(out, 0, n, p)).toBe(PACKET_OK)
    const got = [p.idCount, p.idSeq[0], p.idSeq[1], p.seq, p.type]
    expect(got).toEqual([2, 5, 2, -1, zp.TYPE_KEEP_ALIVE])
  })

  test('a single-session batch uses the plain id and seq (checklist 65)', () => {
    const batch = new IdBatch()
    batch.add(bytesOf('0-3-1a'), 0, 6, 9)
    w.reset(out, 0)
    zp.writeMultiIdPacket(w, bytesOf('condure'), 7, batch, 1, 'cancel')
    expect(written(0)).toBe(gw(FROM, ['id', '0-3-1a'], ['seq', 9], EXT, ['type', 'cancel']))
    w.reset(out, 0)
    expect(zp.writeMultiIdPacket(w, bytesOf('condure'), 7, batch, 0, 'cancel')).toBe(0)
    expect(w.pos).toBe(0)
  })

  test('a full batch of 128 ids fits its size bound and parses back', () => {
    const batch = new IdBatch()
    const ids = Array.from({ length: 128 }, (_, i) => bytesOf(`1-${i}-${(i * 7919).toString(16)}`))
    for (let i = 0; i < 128; i++) expect(batch.add(ids[i], 0, ids[i].length, i * 1000)).toBe(true)
    expect(batch.add(ids[0], 0, 1, 0)).toBe(false)
    w.reset(out, 0)
    const n = zp.writeMultiIdPacket(w, bytesOf('condure'), 7, batch, batch.count, 'keep-alive')
    const perId = ids.reduce((s, id) => s + zp.MULTI_ID_ELEMENT_OVERHEAD_MAX_BYTES + id.length, 0)
    const bound = zp.SIMPLE_PACKET_OVERHEAD_MAX_BYTES + 7 + 10 + perId
    expect(n).toBeLessThanOrEqual(bound)
    const p = new HandlerPacket()
    expect(parseHandlerPacket(out, 0, n, p)).toBe(PACKET_OK)
    expect(p.idCount).toBe(128)
    expect(latin1(out.subarray(p.idStart[127], p.idEnd[127]))).toBe(latin1(ids[127]))
    expect(p.idSeq[127]).toBe(127000)
    batch.clear()
    expect(batch.count).toBe(0)
    expect(batch.bufs[0].length).toBe(0)
  })

  test('a seq < 0 in a batch omits that element seq', () => {
    const batch = new IdBatch()
    batch.add(bytesOf('a'), 0, 1, -1)
    batch.add(bytesOf('b'), 0, 1, 0)
    w.reset(out, 0)
    zp.writeMultiIdPacket(w, null, 0, batch, 2, 'cancel')
    expect(written(0)).toBe(gw(['id', [{ id: 'a' }, { id: 'b', seq: 0 }]], EXT, ['type', 'cancel']))
  })

  test('writing allocates nothing', () => {
    const from = bytesOf('condure')
    const batch = new IdBatch()
    for (let i = 0; i < 4; i++) batch.add(cid, 2, 7, i)
    const once = (): void => {
      w.reset(out, 0)
      zp.writeSimplePacket(w, from, 7, cid, 2, 7, 17, 'credit', 8192)
      zp.writeMultiIdPacket(w, from, 7, batch, 4, 'keep-alive')
    }
    for (let i = 0; i < 20_000; i++) once()
    const costs: number[] = []
    // The minimum over several rounds: in the full suite (one process, every file) a round can
    // meet heap growth from earlier files' garbage; a real per-call allocation shows in all.
    for (let t = 0; t < 12; t++) {
      Bun.gc(true)
      const before = memoryUsage().current
      for (let i = 0; i < 100_000; i++) once()
      costs.push((memoryUsage().current - before) / 100_000)
    }
    expect(Math.min(...costs)).toBeLessThan(1)
  })
})
