#!/usr/bin/env bun
// A streaming ZHTTP handler for load tests, on zgate/handler: request bodies are read (and
// dropped) under the credits the library grants as it reads, and every response is a body of
// --size bytes that the library sends only as the gateway's credits allow (zhttp.md 4.4, 4.7).
//
//   bun bench/handlers/stream-handler.ts --base ipc:///tmp/x/zs [--size 65536] [--from h]

import { createHandler } from '../../src/handler/index.ts'

/** Request-body credits kept outstanding: a whole typical body at once is fine for a benchmark. */
const BODY_WINDOW_BYTES = 1 << 20

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt
}

const base = arg('base', 'ipc://client')
const size = Number(arg('size', '65536'))
const body = new Uint8Array(size).fill(0x78)
const headers: [string, string][] = [['Content-Length', String(size)]]

const handler = await createHandler({
  connect: base,
  id: arg('from', 'bench-stream'),
  bodyWindowBytes: BODY_WINDOW_BYTES,
  onRequest: async (req) => {
    if (req.headers.has('content-length') || req.headers.has('transfer-encoding')) {
      for await (const _ of req.body) {
        // dropped: only the flow control is measured
      }
    }
    return req.respond(200, headers, body)
  },
})
console.log(`stream handler: ${base}, ${size}-byte responses under credits (${handler.id})`)
const stop = (): void => {
  handler.close().then(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
