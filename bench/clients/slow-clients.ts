#!/usr/bin/env bun
// Slow HTTP clients for the soak run (bench/soak.sh), loopback only, every phase bounded:
// - slowloris: request heads sent a few bytes at a time, each completed well inside the
//   gateway's 60 s head timeout, then the response read; three requests per connection;
// - uploaders: POST bodies sent in small pieces with pauses (the handler reads them under
//   its credits, zhttp.md 4.4);
// - readers: large responses read in small bursts with the socket paused in between, so the
//   kernel buffers fill and the gateway's writes back up (zhttp.md 4.7 credits).
// Each worker loops until --duration is over. A request counts as ok when its response is
// `200` with exactly the Content-Length body the request asked for (`?size=N`, which the
// soak's handler, bench/handlers/stream-handler.ts, honours). Prints one line:
//   SLOW slowloris_ok=N slowloris_fail=N upload_ok=N upload_fail=N read_ok=N read_fail=N read_bytes=N
// and the first failures' reasons on stderr.
//
//   bun bench/clients/slow-clients.ts --port P --duration S [--slowloris N] [--uploaders N]
//       [--readers N] [--read-bytes B]

import { connect } from 'node:net'
import type { Socket } from 'node:net'

/** Head bytes per write, and the pause between writes: a ~60-byte head takes ~4 s. */
const HEAD_PIECE_BYTES = 4
const HEAD_PIECE_PAUSE_MS = 250
/** Requests on one slowloris connection before it closes and a new one opens. */
const SLOWLORIS_REQUESTS_PER_CONN = 3
/** Upload body size, bytes per write and the pause between writes (~3 s per upload). */
const UPLOAD_BYTES = 64 * 1024
const UPLOAD_PIECE_BYTES = 2048
const UPLOAD_PIECE_PAUSE_MS = 100
/** A reader pauses after every READ_BURST_BYTES or more, as long as READ_RATE_BYTES_PER_S asks. */
const READ_BURST_BYTES = 64 * 1024
const READ_RATE_BYTES_PER_S = 1 << 20
/** Pause after a failed request before the next. */
const RETRY_PAUSE_MS = 250
/** Body size the fast paths ask for. */
const SMALL_BODY_BYTES = 64
/** Bound on one request, from its first byte to the last byte of its response. */
const REQUEST_TIMEOUT_MS = 60_000
/** Failure reasons printed at most. */
const REASONS_SHOWN_MAX = 10
/** Largest response head accepted. */
const HEAD_SIZE_MAX_BYTES = 16 * 1024

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : dflt
}

const port = arg('port', 0)
const durationMs = arg('duration', 60) * 1000
const counts = { slowloris: arg('slowloris', 20), uploaders: arg('uploaders', 10), readers: arg('readers', 4) }
const readBytes = arg('read-bytes', 4 << 20)
if (port <= 0) {
  console.error('usage: slow-clients.ts --port P --duration S [--slowloris N] [--uploaders N] [--readers N] [--read-bytes B]')
  process.exit(2)
}

const deadline = Date.now() + durationMs
const result = { slowloris_ok: 0, slowloris_fail: 0, upload_ok: 0, upload_fail: 0, read_ok: 0, read_fail: 0, read_bytes: 0 }
let reasonsShown = 0

function noteFailure(kind: string, why: string): void {
  if (reasonsShown++ < REASONS_SHOWN_MAX) console.error(`slow-clients: ${kind}: ${why}`)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * One connection's reading side: waits for one response at a time. With `paced`, the socket
 * is paused after each burst so that reading keeps to READ_RATE_BYTES_PER_S.
 */
class Reader {
  private chunks: Buffer[] = []
  private buffered = 0
  private wake: (() => void) | null = null
  private sinceBurst = 0
  closed = false
  error = ''

  constructor(
    private readonly sock: Socket,
    private readonly paced: boolean,
  ) {
    sock.on('data', (b: Buffer) => {
      this.chunks.push(b)
      this.buffered += b.length
      if (this.paced) {
        // One event may bring far more than a burst: the pause grows with what came.
        this.sinceBurst += b.length
        if (this.sinceBurst >= READ_BURST_BYTES) {
          const pauseMs = (this.sinceBurst * 1000) / READ_RATE_BYTES_PER_S
          this.sinceBurst = 0
          sock.pause()
          setTimeout(() => sock.resume(), pauseMs)
        }
      }
      this.poke()
    })
    sock.on('close', () => {
      this.closed = true
      this.poke()
    })
    sock.on('error', (e: Error) => {
      this.error = e.message
      this.poke()
    })
  }

  private poke(): void {
    const w = this.wake
    this.wake = null
    if (w !== null) w()
  }

  private async more(until: number): Promise<void> {
    if (this.closed || this.error !== '') throw new Error(this.error || 'connection closed')
    if (Date.now() > until) throw new Error('timed out')
    await new Promise<void>((r) => {
      this.wake = r
      setTimeout(r, 200)
    })
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    const out = all.subarray(0, n)
    const rest = all.subarray(n)
    this.chunks = rest.length > 0 ? [rest] : []
    this.buffered = rest.length
    return out
  }

  /** Reads one response; returns its status and body length (the body itself is counted, not kept). */
  async response(until: number): Promise<{ status: number; bodyBytes: number }> {
    let headEnd = -1
    for (;;) {
      if (this.buffered > 0) {
        if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)]
        const all = this.chunks[0]!
        headEnd = all.indexOf('\r\n\r\n')
        if (headEnd >= 0) break
        if (all.length > HEAD_SIZE_MAX_BYTES) throw new Error('response head too large')
      }
      await this.more(until)
    }
    const head = this.take(headEnd + 4).toString('latin1')
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0)
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? -1)
    if (len < 0) throw new Error(`status ${status}, no Content-Length`)
    let got = 0
    while (got < len) {
      if (this.buffered > 0) got += this.take(Math.min(this.buffered, len - got)).length
      else await this.more(until)
    }
    return { status, bodyBytes: got }
  }
}

function open(paced: boolean): Promise<{ sock: Socket; reader: Reader }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port })
    sock.setNoDelay(true)
    const reader = new Reader(sock, paced)
    sock.once('connect', () => resolve({ sock, reader }))
    sock.once('error', reject)
  })
}

async function slowlorisLoop(): Promise<void> {
  while (Date.now() < deadline) {
    let conn: { sock: Socket; reader: Reader } | null = null
    try {
      conn = await open(false)
      for (let i = 0; i < SLOWLORIS_REQUESTS_PER_CONN && Date.now() < deadline; i++) {
        const until = Date.now() + REQUEST_TIMEOUT_MS
        const head = `GET /slowloris?size=${SMALL_BODY_BYTES} HTTP/1.1\r\nHost: soak\r\nX-Slow: ${i}\r\n\r\n`
        for (let at = 0; at < head.length; at += HEAD_PIECE_BYTES) {
          conn.sock.write(head.slice(at, at + HEAD_PIECE_BYTES))
          await sleep(HEAD_PIECE_PAUSE_MS)
        }
        const r = await conn.reader.response(until)
        if (r.status === 200 && r.bodyBytes === SMALL_BODY_BYTES) result.slowloris_ok++
        else throw new Error(`status ${r.status}, ${r.bodyBytes} body bytes`)
      }
    } catch (e) {
      result.slowloris_fail++
      noteFailure('slowloris', (e as Error).message)
      await sleep(RETRY_PAUSE_MS)
    } finally {
      conn?.sock.destroy()
    }
  }
}

async function uploadLoop(): Promise<void> {
  const piece = Buffer.alloc(UPLOAD_PIECE_BYTES, 0x75)
  while (Date.now() < deadline) {
    let conn: { sock: Socket; reader: Reader } | null = null
    try {
      conn = await open(false)
      const until = Date.now() + REQUEST_TIMEOUT_MS
      conn.sock.write(`POST /upload?size=${SMALL_BODY_BYTES} HTTP/1.1\r\nHost: soak\r\nContent-Length: ${UPLOAD_BYTES}\r\n\r\n`)
      for (let sent = 0; sent < UPLOAD_BYTES; sent += UPLOAD_PIECE_BYTES) {
        await sleep(UPLOAD_PIECE_PAUSE_MS)
        conn.sock.write(piece)
      }
      const r = await conn.reader.response(until)
      if (r.status === 200 && r.bodyBytes === SMALL_BODY_BYTES) result.upload_ok++
      else throw new Error(`status ${r.status}, ${r.bodyBytes} body bytes`)
    } catch (e) {
      result.upload_fail++
      noteFailure('upload', (e as Error).message)
      await sleep(RETRY_PAUSE_MS)
    } finally {
      conn?.sock.destroy()
    }
  }
}

async function readLoop(): Promise<void> {
  while (Date.now() < deadline) {
    let conn: { sock: Socket; reader: Reader } | null = null
    try {
      conn = await open(true)
      const until = Date.now() + REQUEST_TIMEOUT_MS
      conn.sock.write(`GET /large?size=${readBytes} HTTP/1.1\r\nHost: soak\r\n\r\n`)
      const r = await conn.reader.response(until)
      result.read_bytes += r.bodyBytes
      if (r.status === 200 && r.bodyBytes === readBytes) result.read_ok++
      else throw new Error(`status ${r.status}, ${r.bodyBytes} body bytes`)
    } catch (e) {
      result.read_fail++
      noteFailure('reader', (e as Error).message)
      await sleep(RETRY_PAUSE_MS)
    } finally {
      conn?.sock.destroy()
    }
  }
}

const loops: Array<Promise<void>> = []
for (let i = 0; i < counts.slowloris; i++) loops.push(slowlorisLoop())
for (let i = 0; i < counts.uploaders; i++) loops.push(uploadLoop())
for (let i = 0; i < counts.readers; i++) loops.push(readLoop())
await Promise.all(loops)
console.log(`SLOW ${Object.entries(result).map(([k, v]) => `${k}=${v}`).join(' ')}`)
process.exit(0)
