// What a request stream means, as both sides of the HTTP differential see it: the messages in
// order (method, target, version, de-framed body, keep-alive, upgrade) and how the stream ended.
// zgateFraming() drives src/http/parser.ts and src/http/chunked.ts the way
// src/conn/connection.ts and request-reader.ts do, over input that arrives in pieces.

import * as parser from '../../src/http/parser.ts'
import { findHeadEnd, parseRequestHead, RequestHead } from '../../src/http/parser.ts'
import { ChunkedDecoder } from '../../src/http/chunked.ts'
import { checkUpgrade, UPGRADE_OK } from '../../src/ws/handshake.ts'
import { DEFAULT_BUFFER_SIZE_BYTES } from '../../src/limits.ts'

export interface Message {
  method: string
  target: string
  /** HTTP minor version (major is 1), or -1 for any other major. */
  versionMinor: number
  /** The body as the handler would see it: Content-Length bytes, or de-chunked data. */
  body: string
  /** Whether the connection serves another request after this one. */
  keepAlive: boolean
  /** The connection leaves HTTP after this message. */
  upgrade: boolean
}

export interface Framing {
  messages: Message[]
  /**
   * clean: the input ended between messages; partial: inside one; error: refused; upgrade: the
   * connection left HTTP after the last message; closed: not persistent after the last message,
   * so later bytes are never read.
   */
  end: 'clean' | 'partial' | 'error' | 'upgrade' | 'closed'
  reason: string
}

/** Where zgate found each message: [start, headEnd) is its head (after any empty lines). */
export interface Span {
  start: number
  headEnd: number
  end: number
  /** The body is chunked: [headEnd, end) is its chunked framing. */
  chunked: boolean
}

export interface ZgateFraming extends Framing {
  spans: Span[]
}

function latin1(b: Uint8Array, s: number, e: number): string {
  let out = ''
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i])
  return out
}

const head = new RequestHead()
const lineScratch = new RequestHead()
const dechunk = new ChunkedDecoder()

type CheckRequestLine = (buf: Uint8Array, start: number, end: number, scanFrom: number, out: RequestHead) => number
/**
 * parser.checkRequestLine(), which refuses a request line that can never start a valid head
 * (HTTP/0.9 and the like) as soon as the line ends, comes with the fix of issue 10 hole 6.
 * Where it exists the model calls it as the connection does; 1 means the line has not ended.
 */
const checkRequestLine = (parser as Record<string, unknown>).checkRequestLine as CheckRequestLine | undefined
const REQUEST_LINE_PENDING = 1

/**
 * Runs zgate's parser over `input` arriving in pieces cut at the given offsets, with at most
 * `maxData` body bytes handed out per step (the handler's credits). Bytes not yet arrived are
 * LF in the buffer, so a read past the current end would show up as a different result.
 */
export function zgateFraming(input: Uint8Array, cuts: number[], maxData: number): ZgateFraming {
  const buf = new Uint8Array(input.length + 8).fill(0x0a)
  const out: ZgateFraming = { messages: [], spans: [], end: 'clean', reason: '' }
  let start = 0 // first byte of the current message (or of the empty lines before it)
  let scanPos = 0 // findHeadEnd resume offset, relative to start
  let lineChecked = false // the current request line was found well formed
  let state: 'head' | 'length' | 'chunked' = 'head'
  let remaining = 0
  let msg: Message | null = null
  let span: Span = { start: 0, headEnd: 0, end: 0, chunked: false }
  let body = ''
  const bounds = [...cuts, input.length]
  let avail = 0
  for (const to of bounds) {
    if (to <= avail) continue
    buf.set(input.subarray(avail, to), avail)
    avail = to
    for (;;) {
      if (state === 'head') {
        if (start === avail) break
        const headEnd = findHeadEnd(buf, start, avail, start + scanPos)
        if (headEnd < 0) {
          if (avail - start >= DEFAULT_BUFFER_SIZE_BYTES) return fail(out, 'head too large')
          if (checkRequestLine !== undefined && !lineChecked) {
            const r = checkRequestLine(buf, start, avail, start + scanPos, lineScratch)
            if (r < 0) return fail(out, `request line error ${r}`)
            lineChecked = r !== REQUEST_LINE_PENDING
          }
          scanPos = avail - start
          break
        }
        if (headEnd - start > DEFAULT_BUFFER_SIZE_BYTES) return fail(out, 'head too large')
        const err = parseRequestHead(buf, start, headEnd, head)
        if (err !== 0) return fail(out, `parse error ${err}`)
        msg = {
          method: latin1(buf, head.methodStart, head.methodEnd),
          target: latin1(buf, head.targetStart, head.targetEnd),
          versionMinor: head.versionMinor,
          body: '',
          keepAlive: head.keepAlive,
          upgrade: false,
        }
        span = { start: head.methodStart, headEnd, end: headEnd, chunked: head.chunked }
        body = ''
        start = headEnd
        scanPos = 0
        lineChecked = false
        if (head.upgradeWebsocket) {
          if (checkUpgrade(buf, head) !== UPGRADE_OK) return fail(out, 'invalid upgrade')
          msg.upgrade = true
          out.messages.push(msg)
          out.spans.push(span)
          out.end = 'upgrade'
          return out
        }
        if (head.chunked) {
          dechunk.reset()
          state = 'chunked'
        } else if (head.contentLength > 0) {
          remaining = head.contentLength
          state = 'length'
        } else if (complete()) {
          return out
        }
        continue
      }
      if (state === 'length') {
        const n = Math.min(avail - start, remaining, maxData)
        if (n === 0) break
        body += latin1(buf, start, start + n)
        start += n
        remaining -= n
        if (remaining === 0 && complete()) return out
        continue
      }
      // chunked: step until the input is used up, the body ends, or an error
      const pos = dechunk.step(buf, start, avail, maxData)
      if (dechunk.error < 0) return fail(out, `chunk error ${dechunk.error}`)
      body += latin1(buf, dechunk.dataStart, dechunk.dataEnd)
      const progressed = pos !== start || dechunk.dataEnd !== dechunk.dataStart
      start = pos
      if (dechunk.done) {
        if (complete()) return out
        continue
      }
      if (!progressed) break
    }
  }
  if (state !== 'head') out.end = 'partial'
  else {
    // only empty lines left (or nothing): still between messages, as llhttp sees it
    let onlyEol = true
    for (let i = start; i < input.length; i++) if (input[i] !== 0x0d && input[i] !== 0x0a) onlyEol = false
    out.end = onlyEol ? 'clean' : 'partial'
  }
  return out

  /** The current message ended at `start`; true when the connection stops reading here. */
  function complete(): boolean {
    const m = msg as Message
    m.body = body
    span.end = start
    out.messages.push(m)
    out.spans.push(span)
    state = 'head'
    if (!m.keepAlive) {
      out.end = 'closed'
      return true
    }
    return false
  }
}

function fail(out: ZgateFraming, reason: string): ZgateFraming {
  out.end = 'error'
  out.reason = reason
  return out
}
