// Micro-benchmarks for the request-head parser and the chunked body decoder.
// Run: bun bench/http-parser.bench.ts
// Prints mitata's ns/op, then GC-heap allocation per op for the same closures (bench/util.ts).

import { bench, do_not_optimize, group, run } from 'mitata'
import { ChunkedDecoder } from '../src/http/chunked.ts'
import { findHeadEnd, parseRequestHead, RequestHead } from '../src/http/parser.ts'
import { allocsPerOp, printAllocs } from './util.ts'
import type { AllocRow } from './util.ts'

/** Ops per allocation measurement: enough to tell 0 from one cell per op (bench/util.ts). */
const ALLOC_OPS = 1_000_000
/** Chunked bodies per allocation measurement: each is up to hundreds of step() calls. */
const ALLOC_BODIES = 200_000
/** The credits a handler grants by default (--buffer-size, zhttp.md 4.3): data per step. */
const MAX_DATA_BYTES = 8192
/** The chunked body size the bench decodes. */
const BODY_SIZE_BYTES = 16 * 1024

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

const CURL = ascii(
  'GET /api/items?page=2 HTTP/1.1\r\n' +
    'Host: localhost:8000\r\n' +
    'User-Agent: curl/8.5.0\r\n' +
    'Accept: */*\r\n' +
    'Content-Length: 0\r\n' +
    '\r\n',
)

const BROWSER = ascii(
  'GET /assets/app.js?v=3f2a9c HTTP/1.1\r\n' +
    'Host: www.example.com\r\n' +
    'Connection: keep-alive\r\n' +
    'sec-ch-ua: "Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"\r\n' +
    'sec-ch-ua-mobile: ?0\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/124.0.0.0 Safari/537.36\r\n' +
    'sec-ch-ua-platform: "Linux"\r\n' +
    'Accept: */*\r\n' +
    'Sec-Fetch-Site: same-origin\r\n' +
    'Sec-Fetch-Mode: no-cors\r\n' +
    'Sec-Fetch-Dest: script\r\n' +
    'Referer: https://www.example.com/\r\n' +
    'Accept-Encoding: gzip, deflate, br, zstd\r\n' +
    'Accept-Language: en-GB,en-US;q=0.9,en;q=0.8\r\n' +
    'Cookie: _ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; ' +
    'prefs=theme%3Ddark%26lang%3Den-GB; sid=9f8e7d6c5b4a39281706f5e4d3c2b1a0\r\n' +
    '\r\n',
)

/** BODY_SIZE_BYTES of data in chunks of `chunkSize`, then a last-chunk and one trailer. */
function chunkedBody(chunkSize: number): Uint8Array {
  let s = ''
  for (let left = BODY_SIZE_BYTES; left > 0; left -= chunkSize) {
    const n = Math.min(left, chunkSize)
    s += n.toString(16) + '\r\n' + 'x'.repeat(n) + '\r\n'
  }
  return ascii(s + '0\r\nX-Checksum: 1234\r\n\r\n')
}

function parseHead(buf: Uint8Array): () => void {
  const head = new RequestHead()
  const ok = (): void => {
    const end = findHeadEnd(buf, 0, buf.length, 0)
    if (parseRequestHead(buf, 0, end, head) !== 0) throw new Error('bench input must parse')
  }
  ok()
  return () => {
    const end = findHeadEnd(buf, 0, buf.length, 0)
    do_not_optimize(parseRequestHead(buf, 0, end, head) + head.headerCount)
  }
}

function decodeBody(chunkSize: number): () => void {
  const buf = chunkedBody(chunkSize)
  const dec = new ChunkedDecoder()
  const decodeOnce = (): number => {
    dec.reset()
    let pos = 0
    let data = 0
    while (!dec.done && dec.error === 0) {
      pos = dec.step(buf, pos, buf.length, MAX_DATA_BYTES)
      data += dec.dataEnd - dec.dataStart
    }
    return data
  }
  if (decodeOnce() !== BODY_SIZE_BYTES) throw new Error('bench body must decode')
  return () => {
    do_not_optimize(decodeOnce())
  }
}

const heads: [string, () => () => void][] = [
  [`head: curl, 4 headers, ${CURL.length} B`, () => parseHead(CURL)],
  [`head: browser, 14 headers, ${BROWSER.length} B`, () => parseHead(BROWSER)],
]
const bodies: [string, () => () => void][] = [
  ['chunked 16 KiB: 16 x 1 KiB chunks', () => decodeBody(1024)],
  ['chunked 16 KiB: 1 x 16 KiB chunk', () => decodeBody(BODY_SIZE_BYTES)],
  ['chunked 16 KiB: 256 x 64 B chunks', () => decodeBody(64)],
]

group('request head (findHeadEnd + parseRequestHead)', () => {
  for (const [name, make] of heads) bench(name, make())
})
group('chunked body (ChunkedDecoder, maxData 8192)', () => {
  for (const [name, make] of bodies) bench(name, make())
})

await run({ colors: process.stdout.isTTY === true })

const rows: AllocRow[] = []
for (const [name, make] of heads) rows.push(allocsPerOp(name, ALLOC_OPS, make()))
for (const [name, make] of bodies) rows.push(allocsPerOp(name, ALLOC_BODIES, make()))
console.log()
printAllocs(rows)
