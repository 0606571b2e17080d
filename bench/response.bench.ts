// Micro-benchmarks for the response path (zhttp.md 4.7, 1.5): the handler response head check
// (src/http/response-check.ts), the whole first-packet composition it sits in
// (composeResponse: check, head, body), and session id render/parse with the nonce.
// Run: bun bench/response.bench.ts
// Prints mitata's ns/op, then GC-heap allocation per op for the same closures (bench/util.ts).

import { bench, do_not_optimize, group, run, summary } from 'mitata'
import { HandlerPacket, parseHandlerPacket } from '../src/zhttp/packet.ts'
import { PACKET_OK } from '../src/zhttp/packet-errors.ts'
import { TnWriter } from '../src/zhttp/tnetstring.ts'
import { checkResponseHead } from '../src/http/response-check.ts'
import { composeResponse } from '../src/conn/response-writer.ts'
import type { ResponseState } from '../src/conn/response-writer.ts'
import { FRAMING_NONE } from '../src/http/response-head.ts'
import { SESSION_ID_SIZE_MAX_BYTES, parseSessionId, writeSessionId } from '../src/zhttp/session-id.ts'
import { allocsPerOp, printAllocs } from './util.ts'
import type { AllocRow } from './util.ts'

/** Ops per allocation measurement: enough to tell 0 from one cell per op. */
const ALLOC_OPS = 1_000_000

/** A typical handler response head (7 headers, a 1 KiB body), as a handler library writes it. */
function responsePacket(): HandlerPacket {
  const out = new Uint8Array(4096)
  const w = new TnWriter(out, 0)
  w.raw(0x54) // T
  w.beginMap()
  for (const [k, v] of [['from', 'handler-1'], ['id', '0-12-1a'], ['reason', 'OK']]) {
    w.ascii(k)
    w.ascii(v)
  }
  w.ascii('code')
  w.int(200)
  w.ascii('headers')
  w.beginList()
  for (const [n, v] of [
    ['Content-Type', 'text/html; charset=utf-8'],
    ['Cache-Control', 'private, max-age=0, no-cache'],
    ['Set-Cookie', 'session=0123456789abcdef; Path=/; HttpOnly; SameSite=Lax'],
    ['Vary', 'Accept-Encoding'],
    ['ETag', '"5d8c72a5edda8d6a:3239"'],
    ['X-Request-Id', '8a3c1f0e-5b7d-4e21-9c4a-6f2d1e0b7a95'],
    ['Date', 'Mon, 07 Dec 2026 22:00:00 GMT'],
  ]) {
    w.beginList()
    w.ascii(n)
    w.ascii(v)
    w.endList()
  }
  w.endList()
  w.ascii('body')
  w.ascii('x'.repeat(1024))
  w.endMap()
  const p = new HandlerPacket()
  if (parseHandlerPacket(out, 0, w.pos, p) !== PACKET_OK) throw new Error('bench input does not parse')
  return p
}

const p = responsePacket()
const out = new Uint8Array(8192)
const st: ResponseState = { respStarted: false, framing: FRAMING_NONE, keepAlive: true, http10: false, headRequest: false, lengthLeft: 0 }
const idBuf = new Uint8Array(SESSION_ID_SIZE_MAX_BYTES)
const idLen = writeSessionId(idBuf, 0, 0, 1234, 0x1a2b3c)

const headCheck = (): void => {
  do_not_optimize(checkResponseHead(p, false))
}
const compose = (): void => {
  st.respStarted = false
  st.keepAlive = true
  do_not_optimize(composeResponse(out, p, st))
}
const idRender = (): void => {
  do_not_optimize(writeSessionId(idBuf, 0, 0, 1234, 0x1a2b3c))
}
const idParse = (): void => {
  do_not_optimize(parseSessionId(idBuf, 0, idLen))
}

summary(() => {
  group('response head', () => {
    bench('checkResponseHead (7 headers)', headCheck)
    bench('composeResponse first packet (check + head + 1 KiB body)', compose)
  })
  group('session id W-K-N-X', () => {
    bench('writeSessionId', idRender)
    bench('parseSessionId', idParse)
  })
})

await run()
const rows: AllocRow[] = [
  allocsPerOp('checkResponseHead', ALLOC_OPS, headCheck),
  allocsPerOp('writeSessionId', ALLOC_OPS, idRender),
  allocsPerOp('parseSessionId', ALLOC_OPS, idParse),
]
printAllocs(rows)
