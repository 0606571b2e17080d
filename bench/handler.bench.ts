// Micro-benchmark of zgate/handler's per-request path without ZeroMQ: a curl-like first packet
// (zhttp.md 4.3) goes through a handler on a no-op transport, the application answers hello
// world with respond(), the reply packet is written. Also the codec alone.
// Run: bun bench/handler.bench.ts
// Prints mitata's ns/op, then GC-heap allocation per request (bench/util.ts): the library
// allocates per request the Request the application sees (with its session, headers and
// response objects) and the header strings; the codec itself allocates nothing.

import { bench, do_not_optimize, run, summary } from 'mitata'
import { createHandler } from '../src/handler/index.ts'
import { encodeTn } from '../src/handler/testing/tn-value.ts'
import { SOCK_PUB, SOCK_PULL, type InMessage, type MessageSink, type Transport } from '../src/handler/transport.ts'
import { GatewayPacket, parseGatewayPacket } from '../src/handler/wire-in.ts'
import { PacketWriter } from '../src/handler/wire-out.ts'
import { allocsPerOp, printAllocs } from './util.ts'

const ALLOC_OPS = 20_000
const utf8 = new TextEncoder()

const first = (() => {
  const m = encodeTn({
    from: 'condure',
    id: '0-3-1a',
    seq: 0,
    ext: { multi: true },
    method: 'GET',
    uri: 'http://localhost:8000/',
    headers: [
      ['Host', 'localhost:8000'],
      ['User-Agent', 'curl/7.88.1'],
      ['Accept', '*/*'],
    ],
    credits: 8192,
    stream: true,
    'peer-address': '127.0.0.1',
    'peer-port': 40000,
  })
  const out = new Uint8Array(m.length + 1)
  out[0] = 0x54
  out.set(m, 1)
  return out
})()

let sink: MessageSink | null = null
let sent = 0
const transport: Transport = {
  name: 'bench',
  start: (s) => {
    sink = s
  },
  connect: () => {},
  disconnect: () => {},
  send: () => {
    sent++
  },
  flush: () => {},
  close: async () => {},
}
const msg: InMessage = { frames: 1, buf: () => first, start: () => 0, end: () => first.length }
const sub = utf8.encode('\x01condure ')
const subMsg: InMessage = { frames: 1, buf: () => sub, start: () => 0, end: () => sub.length }

const BODY = utf8.encode('hello world\n')
const HEADERS: [string, string][] = [['Content-Type', 'text/plain']]
const handler = await createHandler({ transport: () => transport, id: 'bench', onRequest: (req) => req.respond(200, HEADERS, BODY) })
sink!(SOCK_PUB, subMsg)

const oneRequest = () => sink!(SOCK_PULL, msg)
const pkt = new GatewayPacket()
const parseOnly = () => do_not_optimize(parseGatewayPacket(first, 0, first.length, pkt))
const w = new PacketWriter()
const inst = utf8.encode('condure')
const from = utf8.encode('bench')
const id = utf8.encode('0-3-1a')
const writeOnly = () => {
  w.beginStream(inst, from, id, 0, 64)
  w.head(200, 'OK', HEADERS)
  w.body(BODY)
  do_not_optimize(w.end())
}

summary(() => {
  bench('handler: first packet → respond() → reply packet', oneRequest)
  bench('wire-in: parse a first packet', parseOnly)
  bench('wire-out: write a hello-world reply', writeOnly)
})
await run()
printAllocs([
  allocsPerOp('handler: one request, answered', ALLOC_OPS, oneRequest),
  allocsPerOp('wire-in: parse a first packet', ALLOC_OPS, parseOnly),
  allocsPerOp('wire-out: write a reply', ALLOC_OPS, writeOnly),
])
if (sent === 0 || handler.openSessions !== 0) throw new Error('bench handler did not answer')
await handler.close()
process.exit(0)
