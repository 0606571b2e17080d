// What a stream of client WebSocket frames means, as zgate and as the `ws` package's Receiver
// (server side, no extensions) see it: the complete messages and control frames in order, and
// whether the stream was refused. zgate's view comes from its real read path, wsRead() in
// src/conn/ws-session.ts (frame headers from src/ws/frame.ts, unmasking, fragmentation, UTF-8
// and close checks), run over a stand-in for the narrow StreamConn / StreamContext interfaces
// that records what would go to the handler and to the client.

import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { StreamConn } from '../../src/conn/stream-state.ts'
import { wsRead } from '../../src/conn/ws-session.ts'
import { WsSession } from '../../src/conn/ws-state.ts'
import { DEFAULT_BUFFER_SIZE_BYTES } from '../../src/limits.ts'

const require = createRequire(import.meta.url)
type Receiver = {
  _write(chunk: Buffer, encoding: string, cb: (err?: Error | null) => void): void
  on(event: string, fn: (...args: unknown[]) => void): void
}
// Bun answers `ws` with its own stand-in, so the package's receiver is loaded by its path.
const WS_DIR = dirname(require.resolve('ws/package.json'))
const ReceiverClass: new (opts: object) => Receiver = require(join(WS_DIR, 'lib/receiver.js'))

/** The close code the Receiver attaches to an error it reports (under a private symbol). */
function statusCodeOf(err: Error): number {
  const rec = err as unknown as Record<symbol, unknown>
  for (const sym of Object.getOwnPropertySymbols(err)) {
    if (sym.description === 'status-code') return rec[sym] as number
  }
  return -1
}

/** One event the handler would see: a whole message, or a control frame. */
export type WsEvent =
  | { kind: 'text' | 'binary'; data: string }
  | { kind: 'ping' | 'pong'; data: string }
  | { kind: 'close'; code: number; reason: string }

export interface WsView {
  events: WsEvent[]
  /** ok: every byte was taken (possibly inside a frame); refused: the connection fails. */
  end: 'ok' | 'refused'
  /** The close code sent (zgate) or given (ws) on refusal. */
  code: number
  /** The input ended between messages (no frame or fragmented message open). */
  atBoundary: boolean
  /** zgate only: the input ended inside a frame header, on which nothing is decided yet. */
  headerPending: boolean
}

/** Messages per session kept for --messages-max (not exercised here: no handler output). */
const MESSAGES_MAX = 16
/** Credits the stand-in handler grants: enough that no frame waits for more. */
const CREDITS_ALL = 1 << 30
/** The code ws reports for a close frame without a body (RFC 6455 7.1.5). */
const CLOSE_NO_STATUS = 1005

function latin1(b: Uint8Array, s: number, e: number): string {
  let out = ''
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i])
  return out
}

/**
 * zgate's view of `input` arriving in pieces cut at `cuts`. The bytes are copied first: zgate
 * unmasks in place.
 */
export function zgateWsView(input: Uint8Array, cuts: number[]): WsView {
  const buf = new Uint8Array(input.length)
  const view: WsView = { events: [], end: 'ok', code: 0, atBoundary: true, headerPending: false }
  let partial = ''
  let failed = false
  const stream = {
    sendWsData(_h: number, _sl: number, _co: number, _seq: number, src: Uint8Array, s: number, e: number, binary: boolean, more: boolean): boolean {
      partial += latin1(src, s, e)
      if (!more) {
        view.events.push({ kind: binary ? 'binary' : 'text', data: partial })
        partial = ''
      }
      return true
    },
    sendWsControl(_h: number, _sl: number, _co: number, _seq: number, type: string, code: number, src: Uint8Array, s: number, e: number): boolean {
      if (type === 'close') view.events.push({ kind: 'close', code: code < 0 ? CLOSE_NO_STATUS : code, reason: latin1(src, s, e) })
      else view.events.push({ kind: type as 'ping' | 'pong', data: latin1(src, s, e) })
      return true
    },
  }
  const host = {
    stream,
    bufferSize: DEFAULT_BUFFER_SIZE_BYTES,
    streamTimeoutMs: 0,
    scheduleFlush(): void {},
    scratchFor(n: number): Uint8Array {
      return new Uint8Array(n)
    },
  }
  const conn = {
    ws: new WsSession(MESSAGES_MAX),
    host,
    credits: CREDITS_ALL,
    paused: false,
    connected: true,
    handler: 0,
    slot: 0,
    counter: 0,
    outSeq: 0,
    readq: { clear(): void {} },
    sendTyped(): void {},
    closeAfterWrite(): void {},
    abort(): void {
      failed = true
    },
    // the only client output on this path is wsCloseFrame's close frame: 2-byte header, code
    writeClient(out: Uint8Array, s: number, e: number): void {
      failed = true
      if (e - s >= 4) view.code = (out[s + 2] << 8) | out[s + 3]
    },
  }
  // only the members wsRead's path touches; the rest of StreamConn is never reached
  const c = conn as unknown as StreamConn
  let start = 0
  let avail = 0
  for (const to of [...cuts, input.length]) {
    if (to <= avail) continue
    buf.set(input.subarray(avail, to), avail)
    avail = to
    start = wsRead(c, buf, start, avail)
    conn.credits = CREDITS_ALL
    if (failed) break
  }
  if (failed) view.end = 'refused'
  view.atBoundary = !conn.ws.inFrame && conn.ws.msgOpcode === 0 && start === avail
  view.headerPending = !failed && !conn.ws.inFrame && start < avail
  return view
}

/** The ws Receiver's view of `input` (server mode, so client frames must be masked). */
export function wsLibView(input: Uint8Array, cuts: number[]): WsView {
  const r = new ReceiverClass({ isServer: true })
  const view: WsView = { events: [], end: 'ok', code: 0, atBoundary: true, headerPending: false }
  r.on('message', (data, isBinary) => {
    const b = data as Buffer
    view.events.push({ kind: isBinary ? 'binary' : 'text', data: latin1(b, 0, b.length) })
  })
  r.on('ping', (data) => view.events.push({ kind: 'ping', data: latin1(data as Buffer, 0, (data as Buffer).length) }))
  r.on('pong', (data) => view.events.push({ kind: 'pong', data: latin1(data as Buffer, 0, (data as Buffer).length) }))
  r.on('conclude', (code, reason) =>
    view.events.push({ kind: 'close', code: code as number, reason: latin1(reason as Buffer, 0, (reason as Buffer).length) }),
  )
  r.on('error', () => {})
  let from = 0
  for (const to of [...cuts, input.length]) {
    if (to <= from) continue
    let err: Error | null | undefined = null
    // The receiver's own copy: it keeps views of the chunks it was given.
    r._write(Buffer.from(input.subarray(from, to)), 'buffer', (e) => {
      err = e
    })
    from = to
    if (err) {
      view.end = 'refused'
      view.code = statusCodeOf(err)
      break
    }
  }
  // Receiver internals: state GET_INFO (0), no fragmented message, nothing buffered
  const st = r as unknown as { _state: number; _fragmented: number; _bufferedBytes: number }
  view.atBoundary = st._state === 0 && st._fragmented === 0 && st._bufferedBytes === 0
  return view
}
