// Raw WebSocket client for the e2e tests: writes the upgrade request over a raw TCP socket
// (rawHttp), reads the handshake response, then sends hand-built frames (ws-frame.ts) and
// parses the gateway's frames incrementally. Every wait is bounded; nothing is interpreted
// (no automatic pong or close reply), so tests see exactly what the gateway wrote.

import { DEFAULT_WAIT_MS } from './harness-wait.ts'
import type { HttpResponse } from './http-response.ts'
import { rawHttp } from './raw-http.ts'
import type { CloseInfo, RawConn } from './raw-http.ts'
import { buildFrame, messagesOf, OP_CLOSE, parseClose, parseFrameAt } from './ws-frame.ts'
import type { FrameSpec, WsFrame, WsMessage } from './ws-frame.ts'

/** The RFC 6455 1.3 sample key; its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=. */
export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

export interface UpgradeOptions {
  path?: string
  host?: string
  /** Extra header lines (without CRLF). */
  headers?: string[]
  key?: string | null
  version?: string | null
  upgrade?: string
  method?: string
  http?: '1.0' | '1.1'
  body?: string
}

/** The upgrade request text `o` describes (null key/version: header left out). */
export function upgradeRequest(o: UpgradeOptions = {}): string {
  const lines = [`${o.method ?? 'GET'} ${o.path ?? '/ws'} HTTP/${o.http ?? '1.1'}`, `Host: ${o.host ?? 'h'}`]
  lines.push(`Upgrade: ${o.upgrade ?? 'websocket'}`, 'Connection: Upgrade')
  if (o.version !== null) lines.push(`Sec-WebSocket-Version: ${o.version ?? '13'}`)
  if (o.key !== null) lines.push(`Sec-WebSocket-Key: ${o.key ?? SAMPLE_KEY}`)
  lines.push(...(o.headers ?? []))
  return `${lines.join('\r\n')}\r\n\r\n${o.body ?? ''}`
}

export interface WsRaw {
  conn: RawConn
  /** Sends one frame built from `spec` (masked with TEST_MASK unless spec.mask is false). */
  send(spec: FrameSpec): void
  /** Sends exact bytes (hand-built or split frames). */
  sendBytes(bytes: Uint8Array): void
  /** Frames parsed so far. */
  frames(): WsFrame[]
  /** Waits for the next frame not yet returned by nextFrame(). */
  nextFrame(timeoutMs?: number): Promise<WsFrame>
  /** Waits until `n` frames in all have arrived; returns all of them. */
  waitFrames(n: number, timeoutMs?: number): Promise<WsFrame[]>
  /** Waits until `n` complete data messages have arrived; returns them. */
  waitMessages(n: number, timeoutMs?: number): Promise<WsMessage[]>
  /** Waits for a close frame; returns its code (undefined: empty payload) and reason text. */
  waitCloseFrame(timeoutMs?: number): Promise<{ code?: number; reason: string }>
  /** Waits for the TCP connection to end; resolves with how, and whether a close frame came first. */
  waitClosed(timeoutMs?: number): Promise<CloseInfo & { closeFrame?: { code?: number; reason: string } }>
  close(): void
}

export interface WsOpen {
  response: HttpResponse
  ws: WsRaw
}

/**
 * Connects and writes the upgrade request; resolves once a response head has arrived. The
 * bytes after that head are WebSocket frames (a non-101 accept still switches, zhttp.md 5.3).
 */
export async function wsConnect(port: number, o: UpgradeOptions | string = {}): Promise<WsOpen> {
  const conn = await rawHttp(port, typeof o === 'string' ? o : upgradeRequest(o))
  const response = await conn.readResponse()
  return { response, ws: wsOver(conn, response.raw.length) }
}

/** WebSocket framing over `conn`, server frames starting at byte `start` of what it received. */
export function wsOver(conn: RawConn, start: number): WsRaw {
  const parsed: WsFrame[] = []
  let parsedTo = start
  let taken = 0
  const parseMore = (all: Uint8Array) => {
    for (;;) {
      const f = parseFrameAt(all, parsedTo)
      if (f === null) return
      parsed.push(f)
      parsedTo += f.wireLength
    }
  }
  const until = (check: () => boolean) => (all: Uint8Array) => {
    parseMore(all)
    return check()
  }
  const closeFrameOf = () => {
    const f = parsed.find((x) => x.opcode === OP_CLOSE)
    if (!f) return undefined
    const c = parseClose(f.payload)
    return { code: c.code, reason: new TextDecoder().decode(c.reason) }
  }
  const ws: WsRaw = {
    conn,
    send: (spec) => conn.write(buildFrame(spec)),
    sendBytes: (bytes) => conn.write(bytes),
    frames: () => {
      parseMore(conn.received())
      return parsed.slice()
    },
    nextFrame: async (timeoutMs = DEFAULT_WAIT_MS) => {
      await conn.readUntil(until(() => parsed.length > taken), timeoutMs)
      return parsed[taken++]!
    },
    waitFrames: async (n, timeoutMs = DEFAULT_WAIT_MS) => {
      await conn.readUntil(until(() => parsed.length >= n), timeoutMs)
      return parsed.slice()
    },
    waitMessages: async (n, timeoutMs = DEFAULT_WAIT_MS) => {
      let msgs: WsMessage[] = []
      await conn.readUntil(until(() => (msgs = messagesOf(parsed)).length >= n), timeoutMs)
      return msgs
    },
    waitCloseFrame: async (timeoutMs = DEFAULT_WAIT_MS) => {
      await conn.readUntil(until(() => closeFrameOf() !== undefined), timeoutMs)
      return closeFrameOf()!
    },
    waitClosed: async (timeoutMs = DEFAULT_WAIT_MS) => {
      const info = await conn.waitClosed(timeoutMs)
      parseMore(conn.received())
      const closeFrame = closeFrameOf()
      return closeFrame ? { ...info, closeFrame } : info
    },
    close: () => conn.close(),
  }
  return ws
}
