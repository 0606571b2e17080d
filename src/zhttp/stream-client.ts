// The server-mode ZHTTP stream socket set (zhttp.md 1.3): PUSH `-out` for the first packet of
// every request, ROUTER `-out-stream` for every later packet (addressed by the handler's
// `from`), SUB `-in` for everything handlers send, subscribed to `"<instance-id> "`.
// Packets are written straight into the sockets' outboxes (no intermediate copy) and leave in
// one batched FFI crossing per socket when the server flushes (once per event-loop turn).

import { log, INFO } from '../log.ts'
import { HWM_PERCENT_OF_MAXCONN, BATCH_IDS_MAX } from '../limits.ts'
import { MULTI_ID_ELEMENT_OVERHEAD_MAX_BYTES, writeSimplePacket } from './packet-writer.ts'
import {
  EXT_MULTI_FIELD,
  KEY_FROM,
  KEY_ID,
  KEY_SEQ,
  KEY_TYPE,
  KEY_BODY,
  KEY_MORE,
  KEY_CONTENT_TYPE,
  KEY_CODE,
  KEY_CREDITS,
  KEY_STREAM,
} from './packet-types.ts'
import type { Config } from '../config.ts'
import type { RequestHead } from '../http/parser.ts'
import {
  ZmqContext,
  ZmqSocket,
  ZMQ_PUSH,
  ZMQ_PULL,
  ZMQ_ROUTER,
  ZMQ_SUB,
  ZMQ_SNDHWM,
  ZMQ_RCVHWM,
  ZMQ_SUBSCRIBE,
  ZMQ_ROUTER_MANDATORY,
  ZMQ_LINGER,
} from '../zmq/socket.ts'
import { TnWriter, tnAsciiBytes } from './tnetstring.ts'
import { writeSessionId, SESSION_ID_SIZE_MAX_BYTES } from './session-id.ts'
import type { HandlerTable } from './handler-table.ts'
import { openEndpoint } from './endpoints.ts'

/** inproc endpoints between a worker and worker 0 (src/conn/worker-relay.ts binds them). */
export interface RelayEndpoints {
  out: string
  outStream: string
  in: string
}
import {
  requestPacketSizeGuess,
  writePeerFields,
  writeRequestFields,
} from './request-fields.ts'
import { decimalDigits } from '../util/digits.ts'
import { stats } from '../stats.ts'

/**
 * Framing of one packet beyond its body and head bytes: frame headers, the ROUTER address,
 * fixed fields, tnetstring prefixes of 64 headers (about 24 bytes each), generously rounded.
 */
const PACKET_OVERHEAD_BYTES = 4096


const ENC = new TextEncoder()
/** Typical size of a packet without body or headers, for length-prefix estimates. */
const TYPED_PACKET_SIZE_BYTES = 110

const EMPTY = new Uint8Array(0)
/** `content-type` values of WebSocket data packets (zhttp.md 3.3, 5.4). */
const CONTENT_TEXT = tnAsciiBytes('text')
const CONTENT_BINARY = tnAsciiBytes('binary')

export class StreamClient {
  readonly push: ZmqSocket
  readonly router: ZmqSocket
  readonly sub: ZmqSocket
  /** Writer re-pointed at an outbox for every packet. */
  readonly w = new TnWriter()
  readonly instanceId: Uint8Array
  /** Scratch for rendering session ids. */
  private readonly idScratch = new Uint8Array(SESSION_ID_SIZE_MAX_BYTES)
  /** Outbox room needed for the largest packet the server may write (a first packet). */
  readonly packetSizeMax: number
  /** ipc files this set bound, removed on shutdown. */
  readonly boundIpcPaths: string[] = []

  constructor(
    ctx: ZmqContext,
    cfg: Config,
    private readonly handlers: HandlerTable,
    readonly worker: number,
    relay: RelayEndpoints | null = null,
  ) {
    this.instanceId = ENC.encode(cfg.id)
    // The largest packet is a first packet (a head of at most bufferSize bytes, plus tnetstring
    // framing for up to 64 headers) or a full keep-alive/cancel batch; both carry the id.
    this.packetSizeMax =
      this.instanceId.length +
      PACKET_OVERHEAD_BYTES +
      Math.max(cfg.bufferSize * 2, BATCH_IDS_MAX * (SESSION_ID_SIZE_MAX_BYTES + MULTI_ID_ELEMENT_OVERHEAD_MAX_BYTES))
    const hwm = Math.max(
      Math.floor(((cfg.reqMaxconn + cfg.streamMaxconn) * HWM_PERCENT_OF_MAXCONN) / 100),
      1,
    )
    // A worker besides 0 (zhttp.md 4.1): the same packets, framed the same way, go over inproc
    // PUSH sockets to worker 0, which owns the one endpoint set and forwards them (`-out-stream`
    // messages keep their [address, "", payload] frames); its packets from handlers arrive,
    // already routed by the id's W, on a PULL.
    this.push = ctx.socket(ZMQ_PUSH)
    this.router = ctx.socket(relay !== null ? ZMQ_PUSH : ZMQ_ROUTER)
    this.sub = ctx.socket(relay !== null ? ZMQ_PULL : ZMQ_SUB)
    for (const s of [this.push, this.router, this.sub]) s.setInt(ZMQ_LINGER, 0)
    this.push.setInt(ZMQ_SNDHWM, hwm)
    this.router.setInt(ZMQ_SNDHWM, hwm)
    this.sub.setInt(ZMQ_RCVHWM, hwm)
    if (relay !== null) {
      this.push.connect(relay.out)
      this.router.connect(relay.outStream)
      this.sub.connect(relay.in)
      return
    }
    this.router.setInt(ZMQ_ROUTER_MANDATORY, 1)
    this.sub.setBytes(ZMQ_SUBSCRIBE, ENC.encode(`${cfg.id} `))
    const verb = cfg.zclientConnect ? 'connect' : 'bind'
    for (const e of cfg.zclientStream) {
      for (const [sock, ep] of [
        [this.push, e.out],
        [this.router, e.outStream],
        [this.sub, e.in],
      ] as const) {
        openEndpoint(sock, ep, cfg.zclientConnect, cfg.ipcFileMode, this.boundIpcPaths)
      }
      log(INFO, 'zgate::app', `zhttp client ${verb} ${e.out} ${e.outStream} ${e.in}`)
    }
  }

  /** Starts a packet on PUSH (first packets). Returns false when the outbox is full. */
  beginPush(): boolean {
    const ob = this.push.outbox
    if (!ob.ensure(this.packetSizeMax)) return false
    ob.beginMessage()
    this.w.reset(ob.buf, ob.beginFrame())
    return true
  }

  /** Starts a packet on ROUTER for handler `h`: frames [address, "", payload]. */
  beginRouter(h: number): boolean {
    if (h < 0) return false // no handler address known: nothing can be routed
    const ob = this.router.outbox
    if (!ob.ensure(this.packetSizeMax)) return false
    ob.beginMessage()
    const off = this.handlers.offset(h)
    ob.frameBytes(this.handlers.bytes, off, off + this.handlers.len[h], true)
    ob.frameBytes(EMPTY, 0, 0, true)
    this.w.reset(ob.buf, ob.beginFrame())
    return true
  }

  /** Ends the packet begun with beginPush/beginRouter. */
  end(router: boolean): void {
    const ob = router ? this.router.outbox : this.push.outbox
    ob.endFrame(this.w.pos, false)
    ob.endMessage()
    stats.handlerPacketsOut++
  }

  /**
   * `T{from, id, seq, ext:{multi:true}` — the common head of every packet zgate sends.
   * `sizeHint` estimates the map's length so that its length prefix needs no move later.
   */
  writeHead(slot: number, counter: number, seq: number, sizeHint = TYPED_PACKET_SIZE_BYTES): void {
    const w = this.w
    w.raw(0x54) // 'T'
    w.beginMap(decimalDigits(sizeHint + this.instanceId.length))
    w.encoded(KEY_FROM)
    w.bytes(this.instanceId, 0, this.instanceId.length)
    w.encoded(KEY_ID)
    const n = writeSessionId(this.idScratch, 0, this.worker, slot, counter)
    w.bytes(this.idScratch, 0, n)
    w.encoded(KEY_SEQ)
    w.int(seq)
    w.encoded(EXT_MULTI_FIELD)
  }

  /**
   * The first packet of a request, on PUSH (zhttp.md 4.3): the common head with seq 0, the
   * request fields of `h` (parsed from buf; hostS < 0: no host, request-fields.ts), `credits`,
   * `more` when a body follows and `stream` (both absent for a WebSocket, 5.2), then the peer.
   * False when the outbox is full.
   */
  sendFirstPacket(
    slot: number,
    counter: number,
    buf: Uint8Array,
    h: RequestHead,
    hostS: number,
    hostE: number,
    scheme: string,
    credits: number,
    more: boolean,
    stream: boolean,
    peerAddress: string,
    peerPort: number,
  ): boolean {
    if (!this.beginPush()) return false
    this.writeHead(slot, counter, 0, requestPacketSizeGuess(h, 0))
    const w = this.w
    writeRequestFields(w, buf, h, hostS, hostE, scheme)
    w.encoded(KEY_CREDITS)
    w.int(credits)
    if (more) {
      w.encoded(KEY_MORE)
      w.bool(true)
    }
    if (stream) {
      w.encoded(KEY_STREAM)
      w.bool(true)
    }
    writePeerFields(w, peerAddress, peerPort)
    w.endMap()
    this.end(false)
    return true
  }

  /** A packet with only a type (keep-alive, cancel, handoff-proceed) or a credit packet. */
  sendTyped(
    h: number,
    slot: number,
    counter: number,
    seq: number,
    type: string,
    credits: number,
  ): boolean {
    if (!this.beginRouter(h)) return false
    const n = writeSessionId(this.idScratch, 0, this.worker, slot, counter)
    writeSimplePacket(this.w, this.instanceId, this.instanceId.length, this.idScratch, 0, n, seq, type, credits)
    this.end(true)
    return true
  }

  /** A request body packet: `body` (omitted when empty) and `more` when more follows. */
  sendBody(
    h: number,
    slot: number,
    counter: number,
    seq: number,
    src: Uint8Array,
    s: number,
    e: number,
    more: boolean,
  ): boolean {
    if (!this.beginRouter(h)) return false
    this.writeHead(slot, counter, seq, TYPED_PACKET_SIZE_BYTES + e - s)
    const w = this.w
    if (e > s) {
      w.encoded(KEY_BODY)
      w.bytes(src, s, e)
    }
    if (more) {
      w.encoded(KEY_MORE)
      w.bool(true)
    }
    w.endMap()
    this.end(true)
    return true
  }

  /**
   * A WebSocket message chunk (zhttp.md 5.4): `content-type` text or binary, `body` (omitted
   * when empty), `more` while the message continues.
   */
  sendWsData(
    h: number,
    slot: number,
    counter: number,
    seq: number,
    src: Uint8Array,
    s: number,
    e: number,
    binary: boolean,
    more: boolean,
  ): boolean {
    if (!this.beginRouter(h)) return false
    this.writeHead(slot, counter, seq, TYPED_PACKET_SIZE_BYTES + e - s)
    const w = this.w
    w.encoded(KEY_CONTENT_TYPE)
    w.encoded(binary ? CONTENT_BINARY : CONTENT_TEXT)
    if (e > s) {
      w.encoded(KEY_BODY)
      w.bytes(src, s, e)
    }
    if (more) {
      w.encoded(KEY_MORE)
      w.bool(true)
    }
    w.endMap()
    this.end(true)
    return true
  }

  /**
   * A WebSocket control packet (zhttp.md 3.7, 3.8): `type` close/ping/pong, `code` for a close
   * with a status (code >= 0), `body` when non-empty.
   */
  sendWsControl(
    h: number,
    slot: number,
    counter: number,
    seq: number,
    type: string,
    code: number,
    src: Uint8Array,
    s: number,
    e: number,
  ): boolean {
    if (!this.beginRouter(h)) return false
    this.writeHead(slot, counter, seq, TYPED_PACKET_SIZE_BYTES + e - s)
    const w = this.w
    w.encoded(KEY_TYPE)
    w.ascii(type)
    if (code >= 0) {
      w.encoded(KEY_CODE)
      w.int(code)
    }
    if (e > s) {
      w.encoded(KEY_BODY)
      w.bytes(src, s, e)
    }
    w.endMap()
    this.end(true)
    return true
  }

  /**
   * A batched keep-alive or cancel for one handler (zhttp.md 4.8, 4.12): list-form ids each
   * with its seq, or the plain form for a single session (checklist 65).
   */
  sendBatch(h: number, type: string, slots: Int32Array, counters: Float64Array, seqs: Float64Array, n: number): boolean {
    if (!this.beginRouter(h)) return false
    const w = this.w
    w.raw(0x54)
    w.beginMap(decimalDigits(n * MULTI_ID_ELEMENT_OVERHEAD_MAX_BYTES + TYPED_PACKET_SIZE_BYTES))
    w.encoded(KEY_FROM)
    w.bytes(this.instanceId, 0, this.instanceId.length)
    w.encoded(KEY_ID)
    if (n === 1) {
      const len = writeSessionId(this.idScratch, 0, this.worker, slots[0], counters[0])
      w.bytes(this.idScratch, 0, len)
      w.encoded(KEY_SEQ)
      w.int(seqs[0])
    } else {
      w.beginList()
      for (let i = 0; i < n; i++) {
        w.beginMap()
        w.encoded(KEY_ID)
        const len = writeSessionId(this.idScratch, 0, this.worker, slots[i], counters[i])
        w.bytes(this.idScratch, 0, len)
        w.encoded(KEY_SEQ)
        w.int(seqs[i])
        w.endMap()
      }
      w.endList()
    }
    w.encoded(EXT_MULTI_FIELD)
    w.encoded(KEY_TYPE)
    w.ascii(type)
    w.endMap()
    this.end(true)
    return true
  }

  /** Sends what the outboxes hold; true when both are empty. */
  flush(): boolean {
    const a = this.push.outbox.pending === 0 || this.push.flush()
    const b = this.router.outbox.pending === 0 || this.router.flush()
    return a && b
  }

  close(): void {
    this.push.close()
    this.router.close()
    this.sub.close()
  }
}
