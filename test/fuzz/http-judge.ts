// The rules of the HTTP differential: when zgate and llhttp may see a request stream
// differently, and when that is a bug.
//
// zgate may refuse what llhttp accepts (it is deliberately stricter), and may close a
// connection that llhttp would keep open. It must never accept bytes llhttp refuses, nor
// accept them with other message boundaries, bodies, targets or persistence. The few places
// where zgate accepts more than llhttp on purpose, each with its RFC reason, are ALLOWANCES
// below: all of them are applied by rewriting the bytes zgate accepted into the form llhttp
// takes before llhttp parses them, so that the boundaries and bodies are still compared.

import { createRequire } from 'node:module'
import type { Framing, Message, ZgateFraming } from './framing.ts'
import { llhttpParse } from './llhttp.ts'

const require = createRequire(import.meta.url)
const LL: { METHODS: Record<string, number>; METHODS_HTTP: number[] } = require('undici/lib/llhttp/constants.js')
const LLHTTP_METHODS = new Set(
  Object.entries(LL.METHODS)
    .filter(([, code]) => LL.METHODS_HTTP.includes(code))
    .map(([name]) => name),
)

/** A method llhttp has no entry for becomes this one (no special framing in llhttp). */
const STAND_IN_METHOD = 'POST'

/** zgate's deliberate leniencies over strict llhttp, numbered from 1: name and RFC reason. */
export const ALLOWANCES: ReadonlyArray<{ name: string; rfc: string }> = [
  {
    name: 'bare LF ends the request line and header lines',
    rfc: 'RFC 9112 2.2: a recipient MAY recognize a single LF as a line terminator in the start-line and header section (not in chunked framing, 7.1); llhttp requires CRLF there',
  },
  {
    name: 'Content-Length as a list of identical values, or repeated with the same value',
    rfc: 'RFC 9110 8.6: a recipient MAY replace such a list by the single value; llhttp refuses both',
  },
  {
    name: 'chunk extensions are skipped, not parsed: any bytes but CTLs up to the line end, BWS after the size',
    rfc: 'RFC 9112 7.1.1: a recipient MUST ignore unrecognized chunk extensions, and zgate recognizes none; the line still ends only where llhttp ends it. llhttp checks the token / quoted-string grammar (and refuses BWS that 7.1.1 allows)',
  },
  {
    name: 'methods llhttp does not know',
    rfc: 'RFC 9110 9.1: a method is any token; llhttp parses only its fixed table',
  },
  {
    name: 'Upgrade: websocket without Connection: upgrade is a WebSocket handshake',
    rfc: 'zhttp.md 5.1 (Condure does not require the Connection token, although RFC 6455 4.2.1 lists it); llhttp sees a plain request. Later bytes are WebSocket frames to zgate and never HTTP',
  },
  {
    name: 'a non-WebSocket upgrade (or CONNECT) is served as a plain request',
    rfc: 'RFC 9110 7.8: a server MAY ignore Upgrade; llhttp stops parsing at any upgrade, so the stream is compared up to there',
  },
]

/** The method llhttp is given for a method zgate accepted. */
export function llhttpMethod(method: string): string {
  // PRI opens the HTTP/2 preface in llhttp; to an HTTP/1 server it is just another token
  return LLHTTP_METHODS.has(method) && method !== 'PRI' ? method : STAND_IN_METHOD
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

const CL_LINE = /^content-length[ \t]*:[ \t]*(.*?)[ \t]*$/i

/**
 * Rewrites what zgate accepted by allowances 1 to 4: every bare LF in a head (and in the empty
 * lines before it) becomes CRLF, the Content-Length fields become one, chunk extensions go, and
 * a method llhttp lacks becomes STAND_IN_METHOD. Body data and everything after the last
 * accepted message are left byte for byte.
 */
export function normalizeForLlhttp(input: Uint8Array, z: ZgateFraming): Uint8Array {
  let out = ''
  let pos = 0
  const text = (s: number, e: number): string => {
    let r = ''
    for (let i = s; i < e; i++) r += String.fromCharCode(input[i])
    return r
  }
  for (let k = 0; k < z.spans.length; k++) {
    const sp = z.spans[k]
    out += text(pos, sp.start).replace(/\r?\n/g, '\r\n')
    const lines = text(sp.start, sp.headEnd).split(/\r?\n/)
    // lines: request line, fields, '' (the empty line), '' (after its terminator)
    const first = lines[0]
    const sp1 = first.indexOf(' ')
    lines[0] = llhttpMethod(first.slice(0, sp1)) + first.slice(sp1)
    let clSeen = false
    const kept: string[] = []
    for (const line of lines) {
      const m = CL_LINE.exec(line)
      if (m !== null) {
        if (clSeen) continue
        clSeen = true
        kept.push(`Content-Length: ${m[1].split(',')[0].trim()}`)
      } else {
        kept.push(line)
      }
    }
    out += kept.join('\r\n')
    const bodyText = text(sp.headEnd, sp.end)
    out += sp.chunked ? withoutChunkExtensions(bodyText) : bodyText
    pos = sp.end
  }
  out += text(pos, input.length)
  return latin1(out)
}

/**
 * A chunked body zgate accepted, with everything between each chunk-size and its line end
 * dropped (allowance 3). Line ends, data and trailers are kept byte for byte, so a bare LF
 * in the framing still reaches llhttp.
 */
function withoutChunkExtensions(body: string): string {
  let out = ''
  let i = 0
  for (;;) {
    const size = /^[0-9a-fA-F]+/.exec(body.slice(i))?.[0] ?? ''
    out += size
    i += size.length
    while (i < body.length && body[i] !== '\r' && body[i] !== '\n') i++
    const eol = body.startsWith('\r\n', i) ? 2 : 1
    out += body.slice(i, i + eol)
    i += eol
    const n = Number.parseInt(size, 16)
    if (!(n > 0)) return out + body.slice(i) // last-chunk: trailers and the final line as is
    out += body.slice(i, i + n)
    i += n
    const dataEol = body.startsWith('\r\n', i) ? 2 : 1
    out += body.slice(i, i + dataEol)
    i += dataEol
  }
}

/** Message fields as llhttp would report them for what zgate saw. */
function expected(m: Message): Message {
  return { ...m, method: llhttpMethod(m.method) }
}

function show(m: Message | undefined): string {
  return m === undefined ? 'none' : JSON.stringify(m)
}

/**
 * Compares zgate's view of a stream with llhttp's. Returns '' when zgate's view is allowed,
 * else the first disagreement.
 */
export function judge(z: ZgateFraming, l: Framing): string {
  const n = Math.min(z.messages.length, l.messages.length)
  for (let i = 0; i < n; i++) {
    const zm = expected(z.messages[i])
    const lm = l.messages[i]
    // llhttp upgraded (Upgrade + Connection: upgrade, or CONNECT): it reads no body and parses
    // no further, so only the head is compared.
    const keys = lm.upgrade ? (['method', 'target', 'versionMinor'] as const) : (['method', 'target', 'versionMinor', 'body'] as const)
    for (const key of keys) {
      if (zm[key] !== lm[key]) return `message ${i}: ${key} differs: zgate ${show(zm)} llhttp ${show(lm)}`
    }
    if (zm.keepAlive && !lm.keepAlive) {
      return `message ${i}: zgate keeps the connection, llhttp closes it: zgate ${show(zm)} llhttp ${show(lm)}`
    }
    if (lm.upgrade) return '' // allowance 6 when zgate did not upgrade
    // zgate upgraded where llhttp did not: WebSocket bytes follow for zgate (allowance 5).
    if (zm.upgrade) return ''
  }
  if (z.messages.length > n) {
    const zm = z.messages[n]
    return `zgate accepts message ${n} ${show(zm)} where llhttp ${l.end === 'error' ? `refuses: ${l.reason}` : `sees ${l.end}`}`
  }
  if (l.messages.length > n) {
    // zgate stopped earlier: refusing or closing is allowed, waiting for more is not
    if (z.end === 'error' || z.end === 'closed' || z.end === 'upgrade') return ''
    return `llhttp completes message ${n} ${show(l.messages[n])} where zgate sees ${z.end}`
  }
  return ''
}

/** llhttp's view of `input` once zgate's accepted heads are normalized. */
export function llhttpView(input: Uint8Array, z: ZgateFraming): Framing {
  return llhttpParse(normalizeForLlhttp(input, z))
}
