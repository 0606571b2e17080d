// The server-mode ZHTTP req socket (zhttp.md 1.4): one DEALER bound (or connected, with
// --zclient-connect) to every --zclient-req endpoint, created only when a req listener exists
// (checklist 4). Requests leave as two frames ["", "T<tnetstring>"], so a handler ROUTER sees
// [peer, "", payload] and a REP socket just the payload; replies come back with the same
// delimiter. Replies are matched to connections by packet id, never by envelope, so any
// handler may answer on any DEALER link. Packets are written straight into the outbox and
// leave in the server's one batched flush per event-loop turn.

import { log, INFO } from '../log.ts'
import { HWM_PERCENT_OF_MAXCONN, REPLY_ENVELOPE_FRAMES_MAX } from '../limits.ts'
import type { Config } from '../config.ts'
import type { RequestHead } from '../http/parser.ts'
import { ZmqContext, ZmqSocket, ZMQ_DEALER, ZMQ_SNDHWM, ZMQ_RCVHWM, ZMQ_LINGER } from '../zmq/socket.ts'
import type { Inbox } from '../zmq/socket.ts'
import { TnWriter } from './tnetstring.ts'
import { writeSessionId, SESSION_ID_SIZE_MAX_BYTES } from './session-id.ts'
import { EXT_MULTI_FIELD, KEY_ID, KEY_BODY } from './packet-types.ts'
import { openEndpoint, SpecsError } from './endpoints.ts'
import {
  requestPacketSizeGuess,
  uriScheme,
  writePeerFields,
  writeRequestFields,
} from './request-fields.ts'
import { decimalDigits } from '../util/digits.ts'
import { stats } from '../stats.ts'

/**
 * Framing of a req packet beyond the head and body bytes: frame headers, the delimiter, keys,
 * length prefixes, tnetstring framing of up to 64 headers (about 24 bytes each), generously.
 */
const REQ_PACKET_OVERHEAD_BYTES = 4096

const EMPTY = new Uint8Array(0)

export class ReqClient {
  readonly dealer: ZmqSocket
  /** Writer re-pointed at the outbox for every packet. */
  readonly w = new TnWriter()
  /** ipc files this socket bound, removed on shutdown. */
  readonly boundIpcPaths: string[] = []
  private readonly idScratch = new Uint8Array(SESSION_ID_SIZE_MAX_BYTES)

  constructor(
    ctx: ZmqContext,
    cfg: Config,
    readonly worker: number,
  ) {
    // Condure 1.9.1 uses the 5 % value for both directions (zhttp.md 1.4).
    const hwm = Math.max(
      Math.floor(((cfg.reqMaxconn + cfg.streamMaxconn) * HWM_PERCENT_OF_MAXCONN) / 100),
      1,
    )
    this.dealer = ctx.socket(ZMQ_DEALER)
    this.dealer.setInt(ZMQ_LINGER, 0)
    this.dealer.setInt(ZMQ_SNDHWM, hwm)
    this.dealer.setInt(ZMQ_RCVHWM, hwm)
    const verb = cfg.zclientConnect ? 'connect' : 'bind'
    for (const spec of cfg.zclientReq) {
      // One line per endpoint, before the attempt, as Condure logs them (zhttp.md 7.4).
      log(INFO, 'zgate::app', `zhttp client ${verb} ${spec}`)
      try {
        openEndpoint(this.dealer, spec, cfg.zclientConnect, cfg.ipcFileMode, this.boundIpcPaths)
      } catch (err) {
        this.dealer.close()
        throw new SpecsError('req', (err as Error).message)
      }
    }
  }

  /**
   * Queues the request packet of one req-mode request (zhttp.md 4.11): `id`, `ext`, `method`,
   * `uri`, `headers`, `body` (omitted when empty), `peer-address`/`peer-port` (omitted for unix
   * sockets); no `from`, `seq`, `credits`, `more` or `stream`. Head offsets are into `buf`,
   * the body is body[bs, be). False when the outbox cannot take it.
   */
  sendRequest(
    slot: number,
    counter: number,
    buf: Uint8Array,
    h: RequestHead,
    hostS: number,
    hostE: number,
    body: Uint8Array,
    bs: number,
    be: number,
    peerAddress: string,
    peerPort: number,
    secure: boolean,
  ): boolean {
    const estimate = requestPacketSizeGuess(h, be - bs + peerAddress.length)
    const ob = this.dealer.outbox
    if (!ob.ensure(estimate + REQ_PACKET_OVERHEAD_BYTES)) return false
    ob.beginMessage()
    ob.frameBytes(EMPTY, 0, 0, true)
    const w = this.w
    w.reset(ob.buf, ob.beginFrame())
    w.raw(0x54) // 'T'
    w.beginMap(decimalDigits(estimate))
    w.encoded(KEY_ID)
    const n = writeSessionId(this.idScratch, 0, this.worker, slot, counter)
    w.bytes(this.idScratch, 0, n)
    w.encoded(EXT_MULTI_FIELD)
    writeRequestFields(w, buf, h, hostS, hostE, uriScheme(secure, false))
    if (be > bs) {
      w.encoded(KEY_BODY)
      w.bytes(body, bs, be)
    }
    writePeerFields(w, peerAddress, peerPort)
    w.endMap()
    ob.endFrame(w.pos, false)
    ob.endMessage()
    stats.handlerPacketsOut++
    return true
  }

  /** Sends what the outbox holds; true when it is empty. */
  flush(): boolean {
    return this.dealer.outbox.pending === 0 || this.dealer.flush()
  }

  close(): void {
    this.dealer.close()
  }
}

/**
 * The payload frame of reply i in `inbox` (zhttp.md 1.4): the frame after the first empty
 * one, which must come within REPLY_ENVELOPE_FRAMES_MAX non-empty frames; frames after the
 * payload are ignored. Returns the payload's frame number, or -1 when the message is to be
 * dropped (no delimiter in reach, or nothing after it).
 */
export function replyPayloadFrame(inbox: Inbox, i: number): number {
  const frames = inbox.frameCount(i)
  const reach = Math.min(frames, REPLY_ENVELOPE_FRAMES_MAX + 1)
  for (let f = 0; f < reach; f++) {
    if (inbox.frameLength(i, f) === 0) return f + 1 < frames ? f + 1 : -1
  }
  return -1
}
