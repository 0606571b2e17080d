#!/usr/bin/env bun
// A streaming ZHTTP handler for load tests, on zgate's own libzmq binding: it reads request
// bodies under credits it grants, and answers with a body of --size bytes (or `?size=N` from
// the request's query) sent only as the gateway's credits allow (zhttp.md 4.4, 4.7). A
// WebSocket request (ws:// uri) is accepted and every message echoed under the gateway's
// credits, the bytes received being credited back (zhttp.md 5.3-5.5). PULL `<base>-out`,
// ROUTER (identity = --from) `<base>-out-stream`, PUB `<base>-in`.
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
import { HandlerPacket, parseHandlerPacket } from '../../src/zhttp/packet.ts'
import { TYPE_DATA, TYPE_CREDIT, TYPE_CANCEL, TYPE_CLOSE, TYPE_ERROR } from '../../src/zhttp/packet-types.ts'
import { TnSpan, TnWriter, TN_OK, decodeTn } from '../../src/zhttp/tnetstring.ts'
import { spanEqualsAscii } from '../../src/util/bytes.ts'
import { beginHandlerPacket, writeStatus, endHandlerPacket } from '../../src/zhttp/handler-writer.ts'

/** Credits granted for a request body: the whole body at once is fine for a benchmark. */
const BODY_CREDITS_BYTES = 1 << 20
/** Largest body slice per packet, whatever the credits. */
const PACKET_BODY_MAX_BYTES = 16384
/** Largest `?size=` a request may ask for. */
const RESPONSE_SIZE_MAX_BYTES = 1 << 30
/** Client message bytes granted with a WebSocket accept, and handed back in steps of this. */
const WS_CREDITS_BYTES = 1 << 20
const WS_CREDIT_RETURN_BYTES = 64 * 1024

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt
}

const base = arg('base', 'ipc://client')
const size = Number(arg('size', '65536'))
const from = new TextEncoder().encode(arg('from', 'bench-stream'))
const prefix = new TextEncoder().encode(`${arg('instance', 'condure')} `)
/** Every body slice is the same bytes, so one packet's worth is enough. */
const body = new Uint8Array(PACKET_BODY_MAX_BYTES).fill(0x78)

/** WebSocket echo bytes waiting for the gateway's credits. */
interface Piece {
  bytes: Uint8Array
  off: number
  binary: boolean
  more: boolean
}

interface Session {
  id: Uint8Array
  seq: number
  credits: number
  remaining: number
  started: boolean
  headers: ReadonlyArray<readonly [string, string]>
  ws: boolean
  /** WebSocket bytes received and not yet credited back. */
  unreturned: number
  pending: Piece[]
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
/** Response headers per body size, made once per size. */
const headersBySize = new Map<number, ReadonlyArray<readonly [string, string]>>()

function headersFor(n: number): ReadonlyArray<readonly [string, string]> {
  let h = headersBySize.get(n)
  if (h === undefined) {
    h = [['Content-Length', String(n)]]
    headersBySize.set(n, h)
  }
  return h
}

const topSpan = new TnSpan()
const keySpan = new TnSpan()
const valSpan = new TnSpan()

/** The `uri` of a first packet at buf[start, end) (`T` + map), or ''. */
function uriOf(buf: Uint8Array, start: number, end: number): string {
  if (decodeTn(buf, start + 1, end, topSpan) !== TN_OK) return ''
  for (let pos = topSpan.dataStart; pos < topSpan.dataEnd; pos = valSpan.next) {
    if (decodeTn(buf, pos, topSpan.dataEnd, keySpan) !== TN_OK || decodeTn(buf, keySpan.next, topSpan.dataEnd, valSpan) !== TN_OK) return ''
    if (spanEqualsAscii(buf, keySpan.dataStart, keySpan.dataEnd, 'uri')) return dec.decode(buf.subarray(valSpan.dataStart, valSpan.dataEnd))
  }
  return ''
}

/** `?size=N` of a uri, or --size. */
function sizeOf(uri: string): number {
  const m = /[?&]size=(\d+)/.exec(uri)
  return m === null ? size : Math.min(Number(m[1]), RESPONSE_SIZE_MAX_BYTES)
}

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
    writeStatus(w, 200, 'OK', s.headers)
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

/** The 101 that accepts a WebSocket request, granting client message credits (zhttp.md 5.3). */
function acceptWs(s: Session): void {
  begin(s)
  writeStatus(w, 101, 'Switching Protocols', [])
  w.ascii('credits')
  w.int(WS_CREDITS_BYTES)
  end()
}

/** Echoes what waits, in pieces as large as the credits allow (zhttp.md 5.5). */
function wsFlush(s: Session): void {
  while (s.pending.length > 0) {
    const pc = s.pending[0]!
    const left = pc.bytes.length - pc.off
    if (left > 0 && s.credits <= 0) return
    const n = Math.min(left, s.credits, PACKET_BODY_MAX_BYTES)
    const whole = n === left
    s.credits -= n
    begin(s, n)
    if (pc.binary) {
      w.ascii('content-type')
      w.ascii('binary')
    }
    w.ascii('body')
    w.bytes(pc.bytes, pc.off, pc.off + n)
    if (!whole || pc.more) {
      w.ascii('more')
      w.bool(true)
    }
    end()
    pc.off += n
    if (whole) s.pending.shift()
  }
}

/** A WebSocket packet from the gateway; false when the session is over. */
function onWsPacket(s: Session, p: HandlerPacket): boolean {
  if (p.credits > 0) s.credits += p.credits
  if (p.type === TYPE_DATA) {
    const n = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
    s.pending.push({ bytes: p.buf.slice(p.bodyStart < 0 ? 0 : p.bodyStart, p.bodyStart < 0 ? 0 : p.bodyEnd), off: 0, binary: p.binary, more: p.more })
    s.unreturned += n
    if (s.unreturned >= WS_CREDIT_RETURN_BYTES) {
      begin(s)
      w.ascii('type')
      w.ascii('credit')
      w.ascii('credits')
      w.int(s.unreturned)
      end()
      s.unreturned = 0
    }
  } else if (p.type === TYPE_CLOSE) {
    // The close handshake: the client's code back (zhttp.md 5.6).
    begin(s)
    w.ascii('type')
    w.ascii('close')
    if (p.code >= 0) {
      w.ascii('code')
      w.int(p.code)
    }
    end()
    return false
  } else if (p.type === TYPE_CANCEL || p.type === TYPE_ERROR) {
    return false
  }
  wsFlush(s)
  return true
}

function onPacket(buf: Uint8Array, start: number, end_: number, first: boolean): void {
  if (parseHandlerPacket(buf, start, end_, pkt) !== 0 || pkt.idCount < 1) return
  for (let i = 0; i < pkt.idCount; i++) {
    const key = dec.decode(buf.subarray(pkt.idStart[i], pkt.idEnd[i]))
    let s = sessions.get(key)
    if (first) {
      const uri = uriOf(buf, start, end_)
      const n = sizeOf(uri)
      const ws = uri.startsWith('ws')
      s = { id: buf.slice(pkt.idStart[i], pkt.idEnd[i]), seq: 0, credits: pkt.credits, remaining: n, started: false,
        headers: headersFor(n), ws, unreturned: 0, pending: [] }
      sessions.set(key, s)
      if (ws) acceptWs(s)
      else if (pkt.more) grant(s)
      else pump(key, s)
      continue
    }
    if (s === undefined) continue
    if (s.ws) {
      if (!onWsPacket(s, pkt)) sessions.delete(key)
    } else if (pkt.type === TYPE_CREDIT) {
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
console.log(`stream handler: ${base}, ${size}-byte responses (or ?size=N) under credits, WebSocket echo`)
const stop = (): void => {
  poller.stop()
  ctx.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
