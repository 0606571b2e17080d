// fast-check generators of HTTP/1 request streams for the parser differential: a grammar of
// request heads and bodies that leans on the places parsers disagree (line ends, framing
// headers, obs-fold, odd bytes in targets and values, chunk extensions and trailers), then
// byte-level mutations of the result. Strings are latin1: one character per byte.

import fc from 'fast-check'

/** Longest generated Content-Length body. */
const BODY_SIZE_MAX_BYTES = 64

const EOL = fc.oneof(
  { weight: 12, arbitrary: fc.constant('\r\n') },
  { weight: 2, arbitrary: fc.constant('\n') },
  { weight: 1, arbitrary: fc.constantFrom('\r', '\r\r\n', '\n\r', ' \r\n') },
)

/** Bytes that are interesting anywhere: CTLs, DEL, obs-text, delimiters. */
const ODD_BYTE = fc.constantFrom(
  '\x00', '\t', '\x0b', '\x0c', '\r', '\n', ' ', '\x7f', '\x80', '\xa0', '\xff', '"', ',', ';',
  ':', '=', '/', '?', '#', '@', '\\', '%', '+', '-', '0', 'a',
)

const METHOD = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH') },
  { weight: 2, arbitrary: fc.constantFrom('CONNECT', 'FOO', 'get', 'M-SEARCH', 'X!#$', 'PRI', 'TRACE') },
  { weight: 1, arbitrary: fc.constantFrom('', 'G T', 'GE\x00T', 'GET\t', '\xc7ET', 'GET:') },
)

const TARGET_PIECE = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b/c', 'x.y', '%20', '%zz', '~', '-_.', '!$&\'()*+,;=', ':@') },
  { weight: 2, arbitrary: fc.constantFrom('?', '?q=1', '#f', '//', '/..', '\\') },
  { weight: 1, arbitrary: ODD_BYTE },
)

const TARGET = fc.oneof(
  { weight: 8, arbitrary: fc.array(TARGET_PIECE, { maxLength: 4 }).map((p) => `/${p.join('')}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('http://', 'https://', 'HTTP://', 'ws://', 'http:/'), fc.constantFrom('a.example', 'a:80', '[::1]', 'u@h', ''), fc.array(TARGET_PIECE, { maxLength: 2 }))
      .map(([s, h, p]) => `${s}${h}/${p.join('')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('*', 'a.example:443', 'abc', '@evil', '?x', '', '/ /', '/\x80', '/\xff\xfe', '/\x7f') },
)

const VERSION = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1', 'HTTP/11', '') },
)

/** A name spelled in a random mix of cases. */
function anyCase(name: string): fc.Arbitrary<string> {
  return fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((up) =>
    [...name].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
  )
}

const DIGITS = fc.nat({ max: 12 }).map(String)

const CONTENT_LENGTH_VALUE = fc.oneof(
  { weight: 8, arbitrary: DIGITS },
  { weight: 2, arbitrary: DIGITS.map((d) => `${d}, ${d}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', '+3', '-1', '0x3', '3 3', '3,4', '03', '3;', ' 3 ', '99999999999999999999', '3\x00', '\x0b3'),
  },
)

const TE_VALUE = fc.oneof(
  { weight: 8, arbitrary: fc.constant('chunked') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('Chunked', 'CHUNKED', 'gzip, chunked', 'chunked, gzip', 'chunked ', 'identity', 'chunked,', ',chunked', 'chunked;q=1', 'chunk', '\x0bchunked', 'chunked\x00', 'x-chunked'),
  },
)

const CONNECTION_VALUE = fc.constantFrom('close', 'Close', 'CLOSE', 'keep-alive', 'Keep-Alive', 'KEEP-ALIVE', 'upgrade', 'Upgrade', 'close, upgrade', 'keep-alive, Upgrade', 'foo', ' close ', 'closed', ',close')

const PLAIN_VALUE = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'h', 'x y', 'a.example', 'a.example:8080', '') },
  { weight: 2, arbitrary: fc.array(fc.oneof(ODD_BYTE, fc.constantFrom('v', ' ')), { maxLength: 4 }).map((a) => a.join('')) },
)

/** One header field as its text (without the line end), and whether it is a framing field. */
const FIELD: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(anyCase('host'), PLAIN_VALUE).map(([n, v]) => `${n}: ${v}`) },
  { weight: 3, arbitrary: fc.tuple(anyCase('content-length'), CONTENT_LENGTH_VALUE).map(([n, v]) => `${n}: ${v}`) },
  { weight: 3, arbitrary: fc.tuple(anyCase('transfer-encoding'), TE_VALUE).map(([n, v]) => `${n}: ${v}`) },
  { weight: 3, arbitrary: fc.tuple(anyCase('connection'), CONNECTION_VALUE).map(([n, v]) => `${n}: ${v}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(anyCase('upgrade'), fc.constantFrom('websocket', 'WebSocket', 'h2c')).map(([n, v]) => `${n}: ${v}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Expect: 100-continue') },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('X-A', 'Accept', 'Trailer', 'te'), PLAIN_VALUE).map(([n, v]) => `${n}: ${v}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom('Content-Length ', 'Transfer-Encoding\t', ' Host', 'X\x00', '', 'X Y', 'Content-Length\x0b', 'Host\xff'),
      PLAIN_VALUE,
    ).map(([n, v]) => `${n}:${v}`),
  },
  // obs-fold: a continuation line
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(' ', '\t'), PLAIN_VALUE).map(([w, v]) => `X-B: a\r\n${w}${v}`) },
)

const HEX_CASE = fc.constantFrom('x', 'X')

/** A chunk-size line's size for `n` data bytes: hex in either case, maybe zero-padded. */
function chunkSize(n: number): fc.Arbitrary<string> {
  return fc.tuple(HEX_CASE, fc.nat({ max: 2 })).map(([c, pad]) => {
    const h = n.toString(16)
    return '0'.repeat(pad) + (c === 'X' ? h.toUpperCase() : h)
  })
}

const CHUNK_EXT = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constantFrom(';a', ';a=b', ';a="q s"', '; a = b', ' ;a', ';a=b;c', ';') },
  { weight: 1, arbitrary: fc.tuple(fc.constant(';a'), ODD_BYTE).map(([a, b]) => a + b) },
)

const DATA_BYTE = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('d', 'A', '0') }, { weight: 2, arbitrary: ODD_BYTE })

const CHUNK = fc
  .array(DATA_BYTE, { minLength: 1, maxLength: 20 })
  .chain((data) => fc.tuple(chunkSize(data.length), CHUNK_EXT, EOL, fc.constant(data.join('')), EOL))
  .map(([size, ext, eol1, data, eol2]) => `${size}${ext}${eol1}${data}${eol2}`)

const TRAILER = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('T: v', 'Expires: 0', 'x:') },
  { weight: 1, arbitrary: fc.constantFrom(' T: v', 'T : v', 'T v', 'T: \x00', 'T: a\r\n b') },
)

/** A chunked body: chunks, the last chunk, trailers and the final empty line. */
export const CHUNKED_BODY: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(CHUNK, { maxLength: 3 }),
    fc.constantFrom('0', '000', '0;e=1', '0 '),
    EOL,
    fc.array(fc.tuple(TRAILER, EOL).map(([t, e]) => t + e), { maxLength: 2 }),
    EOL,
  )
  .map(([chunks, last, eol1, trailers, eol2]) => chunks.join('') + last + eol1 + trailers.join('') + eol2)

/** A whole request: head, then a body fitting its framing fields (sometimes not). */
export const REQUEST: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('', '', '', '\r\n', '\n'),
    METHOD,
    TARGET,
    VERSION,
    EOL,
    fc.array(fc.tuple(FIELD, EOL), { maxLength: 5 }),
    EOL,
    CHUNKED_BODY,
    fc.array(DATA_BYTE, { maxLength: 12 }).map((a) => a.join('')),
  )
  .map(([lead, m, t, v, eol, fields, end, chunked, extra]) => {
    const head = `${lead}${m} ${t}${v === '' ? '' : ` ${v}`}${eol}${fields.map(([f, e]) => f + e).join('')}${end}`
    const lower = head.toLowerCase()
    let body = ''
    if (lower.includes('transfer-encoding')) body = chunked
    const cl = /content-length[ \t]*:[ \t]*([0-9]+)/.exec(lower)
    if (cl !== null) {
      // the declared length, or one byte more now and then (the next request then starts late)
      const n = Math.min(Number(cl[1]), BODY_SIZE_MAX_BYTES) + (extra.length % 3 === 0 ? 1 : 0)
      body += extra.padEnd(n, 'b').slice(0, n)
    }
    return head + body
  })

/** A request line alone, with its line end (the version now and then left out: HTTP/0.9). */
export const REQUEST_LINE: fc.Arbitrary<{ line: string; hasVersion: boolean }> = fc
  .tuple(METHOD, TARGET, fc.oneof({ weight: 3, arbitrary: VERSION }, { weight: 1, arbitrary: fc.constant('') }), EOL)
  .map(([m, t, v, eol]) => ({ line: `${m} ${t}${v === '' ? '' : ` ${v}`}${eol}`, hasVersion: v !== '' }))

/** One byte-level change at a relative position (0..1) of the text. */
const MUTATION = fc.tuple(
  fc.constantFrom('flip', 'insert', 'delete', 'dup', 'cut'),
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  ODD_BYTE,
  fc.nat({ max: 7 }),
)

function mutate(s: string, [kind, at, byte, n]: [string, number, string, number]): string {
  if (s.length === 0) return byte
  const i = Math.floor(at * s.length)
  switch (kind) {
    case 'flip':
      return s.slice(0, i) + byte + s.slice(i + 1)
    case 'insert':
      return s.slice(0, i) + byte + s.slice(i)
    case 'delete':
      return s.slice(0, i) + s.slice(i + 1 + (n % 3))
    case 'cut':
      return s.slice(0, i)
    default:
      return s.slice(0, i + n + 1) + s.slice(i)
  }
}

/** 1 to 3 pipelined requests, then 0 to 3 mutations. */
export const STREAM: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(REQUEST, { minLength: 1, maxLength: 3 }),
    fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(MUTATION, { minLength: 1, maxLength: 3 }) }),
  )
  .map(([reqs, muts]) => muts.reduce(mutate, reqs.join('')))

/** A canonical chunked request with a generated body, then a second request (desync probe). */
export const CHUNKED_STREAM: fc.Arbitrary<string> = fc
  .tuple(
    CHUNKED_BODY,
    fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(MUTATION, { minLength: 1, maxLength: 2 }) }),
  )
  .map(
    ([body, muts]) =>
      'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
      muts.reduce(mutate, body) +
      'GET /next HTTP/1.1\r\nHost: h\r\n\r\n',
  )
