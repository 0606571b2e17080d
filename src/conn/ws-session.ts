// A WebSocket session over ZHTTP (zhttp.md section 5, RFC 6455): the handshake outcome, client
// frames → handler packets under the handler's credits, handler packets → server frames under
// the credits zgate granted, the close handshake, and protocol errors.
//
// Invariants:
// - The state lives in one WsSession (ws-state.ts) per connection, made the first time the
//   slot serves an upgrade and reused after; plain HTTP connections carry none of it.
// - Client bytes are consumed frame by frame straight from the connection's read buffer. A
//   frame header, and a whole control frame, are only taken once complete (at most 139 bytes:
//   the read buffer holds them); data payloads are forwarded in pieces of at most
//   min(credits, buffer size) bytes, unmasked in place just before they are sent (5.4).
// - Credits both ways count payload bytes, control payloads included (5.4, 5.5).
// - A protocol error writes a close frame with the RFC 6455 7.4.1 code, cancels the handler
//   and closes: Condure closes without the frame; handlers see the same cancel.
// - RFC 6455 5.4 lets control frames interleave with a fragmented message; zgate forwards them
//   (Condure fails the connection, zhttp.md 5.4), since handlers get them as separate packets.
//
// `c.wsState`:
//   WS_NONE       a plain HTTP request cycle
//   WS_HANDSHAKE  upgrade request sent to the handler     call: wsHandlerData, wsReject
//                 next: WS_OPEN (handler data = accept), or a plain response / close
//   WS_OPEN       frames flow                              call: wsRead, wsHandlerData,
//                 wsHandlerControl, wsDrained            next: closed

import type { StreamConn } from './stream-state.ts'
import type { WsSession } from './ws-state.ts'
import { WS_NONE, WS_HANDSHAKE, WS_OPEN } from './states.ts'
import type { HandlerPacket } from '../zhttp/packet.ts'
import {
  decodeFrameHeader,
  unmask,
  writeFrameHeader,
  isValidCloseCode,
  SERVER_FRAME_HEADER_SIZE_MAX_BYTES,
  OP_CONTINUATION,
  OP_TEXT,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  CLOSE_NORMAL,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_MESSAGE_TOO_BIG,
  WS_ERR_TOO_BIG,
} from '../ws/frame.ts'
import { validText } from '../ws/utf8.ts'
import {
  WsDeflate,
  DEFLATE_DONE,
  DEFLATE_OUTPUT_FULL,
  DEFLATE_TOO_LARGE,
  DEFLATE_FLUSH_SYNC,
  DEFLATE_FLUSH_END,
  DEFLATE_OUTPUT_MIN_BYTES,
} from '../ws/deflate.ts'
import { EXT_DEFLATE, extensionResponseValue } from '../ws/extensions.ts'
import { writeAcceptHead, writeRejection, handshakeSizeMax } from '../ws/handshake.ts'
import { isUtf8 } from '../util/utf8.ts'
import { CLOSE_LINGER_MS, WS_CONTROL_PAYLOAD_MAX_BYTES } from '../limits.ts'
import { stats } from '../stats.ts'

/** Close frame payload: 2 bytes of code, the rest reason (RFC 6455 5.5.1). */
const CLOSE_CODE_SIZE_BYTES = 2
/**
 * Inflated bytes allowed per client message: none beyond what a double counts exactly. Inflated
 * output is streamed to the handler under its credits, so no buffer grows with it.
 */
const INFLATED_MESSAGE_SIZE_MAX_BYTES = Number.MAX_SAFE_INTEGER
/** Worst-case growth of deflate output over its input, plus sync-flush markers (zlib.h). */
const DEFLATE_GROWTH_DIVISOR = 8
const DEFLATE_OVERHEAD_BYTES = 64

/** Where inflated client bytes are put before they go into a packet (one worker, one thread). */
let inflateOut = new Uint8Array(0)

// --- handshake ---------------------------------------------------------------------------

/** The handler's first data packet on an upgrade: 101 switches to frames (5.3). */
export function wsHandlerData(c: StreamConn, p: HandlerPacket): boolean {
  if (c.wsState === WS_OPEN) return wsMessage(c, p)
  const ws = c.ws as WsSession
  if (p.code !== 101) {
    // Condure switches to frames whatever the code; a client that got a 200 cannot speak
    // WebSocket, so zgate writes it as the plain HTTP response it is and closes afterwards.
    c.wsState = WS_NONE
    c.keepAlive = false
    return c.writeResponse(p)
  }
  if (p.bodyStart >= 0 && p.bodyEnd > p.bodyStart) {
    // zhttp.md 5.3: a 101 must not carry a body; there is nowhere to put it.
    c.abort(true)
    return false
  }
  const s = c.host
  let ext: Uint8Array | null = null
  if ((ws.extensions & EXT_DEFLATE) !== 0) {
    ext = extensionResponseValue(ws.extensions)
    // The object lives with the slot; its agreed parameters are those of one upgrade.
    if (ws.deflate === null || ws.deflateFor !== ws.extensions) {
      ws.deflate = new WsDeflate(ws.extensions, INFLATED_MESSAGE_SIZE_MAX_BYTES)
      ws.deflateFor = ws.extensions
    }
  }
  const out = s.scratchFor(handshakeSizeMax(p, ext === null ? 0 : ext.length))
  const n = writeAcceptHead(out, 0, p, c.http10, ws.key, 0, ws.keyLength, ext)
  // No credits on the accept: assume a buffer's worth (Condure's compatibility rule, 5.3).
  if (p.credits <= 0) c.credits += s.bufferSize
  c.wsState = WS_OPEN
  c.respStarted = true
  c.keepAlive = false
  c.streamDeadline = s.now + s.streamTimeoutMs
  c.writeClient(out, 0, n)
  return c.connected
}

/** `error` with condition `rejected` before the accept: the handler's response, then close. */
export function wsReject(c: StreamConn, p: HandlerPacket): void {
  const out = c.host.scratchFor(handshakeSizeMax(p, 0))
  const n = writeRejection(out, 0, p, c.http10)
  c.wsState = WS_NONE
  c.respStarted = true
  c.writeClient(out, 0, n)
  c.closeAfterWrite(c.host.streamTimeoutMs)
}

// --- client → handler --------------------------------------------------------------------

/**
 * Forwards client frames from buf[start, end) while credits last; returns how far it
 * consumed. Stops at an incomplete header or control frame (the rest waits in the read buffer).
 */
export function wsRead(c: StreamConn, buf: Uint8Array, start: number, end: number): number {
  const ws = c.ws as WsSession
  const s = c.host
  while (start < end || ws.inFrame) {
    if (ws.clientClosed || c.credits <= 0 || c.paused || !c.connected) return start
    if (!ws.inFrame) {
      const h = ws.header
      const hl = decodeFrameHeader(buf, start, end, h)
      if (hl === 0) return start
      if (hl < 0) {
        wsFail(c, hl === WS_ERR_TOO_BIG ? CLOSE_MESSAGE_TOO_BIG : CLOSE_PROTOCOL_ERROR)
        return end
      }
      const op = h.opcode
      if (op >= OP_CLOSE) {
        if (end - start < hl + h.payloadLength) return start
        const ps = start + hl
        const pe = ps + h.payloadLength
        unmask(buf, ps, pe, h.mask, 0)
        if (!wsClientControl(c, op, buf, ps, pe)) return end
        start = pe
        continue
      }
      // Data frames: RFC 6455 5.4 fragmentation rules; RSV1 means a compressed message, which
      // needs a negotiated permessage-deflate (RFC 7692 6.1).
      if (op === OP_CONTINUATION ? ws.msgOpcode === 0 : ws.msgOpcode !== 0) {
        wsFail(c, CLOSE_PROTOCOL_ERROR)
        return end
      }
      if (h.rsv1 && (op === OP_CONTINUATION || (ws.extensions & EXT_DEFLATE) === 0)) {
        wsFail(c, CLOSE_PROTOCOL_ERROR) // RFC 7692 6.1: RSV1 only on a message's first frame
        return end
      }
      if (op !== OP_CONTINUATION) {
        ws.msgOpcode = op
        ws.msgCompressed = h.rsv1
        ws.utf8.reset()
      }
      ws.inFrame = true
      ws.frameFin = h.fin
      ws.frameMask = h.mask
      ws.frameRemaining = h.payloadLength
      ws.frameOffset = 0
      start += hl
    }
    if (ws.msgCompressed) {
      const next = inflatePiece(c, ws, buf, start, end)
      if (next < 0) return next === NO_PROGRESS ? start : end
      start = next
      continue
    }
    // Inside a data frame: one packet of what is here, within the credits.
    const n = Math.min(end - start, ws.frameRemaining, c.credits, s.bufferSize)
    const last = ws.frameFin && n === ws.frameRemaining
    if (n === 0 && !last) {
      if (ws.frameRemaining === 0) {
        ws.inFrame = false // an empty non-final fragment: nothing to send (5.4)
        continue
      }
      return start
    }
    unmask(buf, start, start + n, ws.frameMask, ws.frameOffset)
    const text = ws.msgOpcode === OP_TEXT
    if (text && (!validText(ws.utf8, buf, start, start + n) || (last && !ws.utf8.complete()))) {
      // RFC 6455 8.1: a text message that is not UTF-8 fails the connection with 1007.
      wsFail(c, CLOSE_INVALID_PAYLOAD)
      return end
    }
    if (!s.stream.sendWsData(c.handler, c.slot, c.counter, c.outSeq, buf, start, start + n, !text, !last)) {
      c.abort(false) // the outbox holds megabytes nobody reads: the session cannot go on
      return end
    }
    c.outSeq++
    c.credits -= n
    s.scheduleFlush()
    start += n
    ws.frameRemaining -= n
    ws.frameOffset += n
    if (ws.frameRemaining === 0) {
      ws.inFrame = false
      if (ws.frameFin) {
        ws.msgOpcode = 0
        stats.wsMessagesIn++
      }
    }
  }
  return start
}

/** inflatePiece results besides a new position: nothing could move now / the session ended. */
const NO_PROGRESS = -1
const SESSION_ENDED = -2

/**
 * One step of a compressed message (RFC 7692 7.2.2): the frame bytes here are unmasked and
 * inflated into at most min(credits, buffer size) bytes, which go to the handler as one packet.
 * Input zlib did not take is masked again, so that the next step unmasks it once more.
 * Returns the new position, NO_PROGRESS or SESSION_ENDED.
 *
 * A step with no input left is still a step while zlib may hold output (`inflatePending`) or
 * the frame's end is not yet accounted for: the frame ends only once zlib reports DONE with
 * all its bytes taken, whatever the client sends next (it may be waiting for an echo).
 */
function inflatePiece(c: StreamConn, ws: WsSession, buf: Uint8Array, start: number, end: number): number {
  const s = c.host
  const room = Math.min(c.credits, s.bufferSize)
  const avail = Math.min(end - start, ws.frameRemaining)
  if (avail === 0 && ws.frameRemaining > 0 && !ws.inflatePending) return NO_PROGRESS
  const lastPiece = ws.frameFin && avail === ws.frameRemaining
  if (inflateOut.length < s.bufferSize) inflateOut = new Uint8Array(s.bufferSize)
  unmask(buf, start, start + avail, ws.frameMask, ws.frameOffset)
  const d = ws.deflate as WsDeflate
  const st = d.decompress(buf, start, start + avail, lastPiece, inflateOut, 0, room)
  const used = d.inputUsed
  if (used < avail) unmask(buf, start + used, start + avail, ws.frameMask, ws.frameOffset + used)
  if (st !== DEFLATE_DONE && st !== DEFLATE_OUTPUT_FULL) {
    wsFail(c, st === DEFLATE_TOO_LARGE ? CLOSE_MESSAGE_TOO_BIG : CLOSE_INVALID_PAYLOAD)
    return SESSION_ENDED
  }
  ws.frameRemaining -= used
  ws.frameOffset += used
  ws.inflatePending = st === DEFLATE_OUTPUT_FULL
  const frameDone = ws.frameRemaining === 0 && st === DEFLATE_DONE
  const messageDone = frameDone && ws.frameFin
  const n = d.outputWritten
  const text = ws.msgOpcode === OP_TEXT
  if (text && (!validText(ws.utf8, inflateOut, 0, n) || (messageDone && !ws.utf8.complete()))) {
    wsFail(c, CLOSE_INVALID_PAYLOAD)
    return SESSION_ENDED
  }
  if (n > 0 || messageDone) {
    if (!s.stream.sendWsData(c.handler, c.slot, c.counter, c.outSeq, inflateOut, 0, n, !text, !messageDone)) {
      c.abort(false)
      return SESSION_ENDED
    }
    c.outSeq++
    c.credits -= n
    s.scheduleFlush()
  } else if (used === 0 && !frameDone) {
    return NO_PROGRESS
  }
  if (frameDone) {
    ws.inFrame = false
    if (messageDone) {
      ws.msgOpcode = 0
      stats.wsMessagesIn++
    }
  }
  return start + used
}

/** One complete client control frame (payload unmasked at buf[s, e)). False when closed. */
function wsClientControl(c: StreamConn, op: number, buf: Uint8Array, s: number, e: number): boolean {
  const ws = c.ws as WsSession
  const srv = c.host
  let type = 'ping'
  let code = -1
  let bodyStart = s
  if (op === OP_CLOSE) {
    type = 'close'
    if (e - s === 1) {
      wsFail(c, CLOSE_PROTOCOL_ERROR) // RFC 6455 5.5.1: a body starts with a 2-byte code
      return false
    }
    if (e - s >= CLOSE_CODE_SIZE_BYTES) {
      code = (buf[s] << 8) | buf[s + 1]
      bodyStart = s + CLOSE_CODE_SIZE_BYTES
      if (!isValidCloseCode(code)) {
        wsFail(c, CLOSE_PROTOCOL_ERROR)
        return false
      }
      if (!isUtf8(buf, bodyStart, e)) {
        wsFail(c, CLOSE_INVALID_PAYLOAD) // zhttp.md 5.4, RFC 6455 8.1
        return false
      }
    }
  } else if (op === OP_PONG) {
    type = 'pong'
  }
  if (!srv.stream.sendWsControl(c.handler, c.slot, c.counter, c.outSeq, type, code, buf, bodyStart, e)) {
    c.abort(false)
    return false
  }
  c.outSeq++
  // Control payloads count against the handler's credits too (zhttp.md 5.4).
  c.credits = Math.max(0, c.credits - (e - s))
  srv.scheduleFlush()
  if (op === OP_CLOSE) {
    ws.clientClosed = true
    // Both closes seen: the handshake is complete and TCP closes, no cancel (5.6).
    if (ws.serverClosed) c.closeAfterWrite(CLOSE_LINGER_MS)
  }
  return true
}

/**
 * A protocol error from the client: a close frame with `code` (unless one went out already),
 * a cancel to the handler, and the connection closes once that frame is written.
 */
export function wsFail(c: StreamConn, code: number): void {
  wsCloseFrame(c, code)
  c.sendTyped('cancel', -1)
  c.readq.clear()
  c.closeAfterWrite(CLOSE_LINGER_MS)
}

/** Writes a close frame with `code` and no reason, unless a close frame went out already. */
export function wsCloseFrame(c: StreamConn, code: number): void {
  const ws = c.ws as WsSession
  if (ws.serverClosed) return
  ws.serverClosed = true
  const out = c.host.scratchFor(SERVER_FRAME_HEADER_SIZE_MAX_BYTES + CLOSE_CODE_SIZE_BYTES)
  let pos = writeFrameHeader(out, 0, true, false, OP_CLOSE, CLOSE_CODE_SIZE_BYTES)
  out[pos++] = code >>> 8
  out[pos++] = code & 0xff
  c.writeClient(out, 0, pos)
}

// --- handler → client --------------------------------------------------------------------

/** A handler data packet on an open session: one frame of a text or binary message (5.5). */
function wsMessage(c: StreamConn, p: HandlerPacket): boolean {
  const ws = c.ws as WsSession
  if (ws.serverClosed) return true // after its close the handler has nothing more to say (5.6)
  const len = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
  if (len > c.respCredits) {
    c.abort(true) // more than the credits granted: zhttp.md 5.5, checklist 112
    return false
  }
  const first = !ws.outMsgOpen
  const op = first ? (p.binary ? OP_BINARY : OP_TEXT) : OP_CONTINUATION
  ws.outMsgOpen = p.more
  if (!p.more) stats.wsMessagesOut++
  c.respCredits -= len
  const ok = ws.deflate !== null && (ws.extensions & EXT_DEFLATE) !== 0 ? writeCompressed(c, ws.deflate, first, op, p, len) : writeFrame(c, !p.more, op, p, len)
  if (!ok) return false
  if (!p.more && c.writeq.length > 0 && !ws.messageQueued(c.writeq.length)) {
    c.abort(true) // --messages-max messages wait for a client that does not read (5.5)
    return false
  }
  return true
}

/** A handler close, ping or pong on an open session (5.5, 5.6). False when closed. */
export function wsHandlerControl(c: StreamConn, p: HandlerPacket, op: number): boolean {
  const ws = c.ws as WsSession
  if (ws.serverClosed) return true
  let len = p.bodyStart < 0 ? 0 : p.bodyEnd - p.bodyStart
  if (op === OP_CLOSE) {
    // No code means 1000 with no reason (zhttp.md 5.5); a reason is cut to fit a control
    // frame (RFC 6455 5.5) rather than failing the close.
    const code = p.code < 0 ? CLOSE_NORMAL : p.code
    len = p.code < 0 ? 0 : Math.min(len, WS_CONTROL_PAYLOAD_MAX_BYTES - CLOSE_CODE_SIZE_BYTES)
    const out = c.host.scratchFor(SERVER_FRAME_HEADER_SIZE_MAX_BYTES + WS_CONTROL_PAYLOAD_MAX_BYTES)
    let pos = writeFrameHeader(out, 0, true, false, OP_CLOSE, CLOSE_CODE_SIZE_BYTES + len)
    out[pos++] = (code >>> 8) & 0xff
    out[pos++] = code & 0xff
    for (let i = 0; i < len; i++) out[pos++] = p.buf[p.bodyStart + i]
    ws.serverClosed = true
    c.writeClient(out, 0, pos)
    if (!c.connected) return false
    if (ws.clientClosed) {
      c.closeAfterWrite(CLOSE_LINGER_MS)
      return false
    }
    return true
  }
  if (len > WS_CONTROL_PAYLOAD_MAX_BYTES || len > c.respCredits) {
    c.abort(true) // no valid frame can carry it
    return false
  }
  c.respCredits -= len
  return writeFrame(c, true, op, p, len)
}

/**
 * Compresses p's body as the next piece of a message (RFC 7692 7.2.1: every data message is
 * compressed, RSV1 on its first frame only) and writes the frame(s). The credits of the
 * uncompressed bytes return once the last frame is written.
 */
function writeCompressed(c: StreamConn, d: WsDeflate, first: boolean, op: number, p: HandlerPacket, len: number): boolean {
  const s = c.host
  const bodyStart = p.bodyStart < 0 ? 0 : p.bodyStart
  const cap = len + Math.ceil(len / DEFLATE_GROWTH_DIVISOR) + DEFLATE_OVERHEAD_BYTES
  const out = s.scratchFor(SERVER_FRAME_HEADER_SIZE_MAX_BYTES + cap)
  const flush = p.more ? DEFLATE_FLUSH_SYNC : DEFLATE_FLUSH_END
  let at = bodyStart
  const end = bodyStart + len
  for (;;) {
    const st = d.compress(p.buf, at, end, flush, out, SERVER_FRAME_HEADER_SIZE_MAX_BYTES, out.length)
    at += d.inputUsed
    const n = d.outputWritten
    const fin = st === DEFLATE_DONE && !p.more
    // The header goes right before the payload zlib wrote (the shortest form for n).
    const hl = n < 126 ? 2 : n < 0x10000 ? 4 : SERVER_FRAME_HEADER_SIZE_MAX_BYTES
    const hs = SERVER_FRAME_HEADER_SIZE_MAX_BYTES - hl
    writeFrameHeader(out, hs, fin, first, first ? op : OP_CONTINUATION, n)
    first = false
    c.streamDeadline = s.now + s.streamTimeoutMs
    c.writeClient(out, hs, SERVER_FRAME_HEADER_SIZE_MAX_BYTES + n, st === DEFLATE_DONE ? len : 0)
    if (!c.connected) return false
    if (st === DEFLATE_DONE) return true
  }
}

/** Writes one unmasked frame with p's body as payload; its credits return once written. */
function writeFrame(c: StreamConn, fin: boolean, op: number, p: HandlerPacket, len: number): boolean {
  const s = c.host
  const out = s.scratchFor(SERVER_FRAME_HEADER_SIZE_MAX_BYTES + len)
  let pos = writeFrameHeader(out, 0, fin, false, op, len)
  if (len > 0) {
    out.set(p.buf.subarray(p.bodyStart, p.bodyEnd), pos)
    pos += len
  }
  c.streamDeadline = s.now + s.streamTimeoutMs
  c.writeClient(out, 0, pos, len)
  return c.connected
}
