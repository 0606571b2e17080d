// parseHandlerPacket (src/zhttp/packet.ts) under hostile input, fenced so that a read
// outside [start, end) throws: truncation at every split point, random mutations, random
// valid packets against what was encoded; and its allocation (none per parse).

import { describe, expect, test } from 'bun:test'
import { heapStats, memoryUsage } from 'bun:jsc'
import { PACKET_OK } from '../../src/zhttp/packet-errors.ts'
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { fenced } from '../helpers/fenced.ts'
import { headersOf, idsOf, parse, pkt, RESPONSE, text } from '../helpers/handler-packets.ts'
import { rng } from '../helpers/rng.ts'
import { Pairs, type Val, type ValMap } from '../helpers/tnetstring-reference.ts'

describe('parseHandlerPacket: hostile input', () => {
  test('truncated at every split point: an error, no throw, no read past end', () => {
    const id = [{ id: '0-1-2', seq: 3 }, { id: '0-1-3' }]
    const full = pkt({ ...(RESPONSE as ValMap), id, ext: { multi: true } })
    const p = new HandlerPacket()
    expect(parseHandlerPacket(fenced(full, 0, full.length), 0, full.length, p)).toBe(PACKET_OK)
    for (let cut = 0; cut < full.length; cut++) {
      expect(parseHandlerPacket(fenced(full, 0, cut), 0, cut, p)).toBeLessThan(0)
      expect(parseHandlerPacket(full.slice(0, cut), 0, cut, p)).toBeLessThan(0)
    }
  })

  test('random mutations never throw or read out of range', () => {
    const id = [{ id: '0-1-2', seq: 3 }]
    const ext = { multi: true }
    const base = pkt({ ...(RESPONSE as ValMap), id, ext, 'content-type': 'binary' })
    const r = rng(3)
    const p = new HandlerPacket()
    const seen = new Set<number>()
    for (let i = 0; i < 5000; i++) {
      const b = base.slice()
      for (let j = 0; j < 1 + Math.floor(r() * 3); j++) {
        // Digits and the grammar's bytes (`:` and type bytes) do the most damage.
        const choices = [0x30 + Math.floor(r() * 10), 0x3a, 0x2c, 0x23, 0x5d, 0x7d, 0x21, 0x2d]
        choices.push(Math.floor(r() * 256))
        b[Math.floor(r() * b.length)] = choices[Math.floor(r() * choices.length)]
      }
      const end = r() < 0.2 ? Math.floor(r() * b.length) : b.length
      seen.add(parseHandlerPacket(fenced(b, 0, end), 0, end, p))
    }
    expect(seen.has(PACKET_OK)).toBe(true)
    expect(seen.size).toBeGreaterThan(5)
  })

  test('random valid packets parse to exactly what was encoded', () => {
    const r = rng(4)
    const p = new HandlerPacket()
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]
    for (let i = 0; i < 500; i++) {
      const fields: [string, Val][] = []
      const want: Record<string, unknown> = {}
      if (r() < 0.8) fields.push(['from', (want.from = `h${i}`)])
      const listForm = r() < 0.3
      const idCount = listForm ? Math.floor(r() * 5) : 1
      const ids = Array.from({ length: idCount }, (_, j) => `${j}-${i}-${j}`)
      if (listForm) fields.push(['id', ids.map((id, j) => (j % 2 ? { id } : { id, seq: j }))])
      else fields.push(['id', ids[0]])
      want.ids = ids
      if (r() < 0.7) fields.push(['seq', (want.seq = Math.floor(r() * 2 ** 32))])
      if (r() < 0.5) fields.push(['code', (want.code = pick([0, 101, 200, 404, 65535]))])
      if (r() < 0.5) fields.push(['reason', (want.reason = pick(['', 'OK', 'Not Found', 'é']))])
      if (r() < 0.5) fields.push(['body', (want.body = 'x'.repeat(Math.floor(r() * 300)))])
      if (r() < 0.5) fields.push(['credits', (want.credits = Math.floor(r() * 1e6))])
      if (r() < 0.5) fields.push(['more', (want.more = r() < 0.5)])
      const headers = Array.from({ length: Math.floor(r() * 4) }, (_, j) => [`N${j}`, `v${i}`])
      if (headers.length > 0 || r() < 0.3) fields.push(['headers', headers])
      if (r() < 0.3) fields.push([`unknown-${i}`, pick<Val>([null, 1, 'x', [1], { a: 1 }])])
      // Field order is not significant (zhttp.md 2.3).
      for (let j = fields.length - 1; j > 0; j--) {
        const k = Math.floor(r() * (j + 1))
        ;[fields[j], fields[k]] = [fields[k], fields[j]]
      }
      expect(parse(pkt(new Pairs(fields)), p)).toBe(PACKET_OK)
      expect(text(p, p.fromStart, p.fromEnd)).toBe((want.from as string) ?? null)
      expect(idsOf(p)).toEqual(ids)
      const seqs = listForm ? ids.map((_, j) => (j % 2 ? -1 : j)) : [(want.seq as number) ?? -1]
      expect(Array.from(p.idSeq.subarray(0, p.idCount))).toEqual(seqs)
      expect(p.seq).toBe((want.seq as number) ?? -1)
      expect(p.code).toBe((want.code as number) ?? -1)
      expect(text(p, p.reasonStart, p.reasonEnd)).toBe((want.reason as string) ?? null)
      expect(text(p, p.bodyStart, p.bodyEnd)).toBe((want.body as string) ?? null)
      expect(p.credits).toBe((want.credits as number) ?? -1)
      expect(p.more).toBe((want.more as boolean) ?? false)
      expect(headersOf(p)).toEqual(headers)
    }
  })
})

describe('parseHandlerPacket allocates nothing', () => {
  // heapStats() object counts only move at a collection, so they catch retained objects (a
  // leak) but not short-lived garbage. bun:jsc memoryUsage().current (allocator bytes) does
  // move with garbage between collections; the control loop proves the probe can see it.
  const bytes = pkt(RESPONSE)
  const p = new HandlerPacket()
  const N = 100_000
  const bytesPerOp = (f: () => void): number => {
    // Long enough a warm-up that JIT tier-ups (which allocate) are done before measuring.
    for (let i = 0; i < 20_000; i++) f()
    Bun.gc(true)
    const before = memoryUsage().current
    for (let i = 0; i < N; i++) f()
    return (memoryUsage().current - before) / N
  }
  let sink: Uint8Array | null = null

  test('no transient allocation per parse', () => {
    const parseOnce = (): void => {
      if (parseHandlerPacket(bytes, 0, bytes.length, p) !== PACKET_OK) throw new Error('parse')
    }
    // Best of 5: pages committed by anything else (a late JIT compile) only raise a reading.
    const parseCost = Math.min(...Array.from({ length: 5 }, () => bytesPerOp(parseOnce)))
    const control = Math.max(
      bytesPerOp(() => {
        sink = bytes.subarray(1)
      }),
      bytesPerOp(() => {
        sink = bytes.subarray(2)
      }),
    )
    expect(sink).not.toBeNull()
    expect(control).toBeGreaterThan(8)
    expect(parseCost).toBeLessThan(1)
  })

  test('no retained objects after 100k parses', () => {
    for (let i = 0; i < 2000; i++) parseHandlerPacket(bytes, 0, bytes.length, p)
    Bun.gc(true)
    const before = heapStats().objectCount
    for (let i = 0; i < N; i++) parseHandlerPacket(bytes, 0, bytes.length, p)
    Bun.gc(true)
    expect(heapStats().objectCount - before).toBeLessThan(50)
  })
})
