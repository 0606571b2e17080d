// Slow, obviously-correct reference implementations of src/http/parser.ts and
// src/http/chunked.ts: strings and regular expressions, one rule per line, no offsets games.
// The unit tests check the fast code against these on shared tables and mutated inputs
// (style.md rule 8). Bytes map 1:1 onto latin1 characters, so string indexes are byte offsets.

import {
  CHUNK_LINE_SIZE_MAX_BYTES,
  CHUNK_TRAILER_SIZE_MAX_BYTES,
  REQUEST_HEADERS_MAX,
  URI_SIZE_MAX_BYTES,
} from '../../src/limits.ts'
import * as P from '../../src/http/parser.ts'
import * as C from '../../src/http/chunked.ts'

export interface RefHead {
  method: string
  target: string
  versionMinor: number
  headers: [string, string][]
  headEnd: number
  contentLength: number
  chunked: boolean
  connClose: boolean
  connKeepAlive: boolean
  keepAlive: boolean
  expectContinue: boolean
  hostIndex: number
  /** Absolute-form: the target's authority (null for other forms), its scheme, and the rest. */
  authority: string | null
  targetHttps: boolean
  path: string
  upgradeWebsocket: boolean
  wsVersionIndex: number
  wsKeyIndex: number
  wsExtensionsIndex: number
}

export type RefResult = { code: 0; head: RefHead } | { code: number; head: null }

export function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = ''
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i])
  return s
}

export function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff
  return out
}

const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]"
const TOKEN_PREFIX = new RegExp(`^${TCHAR}*`)
const TARGET_PREFIX = /^[\x21-\x7e]*/
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
const VERSION = /^HTTP\/([0-9])\.([0-9])$/
// uri-host [":" port] (RFC 3986 3.2.2-3.2.3) with a non-empty host; IPv6 by characters only.
const REG_NAME = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"
const IPV6 = '[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*'
const IPV_FUTURE = "[vV][0-9A-Fa-f]+\\.[A-Za-z0-9\\-._~!$&'()*+,;=:]+"
const HOST = new RegExp(`^(?:\\[(?:${IPV6}|${IPV_FUTURE})\\]|${REG_NAME})(?::[0-9]*)?$`)
/** Mirrors LEADING_EMPTY_LINES_MAX_BYTES in src/http/parser.ts. */
export const REF_LEADING_EMPTY_LINES_MAX_BYTES = 64

function trimOws(s: string): string {
  return s.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '')
}

function listElements(value: string): string[] {
  return value.split(',').map(trimOws)
}

/** Length of the empty lines before the request line, whole lines while under the bound. */
function leadingEmptyLines(s: string): number {
  let lead = 0
  while (lead < REF_LEADING_EMPTY_LINES_MAX_BYTES) {
    if (s.startsWith('\r\n', lead)) lead += 2
    else if (s.startsWith('\n', lead)) lead += 1
    else break
  }
  return lead
}

/** End of the head (just past the empty line), or -1. */
export function refFindHeadEnd(s: string): number {
  const lead = leadingEmptyLines(s)
  const m = /\n\r?\n/.exec(s.slice(lead))
  return m ? lead + m.index + m[0].length : -1
}

function fail(code: number): RefResult {
  return { code, head: null }
}

function parseRequestLine(line: string, head: RefHead): number {
  const method = TOKEN_PREFIX.exec(line)![0]
  let rest = line.slice(method.length)
  if (rest === '' || rest[0] === '\r') return P.PARSE_ERR_REQUEST_LINE
  if (rest[0] !== ' ') return P.PARSE_ERR_METHOD
  if (method === '') return P.PARSE_ERR_REQUEST_LINE
  rest = rest.slice(1)
  const target = TARGET_PREFIX.exec(rest)![0]
  rest = rest.slice(target.length)
  if (rest === '' || rest[0] === '\r') return P.PARSE_ERR_REQUEST_LINE
  if (rest[0] !== ' ') return P.PARSE_ERR_TARGET
  if (target === '') return P.PARSE_ERR_REQUEST_LINE
  if (target.length > URI_SIZE_MAX_BYTES) return P.PARSE_ERR_URI_TOO_LONG
  const v = VERSION.exec(rest.slice(1))
  if (!v) return P.PARSE_ERR_REQUEST_LINE
  const formErr = targetForm(method, target, head)
  if (formErr !== 0) return formErr
  if (v[1] !== '1' || (v[2] !== '0' && v[2] !== '1')) return P.PARSE_ERR_VERSION
  head.method = method
  head.target = target
  head.versionMinor = Number(v[2])
  return 0
}

/** RFC 9112 3.2: origin-form, or http(s) absolute-form; CONNECT and OPTIONS * are not served. */
function targetForm(method: string, target: string, head: RefHead): number {
  if (method === 'CONNECT') return P.PARSE_ERR_UNSUPPORTED
  if (target.startsWith('/')) {
    head.path = target
    return 0
  }
  if (target === '*') return method === 'OPTIONS' ? P.PARSE_ERR_UNSUPPORTED : P.PARSE_ERR_TARGET_FORM
  const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target)
  if (!m || !HOST.test(m[2])) return P.PARSE_ERR_TARGET_FORM
  head.authority = m[2]
  head.targetHttps = m[1].toLowerCase() === 'https'
  head.path = m[3]
  return 0
}

/** A Host value the parser accepts (RFC 9112 3.2); exported for the e2e vectors. */
export function refIsHost(value: string): boolean {
  return HOST.test(value)
}

function contentLengthOf(value: string): number {
  let result = -1
  for (const elem of listElements(value)) {
    if (!/^[0-9]+$/.test(elem)) return P.PARSE_ERR_CONTENT_LENGTH
    if (BigInt(elem) > BigInt(Number.MAX_SAFE_INTEGER)) return P.PARSE_ERR_CONTENT_LENGTH
    const n = Number(elem)
    if (result !== -1 && n !== result) return P.PARSE_ERR_CONTENT_LENGTH_CONFLICT
    result = n
  }
  return result
}

function interpret(head: RefHead, name: string, value: string, index: number): number {
  switch (name.toLowerCase()) {
    case 'host':
      if (head.hostIndex >= 0 || !HOST.test(value)) return P.PARSE_ERR_HOST
      head.hostIndex = index
      break
    case 'expect':
      if (listElements(value).includes('100-continue')) head.expectContinue = true
      break
    case 'upgrade':
      if (value === 'websocket') head.upgradeWebsocket = true
      break
    case 'connection':
      if (listElements(value).some((t) => t.toLowerCase() === 'close')) head.connClose = true
      if (listElements(value).some((t) => t.toLowerCase() === 'keep-alive')) {
        head.connKeepAlive = true
      }
      break
    case 'content-length': {
      const n = contentLengthOf(value)
      if (n < 0) return n
      if (head.contentLength !== -1 && head.contentLength !== n) {
        return P.PARSE_ERR_CONTENT_LENGTH_CONFLICT
      }
      head.contentLength = n
      break
    }
    case 'transfer-encoding':
      if (head.chunked || value !== 'chunked') return P.PARSE_ERR_TRANSFER_ENCODING
      head.chunked = true
      break
    case 'sec-websocket-key':
      if (head.wsKeyIndex < 0) head.wsKeyIndex = index
      break
    case 'sec-websocket-version':
      if (head.wsVersionIndex < 0) head.wsVersionIndex = index
      break
    case 'sec-websocket-extensions':
      if (head.wsExtensionsIndex < 0) head.wsExtensionsIndex = index
      break
  }
  return 0
}

/** Parses the head at the start of `s` (which may hold more bytes after it). */
export function refParse(s: string): RefResult {
  const end = refFindHeadEnd(s)
  if (end < 0) return fail(P.PARSE_ERR_INCOMPLETE)
  const lead = leadingEmptyLines(s)
  // Every line ends in LF; drop the one CR of a CRLF. A CR left inside a line is a bare CR.
  const lines = s
    .slice(lead, end)
    .split('\n')
    .slice(0, -1)
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
  const head: RefHead = {
    method: '',
    target: '',
    versionMinor: 1,
    headers: [],
    headEnd: end,
    contentLength: -1,
    chunked: false,
    connClose: false,
    connKeepAlive: false,
    keepAlive: false,
    expectContinue: false,
    hostIndex: -1,
    authority: null,
    targetHttps: false,
    path: '',
    upgradeWebsocket: false,
    wsVersionIndex: -1,
    wsKeyIndex: -1,
    wsExtensionsIndex: -1,
  }
  const lineErr = parseRequestLine(lines[0], head)
  if (lineErr !== 0) return fail(lineErr)
  for (const line of lines.slice(1, -1)) {
    if (line[0] === '\r') return fail(P.PARSE_ERR_HEADER_NAME)
    if (line[0] === ' ' || line[0] === '\t') return fail(P.PARSE_ERR_OBS_FOLD)
    if (head.headers.length === REQUEST_HEADERS_MAX) return fail(P.PARSE_ERR_TOO_MANY_HEADERS)
    const name = TOKEN_PREFIX.exec(line)![0]
    const rest = line.slice(name.length)
    if (rest[0] !== ':') {
      const ws = rest[0] === ' ' || rest[0] === '\t'
      return fail(name !== '' && ws ? P.PARSE_ERR_HEADER_NAME_WS : P.PARSE_ERR_HEADER_NAME)
    }
    if (name === '') return fail(P.PARSE_ERR_HEADER_NAME)
    const raw = rest.slice(1)
    if (!FIELD_VALUE.test(raw)) return fail(P.PARSE_ERR_HEADER_VALUE)
    const value = trimOws(raw)
    head.headers.push([name, value])
    const err = interpret(head, name, value, head.headers.length - 1)
    if (err !== 0) return fail(err)
  }
  if (head.chunked && head.contentLength !== -1) return fail(P.PARSE_ERR_CL_AND_TE)
  if (head.versionMinor === 1 && head.hostIndex < 0) return fail(P.PARSE_ERR_HOST)
  if (head.versionMinor === 0) head.expectContinue = false
  head.keepAlive =
    head.versionMinor === 1
      ? !head.connClose
      : head.connKeepAlive && !head.connClose && !head.chunked
  return { code: 0, head }
}

/** Reads a RequestHead filled by the fast parser back into the reference's shape. */
export function fromFast(buf: Uint8Array, h: P.RequestHead): RefHead {
  const headers: [string, string][] = []
  for (let i = 0; i < h.headerCount; i++) {
    headers.push([
      latin1(buf, h.nameStart[i], h.nameEnd[i]),
      latin1(buf, h.valueStart[i], h.valueEnd[i]),
    ])
  }
  return {
    method: latin1(buf, h.methodStart, h.methodEnd),
    target: latin1(buf, h.targetStart, h.targetEnd),
    versionMinor: h.versionMinor,
    headers,
    headEnd: h.headEnd,
    contentLength: h.contentLength,
    chunked: h.chunked,
    connClose: h.connClose,
    connKeepAlive: h.connKeepAlive,
    keepAlive: h.keepAlive,
    expectContinue: h.expectContinue,
    hostIndex: h.hostIndex,
    authority: h.authorityStart < 0 ? null : latin1(buf, h.authorityStart, h.authorityEnd),
    targetHttps: h.targetHttps,
    path: latin1(buf, h.pathStart, h.targetEnd),
    upgradeWebsocket: h.upgradeWebsocket,
    wsVersionIndex: h.wsVersionIndex,
    wsKeyIndex: h.wsKeyIndex,
    wsExtensionsIndex: h.wsExtensionsIndex,
  }
}

// --- chunked ---

export type RefChunked =
  | { code: 0; data: string; consumed: number }
  | { code: number; data: null; consumed: -1 }
/** code 1: the input ended before the body did. */
export const REF_CHUNKED_INCOMPLETE = 1

function chunkFail(code: number): RefChunked {
  return { code, data: null, consumed: -1 }
}

/**
 * Reads one line from `pos`: its content without the line end, where the next one starts, and
 * whether it ended in a bare LF (an error in chunked framing, RFC 9112 7.1).
 */
function lineAt(s: string, pos: number): { text: string; next: number; bareLf: boolean } | null {
  const lf = s.indexOf('\n', pos)
  if (lf < 0) return null
  const text = s.slice(pos, lf)
  const crlf = text.endsWith('\r')
  return { text: crlf ? text.slice(0, -1) : text, next: lf + 1, bareLf: !crlf }
}

const QUOTED = '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t\\x20-\\x7e\\x80-\\xff])*"'
/** What may follow the size digits (RFC 9112 7.1.1): BWS, then `;` name [`=` token / quoted]. */
const CHUNK_EXT = new RegExp(
  `^[ \\t]*(?:;[ \\t]*${TCHAR}+(?:[ \\t]*=[ \\t]*(?:${TCHAR}+|${QUOTED}))?[ \\t]*)*$`,
)

/** De-chunks the body at the start of `s` (RFC 9112 7.1); trailers are checked and dropped. */
export function refDechunk(s: string): RefChunked {
  let pos = 0
  let data = ''
  for (;;) {
    const line = lineAt(s, pos)
    if (!line) return chunkFail(REF_CHUNKED_INCOMPLETE)
    const hex = /^[0-9a-fA-F]*/.exec(line.text)![0]
    const ext = line.text.slice(hex.length)
    if (hex === '') return chunkFail(C.CHUNK_ERR_SIZE)
    if (BigInt('0x' + hex) > 0xffffffffn) return chunkFail(C.CHUNK_ERR_SIZE_TOO_LARGE)
    // after the digits: BWS, `;` or a (bare) CR, which the next check refuses
    if (ext !== '' && !' \t;\r'.includes(ext[0])) return chunkFail(C.CHUNK_ERR_SIZE)
    if (!CHUNK_EXT.test(ext)) return chunkFail(C.CHUNK_ERR_EXTENSION)
    if (line.text.length > CHUNK_LINE_SIZE_MAX_BYTES) return chunkFail(C.CHUNK_ERR_LINE_TOO_LONG)
    if (line.bareLf) return chunkFail(C.CHUNK_ERR_BARE_LF)
    const size = Number(BigInt('0x' + hex))
    pos = line.next
    if (size === 0) break
    if (s.length < pos + size) return chunkFail(REF_CHUNKED_INCOMPLETE)
    data += s.slice(pos, pos + size)
    pos += size
    if (s.startsWith('\r\n', pos)) pos += 2
    else if (s.startsWith('\n', pos)) return chunkFail(C.CHUNK_ERR_BARE_LF)
    else if (s.length - pos < 2 && '\r'.startsWith(s.slice(pos))) {
      return chunkFail(REF_CHUNKED_INCOMPLETE)
    } else return chunkFail(C.CHUNK_ERR_DATA_CRLF)
  }
  const trailerStart = pos
  for (;;) {
    const line = lineAt(s, pos)
    if (!line) return chunkFail(REF_CHUNKED_INCOMPLETE)
    if (line.next - trailerStart > CHUNK_TRAILER_SIZE_MAX_BYTES) {
      return chunkFail(C.CHUNK_ERR_TRAILER_TOO_LARGE)
    }
    pos = line.next
    const field = new RegExp(`^${TCHAR}+:[\\t\\x20-\\x7e\\x80-\\xff]*$`)
    if (line.text !== '' && !field.test(line.text)) return chunkFail(C.CHUNK_ERR_TRAILER)
    if (line.bareLf) return chunkFail(C.CHUNK_ERR_BARE_LF)
    if (line.text === '') return { code: 0, data, consumed: pos }
  }
}
