#!/usr/bin/env bun
// A hello-world ZHTTP stream handler (in the spirit of Condure's basichandler), using zgate's
// own libzmq binding: PULL from `<base>-out` for request packets, PUB to `<base>-in` for
// responses. Every request gets `200 OK` with `hello world\n`; packets with a `type`
// (keep-alive, credit, cancel) need no answer from a handler this simple.
//
//   bun scripts/hello-handler.ts [--base ipc://client] [--instance condure] [--from hello]

import { ZmqContext, ZmqPoller, ZMQ_PULL, ZMQ_PUB, ZMQ_SNDHWM, ZMQ_LINGER, POLLIN } from '../src/zmq/socket.ts'
import { HandlerPacket, parseHandlerPacket, TYPE_DATA } from '../src/zhttp/packet.ts'
import { TnWriter } from '../src/zhttp/tnetstring.ts'
import { beginHandlerPacket, writeStatus, endHandlerPacket } from '../src/zhttp/handler-writer.ts'
import { KEY_BODY } from '../src/zhttp/packet-writer.ts'

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt
}

const base = arg('base', 'ipc://client')
const instance = arg('instance', 'condure')
const from = arg('from', 'hello-handler')
const enc = new TextEncoder()
const prefix = enc.encode(`${instance} `)
const fromBytes = enc.encode(from)
const BODY = enc.encode('hello world\n')

const ctx = new ZmqContext()
const pull = ctx.socket(ZMQ_PULL)
const pub = ctx.socket(ZMQ_PUB)
pub.setInt(ZMQ_SNDHWM, 0)
for (const s of [pull, pub]) s.setInt(ZMQ_LINGER, 0)
pull.connect(`${base.startsWith('tcp:') ? base : `${base}-out`}`)
pub.connect(base.startsWith('tcp:') ? bumpPort(base, 2) : `${base}-in`)

function bumpPort(spec: string, by: number): string {
  const i = spec.lastIndexOf(':')
  return `${spec.slice(0, i)}:${Number(spec.slice(i + 1)) + by}`
}

const pkt = new HandlerPacket()
const w = new TnWriter()

const me = { prefix, from: fromBytes }
const HEADERS = [['Content-Type', 'text/plain']] as const

function reply(buf: Uint8Array, idS: number, idE: number): void {
  beginHandlerPacket(pub.outbox, w, me, buf, idS, idE, 0, BODY.length)
  writeStatus(w, 200, 'OK', HEADERS)
  w.encoded(KEY_BODY)
  w.bytes(BODY, 0, BODY.length)
  endHandlerPacket(pub.outbox, w)
}

function onReady(): void {
  for (;;) {
    const n = pull.recvBatch()
    if (n === 0) {
      if ((pull.events() & POLLIN) === 0) break
      continue
    }
    const ib = pull.inbox
    for (let i = 0; i < n; i++) {
      const s = ib.frameStart(i, 0)
      const e = ib.frameEnd(i, 0)
      if (parseHandlerPacket(ib.buf, s, e, pkt) !== 0 || pkt.type !== TYPE_DATA) continue
      reply(ib.buf, pkt.idStart[0], pkt.idEnd[0])
    }
  }
  pub.flush()
  poller.rearm()
}

const poller = new ZmqPoller(onReady)
poller.add(pull)
poller.start()
console.log(`hello handler: PULL ${base}-out, PUB ${base}-in, answering as ${from}`)

const stop = (): void => {
  poller.stop()
  ctx.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
