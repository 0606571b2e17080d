#!/usr/bin/env bun
// A hello-world ZHTTP stream handler (in the spirit of Condure's basichandler), using zgate's
// own libzmq binding: PULL from `<base>-out` for request packets, PUB to `<base>-in` for
// responses, ROUTER (identity = --from) on `<base>-out-stream` for the later packets of a
// session. Every HTTP request gets `200 OK` with `hello world\n`; a WebSocket is accepted and
// every message is echoed back (zhttp.md 5.3-5.6), pings answered, closes returned. Other
// packets (keep-alive, credit, cancel) need no answer from a handler this simple.
//
//   bun scripts/hello-handler.ts [--base ipc://client] [--instance condure] [--from hello]

import {
  ZmqContext,
  ZmqPoller,
  ZMQ_PULL,
  ZMQ_PUB,
  ZMQ_ROUTER,
  ZMQ_SNDHWM,
  ZMQ_LINGER,
  ZMQ_ROUTING_ID,
} from '../src/zmq/socket.ts'
import { HandlerPacket, parseHandlerPacket } from '../src/zhttp/packet.ts'
import { TYPE_DATA, TYPE_CLOSE, TYPE_PING, TYPE_CANCEL, TYPE_CREDIT } from '../src/zhttp/packet-types.ts'
import { TnWriter } from '../src/zhttp/tnetstring.ts'
import { beginHandlerPacket, writeStatus, endHandlerPacket } from '../src/zhttp/handler-writer.ts'
import { KEY_BODY, KEY_CREDITS, KEY_MORE, KEY_TYPE, KEY_CODE, KEY_CONTENT_TYPE } from '../src/zhttp/packet-types.ts'

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
const router = ctx.socket(ZMQ_ROUTER)
pub.setInt(ZMQ_SNDHWM, 0)
for (const s of [pull, pub, router]) s.setInt(ZMQ_LINGER, 0)
router.setBytes(ZMQ_ROUTING_ID, fromBytes)
pull.connect(`${base.startsWith('tcp:') ? base : `${base}-out`}`)
router.connect(base.startsWith('tcp:') ? bumpPort(base, 1) : `${base}-out-stream`)
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

// WebSocket flow control (zhttp.md 5.4, 5.5): an echo may only send what the gateway's credits
// allow, so the client gets exactly the credits the gateway gave us (its first packet's
// `credits`), and every `credit` the gateway returns for echoed bytes is passed on to the
// client. Bytes in flight both ways never exceed what the gateway granted.
/** Next outgoing seq of each open WebSocket session, by id. */
const wsSeqs = new Map<string, number>()
const dec = new TextDecoder()

function wsBegin(buf: Uint8Array, idS: number, idE: number, key: string, bodyBytes: number): void {
  const seq = wsSeqs.get(key) ?? 0
  wsSeqs.set(key, seq + 1)
  beginHandlerPacket(pub.outbox, w, me, buf, idS, idE, seq, bodyBytes)
}

function wsAccept(buf: Uint8Array, idS: number, idE: number, credits: number): void {
  wsBegin(buf, idS, idE, dec.decode(buf.subarray(idS, idE)), 0)
  writeStatus(w, 101, 'Switching Protocols', [])
  w.encoded(KEY_CREDITS)
  w.int(credits)
  endHandlerPacket(pub.outbox, w)
}

function wsCredit(buf: Uint8Array, idS: number, idE: number, key: string, credits: number): void {
  wsBegin(buf, idS, idE, key, 0)
  w.encoded(KEY_TYPE)
  w.ascii('credit')
  w.encoded(KEY_CREDITS)
  w.int(credits)
  endHandlerPacket(pub.outbox, w)
}

/** A later packet of a WebSocket session: echo data, answer ping with pong, return close. */
function wsPacket(buf: Uint8Array, idS: number, idE: number): void {
  const key = dec.decode(buf.subarray(idS, idE))
  if (!wsSeqs.has(key)) return
  if (pkt.type === TYPE_CANCEL) {
    wsSeqs.delete(key)
    return
  }
  if (pkt.type === TYPE_CREDIT) {
    wsCredit(buf, idS, idE, key, pkt.credits)
    return
  }
  const bodyLen = pkt.bodyStart < 0 ? 0 : pkt.bodyEnd - pkt.bodyStart
  if (pkt.type !== TYPE_DATA && pkt.type !== TYPE_PING && pkt.type !== TYPE_CLOSE) return
  wsBegin(buf, idS, idE, key, bodyLen)
  if (pkt.type === TYPE_DATA) {
    if (pkt.binary) {
      w.encoded(KEY_CONTENT_TYPE)
      w.ascii('binary')
    }
    if (pkt.more) {
      w.encoded(KEY_MORE)
      w.bool(true)
    }
  } else {
    w.encoded(KEY_TYPE)
    w.ascii(pkt.type === TYPE_PING ? 'pong' : 'close')
    if (pkt.type === TYPE_CLOSE && pkt.code >= 0) {
      w.encoded(KEY_CODE)
      w.int(pkt.code)
    }
    if (pkt.type === TYPE_CLOSE) wsSeqs.delete(key)
  }
  if (bodyLen > 0) {
    w.encoded(KEY_BODY)
    w.bytes(buf, pkt.bodyStart, pkt.bodyEnd)
  }
  endHandlerPacket(pub.outbox, w)
}

function onReady(): void {
  do {
    const n = pull.recvBatch()
    const ib = pull.inbox
    for (let i = 0; i < n; i++) {
      const s = ib.frameStart(i, 0)
      const e = ib.frameEnd(i, 0)
      if (parseHandlerPacket(ib.buf, s, e, pkt) !== 0 || pkt.type !== TYPE_DATA || pkt.idCount !== 1) continue
      // A WebSocket request is the one first packet without `stream` (zhttp.md 5.2).
      if (!pkt.stream) wsAccept(ib.buf, pkt.idStart[0], pkt.idEnd[0], pkt.credits)
      else reply(ib.buf, pkt.idStart[0], pkt.idEnd[0])
    }
  } while (!pull.inbox.drained)
  do {
    const n = router.recvBatch()
    const ib = router.inbox
    // ROUTER frames: [gateway identity, "", payload]
    for (let i = 0; i < n; i++) {
      if (parseHandlerPacket(ib.buf, ib.frameStart(i, 2), ib.frameEnd(i, 2), pkt) !== 0) continue
      for (let k = 0; k < pkt.idCount; k++) wsPacket(ib.buf, pkt.idStart[k], pkt.idEnd[k])
    }
  } while (!router.inbox.drained)
  pub.flush()
  poller.rearm()
}

const poller = new ZmqPoller(onReady)
poller.add(pull)
poller.add(router)
poller.start()
console.log(`hello handler: PULL ${base}-out, PUB ${base}-in, answering as ${from}`)

const stop = (): void => {
  poller.stop()
  ctx.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
