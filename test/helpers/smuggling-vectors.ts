// The request-smuggling corpus of test/e2e/smuggling.test.ts: raw client bytes, each with what
// the handler must see and how the client is answered. Covers the holes of issue 10 (bare LF
// in chunked framing, Host, absolute-form and other targets, raw bytes >= 0x80 in the target,
// Connection in any case, HTTP/0.9 lines) and the classic families: CL+TE, duplicate and list
// Content-Length, obfuscated Transfer-Encoding, obs-fold, bare CR, NUL and other CTLs, huge or
// overflowing sizes, chunk extensions and trailers. Strings are latin1: one char per byte.

/** One request as the handler sees it. */
export interface Seen {
  method: string
  uri: string
  /** The de-chunked body; '' when there is none. */
  body: string
  /**
   * The head reached the handler but the body framing broke: the handler gets a cancel, having
   * seen at most a prefix of `body`, and the client gets the vector's status.
   */
  aborted?: true
}

export interface Vector {
  name: string
  bytes: string
  /** The requests the handler sees, in order; nothing else may reach it. */
  seen: Seen[]
  /**
   * zgate's error status after the requests in `seen` (which it answers 200), then the close;
   * absent when every request is served.
   */
  status?: number
  /** The connection closes after the last served response (it must not serve any more). */
  closes?: true
  /** Refused vectors get a valid pipelined GET appended, which must never reach the handler; not this one. */
  alone?: true
  /**
   * How Condure 1.9.1 differs, as observed; absent when it shows the handler the same
   * (refusing by closing without a response), and then the vector runs against it too.
   */
  condureDiffers?: string
}

const H = 'Host: h'
/** A pipelined request after each refused vector: it must never reach the handler. */
export const AFTER = 'GET /after HTTP/1.1\r\nHost: h\r\n\r\n'

/** A request from its request line, header lines and body. */
function req(line: string, headers: string[], body = ''): string {
  return `${line}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`
}

const get = (path: string): Seen => ({ method: 'GET', uri: `http://h${path}`, body: '' })
const post = (path: string, body: string): Seen => ({ method: 'POST', uri: `http://h${path}`, body })
const aborted = (path: string, body = ''): Seen => ({ ...post(path, body), aborted: true })

/** A chunked POST to `path` whose body is `chunks` (framing included). */
function chunked(path: string, chunks: string): string {
  return req(`POST ${path} HTTP/1.1`, [H, 'Transfer-Encoding: chunked'], chunks)
}

/** A request refused before it reached the handler. */
function refused(name: string, bytes: string, status: number, extra: Partial<Vector> = {}): Vector {
  return { name, bytes, seen: [], status, ...extra }
}

/** A chunked POST whose head reaches the handler and whose framing then fails. */
function badChunks(name: string, chunks: string, data = '', extra: Partial<Vector> = {}): Vector {
  return { name, bytes: chunked('/c', chunks), seen: [aborted('/c', data)], status: 400, ...extra }
}

/** A request with one header line `field`, refused with `status`. */
function badHeader(name: string, field: string, status = 400, extra: Partial<Vector> = {}): Vector {
  return refused(name, req('POST /x HTTP/1.1', [H, field], 'hello'), status, extra)
}

const DESYNC =
  'POST /desync HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n28;\n' +
  'a'.repeat(40) +
  '\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n\r\n0\r\n\r\n'

export const VECTORS: Vector[] = [
  // --- 1. chunked framing: CRLF on every line, no CTLs (RFC 9112 7.1) ---
  { name: 'issue 10 desync: bare LF inside a chunk extension', condureDiffers: 'accepts it: a second request', bytes: DESYNC, seen: [aborted('/desync')], status: 400, alone: true },
  badChunks('bare LF on every chunk line', '5\nhello\n0\n\n', 'hello'),
  badChunks('bare LF after chunk data', '5\r\nhello\n0\r\n\r\n', 'hello'),
  badChunks('bare LF ending a size line', '5\nhello\r\n0\r\n\r\n'),
  badChunks('bare LF after the last-chunk', '5\r\nhello\r\n0\n\r\n', 'hello'),
  badChunks('bare LF ending a trailer line', '0\r\nX: y\n\r\n', '', { condureDiffers: 'accepts the body' }),
  badChunks('bare LF as the final empty line', '0\r\n\n', '', { condureDiffers: 'accepts the body' }),
  badChunks('bare CR in a size line', '5\rhello\r\n0\r\n\r\n'),
  badChunks('vertical tab in a chunk extension', '5;a\x0b\r\nhello\r\n0\r\n\r\n', '', { condureDiffers: 'accepts the body' }),
  badChunks('NUL after the chunk size', '5\x00\r\nhello\r\n0\r\n\r\n'),
  badChunks('NUL inside a quoted chunk extension', '5;a="\x00"\r\nhello\r\n0\r\n\r\n', '', { condureDiffers: 'accepts the body' }),
  badChunks('empty chunk extension name', '5;\r\nhello\r\n0\r\n\r\n', '', { condureDiffers: 'accepts the body' }),
  badChunks('chunk size of 18 hex digits', 'ffffffffffffffffff\r\nx\r\n0\r\n\r\n'),
  badChunks('chunk size 2^32 (past the u32 bound)', '100000000\r\nx\r\n0\r\n\r\n'),
  badChunks('negative chunk size', '-5\r\nhello\r\n0\r\n\r\n'),
  badChunks('signed chunk size', '+5\r\nhello\r\n0\r\n\r\n'),
  badChunks('0x chunk size', '0x5\r\nhello\r\n0\r\n\r\n'),
  badChunks('chunk data longer than its size', '3\r\nhello\r\n0\r\n\r\n', 'hel'),
  {
    name: 'valid chunk extensions, quoted strings included, are skipped',
    bytes: chunked('/ext', '5;a=b;q="x;\\"y\\""\r\nhello\r\n6 ; n = "w o" ;m\r\n world\r\n0;last\r\n\r\n') + AFTER,
    seen: [post('/ext', 'hello world'), get('/after')],
  },
  {
    name: 'trailers are consumed and not forwarded',
    bytes: chunked('/trailers', '5\r\nhello\r\n0\r\nX-Trailer: t\r\nContent-Length: 99\r\n\r\n') + AFTER,
    seen: [post('/trailers', 'hello'), get('/after')],
  },
  // --- 2. Host (RFC 9112 3.2) ---
  refused('HTTP/1.1 without Host', req('GET /x HTTP/1.1', ['Accept: */*']), 400, { condureDiffers: 'forwards it with a localhost uri' }),
  refused('two Host headers', req('GET /x HTTP/1.1', ['Host: a', 'Host: b']), 400, { condureDiffers: 'forwards it, the first Host in the uri' }),
  refused('two identical Host headers', req('GET /x HTTP/1.1', [H, H]), 400, { condureDiffers: 'forwards it, the first Host in the uri' }),
  refused('Host with a path and query', req('GET /hostslash HTTP/1.1', ['Host: a.example/evil?x=']), 400, { condureDiffers: 'forwards it, the value in the uri' }),
  refused('Host with userinfo', req('GET /x HTTP/1.1', ['Host: user@h']), 400, { condureDiffers: 'forwards it, the value in the uri' }),
  refused('empty Host', req('GET /x HTTP/1.1', ['Host:']), 400, { condureDiffers: 'forwards it, the value in the uri' }),
  refused('Host with a non-digit port', req('GET /x HTTP/1.1', ['Host: h:80x']), 400, { condureDiffers: 'forwards it, the value in the uri' }),
  refused('Host with a bad HTTP/1.0 value', req('GET /x HTTP/1.0', ['Host: a/b']), 400, { condureDiffers: 'forwards it, the value in the uri' }),
  {
    name: 'HTTP/1.0 without Host names localhost',
    bytes: req('GET /ten HTTP/1.0', []),
    seen: [{ method: 'GET', uri: 'http://localhost/ten', body: '' }],
    closes: true,
  },
  {
    name: 'Host as an IPv6 literal with a port',
    bytes: req('GET /v6 HTTP/1.1', ['Host: [::1]:8080']),
    seen: [{ method: 'GET', uri: 'http://[::1]:8080/v6', body: '' }],
  },
  // --- 3. request-target forms (RFC 9112 3.2.1-3.2.4) ---
  {
    name: 'absolute-form: the target is the uri, never joined to Host',
    condureDiffers: 'joins Host and the target',
    bytes: req('GET http://evil.example/abs?q=1 HTTP/1.1', ['Host: good.example']) + AFTER,
    seen: [{ method: 'GET', uri: 'http://evil.example/abs?q=1', body: '' }, get('/after')],
  },
  {
    // the handler's 200 is written as a plain response and the connection closes (README)
    name: 'absolute-form WebSocket upgrade: a ws uri with the target authority',
    condureDiffers: 'joins Host and the target',
    bytes: req('GET http://evil.example/sock HTTP/1.1', [
      'Host: good.example',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ]),
    seen: [{ method: 'GET', uri: 'ws://evil.example/sock', body: '' }],
    closes: true,
  },
  refused('absolute-form https on a plain listener', req('GET https://h/x HTTP/1.1', [H]), 400, { condureDiffers: 'forwards it, Host and target joined' }),
  refused('absolute-form ftp scheme', req('GET ftp://h/x HTTP/1.1', [H]), 400, { condureDiffers: 'forwards it, Host and target joined' }),
  refused('absolute-form with userinfo', req('GET http://u@h/x HTTP/1.1', [H]), 400, { condureDiffers: 'forwards it, Host and target joined' }),
  refused('absolute-form with an empty authority', req('GET http:///x HTTP/1.1', [H]), 400, { condureDiffers: 'forwards it, Host and target joined' }),
  refused('relative target', req('GET x/y HTTP/1.1', [H]), 400, { condureDiffers: 'forwards it, Host and target joined' }),
  refused('CONNECT', req('CONNECT h:443 HTTP/1.1', [H]), 501, { condureDiffers: 'forwards it' }),
  refused('OPTIONS *', req('OPTIONS * HTTP/1.1', [H]), 501, { condureDiffers: 'forwards it' }),
  refused('asterisk-form on GET', req('GET * HTTP/1.1', [H]), 400, { condureDiffers: 'forwards it' }),
  // --- 4. raw bytes >= 0x80 in the target (RFC 9112 3.2) ---
  refused('obs-text in the target', req('GET /caf\xe9 HTTP/1.1', [H]), 400),
  refused('UTF-8 in the target', req('GET /\xc3\xa9 HTTP/1.1', [H]), 400),
  // --- 5. Connection options in any case (RFC 9110 7.6.1) ---
  { name: 'Connection: Close', condureDiffers: 'matches `close` in lower case only', bytes: req('GET /a HTTP/1.1', [H, 'Connection: Close']) + AFTER, seen: [get('/a')], closes: true },
  { name: 'Connection: CLOSE', condureDiffers: 'matches `close` in lower case only', bytes: req('GET /a HTTP/1.1', [H, 'Connection: CLOSE']) + AFTER, seen: [get('/a')], closes: true },
  { name: 'Connection: keep-alive, Close', condureDiffers: 'matches `close` in lower case only', bytes: req('GET /a HTTP/1.1', [H, 'Connection: keep-alive, Close']) + AFTER, seen: [get('/a')], closes: true },
  {
    name: 'HTTP/1.0 Connection: Keep-Alive serves the next request',
    bytes: req('GET /a HTTP/1.0', [H, 'Connection: Keep-Alive']) + AFTER,
    seen: [get('/a'), get('/after')],
  },
  // --- 6. HTTP/0.9 request lines, refused before any further byte ---
  refused('HTTP/0.9 line with CRLF', 'GET /x\r\n', 400, { alone: true }),
  refused('HTTP/0.9 line with LF', 'GET /x\n', 400, { alone: true }),
  refused('HTTP/2 version', 'GET /x HTTP/2.0\r\n', 505, { alone: true }),
  // --- Content-Length and Transfer-Encoding together (RFC 9112 6.1, 6.3) ---
  refused('CL then TE', req('POST /x HTTP/1.1', [H, 'Content-Length: 5', 'Transfer-Encoding: chunked'], '0\r\n\r\n'), 400, { condureDiffers: 'lets chunked win' }),
  refused('TE then CL', req('POST /x HTTP/1.1', [H, 'Transfer-Encoding: chunked', 'Content-Length: 5'], '0\r\n\r\n'), 400, { condureDiffers: 'lets chunked win' }),
  // the unsupported coding is found first: 501
  refused('CL with an obfuscated TE', req('POST /x HTTP/1.1', [H, 'Content-Length: 5', 'Transfer-Encoding: xchunked'], 'hello'), 501),
  // --- Content-Length values (RFC 9110 8.6) ---
  {
    name: 'duplicate identical Content-Length headers are one length',
    bytes: req('POST /x HTTP/1.1', [H, 'Content-Length: 5', 'Content-Length: 5'], 'hello') + AFTER,
    seen: [post('/x', 'hello'), get('/after')],
  },
  {
    name: 'Content-Length list of identical values is one length',
    condureDiffers: 'refuses a list',
    bytes: req('POST /x HTTP/1.1', [H, 'Content-Length: 5, 5'], 'hello') + AFTER,
    seen: [post('/x', 'hello'), get('/after')],
  },
  badHeader('differing Content-Length headers', 'Content-Length: 5\r\nContent-Length: 6', 400, { condureDiffers: 'forwards it' }),
  badHeader('Content-Length list of differing values', 'Content-Length: 5, 6'),
  badHeader('signed Content-Length', 'Content-Length: +5', 400, { condureDiffers: 'accepts +5' }),
  badHeader('negative Content-Length', 'Content-Length: -1', 400),
  badHeader('hex Content-Length', 'Content-Length: 0x5', 400),
  badHeader('Content-Length past 2^53', 'Content-Length: 99999999999999999999'),
  badHeader('empty Content-Length', 'Content-Length:'),
  // --- obfuscated Transfer-Encoding (RFC 9112 6.1; only exactly `chunked`) ---
  {
    name: 'TE chunked with trailing SP (OWS, trimmed)',
    bytes: req('POST /x HTTP/1.1', [H, 'Transfer-Encoding: chunked '], '5\r\nhello\r\n0\r\n\r\n') + AFTER,
    seen: [post('/x', 'hello'), get('/after')],
  },
  {
    name: 'TE chunked after a tab (OWS, trimmed)',
    bytes: req('POST /x HTTP/1.1', [H, 'Transfer-Encoding:\tchunked'], '5\r\nhello\r\n0\r\n\r\n') + AFTER,
    seen: [post('/x', 'hello'), get('/after')],
  },
  badHeader('TE Chunked', 'Transfer-Encoding: Chunked', 501),
  badHeader('TE chunked, identity', 'Transfer-Encoding: chunked, identity', 501),
  badHeader('TE xchunked', 'Transfer-Encoding: xchunked', 501),
  badHeader('TE chunked with a vertical tab', 'Transfer-Encoding: chunked\x0b'),
  badHeader('TE with SP before the colon', 'Transfer-Encoding : chunked'),
  badHeader('two TE headers', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', 501, { condureDiffers: 'forwards it' }),
  badHeader('TE identity then chunked', 'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked', 501),
  // the empty TE value is refused before the fold line is seen: 501
  badHeader('TE by obs-fold', 'Transfer-Encoding:\r\n chunked', 501),
  // --- obs-fold, bare CR, NUL and other CTLs (RFC 9112 2.2, 5.2; RFC 9110 5.5) ---
  badHeader('obs-fold', 'X-A: a\r\n b'),
  badHeader('bare CR in a value', 'X-A: a\rb'),
  refused('bare CR in the request line', 'GET /x\rHTTP/1.1\r\nHost: h\r\n\r\n', 400),
  badHeader('NUL in a header name', 'X\x00A: 1'),
  badHeader('NUL in a header value', 'X-A: a\x00b'),
  badHeader('escape byte in a header value', 'X-A: a\x1bb'),
  badHeader('DEL in a header value', 'X-A: a\x7f'),
  refused('NUL in the target', req('GET /a\x00b HTTP/1.1', [H]), 400),
  refused('tab in the target', req('GET /a\tb HTTP/1.1', [H]), 400),
  refused('DEL in the target', req('GET /a\x7f HTTP/1.1', [H]), 400),
]
