// src/ws/deflate.ts against node:zlib as the reference (RFC 7692 7.2.1, 7.2.2; zhttp.md 5.7,
// checklist 123-124): our output plus `00 00 ff ff` inflates with inflateRawSync to the input;
// deflateRawSync output (sync flush, trailer removed; with the previous messages as preset
// dictionary for context takeover) decompresses with ours. Messages are fed at every split
// point into small output ranges, so the held-back trailer and OUTPUT_FULL paths run.

import { describe, expect, test } from 'bun:test'
import { heapStats } from 'bun:jsc'
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib'
import { allocsPerOp, isAllocationFree } from '../../bench/util'
import {
  DEFLATE_DATA_ERROR,
  DEFLATE_DONE,
  DEFLATE_FLUSH_END,
  DEFLATE_FLUSH_NONE,
  DEFLATE_FLUSH_SYNC,
  DEFLATE_OUTPUT_FULL,
  DEFLATE_OUTPUT_MIN_BYTES,
  DEFLATE_TOO_LARGE,
  WsDeflate,
} from '../../src/ws/deflate.ts'
import { EXT_CLIENT_NO_CONTEXT_TAKEOVER, EXT_DEFLATE, EXT_SERVER_NO_CONTEXT_TAKEOVER } from '../../src/ws/extensions.ts'
import { REPO_ROOT } from '../helpers/harness.ts'
import { rng } from '../helpers/rng.ts'

const TRAILER = Uint8Array.of(0x00, 0x00, 0xff, 0xff)
const WINDOW_BYTES = 1 << 15
const MiB = 1 << 20
const UNBOUNDED = 64 * MiB

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))
const syncInflate = (b: Uint8Array): Uint8Array =>
  new Uint8Array(inflateRawSync(b, { finishFlush: constants.Z_SYNC_FLUSH }))

/** Text-like data with repeats (compresses like JSON does) from a seeded generator. */
function sample(length: number, seed: number): Uint8Array {
  const r = rng(seed)
  const words = ['{"id":', '"type":"message"', ',"channel":"', 'news', 'prices', '"}', ' ', '\n', '12345', 'zgate']
  const out = new Uint8Array(length)
  let n = 0
  while (n < length) {
    const w = enc(words[Math.floor(r() * words.length)]!)
    const k = Math.min(w.length, length - n)
    out.set(w.subarray(0, k), n)
    n += k
  }
  return out
}

/** One compress() or decompress() call over input[at, end) into out[o, oEnd). */
type Step = (at: number, end: number, last: boolean, out: Uint8Array, o: number, oEnd: number) => number

/**
 * Feeds `data` in pieces ending at `cuts` (then the end) through `step` into output ranges of
 * `cap` bytes at an odd offset of a larger buffer (only [4, 4 + cap) may be written), calling
 * again while DEFLATE_OUTPUT_FULL. Returns the last status and every byte written, in order.
 */
function feed(d: WsDeflate, data: Uint8Array, cuts: number[], cap: number, step: Step): { status: number; bytes: Uint8Array } {
  const out = new Uint8Array(cap + 8)
  const parts: Uint8Array[] = []
  const ends = [...cuts, data.length]
  let at = 0
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!
    let status = DEFLATE_OUTPUT_FULL
    for (let rounds = 0; status === DEFLATE_OUTPUT_FULL; rounds++) {
      if (rounds > 100 * MiB) throw new Error('no progress')
      out.fill(0xaa)
      status = step(at, end, i === ends.length - 1, out, 4, 4 + cap)
      expect(out[3]).toBe(0xaa)
      expect(out[4 + cap]).toBe(0xaa)
      expect(d.outputWritten).toBeLessThanOrEqual(cap)
      parts.push(out.slice(4, 4 + d.outputWritten))
      at += d.inputUsed
    }
    if (status !== DEFLATE_DONE) return { status, bytes: concat(parts) }
    expect(at).toBe(end)
  }
  return { status: DEFLATE_DONE, bytes: concat(parts) }
}

/** Compresses one message; non-final pieces use `flush`. Returns every byte written. */
function compressPieces(d: WsDeflate, msg: Uint8Array, cuts: number[], flush: number, cap: number): Uint8Array {
  const r = feed(d, msg, cuts, cap, (at, end, last, out, o, oEnd) =>
    d.compress(msg, at, end, last ? DEFLATE_FLUSH_END : flush, out, o, oEnd),
  )
  expect(r.status).toBe(DEFLATE_DONE)
  return r.bytes
}

/** Decompresses one message. */
function decompressPieces(d: WsDeflate, data: Uint8Array, cuts: number[], cap: number): { status: number; bytes: Uint8Array } {
  return feed(d, data, cuts, cap, (at, end, last, out, o, oEnd) => d.decompress(data, at, end, last, out, o, oEnd))
}

/** A client's message as zlib makes it: sync flush, trailer removed, `history` as window. */
function clientMessage(msg: Uint8Array, history?: Uint8Array): Uint8Array {
  const opts: { finishFlush: number; dictionary?: Uint8Array } = { finishFlush: constants.Z_SYNC_FLUSH }
  if (history !== undefined && history.length > 0) opts.dictionary = history.subarray(Math.max(0, history.length - WINDOW_BYTES))
  const c = new Uint8Array(deflateRawSync(msg, opts))
  expect(Array.from(c.subarray(c.length - 4))).toEqual(Array.from(TRAILER))
  return c.subarray(0, c.length - 4)
}

describe('compress', () => {
  test('output + 00 00 ff ff inflates with zlib to the input; the trailer is never sent', () => {
    for (const length of [1, 2, 63, 64, 1000, 16 * 1024]) {
      const msg = sample(length, length)
      const c = compressPieces(new WsDeflate(EXT_DEFLATE, UNBOUNDED), msg, [], DEFLATE_FLUSH_NONE, 64 * 1024)
      expect(syncInflate(concat([c, TRAILER]))).toEqual(msg)
      // Without the trailer appended, the data is not a complete sync-flushed stream.
      expect(Array.from(c.subarray(c.length - 4))).not.toEqual(Array.from(TRAILER))
    }
  })

  test('context takeover: a repeated message shrinks and the stream decodes as one', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    const msgs = [sample(2000, 1), sample(2000, 1), sample(500, 2), new Uint8Array(0), sample(2000, 1)]
    const sent = msgs.map((m) => compressPieces(d, m, [], DEFLATE_FLUSH_NONE, 4096))
    expect(sent[1]!.length).toBeLessThan(sent[0]!.length / 4)
    expect(sent[4]!.length).toBeLessThan(sent[0]!.length / 4)
    // A stateful reference: the client's inflater sees each message + trailer, in order.
    const stream = concat(sent.flatMap((c) => [c, TRAILER]))
    expect(syncInflate(stream)).toEqual(concat(msgs))
  })

  test('server_no_context_takeover: every message stands alone', () => {
    const d = new WsDeflate(EXT_DEFLATE | EXT_SERVER_NO_CONTEXT_TAKEOVER, UNBOUNDED)
    const msg = sample(2000, 1)
    const first = compressPieces(d, msg, [], DEFLATE_FLUSH_NONE, 4096)
    const second = compressPieces(d, msg, [], DEFLATE_FLUSH_NONE, 4096)
    expect(second).toEqual(first)
    expect(syncInflate(concat([second, TRAILER]))).toEqual(msg)
  })

  test('every split point, every flush mode, output ranges from the minimum up', () => {
    const msgs = [sample(300, 3), sample(300, 3)] // the second refers to the first
    for (const flush of [DEFLATE_FLUSH_NONE, DEFLATE_FLUSH_SYNC]) {
      for (const cap of [DEFLATE_OUTPUT_MIN_BYTES, 17, 23, 4096]) {
        for (let cut = 0; cut <= msgs[0]!.length; cut += cap === 4096 ? 1 : 7) {
          const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
          const sent = msgs.map((m) => compressPieces(d, m, [cut], flush, cap))
          expect(syncInflate(concat([sent[0]!, TRAILER, sent[1]!, TRAILER]))).toEqual(concat(msgs))
        }
      }
    }
  })

  test('three-way splits of a short message', () => {
    const msg = sample(40, 9)
    for (let a = 0; a <= msg.length; a++) {
      for (let b = a; b <= msg.length; b++) {
        const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
        const c = compressPieces(d, msg, [a, b], a % 2 === 0 ? DEFLATE_FLUSH_NONE : DEFLATE_FLUSH_SYNC, DEFLATE_OUTPUT_MIN_BYTES)
        expect(syncInflate(concat([c, TRAILER]))).toEqual(msg)
      }
    }
  })

  test('a sync-flushed piece is decodable before the message ends (streaming)', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    const msg = sample(1000, 4)
    const out = new Uint8Array(4096)
    expect(d.compress(msg, 0, 600, DEFLATE_FLUSH_SYNC, out, 0, out.length)).toBe(DEFLATE_DONE)
    expect(syncInflate(out.slice(0, d.outputWritten))).toEqual(msg.subarray(0, 600))
  })

  test('an empty message is the single byte 00 (RFC 7692 7.2.3.6), also after others', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    expect(Array.from(compressPieces(d, new Uint8Array(0), [], DEFLATE_FLUSH_NONE, 64))).toEqual([0])
    const a = compressPieces(d, sample(100, 5), [], DEFLATE_FLUSH_NONE, 64)
    const e = compressPieces(d, new Uint8Array(0), [], DEFLATE_FLUSH_NONE, 64)
    expect(syncInflate(concat([Uint8Array.of(0), TRAILER, a, TRAILER, e, TRAILER]))).toEqual(sample(100, 5))
  })

  test('a 1 MiB message, random bytes and text, through 64 KiB output ranges', () => {
    for (const msg of [sample(MiB, 6), new Uint8Array(Buffer.from(Array.from({ length: MiB }, (_, i) => (i * 2654435761) >>> 24)))]) {
      const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
      const c = compressPieces(d, msg, [MiB / 2], DEFLATE_FLUSH_NONE, 64 * 1024)
      expect(syncInflate(concat([c, TRAILER]))).toEqual(msg)
    }
  })

  test('refuses output ranges below the minimum', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    const out = new Uint8Array(64)
    expect(() => d.compress(enc('x'), 0, 1, DEFLATE_FLUSH_END, out, 0, DEFLATE_OUTPUT_MIN_BYTES - 1)).toThrow(RangeError)
  })
})

describe('decompress', () => {
  test("zlib's raw deflate with the trailer removed decompresses to the input", () => {
    for (const length of [0, 1, 64, 1000, 16 * 1024]) {
      const msg = sample(length, length + 1)
      const r = decompressPieces(new WsDeflate(EXT_DEFLATE, UNBOUNDED), clientMessage(msg), [], 64 * 1024)
      expect(r.status).toBe(DEFLATE_DONE)
      expect(r.bytes).toEqual(msg)
    }
  })

  test('context takeover: messages that refer to earlier ones decode in order', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    const msgs = [sample(3000, 1), sample(3000, 1), new Uint8Array(0), sample(700, 2), sample(3000, 1)]
    let history: Uint8Array = new Uint8Array(0)
    for (const m of msgs) {
      const c = clientMessage(m, history)
      if (history.length > 0 && m.length > 0) expect(c.length).toBeLessThan(clientMessage(m).length)
      const r = decompressPieces(d, c, [], 1024)
      expect(r.status).toBe(DEFLATE_DONE)
      expect(r.bytes).toEqual(m)
      history = concat([history, m])
    }
  })

  test('client_no_context_takeover: independent messages decode; the inflater is reset', () => {
    const d = new WsDeflate(EXT_DEFLATE | EXT_CLIENT_NO_CONTEXT_TAKEOVER, UNBOUNDED)
    for (const m of [sample(3000, 1), sample(3000, 1), sample(10, 3)]) {
      const r = decompressPieces(d, clientMessage(m), [], 1024)
      expect(r.bytes).toEqual(m)
    }
    // A message referring to the previous one now fails: nothing was kept.
    const m = sample(3000, 1)
    const r = decompressPieces(d, clientMessage(m, m), [], 1024)
    expect(r.status === DEFLATE_DATA_ERROR || !Buffer.from(r.bytes).equals(Buffer.from(m))).toBe(true)
  })

  test('every split point of the input, output ranges of 1, 7 and 4096 bytes', () => {
    const msgs = [sample(400, 7), sample(400, 7)]
    const c0 = clientMessage(msgs[0]!)
    const c1 = clientMessage(msgs[1]!, msgs[0]!)
    for (const cap of [1, 7, 4096]) {
      for (let cut = 0; cut <= c0.length; cut++) {
        const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
        expect(decompressPieces(d, c0, [cut], cap).bytes).toEqual(msgs[0]!)
        const r = decompressPieces(d, c1, [Math.min(cut, c1.length)], cap)
        expect(r.status).toBe(DEFLATE_DONE)
        expect(r.bytes).toEqual(msgs[1]!)
      }
    }
  })

  test('empty messages: no payload at all, or the single byte 00', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    expect(decompressPieces(d, new Uint8Array(0), [], 16)).toEqual({ status: DEFLATE_DONE, bytes: new Uint8Array(0) })
    expect(decompressPieces(d, Uint8Array.of(0), [], 16)).toEqual({ status: DEFLATE_DONE, bytes: new Uint8Array(0) })
    const m = sample(100, 8)
    expect(decompressPieces(d, clientMessage(m), [], 16).bytes).toEqual(m)
  })

  test('a 1 MiB message through 8 KiB output ranges, input in 1000-byte frames', () => {
    const msg = sample(MiB, 10)
    const c = clientMessage(msg)
    const cuts = Array.from({ length: Math.floor(c.length / 1000) }, (_, i) => (i + 1) * 1000).filter((x) => x < c.length)
    const r = decompressPieces(new WsDeflate(EXT_DEFLATE, 2 * MiB), c, cuts, 8192)
    expect(r.status).toBe(DEFLATE_DONE)
    expect(r.bytes).toEqual(msg)
  })

  test('a message ending in a BFINAL block (RFC 7692 7.2.3.4) keeps the window for the next', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    const first = sample(2000, 11)
    const finalBlock = new Uint8Array(deflateRawSync(first)) // Z_FINISH: BFINAL set
    expect(decompressPieces(d, finalBlock, [], 512).bytes).toEqual(first)
    const next = sample(2000, 11)
    const r = decompressPieces(d, clientMessage(next, first), [], 512)
    expect(r.status).toBe(DEFLATE_DONE)
    expect(r.bytes).toEqual(next)
  })

  test('a decompression bomb stops at the bound and stays failed', () => {
    const bomb = clientMessage(new Uint8Array(16 * MiB)) // ~16 KiB of DEFLATE
    expect(bomb.length).toBeLessThan(32 * 1024)
    const limit = MiB
    const d = new WsDeflate(EXT_DEFLATE, limit)
    const out = new Uint8Array(256 * 1024)
    let written = 0
    let at = 0
    let status = DEFLATE_OUTPUT_FULL
    while (status === DEFLATE_OUTPUT_FULL) {
      status = d.decompress(bomb, at, bomb.length, true, out, 0, out.length)
      written += d.outputWritten
      at += d.inputUsed
    }
    expect(status).toBe(DEFLATE_TOO_LARGE)
    expect(written).toBeLessThanOrEqual(limit + 1)
    expect(d.decompress(bomb, at, bomb.length, true, out, 0, out.length)).toBe(DEFLATE_TOO_LARGE)
    expect(d.outputWritten).toBe(0)
  })

  test('a message of exactly the bound passes; one byte more fails', () => {
    const limit = 5000
    const ok = decompressPieces(new WsDeflate(EXT_DEFLATE, limit), clientMessage(sample(limit, 12)), [], 1000)
    expect(ok.status).toBe(DEFLATE_DONE)
    expect(ok.bytes.length).toBe(limit)
    const over = decompressPieces(new WsDeflate(EXT_DEFLATE, limit), clientMessage(sample(limit + 1, 12)), [], 1000)
    expect(over.status).toBe(DEFLATE_TOO_LARGE)
    // The bound is per message: many messages of the bound each pass on one connection.
    const d = new WsDeflate(EXT_DEFLATE, limit)
    for (let i = 0; i < 5; i++) expect(decompressPieces(d, clientMessage(sample(limit, i)), [], 4096).status).toBe(DEFLATE_DONE)
  })

  test('invalid DEFLATE data is DEFLATE_DATA_ERROR, and stays so', () => {
    const d = new WsDeflate(EXT_DEFLATE, UNBOUNDED)
    const out = new Uint8Array(100)
    const junk = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff)
    expect(d.decompress(junk, 0, junk.length, true, out, 0, out.length)).toBe(DEFLATE_DATA_ERROR)
    const good = clientMessage(enc('hello'))
    expect(d.decompress(good, 0, good.length, true, out, 0, out.length)).toBe(DEFLATE_DATA_ERROR)
  })
})

describe('sessions', () => {
  test('random sessions: ours to ours and to zlib, random splits, sizes and flags', () => {
    const r = rng(1234)
    for (let session = 0; session < 40; session++) {
      const flags = EXT_DEFLATE | (r() < 0.5 ? EXT_SERVER_NO_CONTEXT_TAKEOVER : 0)
      const tx = new WsDeflate(flags, UNBOUNDED)
      const rx = new WsDeflate(EXT_DEFLATE | (flags & EXT_SERVER_NO_CONTEXT_TAKEOVER ? EXT_CLIENT_NO_CONTEXT_TAKEOVER : 0), UNBOUNDED)
      const wire: Uint8Array[] = []
      const sent: Uint8Array[] = []
      for (let m = 0; m < 8; m++) {
        const length = r() < 0.2 ? 0 : Math.floor(r() ** 3 * 20_000)
        const msg = r() < 0.3 ? new Uint8Array(Array.from({ length }, () => Math.floor(r() * 256))) : sample(length, session * 100 + m)
        const cuts = [Math.floor(r() * (length + 1)), Math.floor(r() * (length + 1))].sort((a, b) => a - b)
        const flush = r() < 0.5 ? DEFLATE_FLUSH_NONE : DEFLATE_FLUSH_SYNC
        const c = compressPieces(tx, msg, cuts, flush, DEFLATE_OUTPUT_MIN_BYTES + Math.floor(r() * 3000))
        const ccuts = [Math.floor(r() * (c.length + 1))]
        const back = decompressPieces(rx, c, ccuts, 1 + Math.floor(r() * 5000))
        expect(back.status).toBe(DEFLATE_DONE)
        expect(back.bytes).toEqual(msg)
        wire.push(c, TRAILER)
        sent.push(msg)
      }
      if ((flags & EXT_SERVER_NO_CONTEXT_TAKEOVER) === 0) expect(syncInflate(concat(wire))).toEqual(concat(sent))
    }
  })

  test('random bytes never throw, never write past the range or the bound', () => {
    const r = rng(99)
    const out = new Uint8Array(300)
    for (let i = 0; i < 3000; i++) {
      const d = new WsDeflate(EXT_DEFLATE, 1000)
      const junk = new Uint8Array(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256)))
      let at = 0
      let total = 0
      let status = DEFLATE_OUTPUT_FULL
      for (let rounds = 0; status === DEFLATE_OUTPUT_FULL && rounds < 100; rounds++) {
        out.fill(0xaa)
        status = d.decompress(junk, at, junk.length, true, out, 10, 290)
        expect(out[9]).toBe(0xaa)
        expect(out[290]).toBe(0xaa)
        at += d.inputUsed
        total += d.outputWritten
      }
      expect([DEFLATE_DONE, DEFLATE_TOO_LARGE, DEFLATE_DATA_ERROR]).toContain(status)
      expect(total).toBeLessThanOrEqual(1001)
      d.close()
    }
  })
})

describe('memory and lifecycle', () => {
  test('10k connections that never compress hold no zlib state', () => {
    Bun.gc(true)
    const heapBefore = heapStats().heapSize
    const rssBefore = process.memoryUsage.rss()
    const conns: WsDeflate[] = []
    for (let i = 0; i < 10_000; i++) conns.push(new WsDeflate(EXT_DEFLATE, MiB))
    Bun.gc(true)
    const heapGrowth = heapStats().heapSize - heapBefore
    const rssGrowth = process.memoryUsage.rss() - rssBefore
    expect(conns.every((c) => c.streamsOpen === 0)).toBe(true)
    // A few dozen bytes of JS object each; one zlib stream pair would be ~300 KiB each.
    expect(heapGrowth).toBeLessThan(10_000 * 256)
    expect(rssGrowth).toBeLessThan(16 * MiB)
  })

  test('first use allocates only the direction used; close() frees both', () => {
    const d = new WsDeflate(EXT_DEFLATE, MiB)
    const out = new Uint8Array(64)
    d.compress(enc('abc'), 0, 3, DEFLATE_FLUSH_END, out, 0, out.length)
    expect(d.streamsOpen).toBe(1)
    const c = clientMessage(enc('abc'))
    d.decompress(c, 0, c.length, true, out, 0, out.length)
    expect(d.streamsOpen).toBe(2)
    d.close()
    expect(d.streamsOpen).toBe(0)
    d.close() // idempotent
  })

  test('open/close churn does not leak zlib memory (2000 x ~300 KiB if it did)', () => {
    const out = new Uint8Array(64)
    const c = clientMessage(enc('hello'))
    const churn = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const d = new WsDeflate(EXT_DEFLATE, MiB)
        d.compress(enc('hello'), 0, 5, DEFLATE_FLUSH_END, out, 0, out.length)
        d.decompress(c, 0, c.length, true, out, 0, out.length)
        d.close()
      }
    }
    churn(200) // warm the allocator
    const before = process.memoryUsage.rss()
    churn(2000)
    expect(process.memoryUsage.rss() - before).toBeLessThan(64 * MiB)
  })

  test('compress and decompress of a message allocate nothing', () => {
    const d = new WsDeflate(EXT_DEFLATE, MiB)
    const msg = sample(64, 13)
    const wire = new Uint8Array(256)
    const back = new Uint8Array(256)
    let sink = 0
    const row = allocsPerOp('deflate 64 B round trip', 300_000, () => {
      d.compress(msg, 0, msg.length, DEFLATE_FLUSH_END, wire, 0, wire.length)
      const n = d.outputWritten
      d.decompress(wire, 0, n, true, back, 0, back.length)
      sink += d.outputWritten
    })
    expect(sink).toBeGreaterThan(0)
    expect(isAllocationFree(row), JSON.stringify(row)).toBe(true)
  })

  test('without libz, constructing is fine and the first compress fails clearly', () => {
    const script = `
      import { WsDeflate, DEFLATE_FLUSH_END } from './src/ws/deflate.ts'
      const d = new WsDeflate(1, 1000)
      try { d.compress(new Uint8Array(1), 0, 1, DEFLATE_FLUSH_END, new Uint8Array(64), 0, 64); console.log('no error') }
      catch (e) { console.log(e.name, e.code, e.message) }`
    const p = Bun.spawnSync([process.execPath, '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ZGATE_LIBZ: '/nonexistent/libz.so.1' },
    })
    const text = p.stdout.toString()
    expect(text).toContain('ZlibLoadError ZLIB_LOAD')
    expect(text).toContain('/nonexistent/libz.so.1')
    expect(text).toContain('zlib1g')
  })
})
