#!/usr/bin/env bun
// A streaming ZHTTP handler for load tests, on zgate's own libzmq binding: it reads request
// bodies under credits it grants, and answers with a body of --size bytes sent only as the
// gateway's credits allow (zhttp.md 4.4, 4.7). PULL `<base>-out`, ROUTER (identity = --from)
// `<base>-out-stream`, PUB `<base>-in`.
//
//   bun bench/handlers/stream-handler.ts --base ipc:///tmp/x/zs [--size 65536] [--from h]

import {
  ZmqContext,
  ZmqPoller,
  ZMQ_PULL,
  ZMQ_PUB,
  ZMQ_ROUTER,
  ZMQ_SNDHWM,
  ZMQ_RCVHWM,
  ZMQ_LINGER,
  ZMQ_ROUTING_ID,
} from '../../src/zmq/socket.ts'
import {
  HandlerPacket,
  parseHandlerPacket,
  TYPE_DATA,
  TYPE_CREDIT,
  TYPE_CANCEL,
} from '../../src/zhttp/packet.ts'
import { TnWriter } from '../../src/zhttp/tnetstring.ts'
import { beginHandlerPacket, writeStatus, endHandlerPacket } from '../../src/zhttp/handler-writer.ts'

/** Credits granted for a request body: the whole body at once is fine for a benchmark. */
const BODY_CREDITS_BYTES = 1 << 20
/** Largest body slice per packet, whatever the credits. */
const PACKET_BODY_MAX_BYTES = 16384

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt
}

const base = arg('base', 'ipc://client')
const size = Number(arg('size', '65536'))
const from = new TextEncoder().encode(arg('from', 'bench-stream'))
const prefix = new TextEncoder().encode(`${arg('instance', 'condure')} `)
const body = new Uint8Array(size).fill(0x78)
const sizeText = String(size)

interface Session {
  id: Uint8Array
  seq: number
  credits: number
  remaining: number
  started: boolean
}
const sessions = new Map<string, Session>()

const ctx = new ZmqContext()
const pull = ctx.socket(ZMQ_PULL)
const router = ctx.socket(ZMQ_ROUTER)
const pub = ctx.socket(ZMQ_PUB)
for (const s of [pull, router, pub]) s.setInt(ZMQ_LINGER, 0)
pub.setInt(ZMQ_SNDHWM, 0)
pull.setInt(ZMQ_RCVHWM, 0)
router.setInt(ZMQ_RCVHWM, 0)
router.setBytes(ZMQ_ROUTING_ID, from)
pull.connect(`${base}-out`)
router.connect(`${base}-out-stream`)
pub.connect(`${base}-in`)

const w = new TnWriter()
const pkt = new HandlerPacket()
const dec = new TextDecoder()

const me = { prefix, from }
const HEADERS = [['Content-Length', sizeText]] as const

/** Starts `<instance> T{from, id, seq, ...}` for the session; the caller adds fields, then end(). */
function begin(s: Session, bodyBytes = 0): void {
  beginHandlerPacket(pub.outbox, w, me, s.id, 0, s.id.length, s.seq++, bodyBytes)
}

function end(): void {
  endHandlerPacket(pub.outbox, w)
}

function grant(s: Session): void {
  begin(s)
  w.ascii('type')
  w.ascii('credit')
  w.ascii('credits')
  w.int(BODY_CREDITS_BYTES)
  end()
}

/** Response head, then body slices as far as the credits go. */
function pump(key: string, s: Session): void {
  if (!s.started) {
    s.started = true
    begin(s)
    writeStatus(w, 200, 'OK', HEADERS)
    w.ascii('more')
    w.bool(true)
    end()
  }
  while (s.remaining > 0 && s.credits > 0) {
    const n = Math.min(s.remaining, s.credits, PACKET_BODY_MAX_BYTES)
    s.remaining -= n
    s.credits -= n
    begin(s, n)
    w.ascii('body')
    w.bytes(body, 0, n)
    if (s.remaining > 0) {
      w.ascii('more')
      w.bool(true)
    }
    end()
  }
  if (s.remaining === 0) sessions.delete(key)
}

function onPacket(buf: Uint8Array, start: number, end_: number, first: boolean): void {
  if (parseHandlerPacket(buf, start, end_, pkt) !== 0 || pkt.idCount < 1) return
  for (let i = 0; i < pkt.idCount; i++) {
    const key = dec.decode(buf.subarray(pkt.idStart[i], pkt.idEnd[i]))
    let s = sessions.get(key)
    if (first) {
      s = { id: buf.slice(pkt.idStart[i], pkt.idEnd[i]), seq: 0, credits: pkt.credits, remaining: size, started: false }
      sessions.set(key, s)
      if (pkt.more) grant(s)
      else pump(key, s)
      continue
    }
    if (s === undefined) continue
    if (pkt.type === TYPE_CREDIT) {
      s.credits += pkt.credits
      if (s.started) pump(key, s)
    } else if (pkt.type === TYPE_DATA && !pkt.more && !s.started) {
      pump(key, s)
    } else if (pkt.type === TYPE_CANCEL) {
      sessions.delete(key)
    }
  }
}

function drain(): void {
  do {
    const n = pull.recvBatch()
    const ib = pull.inbox
    for (let i = 0; i < n; i++) onPacket(ib.buf, ib.frameStart(i, 0), ib.frameEnd(i, 0), true)
  } while (!pull.inbox.drained)
  do {
    const n = router.recvBatch()
    const ib = router.inbox
    // ROUTER frames: [gateway identity, "", payload]
    for (let i = 0; i < n; i++) onPacket(ib.buf, ib.frameStart(i, 2), ib.frameEnd(i, 2), false)
  } while (!router.inbox.drained)
  pub.flush()
  poller.rearm()
}

const poller = new ZmqPoller(drain)
poller.add(pull)
poller.add(router)
poller.start()
console.log(`stream handler: ${base}, ${size}-byte responses under credits`)
const stop = (): void => {
  poller.stop()
  ctx.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
