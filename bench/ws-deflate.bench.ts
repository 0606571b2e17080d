// Micro-benchmarks for permessage-deflate (src/ws/deflate.ts, RFC 7692): one message
// compressed then decompressed by a per-connection WsDeflate (libz through bun:ffi), for
// 64 B and 16 KiB messages, with and without context takeover. For the choice of mechanism,
// the same work through the alternatives Bun 1.4 offers next to it:
// - node:zlib's native handle `_handle.writeSync` (undocumented internal; the only stateful
//   synchronous node:zlib path, used by its own `*Sync` functions),
// - node:zlib `deflateRawSync` / `inflateRawSync` one-shot calls (public, but no context
//   takeover: every message starts with an empty window, and each call allocates).
// Run: bun bench/ws-deflate.bench.ts
// Prints mitata's ns/op, then GC-heap allocation per op for the same closures (bench/util.ts).

import { bench, do_not_optimize, group, run } from 'mitata'
import { constants, createDeflateRaw, createInflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib'
import { DEFLATE_DONE, DEFLATE_FLUSH_END, WsDeflate } from '../src/ws/deflate.ts'
import { EXT_DEFLATE, EXT_SERVER_NO_CONTEXT_TAKEOVER } from '../src/ws/extensions.ts'
import { allocsPerOp, printAllocs } from './util.ts'
import type { AllocRow } from './util.ts'

/** Round trips per allocation measurement (each is two zlib calls or more). */
const ALLOC_OPS = 200_000
/** Output room for one message either way: above deflateBound(16 KiB). */
const OUT_BYTES = 64 * 1024
/** The decompression bound the bench connections use. */
const INFLATED_MESSAGE_SIZE_MAX_BYTES = 1 << 20
const TRAILER = Uint8Array.of(0x00, 0x00, 0xff, 0xff)

/** Distinct messages the benches rotate through, so context takeover is not flattered. */
const MESSAGES_ROTATED = 16

/** JSON-like events, the typical WebSocket push payload; `salt` makes each message differ. */
function message(length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length)
  let n = 0
  for (let i = salt; n < length; i++) {
    const event = `{"seq":${i},"type":"price","symbol":"SYM${(i * 31) % 997}","bid":${(i * 7919) % 100007},"ask":${(i * 104729) % 100009}}\n`
    for (let k = 0; k < event.length && n < length; k++) out[n++] = event.charCodeAt(k)
  }
  return out
}

/** zgate: compress one message, decompress it on a second connection's inflater. */
function zgateRoundTrip(msgs: Uint8Array[], flags: number): () => void {
  const tx = new WsDeflate(flags, INFLATED_MESSAGE_SIZE_MAX_BYTES)
  const rx = new WsDeflate(flags, INFLATED_MESSAGE_SIZE_MAX_BYTES)
  const wire = new Uint8Array(OUT_BYTES)
  const back = new Uint8Array(OUT_BYTES)
  let next = 0
  const once = (): number => {
    const msg = msgs[next++ % msgs.length]!
    if (tx.compress(msg, 0, msg.length, DEFLATE_FLUSH_END, wire, 0, wire.length) !== DEFLATE_DONE) return -1
    const n = tx.outputWritten
    if (rx.decompress(wire, 0, n, true, back, 0, back.length) !== DEFLATE_DONE) return -1
    return rx.outputWritten
  }
  for (const m of msgs) if (once() !== m.length) throw new Error('zgate round trip failed')
  return () => {
    do_not_optimize(once())
  }
}

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void
}

/** node:zlib's internal handle, stateful (context takeover), writing into our buffers. */
function nodeHandleRoundTrip(msgs: Uint8Array[]): () => void {
  const d = createDeflateRaw({ windowBits: 15 }) as unknown as { _handle: NativeHandle; _writeState: Uint32Array }
  const i = createInflateRaw({ windowBits: 15 }) as unknown as { _handle: NativeHandle; _writeState: Uint32Array }
  const wire = new Uint8Array(OUT_BYTES)
  const back = new Uint8Array(OUT_BYTES)
  let next = 0
  const once = (): number => {
    const msg = msgs[next++ % msgs.length]!
    d._handle.writeSync(constants.Z_SYNC_FLUSH, msg, 0, msg.length, wire, 0, wire.length)
    const n = wire.length - d._writeState[0]! - 4 // trailer removed (RFC 7692 7.2.1)
    wire.set(TRAILER, n) // and appended back (7.2.2)
    i._handle.writeSync(constants.Z_SYNC_FLUSH, wire, 0, n + 4, back, 0, back.length)
    return back.length - i._writeState[0]!
  }
  for (const m of msgs) if (once() !== m.length) throw new Error('node:zlib handle round trip failed')
  return () => {
    do_not_optimize(once())
  }
}

/** node:zlib one-shot calls: a fresh window per message and new Buffers every call. */
function nodeOneShotRoundTrip(msgs: Uint8Array[]): () => void {
  let next = 0
  const once = (): number => {
    const msg = msgs[next++ % msgs.length]!
    const c = deflateRawSync(msg, { finishFlush: constants.Z_SYNC_FLUSH })
    return inflateRawSync(c, { finishFlush: constants.Z_SYNC_FLUSH }).length
  }
  for (const m of msgs) if (once() !== m.length) throw new Error('node:zlib one-shot round trip failed')
  return () => {
    do_not_optimize(once())
  }
}

const rotation = (length: number): Uint8Array[] =>
  Array.from({ length: MESSAGES_ROTATED }, (_, k) => message(length, k * 1000))
const SMALL = rotation(64)
const LARGE = rotation(16 * 1024)

const zgateCases: [string, () => () => void][] = [
  ['zgate WsDeflate 64 B, context takeover', () => zgateRoundTrip(SMALL, EXT_DEFLATE)],
  ['zgate WsDeflate 64 B, no context takeover', () => zgateRoundTrip(SMALL, EXT_DEFLATE | EXT_SERVER_NO_CONTEXT_TAKEOVER)],
  ['zgate WsDeflate 16 KiB, context takeover', () => zgateRoundTrip(LARGE, EXT_DEFLATE)],
  ['zgate WsDeflate 16 KiB, no context takeover', () => zgateRoundTrip(LARGE, EXT_DEFLATE | EXT_SERVER_NO_CONTEXT_TAKEOVER)],
]
const otherCases: [string, () => () => void][] = [
  ['node:zlib _handle.writeSync 64 B', () => nodeHandleRoundTrip(SMALL)],
  ['node:zlib _handle.writeSync 16 KiB', () => nodeHandleRoundTrip(LARGE)],
  ['node:zlib deflateRawSync+inflateRawSync 64 B', () => nodeOneShotRoundTrip(SMALL)],
  ['node:zlib deflateRawSync+inflateRawSync 16 KiB', () => nodeOneShotRoundTrip(LARGE)],
]

group('permessage-deflate round trip: compress + decompress one message', () => {
  for (const [name, make] of zgateCases) bench(name, make())
})
group('alternatives (for the mechanism choice)', () => {
  for (const [name, make] of otherCases) bench(name, make())
})

await run({ colors: process.stdout.isTTY === true })

const rows: AllocRow[] = []
for (const [name, make] of [...zgateCases, ...otherCases]) {
  const ops = name.includes('16 KiB') ? ALLOC_OPS / 20 : ALLOC_OPS
  rows.push(allocsPerOp(name, ops, make()))
}
console.log()
printAllocs(rows)
