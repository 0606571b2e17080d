// src/http/parser.ts against the slow reference in test/helpers/http-reference.ts: a shared
// table of valid and invalid heads, every split point, embedded offsets, pipelining, seeded
// mutations, and an allocation guard.

import { describe, expect, test } from 'bun:test'
import { heapStats, memoryUsage } from 'bun:jsc'
import { REQUEST_HEADERS_MAX, URI_SIZE_MAX_BYTES } from '../../src/limits.ts'
import {
  findHeadEnd,
  parseErrorStatus,
  parseRequestHead,
  RequestHead,
  PARSE_ERR_CL_AND_TE,
  PARSE_ERR_CONTENT_LENGTH,
  PARSE_ERR_CONTENT_LENGTH_CONFLICT,
  PARSE_ERR_HEADER_NAME,
  PARSE_ERR_HEADER_NAME_WS,
  PARSE_ERR_HEADER_VALUE,
  PARSE_ERR_HOST,
  PARSE_ERR_INCOMPLETE,
  PARSE_ERR_METHOD,
  PARSE_ERR_OBS_FOLD,
  PARSE_ERR_REQUEST_LINE,
  PARSE_ERR_TARGET,
  PARSE_ERR_TARGET_FORM,
  PARSE_ERR_TOO_MANY_HEADERS,
  PARSE_ERR_TRANSFER_ENCODING,
  PARSE_ERR_UNSUPPORTED,
  PARSE_ERR_URI_TOO_LONG,
  PARSE_ERR_VERSION,
  checkRequestLine,
  REQUEST_LINE_PENDING,
} from '../../src/http/parser.ts'
import type { RefHead } from '../helpers/http-reference.ts'
import {
  bytesOf,
  fromFast,
  refFindHeadEnd,
  refParse,
  REF_LEADING_EMPTY_LINES_MAX_BYTES,
} from '../helpers/http-reference.ts'

interface Case {
  name: string
  raw: string
  /** Expected code; 0 when omitted. Checked independently of the reference. */
  code?: number
  /** Facts the result must have, independently of the reference. */
  want?: Partial<RefHead>
}

/**
 * A head from its lines, CRLF-terminated unless told otherwise. An HTTP/1.1 request line without
 * a Host line among the others gets `Host: h` after it (RFC 9112 3.2 requires one); cases about
 * a missing Host use bare().
 */
function head(lines: string[], eol = '\r\n'): string {
  const needsHost = lines[0].endsWith(' HTTP/1.1') && !lines.some((l) => /^host:/i.test(l))
  return bare(needsHost ? [lines[0], 'Host: h', ...lines.slice(1)] : lines, eol)
}

/** A head from exactly these lines. */
function bare(lines: string[], eol = '\r\n'): string {
  return lines.join(eol) + eol + eol
}

function numbered(n: number): string[] {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(`X-Header-${i}: value-${i}`)
  return out
}

const G = 'GET / HTTP/1.1'
const P = 'POST / HTTP/1.1'

/** An invalid case. */
function bad(name: string, raw: string, code: number): Case {
  return { name, raw, code }
}

/** A POST whose Content-Length value is `value`. */
function cl(value: string, code: number): Case {
  return { name: `Content-Length "${value}"`, raw: head([P, `Content-Length: ${value}`]), code }
}

const CURL = head([G, 'Host: localhost:8000', 'User-Agent: curl/8.5.0', 'Accept: */*'])
const BROWSER = head([
  'GET /assets/app.js?v=3f2a9c HTTP/1.1',
  'Host: www.example.com',
  'Connection: keep-alive',
  'sec-ch-ua: "Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
  'sec-ch-ua-mobile: ?0',
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/124.0.0.0 Safari/537.36',
  'sec-ch-ua-platform: "Linux"',
  'Accept: */*',
  'Sec-Fetch-Site: same-origin',
  'Sec-Fetch-Mode: no-cors',
  'Sec-Fetch-Dest: script',
  'Referer: https://www.example.com/',
  'Accept-Encoding: gzip, deflate, br, zstd',
  'Accept-Language: en-GB,en-US;q=0.9,en;q=0.8',
])
const WS = head([
  'GET /chat HTTP/1.1',
  'Host: example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
])
const LONG_TARGET = '/' + 'a'.repeat(URI_SIZE_MAX_BYTES - 1)

const VALID: Case[] = [
  { name: 'curl GET', raw: CURL, want: { method: 'GET', target: '/', hostIndex: 0 } },
  { name: 'browser GET', raw: BROWSER, want: { keepAlive: true, connKeepAlive: true } },
  {
    name: 'query string kept',
    raw: head(['GET /path?x=1&y=%20z#frag HTTP/1.1', 'Host: example.com:8080']),
    want: { target: '/path?x=1&y=%20z#frag' },
  },
  {
    name: 'absolute-form target: its authority, not Host',
    raw: head(['GET http://a/x HTTP/1.1', 'Host: h']),
    want: { target: 'http://a/x', authority: 'a', path: '/x', targetHttps: false, hostIndex: 0 },
  },
  {
    name: 'absolute-form: HTTPS in any case, a port, a query and no path',
    raw: head(['GET HTTPS://Evil.example:8443?q=1 HTTP/1.1', 'Host: good.example']),
    want: { authority: 'Evil.example:8443', path: '?q=1', targetHttps: true },
  },
  {
    name: 'absolute-form on HTTP/1.0 needs no Host',
    raw: head(['GET http://[::1]:81/p HTTP/1.0']),
    want: { authority: '[::1]:81', path: '/p', hostIndex: -1 },
  },
  {
    name: 'origin-form: no authority, the path is the target',
    raw: head(['GET /p?q HTTP/1.1']),
    want: { authority: null, path: '/p?q' },
  },
  { name: 'extension method', raw: head(['M-SEARCH / HTTP/1.1']), want: { method: 'M-SEARCH' } },
  { name: 'lower-case method kept', raw: head(['get / HTTP/1.1']), want: { method: 'get' } },
  {
    name: 'lower-case connect is just a method',
    raw: head(['connect /x HTTP/1.1']),
    want: { method: 'connect' },
  },
  { name: 'Host IPv4 and port', raw: head([G, 'Host: 127.0.0.1:8080']), want: { hostIndex: 0 } },
  { name: 'Host IPv6 literal', raw: head([G, 'Host: [2001:db8::7]:443']) },
  { name: 'Host IPv4 in IPv6', raw: head([G, 'Host: [::ffff:192.0.2.1]']) },
  { name: 'Host IPvFuture', raw: head([G, 'Host: [v1f.a:b~]']) },
  { name: 'Host with pct-encoding and sub-delims', raw: head([G, "Host: a%2Db!$&'()*+,;=-._~"]) },
  { name: 'Host with an empty port', raw: head([G, 'Host: a:']) },
  { name: 'Host padded with OWS', raw: head([G, 'Host: \t a.example \t']) },
  {
    name: 'target of exactly URI_SIZE_MAX_BYTES',
    raw: head([`GET ${LONG_TARGET} HTTP/1.1`, 'Host: h']),
  },
  {
    name: 'HTTP/1.0 without headers closes',
    raw: head(['GET / HTTP/1.0']),
    want: { versionMinor: 0, keepAlive: false, headers: [], hostIndex: -1 },
  },
  {
    name: 'HTTP/1.0 keep-alive (any case)',
    raw: head(['GET / HTTP/1.0', 'Connection: Keep-Alive']),
    want: { keepAlive: true, connKeepAlive: true },
  },
  {
    name: 'HTTP/1.0 keep-alive plus close',
    raw: head(['GET / HTTP/1.0', 'Connection: keep-alive, close']),
    want: { keepAlive: false, connClose: true },
  },
  {
    name: 'HTTP/1.0 keep-alive and close in two headers',
    raw: head(['GET / HTTP/1.0', 'Connection: keep-alive', 'Connection: close']),
    want: { keepAlive: false },
  },
  { name: 'HTTP/1.1 persists by default', raw: head([G]), want: { keepAlive: true } },
  {
    name: 'HTTP/1.1 close',
    raw: head(['GET / HTTP/1.1', 'Connection: close']),
    want: { keepAlive: false, connClose: true },
  },
  {
    name: 'HTTP/1.1 Close (any case, RFC 9110 7.6.1)',
    raw: head(['GET / HTTP/1.1', 'Connection: Close']),
    want: { keepAlive: false, connClose: true },
  },
  {
    name: 'HTTP/1.1 CLOSE in a list',
    raw: head(['GET / HTTP/1.1', 'Connection: keep-alive, CLOSE']),
    want: { keepAlive: false, connClose: true },
  },
  {
    name: 'HTTP/1.0 KEEP-ALIVE plus cLoSe',
    raw: head(['GET / HTTP/1.0', 'Connection: KEEP-ALIVE', 'connection: cLoSe']),
    want: { keepAlive: false, connKeepAlive: true, connClose: true },
  },
  {
    name: 'HTTP/1.1 close inside a token list',
    raw: head(['GET / HTTP/1.1', 'connection:upgrade ,\tclose , foo']),
    want: { keepAlive: false },
  },
  {
    name: 'closed is not close',
    raw: head(['GET / HTTP/1.1', 'Connection: closed, xclose']),
    want: { keepAlive: true },
  },
  {
    name: 'Content-Length',
    raw: head(['POST /upload HTTP/1.1', 'Content-Length: 5']) + 'hello',
    want: { contentLength: 5, chunked: false },
  },
  { name: 'Content-Length 0', raw: head(['POST / HTTP/1.1', 'Content-Length: 0']) },
  { name: 'Content-Length padded', raw: head(['POST / HTTP/1.1', 'content-length: \t 42 \t']) },
  {
    name: 'Content-Length leading zeros',
    raw: head(['POST / HTTP/1.1', 'Content-Length: 007']),
    want: { contentLength: 7 },
  },
  {
    name: 'Content-Length identical list',
    raw: head(['POST / HTTP/1.1', 'Content-Length: 5, 5,5']),
    want: { contentLength: 5 },
  },
  {
    name: 'Content-Length identical duplicates',
    raw: head(['POST / HTTP/1.1', 'Content-Length: 12', 'CONTENT-LENGTH: 12']),
    want: { contentLength: 12 },
  },
  {
    name: 'Content-Length 2^53-1',
    raw: head(['POST / HTTP/1.1', 'Content-Length: 9007199254740991']),
    want: { contentLength: Number.MAX_SAFE_INTEGER },
  },
  {
    name: 'chunked',
    raw: head(['POST / HTTP/1.1', 'Transfer-Encoding: chunked']) + '0\r\n\r\n',
    want: { chunked: true, contentLength: -1, keepAlive: true },
  },
  { name: 'chunked, trailing OWS', raw: head(['POST / HTTP/1.1', 'transfer-encoding: chunked ']) },
  {
    name: 'chunked on HTTP/1.0 never persists',
    raw: head(['POST / HTTP/1.0', 'Transfer-Encoding: chunked', 'Connection: keep-alive']),
    want: { chunked: true, keepAlive: false },
  },
  {
    name: 'Expect 100-continue',
    raw: head(['PUT / HTTP/1.1', 'Expect: 100-continue', 'Content-Length: 3']),
    want: { expectContinue: true },
  },
  {
    name: 'Expect 100-Continue (case-sensitive)',
    raw: head(['PUT / HTTP/1.1', 'Expect: 100-Continue']),
    want: { expectContinue: false },
  },
  {
    name: 'Expect on HTTP/1.0 ignored',
    raw: head(['PUT / HTTP/1.0', 'Expect: 100-continue']),
    want: { expectContinue: false },
  },
  {
    name: 'websocket upgrade',
    raw: WS,
    want: { upgradeWebsocket: true, wsKeyIndex: 3, wsVersionIndex: 4, wsExtensionsIndex: 5 },
  },
  {
    name: 'Upgrade: WebSocket is plain HTTP',
    raw: head(['GET / HTTP/1.1', 'Upgrade: WebSocket', 'sec-websocket-key: k', 'Host: h']),
    want: { upgradeWebsocket: false, wsKeyIndex: 1, wsVersionIndex: -1 },
  },
  {
    name: 'second Upgrade header counts',
    raw: head(['GET / HTTP/1.0', 'Upgrade: h2c', 'UPGRADE: websocket', 'Content-Length: 0']),
    want: { upgradeWebsocket: true, contentLength: 0 },
  },
  {
    name: 'header name case and duplicates',
    raw: head(['GET / HTTP/1.1', 'HOST: a', 'x-b: b', 'Accept: x', 'accept: y']),
    want: {
      hostIndex: 0,
      headers: [
        ['HOST', 'a'],
        ['x-b', 'b'],
        ['Accept', 'x'],
        ['accept', 'y'],
      ],
    },
  },
  {
    name: 'empty values',
    raw: head(['GET / HTTP/1.1', 'X-Empty:', 'X-Blank: \t ', 'Host: x']),
    want: { headers: [['X-Empty', ''], ['X-Blank', ''], ['Host', 'x']], hostIndex: 2 },
  },
  {
    name: 'value keeps inner whitespace and obs-text',
    raw: head(['GET / HTTP/1.1', 'X-V:\ta \t b\xff\t']),
    want: { headers: [['Host', 'h'], ['X-V', 'a \t b\xff']] },
  },
  { name: 'value with every visible char', raw: head([G, 'X: !"#$%&()*,/:;<=>?@[\\]{}']) },
  {
    name: 'bare LF lines',
    raw: head(['GET / HTTP/1.1', 'Host: a', 'Content-Length: 1'], '\n'),
    want: { contentLength: 1, hostIndex: 0 },
  },
  { name: 'mixed line endings', raw: 'GET / HTTP/1.1\nHost: a\r\nX: y\n\r\n' },
  { name: 'leading CRLFs skipped', raw: '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'leading LF skipped', raw: '\nGET / HTTP/1.0\n\n', want: { headers: [] } },
  { name: '64 bytes of leading empty lines', raw: '\r\n'.repeat(32) + head([G]) },
  { name: '64 headers', raw: head(['GET / HTTP/1.1', ...numbered(REQUEST_HEADERS_MAX - 1)]) },
  {
    name: 'tchar-only header name',
    raw: head(['GET / HTTP/1.1', "!#$%&'*+-.^_`|~09AZaz: v"]),
  },
]

const INVALID: Case[] = [
  bad('garbage word', 'HELLO\r\n\r\n', PARSE_ERR_REQUEST_LINE),
  bad('TLS bytes', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n', PARSE_ERR_METHOD),
  bad('double SP before target', head(['GET  / HTTP/1.1']), PARSE_ERR_REQUEST_LINE),
  bad('double SP before version', head(['GET /  HTTP/1.1']), PARSE_ERR_REQUEST_LINE),
  bad('trailing SP', head(['GET / HTTP/1.1 ']), PARSE_ERR_REQUEST_LINE),
  bad('missing version', head(['GET /']), PARSE_ERR_REQUEST_LINE),
  bad('HTTP/0.9 style', head(['GET / ']), PARSE_ERR_REQUEST_LINE),
  bad('leading SP', head([' GET / HTTP/1.1']), PARSE_ERR_REQUEST_LINE),
  bad('HTAB separator', head(['GET\t/ HTTP/1.1']), PARSE_ERR_METHOD),
  bad('bad method char', head(['GE(T / HTTP/1.1']), PARSE_ERR_METHOD),
  bad('three tokens and more', head(['GET / x HTTP/1.1']), PARSE_ERR_REQUEST_LINE),
  bad('CTL in target', head(['GET /a\x01b HTTP/1.1']), PARSE_ERR_TARGET),
  bad('DEL in target', head(['GET /a\x7f HTTP/1.1']), PARSE_ERR_TARGET),
  bad('HTAB in target', head(['GET /a\tb HTTP/1.1']), PARSE_ERR_TARGET),
  bad('obs-text in target', head(['GET /caf\xe9 HTTP/1.1']), PARSE_ERR_TARGET),
  bad('0x80 in target', head(['GET /\x80 HTTP/1.1']), PARSE_ERR_TARGET),
  bad('0xff in an absolute target', head(['GET http://a/\xff HTTP/1.1']), PARSE_ERR_TARGET),
  bad('NUL in target', head(['GET /\x00 HTTP/1.1']), PARSE_ERR_TARGET),
  bad('relative target', head(['GET foo HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('relative target before a bad version', head(['GET foo HTTP/2.0']), PARSE_ERR_TARGET_FORM),
  bad('authority-form on GET', head(['GET a.example:443 HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('asterisk-form on GET', head(['GET * HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('OPTIONS *', head(['OPTIONS * HTTP/1.1']), PARSE_ERR_UNSUPPORTED),
  bad('OPTIONS ** is no asterisk-form', head(['OPTIONS ** HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('CONNECT authority-form', head(['CONNECT a.example:443 HTTP/1.1']), PARSE_ERR_UNSUPPORTED),
  bad('CONNECT origin-form', head(['CONNECT / HTTP/1.1']), PARSE_ERR_UNSUPPORTED),
  bad('ftp scheme', head(['GET ftp://a/x HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('ws scheme', head(['GET ws://a/x HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('httpx scheme', head(['GET httpx://a/x HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('one slash after the scheme', head(['GET http:/a/x HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('empty authority', head(['GET http:///x HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('bare scheme', head(['GET http:// HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('userinfo in the authority', head(['GET http://u:p@a/x HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('bad port in the authority', head(['GET http://a:8x/ HTTP/1.1']), PARSE_ERR_TARGET_FORM),
  bad('HTTP/1.1 without Host', bare(['GET / HTTP/1.1', 'Accept: */*']), PARSE_ERR_HOST),
  bad('HTTP/1.1 absolute-form without Host', bare(['GET http://a/ HTTP/1.1']), PARSE_ERR_HOST),
  bad('two Hosts', head([G, 'Host: a', 'host: a']), PARSE_ERR_HOST),
  bad('two Hosts on HTTP/1.0', head(['GET / HTTP/1.0', 'Host: a', 'Host: b']), PARSE_ERR_HOST),
  bad('Host with a path', head([G, 'Host: a.example/evil?x=']), PARSE_ERR_HOST),
  bad('Host with a path on HTTP/1.0', head(['GET / HTTP/1.0', 'Host: a/b']), PARSE_ERR_HOST),
  bad('empty Host', head([G, 'Host:']), PARSE_ERR_HOST),
  bad('Host with userinfo', head([G, 'Host: u@a']), PARSE_ERR_HOST),
  bad('Host with a space', head([G, 'Host: a b']), PARSE_ERR_HOST),
  bad('Host with obs-text', head([G, 'Host: caf\xe9']), PARSE_ERR_HOST),
  bad('Host with a bad pct-encoding', head([G, 'Host: a%zz']), PARSE_ERR_HOST),
  bad('Host port not digits', head([G, 'Host: a:80a']), PARSE_ERR_HOST),
  bad('Host with two ports', head([G, 'Host: a:80:81']), PARSE_ERR_HOST),
  bad('Host port only', head([G, 'Host: :80']), PARSE_ERR_HOST),
  bad('Host unclosed IPv6', head([G, 'Host: [::1']), PARSE_ERR_HOST),
  bad('Host empty brackets', head([G, 'Host: []']), PARSE_ERR_HOST),
  bad('Host IPv6 without a colon', head([G, 'Host: [abcd]']), PARSE_ERR_HOST),
  bad('Host IPv6 with a letter', head([G, 'Host: [g::1]']), PARSE_ERR_HOST),
  bad('Host junk after IPv6', head([G, 'Host: [::1]x']), PARSE_ERR_HOST),
  bad('Host IPvFuture without a dot', head([G, 'Host: [v1]']), PARSE_ERR_HOST),
  bad('target 1 byte too long', head([`GET ${LONG_TARGET}b HTTP/1.1`]), PARSE_ERR_URI_TOO_LONG),
  bad('HTTP/1.2', head(['GET / HTTP/1.2']), PARSE_ERR_VERSION),
  bad('HTTP/2.0', head(['GET / HTTP/2.0', 'Host: a']), PARSE_ERR_VERSION),
  bad('HTTP/0.9', head(['GET / HTTP/0.9']), PARSE_ERR_VERSION),
  bad('HTTX/1.1', head(['GET / HTTX/1.1']), PARSE_ERR_REQUEST_LINE),
  bad('http/1.1', head(['GET / http/1.1']), PARSE_ERR_REQUEST_LINE),
  bad('HTTP/1.10', head(['GET / HTTP/1.10']), PARSE_ERR_REQUEST_LINE),
  bad('HTTP/1', head(['GET / HTTP/1']), PARSE_ERR_REQUEST_LINE),
  bad('HTTP/2', head(['PRI * HTTP/2']), PARSE_ERR_REQUEST_LINE),
  bad('66 bytes of leading empty lines', '\r\n'.repeat(33) + head([G]), PARSE_ERR_REQUEST_LINE),
  bad('bare CR in request line', 'GET / HTTP/1.1\rX\r\n\r\n', PARSE_ERR_REQUEST_LINE),
  bad('65 headers', head([G, ...numbered(REQUEST_HEADERS_MAX + 1)]), PARSE_ERR_TOO_MANY_HEADERS),
  bad('SP before colon', head([G, 'Host : a']), PARSE_ERR_HEADER_NAME_WS),
  bad('HTAB before colon', head([G, 'Content-Length\t: 1']), PARSE_ERR_HEADER_NAME_WS),
  bad('empty name', head([G, ': a']), PARSE_ERR_HEADER_NAME),
  bad('no colon', head([G, 'Host']), PARSE_ERR_HEADER_NAME),
  bad('bad name char', head([G, 'Ho(st: a']), PARSE_ERR_HEADER_NAME),
  bad('NUL in name', head([G, 'X\x00Y: 1']), PARSE_ERR_HEADER_NAME),
  bad('obs-text in name', head([G, 'X\xe9: 1']), PARSE_ERR_HEADER_NAME),
  bad('obs-fold', head([G, 'X-Long: a', ' b', 'Host: h']), PARSE_ERR_OBS_FOLD),
  bad('HTAB obs-fold', head([G, 'X: a', '\tb']), PARSE_ERR_OBS_FOLD),
  bad('whitespace after the request line', head([G, ' Host: h']), PARSE_ERR_OBS_FOLD),
  bad('NUL in value', head([G, 'X: a\x00b']), PARSE_ERR_HEADER_VALUE),
  bad('CTL in value', head([G, 'X: \x01']), PARSE_ERR_HEADER_VALUE),
  bad('DEL in value', head([G, 'X: a\x7f']), PARSE_ERR_HEADER_VALUE),
  bad('bare CR in value', head([G, 'X: a\rb']), PARSE_ERR_HEADER_VALUE),
  bad('bare CR line', 'GET / HTTP/1.1\r\n\rX: a\r\n\r\n', PARSE_ERR_HEADER_NAME),
  cl('abc', PARSE_ERR_CONTENT_LENGTH),
  cl('-1', PARSE_ERR_CONTENT_LENGTH),
  cl('+5', PARSE_ERR_CONTENT_LENGTH),
  cl('1e3', PARSE_ERR_CONTENT_LENGTH),
  cl('5 5', PARSE_ERR_CONTENT_LENGTH),
  cl('', PARSE_ERR_CONTENT_LENGTH),
  cl('5,', PARSE_ERR_CONTENT_LENGTH),
  cl('9007199254740992', PARSE_ERR_CONTENT_LENGTH), // 2^53
  cl('99999999999999999999', PARSE_ERR_CONTENT_LENGTH),
  cl('5, 6', PARSE_ERR_CONTENT_LENGTH_CONFLICT),
  bad(
    'CL differing duplicates',
    head([P, 'Content-Length: 5', 'content-length: 50']),
    PARSE_ERR_CONTENT_LENGTH_CONFLICT,
  ),
  bad(
    'CL then TE',
    head([P, 'Content-Length: 5', 'Transfer-Encoding: chunked']),
    PARSE_ERR_CL_AND_TE,
  ),
  bad(
    'TE then CL',
    head([P, 'Transfer-Encoding: chunked', 'Content-Length: 0']),
    PARSE_ERR_CL_AND_TE,
  ),
  bad('TE gzip', head([P, 'Transfer-Encoding: gzip']), PARSE_ERR_TRANSFER_ENCODING),
  bad('TE Chunked', head([P, 'Transfer-Encoding: Chunked']), PARSE_ERR_TRANSFER_ENCODING),
  bad(
    'TE gzip, chunked',
    head([P, 'Transfer-Encoding: gzip, chunked']),
    PARSE_ERR_TRANSFER_ENCODING,
  ),
  bad(
    'TE chunked twice',
    head([P, 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']),
    PARSE_ERR_TRANSFER_ENCODING,
  ),
]

const ALL: Case[] = [...VALID, ...INVALID]

function parse(raw: string): { code: number; head: RefHead | null } {
  const buf = bytesOf(raw)
  const h = new RequestHead()
  const end = findHeadEnd(buf, 0, buf.length, 0)
  if (end < 0) return { code: PARSE_ERR_INCOMPLETE, head: null }
  const code = parseRequestHead(buf, 0, end, h)
  return { code, head: code === 0 ? fromFast(buf, h) : null }
}

describe('shared table: fast parser == reference', () => {
  for (const c of ALL) {
    test(c.name, () => {
      const ref = refParse(c.raw)
      expect(ref.code).toBe(c.code ?? 0)
      expect(findHeadEnd(bytesOf(c.raw), 0, c.raw.length, 0)).toBe(refFindHeadEnd(c.raw))
      const fast = parse(c.raw)
      expect(fast.code).toBe(ref.code)
      expect(fast.head).toEqual(ref.head)
      if (c.want) expect(fast.head).toMatchObject(c.want)
    })
  }
})

describe('every split point', () => {
  for (const c of ALL) {
    test(c.name, () => {
      const bytes = bytesOf(c.raw)
      const n = bytes.length
      const headEnd = refFindHeadEnd(c.raw)
      expect(headEnd).toBeGreaterThan(0)
      // Bytes not yet "received" are LFs, which would end any head a scan reaching them saw.
      const buf = new Uint8Array(n + 4).fill(0x0a)
      // one byte at a time, resuming from the previous end
      let scanFrom = 0
      for (let end = 1; end <= n; end++) {
        buf[end - 1] = bytes[end - 1]
        const r = findHeadEnd(buf, 0, end, scanFrom)
        expect(r).toBe(end >= headEnd ? headEnd : -1)
        if (r >= 0) break
        scanFrom = end
      }
      // two pieces, split at every point; the second call resumes after an unsuccessful first
      for (let k = 0; k <= n; k++) {
        buf.fill(0x0a)
        buf.set(bytes.subarray(0, k))
        const first = findHeadEnd(buf, 0, k, 0)
        expect(first).toBe(k >= headEnd ? headEnd : -1)
        if (first >= 0) continue
        buf.set(bytes)
        expect(findHeadEnd(buf, 0, n, k)).toBe(headEnd)
      }
      // then the parse of the assembled head matches the reference
      const h = new RequestHead()
      const ref = refParse(c.raw)
      expect(parseRequestHead(bytes, 0, headEnd, h)).toBe(ref.code)
      if (ref.head) expect(fromFast(bytes, h)).toEqual(ref.head)
    })
  }
})

describe('offsets', () => {
  test('a head inside a larger buffer: absolute offsets, nothing read outside', () => {
    for (const c of VALID) {
      const bytes = bytesOf(c.raw)
      const ref = refParse(c.raw).head!
      const pad = 13
      const buf = new Uint8Array(pad + bytes.length + pad).fill(0x0a) // LF: a head terminator
      buf.set(bytes, pad)
      const end = findHeadEnd(buf, pad, pad + bytes.length, pad)
      expect(end).toBe(pad + ref.headEnd)
      const h = new RequestHead()
      expect(parseRequestHead(buf, pad, end, h)).toBe(0)
      expect(h.headEnd).toBe(end)
      expect(h.methodStart).toBeGreaterThanOrEqual(pad)
      expect(fromFast(buf, h)).toEqual({ ...ref, headEnd: pad + ref.headEnd })
    }
  })

  test('pipelined requests parse one after the other', () => {
    const raw = CURL + head(['POST /a HTTP/1.1', 'Content-Length: 2']) + 'hi' + WS
    const buf = bytesOf(raw)
    const h = new RequestHead()
    const targets: string[] = []
    let pos = 0
    while (pos < buf.length) {
      const end = findHeadEnd(buf, pos, buf.length, pos)
      expect(parseRequestHead(buf, pos, end, h)).toBe(0)
      targets.push(raw.slice(h.targetStart, h.targetEnd))
      pos = end + Math.max(h.contentLength, 0)
    }
    expect(targets).toEqual(['/', '/a', '/chat'])
    expect(h.upgradeWebsocket).toBe(true)
  })

  test('end past the head: parsing stops at the empty line', () => {
    const raw = head(['POST / HTTP/1.1', 'Content-Length: 4']) + 'a\r\n\r'
    const buf = bytesOf(raw)
    const h = new RequestHead()
    expect(parseRequestHead(buf, 0, buf.length, h)).toBe(0)
    expect(h.headEnd).toBe(raw.length - 4)
  })

  test('incomplete heads', () => {
    const h = new RequestHead()
    for (const raw of ['', '\r\n', 'GET / HTTP/1.1\r\n', 'GET / HTTP/1.1\r\nHost: a\r\n\r']) {
      const buf = bytesOf(raw)
      expect(findHeadEnd(buf, 0, buf.length, 0)).toBe(-1)
      expect(parseRequestHead(buf, 0, buf.length, h)).toBe(PARSE_ERR_INCOMPLETE)
    }
  })
})

describe('checkRequestLine: a bad request line is refused as soon as it ends', () => {
  /** Where the request line starts: after the empty lines the parser skips (at most 64 bytes). */
  function lineStart(raw: string): number {
    return Math.min(raw.match(/^(\r?\n)*/)![0].length, REF_LEADING_EMPTY_LINES_MAX_BYTES)
  }
  /** The reference's verdict on the request line alone, completed by a valid Host line. */
  function lineCode(raw: string): number {
    const lineEnd = raw.indexOf('\n', lineStart(raw))
    return refParse(raw.slice(0, lineEnd + 1) + 'Host: h\r\n\r\n').code
  }

  for (const c of ALL) {
    test(c.name, () => {
      const bytes = bytesOf(c.raw)
      const h = new RequestHead()
      const want = lineCode(c.raw)
      // fed one byte at a time, resuming where the previous pending call ended
      let scanFrom = 0
      let got = REQUEST_LINE_PENDING
      let at = -1
      for (let end = 0; end <= bytes.length && got === REQUEST_LINE_PENDING; end++) {
        got = checkRequestLine(bytes, 0, end, scanFrom, h)
        at = end
        scanFrom = end
      }
      expect(got).toBe(want)
      // decided exactly when the line's LF arrived
      expect(at).toBe(c.raw.indexOf('\n', lineStart(c.raw)) + 1)
      // and in agreement with the whole head: refused for the same reason, or not for the line
      if (want !== 0) expect(refParse(c.raw).code).toBe(want)
      // in one piece the answer is the same
      expect(checkRequestLine(bytes, 0, bytes.length, 0, h)).toBe(want)
    })
  }

  test('HTTP/0.9 lines, with CRLF or LF, before any more bytes', () => {
    const h = new RequestHead()
    for (const raw of ['GET /x\r\n', 'GET /x\n', 'GET\r\n', 'GET /x \r\n', '\r\nGET /x\r\n']) {
      expect(checkRequestLine(bytesOf(raw), 0, raw.length, 0, h)).toBe(PARSE_ERR_REQUEST_LINE)
    }
    expect(checkRequestLine(bytesOf('GET /x'), 0, 6, 0, h)).toBe(REQUEST_LINE_PENDING)
    expect(checkRequestLine(bytesOf('GET /x HTTP/1.1\r'), 0, 16, 0, h)).toBe(REQUEST_LINE_PENDING)
    expect(checkRequestLine(bytesOf('GET /x HTTP/1.1\r\nHo'), 0, 19, 0, h)).toBe(0)
    expect(checkRequestLine(bytesOf('GET /x HTTP/3.0\n'), 0, 16, 0, h)).toBe(PARSE_ERR_VERSION)
    expect(checkRequestLine(bytesOf('CONNECT a:1 HTTP/1.1\n'), 0, 21, 0, h)).toBe(PARSE_ERR_UNSUPPORTED)
  })
})

test('parseErrorStatus maps codes to statuses', () => {
  expect(parseErrorStatus(PARSE_ERR_REQUEST_LINE)).toBe(400)
  expect(parseErrorStatus(PARSE_ERR_METHOD)).toBe(400)
  expect(parseErrorStatus(PARSE_ERR_HEADER_NAME_WS)).toBe(400)
  expect(parseErrorStatus(PARSE_ERR_OBS_FOLD)).toBe(400)
  expect(parseErrorStatus(PARSE_ERR_CL_AND_TE)).toBe(400)
  expect(parseErrorStatus(PARSE_ERR_URI_TOO_LONG)).toBe(414)
  expect(parseErrorStatus(PARSE_ERR_TOO_MANY_HEADERS)).toBe(431)
  expect(parseErrorStatus(PARSE_ERR_TRANSFER_ENCODING)).toBe(501)
  expect(parseErrorStatus(PARSE_ERR_UNSUPPORTED)).toBe(501)
  expect(parseErrorStatus(PARSE_ERR_HOST)).toBe(400)
  expect(parseErrorStatus(PARSE_ERR_TARGET_FORM)).toBe(400)
  expect(parseErrorStatus(PARSE_ERR_VERSION)).toBe(505)
  expect(parseErrorStatus(PARSE_ERR_INCOMPLETE)).toBe(0)
})

/** xorshift32: a seeded PRNG so a failing mutation can be replayed. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x100000000
  }
}

const INTERESTING = ' \t\r\n:,;0a\x00\x7f\xff-(/@[]%*'

test('seeded mutations: fast parser == reference', () => {
  const rand = rng(0x5eed)
  const pick = (s: string): string => s[Math.floor(rand() * s.length)]
  const small = VALID.filter((c) => c.raw.length < 2000)
  let compared = 0
  for (let iter = 0; iter < 20_000; iter++) {
    let s = small[Math.floor(rand() * small.length)].raw
    const edits = 1 + Math.floor(rand() * 3)
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * s.length)
      const op = rand()
      if (op < 0.4) s = s.slice(0, at) + pick(INTERESTING) + s.slice(at + 1)
      else if (op < 0.7) s = s.slice(0, at) + pick(INTERESTING) + s.slice(at)
      else s = s.slice(0, at) + s.slice(at + 1)
    }
    const buf = bytesOf(s)
    const refEnd = refFindHeadEnd(s)
    const end = findHeadEnd(buf, 0, buf.length, 0)
    if (end !== refEnd) throw new Error(`head end ${end} != ${refEnd} for ${JSON.stringify(s)}`)
    if (end < 0) continue
    const ref = refParse(s)
    const h = new RequestHead()
    const code = parseRequestHead(buf, 0, end, h)
    if (code !== ref.code) throw new Error(`code ${code} != ${ref.code} for ${JSON.stringify(s)}`)
    if (ref.head) expect(fromFast(buf, h)).toEqual(ref.head)
    compared++
  }
  expect(compared).toBeGreaterThan(15_000)
})

test('findHeadEnd on random line-end soup == reference, resumed anywhere', () => {
  // findHeadEnd only reads every second byte outside line ends: dense CR/LF mixes are its
  // hardest input.
  const rand = rng(0xc0ffee)
  const alphabet = 'a\r\n\n\r '
  for (let iter = 0; iter < 20_000; iter++) {
    const n = Math.floor(rand() * 24)
    let s = ''
    for (let k = 0; k < n; k++) s += alphabet[Math.floor(rand() * alphabet.length)]
    const want = refFindHeadEnd(s)
    const buf = new Uint8Array(n + 3).fill(0x0a) // LFs past the end would fake a terminator
    buf.set(bytesOf(s))
    const got = findHeadEnd(buf, 0, n, 0)
    if (got !== want) throw new Error(`${got} != ${want} for ${JSON.stringify(s)}`)
    // resume from every earlier end that had not found it yet
    for (let k = 0; k < n; k++) {
      if (refFindHeadEnd(s.slice(0, k)) >= 0) break
      const resumed = findHeadEnd(buf, 0, n, k)
      if (resumed !== want) throw new Error(`resume at ${k}: ${resumed} for ${JSON.stringify(s)}`)
    }
  }
})

test('no allocation per parse', () => {
  const bufs = [bytesOf(CURL), bytesOf(BROWSER), bytesOf(WS)]
  const h = new RequestHead()
  let sink = 0
  const run = (iterations: number): void => {
    for (let i = 0; i < iterations; i++) {
      const buf = bufs[i % 3]
      const end = findHeadEnd(buf, 0, buf.length, 0)
      sink += parseRequestHead(buf, 0, end, h) + h.headerCount
    }
  }
  run(200_000) // warm up: let the JIT tiers settle before measuring
  Bun.gc(true)
  const objectsBefore = heapStats().objectCount
  const bytesBefore = memoryUsage().current
  run(100_000)
  // Without a GC in between, allocator growth shows garbage too: one small object per parse
  // grows it by megabytes here (see the bench), while the allocation-free loop stays flat.
  const grownBytes = memoryUsage().current - bytesBefore
  Bun.gc(true)
  const grownObjects = heapStats().objectCount - objectsBefore
  expect(sink).toBeGreaterThan(0)
  expect(grownObjects).toBeLessThan(100)
  expect(grownBytes).toBeLessThan(1 << 20)
})
