// Micro-benchmarks for the ZHTTP codec: tnetstring decode, handler packet parse, and the
// encoders for the first request packet and a credit packet (zhttp.md 2.3, 3.1, 4.3).
// Run: bun bench/tnetstring.bench.ts
// Prints mitata's ns/op, then GC-heap allocation per op for the same closures (bench/util.ts).

import { bench, do_not_optimize, group, run, summary } from 'mitata'
import { HandlerPacket, parseHandlerPacket } from '../src/zhttp/packet.ts'
import { PACKET_OK } from '../src/zhttp/packet-errors.ts'
import { IdBatch, writeMultiIdPacket, writeSimplePacket } from '../src/zhttp/packet-writer.ts'
import {
  EXT_MULTI_FIELD,
  KEY_BODY,
  KEY_CREDITS,
  KEY_FROM,
  KEY_HEADERS,
  KEY_ID,
  KEY_METHOD,
  KEY_MORE,
  KEY_PEER_ADDRESS,
  KEY_PEER_PORT,
  KEY_SEQ,
  KEY_STREAM,
  KEY_URI,
} from '../src/zhttp/packet-types.ts'
import { TN_LIST, TN_MAP, TN_OK, TnSpan, TnWriter, decodeTn } from '../src/zhttp/tnetstring.ts'
import { allocsPerOp, printAllocs } from './util.ts'
import type { AllocRow } from './util.ts'

/** Ops per allocation measurement: enough to tell 0 from one cell per op. */
const ALLOC_OPS = 1_000_000

const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))

// --- inputs ---

/** A handler response head with a small body, as a handler's tnetstring library writes it. */
function responsePacket(): Uint8Array {
  const out = new Uint8Array(1024)
  const w = new TnWriter(out, 0)
  w.raw(0x54) // T
  w.beginMap()
  w.ascii('from')
  w.ascii('handler-1')
  w.ascii('id')
  w.ascii('0-12-1a')
  w.ascii('seq')
  w.int(3)
  w.ascii('code')
  w.int(200)
  w.ascii('reason')
  w.ascii('OK')
  w.ascii('headers')
  w.beginList()
  for (const [n, v] of [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Cache-Control', 'no-cache'],
    ['Set-Cookie', 'a=1'],
  ]) {
    w.beginList()
    w.ascii(n)
    w.ascii(v)
    w.endList()
  }
  w.endList()
  w.ascii('body')
  w.ascii('hello world\n')
  w.endMap()
  return out.slice(0, w.pos)
}

/** A browser-like request head and its header offsets, as the HTTP parser would hand them. */
const REQUEST_HEAD = bytesOf(
  'GET /api/items?page=2 HTTP/1.1\r\n' +
    'Host: example.com:8080\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n' +
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
    'Accept-Language: en-US,en;q=0.5\r\n' +
    'Accept-Encoding: gzip, deflate, br\r\n' +
    'Connection: keep-alive\r\n' +
    'Cookie: session=0123456789abcdef; theme=dark\r\n' +
    'Upgrade-Insecure-Requests: 1\r\n' +
    'Sec-Fetch-Dest: document\r\n' +
    'Sec-Fetch-Mode: navigate\r\n' +
    'Sec-Fetch-Site: none\r\n' +
    'Cache-Control: max-age=0\r\n\r\n',
)
const HEADER_COUNT = 12
const nameStart = new Int32Array(HEADER_COUNT)
const nameEnd = new Int32Array(HEADER_COUNT)
const valueStart = new Int32Array(HEADER_COUNT)
const valueEnd = new Int32Array(HEADER_COUNT)
{
  // Setup only: find the header lines with a throwaway string scan.
  const text = new TextDecoder('latin1').decode(REQUEST_HEAD)
  let pos = text.indexOf('\r\n') + 2
  for (let i = 0; i < HEADER_COUNT; i++) {
    const eol = text.indexOf('\r\n', pos)
    const colon = text.indexOf(':', pos)
    nameStart[i] = pos
    nameEnd[i] = colon
    valueStart[i] = colon + 2
    valueEnd[i] = eol
    pos = eol + 2
  }
}
const METHOD_END = 3
const TARGET_START = 4
const TARGET_END = REQUEST_HEAD.indexOf(0x20, TARGET_START)
const INSTANCE_ID = bytesOf('condure')
const CID = bytesOf('0-12-1a')
const PEER_ADDRESS = bytesOf('127.0.0.1')
const URI_PREFIX = bytesOf('http://example.com:8080')

/** The first request packet (zhttp.md 4.3) composed the way the session code will. The
 * container length-digit guesses are parameters so that their cost can be compared. */
function writeFirstRequest(w: TnWriter, mapDigits = 3, listDigits = 3, pairDigits = 2): void {
  w.raw(0x54) // T
  w.beginMap(mapDigits)
  w.encoded(KEY_FROM)
  w.bytes(INSTANCE_ID, 0, INSTANCE_ID.length)
  w.encoded(KEY_ID)
  w.bytes(CID, 0, CID.length)
  w.encoded(KEY_SEQ)
  w.int(0)
  w.encoded(EXT_MULTI_FIELD)
  w.encoded(KEY_METHOD)
  w.bytes(REQUEST_HEAD, 0, METHOD_END)
  w.encoded(KEY_URI)
  // scheme://host + request-target: one string from two sources.
  w.beginString()
  w.rawBytes(URI_PREFIX, 0, URI_PREFIX.length)
  w.rawBytes(REQUEST_HEAD, TARGET_START, TARGET_END)
  w.endString()
  w.encoded(KEY_HEADERS)
  w.beginList(listDigits)
  for (let i = 0; i < HEADER_COUNT; i++) {
    w.beginList(pairDigits)
    w.bytes(REQUEST_HEAD, nameStart[i], nameEnd[i])
    w.bytes(REQUEST_HEAD, valueStart[i], valueEnd[i])
    w.endList()
  }
  w.endList()
  w.encoded(KEY_CREDITS)
  w.int(8192)
  w.encoded(KEY_STREAM)
  w.bool(true)
  w.encoded(KEY_PEER_ADDRESS)
  w.bytes(PEER_ADDRESS, 0, PEER_ADDRESS.length)
  w.encoded(KEY_PEER_PORT)
  w.int(33020)
  w.endMap()
}

/** The same packet with keys written by w.ascii('from') instead of pre-framed KEY_* bytes. */
function writeFirstRequestAsciiKeys(w: TnWriter): void {
  w.raw(0x54) // T
  w.beginMap()
  w.ascii('from')
  w.bytes(INSTANCE_ID, 0, INSTANCE_ID.length)
  w.ascii('id')
  w.bytes(CID, 0, CID.length)
  w.ascii('seq')
  w.int(0)
  w.ascii('ext')
  w.beginMap()
  w.ascii('multi')
  w.bool(true)
  w.endMap()
  w.ascii('method')
  w.bytes(REQUEST_HEAD, 0, METHOD_END)
  w.ascii('uri')
  w.beginString()
  w.rawBytes(URI_PREFIX, 0, URI_PREFIX.length)
  w.rawBytes(REQUEST_HEAD, TARGET_START, TARGET_END)
  w.endString()
  w.ascii('headers')
  w.beginList()
  for (let i = 0; i < HEADER_COUNT; i++) {
    w.beginList()
    w.bytes(REQUEST_HEAD, nameStart[i], nameEnd[i])
    w.bytes(REQUEST_HEAD, valueStart[i], valueEnd[i])
    w.endList()
  }
  w.endList()
  w.ascii('credits')
  w.int(8192)
  w.ascii('stream')
  w.bool(true)
  w.ascii('peer-address')
  w.bytes(PEER_ADDRESS, 0, PEER_ADDRESS.length)
  w.ascii('peer-port')
  w.int(33020)
  w.endMap()
}

// One span per nesting level of a ZHTTP packet (map → list → pair).
const spans = [new TnSpan(), new TnSpan(), new TnSpan(), new TnSpan()]

/** Visits every frame of the tnetstring at `start` with decodeTn; returns the frame count. */
function walk(buf: Uint8Array, start: number, end: number, depth: number): number {
  const s = spans[depth]
  if (decodeTn(buf, start, end, s) !== TN_OK) return -1
  if (s.type !== TN_LIST && s.type !== TN_MAP) return 1
  let count = 1
  const stop = s.dataEnd
  for (let p = s.dataStart; p < stop; ) {
    const n = walk(buf, p, stop, depth + 1)
    if (n < 0) return -1
    count += n
    p = spans[depth + 1].next
  }
  return count
}

const response = responsePacket()
const packet = new HandlerPacket()
const out = new Uint8Array(64 * 1024)
const w = new TnWriter(out, 0)
const batch2 = new IdBatch()
const batch128 = new IdBatch()
for (let i = 0; i < 128; i++) {
  const id = bytesOf(`0-${i}-${(i * 7919).toString(16)}`)
  if (i < 2) batch2.add(id, 0, id.length, i * 3)
  batch128.add(id, 0, id.length, i * 3)
}

// Sanity and sizes, so the figures below can be read per byte.
if (parseHandlerPacket(response, 0, response.length, packet) !== PACKET_OK) throw new Error('parse')
if (walk(response, 1, response.length, 0) < 0) throw new Error('walk')
w.reset(out, 0)
writeFirstRequest(w)
const firstRequestLen = w.pos
const check = new HandlerPacket()
if (parseHandlerPacket(out, 0, firstRequestLen, check) !== PACKET_OK) throw new Error('request')
w.reset(out, 0)
writeFirstRequestAsciiKeys(w)
if (w.pos !== firstRequestLen) throw new Error('ascii-keys variant differs')
w.reset(out, 0)
const creditLen = writeSimplePacket(w, INSTANCE_ID, 7, CID, 0, 7, 17, 'credit', 8192)
w.reset(out, 0)
const batchLen = writeMultiIdPacket(w, INSTANCE_ID, 7, batch128, 128, 'keep-alive')
console.log(
  `sizes: response ${response.length} B (${walk(response, 1, response.length, 0)} frames), ` +
    `first request ${firstRequestLen} B (${HEADER_COUNT} headers), credit ${creditLen} B, ` +
    `keep-alive x128 ${batchLen} B`,
)

/** A request body packet (zhttp.md 4.4) carrying a full 8 KiB chunk, copied from the middle
 * of a connection read buffer (so it is a slice: one view allocation, see TnWriter.rawBytes). */
const READ_BUFFER = new Uint8Array(16384).fill(0x61)
const BODY_START = 100
const BODY_END = BODY_START + 8192
function writeBodyPacket(w: TnWriter): void {
  w.raw(0x54) // T
  w.beginMap(4)
  w.encoded(KEY_FROM)
  w.bytes(INSTANCE_ID, 0, INSTANCE_ID.length)
  w.encoded(KEY_ID)
  w.bytes(CID, 0, CID.length)
  w.encoded(KEY_SEQ)
  w.int(1)
  w.encoded(EXT_MULTI_FIELD)
  w.encoded(KEY_BODY)
  w.bytes(READ_BUFFER, BODY_START, BODY_END)
  w.encoded(KEY_MORE)
  w.bool(true)
  w.endMap()
}

const cases: [string, () => void][] = [
  ['decodeTn walk, response', () => do_not_optimize(walk(response, 1, response.length, 0))],
  [
    'parseHandlerPacket, response',
    () => do_not_optimize(parseHandlerPacket(response, 0, response.length, packet)),
  ],
  [
    'encode first request (KEY_*, 3/3/2)',
    () => {
      w.reset(out, 0)
      writeFirstRequest(w)
    },
  ],
  [
    'first request, every guess 1 digit',
    () => {
      w.reset(out, 0)
      writeFirstRequest(w, 1, 1, 1)
    },
  ],
  [
    'first request, every guess 2 digits',
    () => {
      w.reset(out, 0)
      writeFirstRequest(w, 2, 2, 2)
    },
  ],
  [
    'first request, every guess 3 digits',
    () => {
      w.reset(out, 0)
      writeFirstRequest(w, 3, 3, 3)
    },
  ],
  [
    'encode first request (ascii keys)',
    () => {
      w.reset(out, 0)
      writeFirstRequestAsciiKeys(w)
    },
  ],
  [
    'encode body packet, 8 KiB body',
    () => {
      w.reset(out, 0)
      writeBodyPacket(w)
    },
  ],
  [
    'writeSimplePacket credit',
    () => {
      w.reset(out, 0)
      writeSimplePacket(w, INSTANCE_ID, 7, CID, 0, 7, 17, 'credit', 8192)
    },
  ],
  [
    'writeMultiIdPacket keep-alive x2',
    () => {
      w.reset(out, 0)
      writeMultiIdPacket(w, INSTANCE_ID, 7, batch2, 2, 'keep-alive')
    },
  ],
  [
    'writeMultiIdPacket keep-alive x128',
    () => {
      w.reset(out, 0)
      writeMultiIdPacket(w, INSTANCE_ID, 7, batch128, 128, 'keep-alive')
    },
  ],
]

group('zhttp codec', () => {
  summary(() => {
    for (const [name, fn] of cases) bench(name, fn)
  })
})

await run()

const rows: AllocRow[] = cases.map(([name, fn]) => allocsPerOp(name, ALLOC_OPS, fn))
console.log()
printAllocs(rows)
