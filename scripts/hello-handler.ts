#!/usr/bin/env bun
// A hello-world ZHTTP handler (in the spirit of Condure's basichandler) on zgate/handler:
// every HTTP request gets `200 OK` with `hello world\n`; a WebSocket is accepted and every
// message echoed back. The library does the ZHTTP work (sockets, seq, credits, keep-alives,
// pings; zhttp.md 4, 5).
//
//   bun scripts/hello-handler.ts [--base ipc://client] [--from hello-handler]

import { createHandler } from '../src/handler/index.ts'

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt
}

const base = arg('base', 'ipc://client')
const HELLO = new TextEncoder().encode('hello world\n')
const HEADERS: [string, string][] = [['Content-Type', 'text/plain']]

const handler = await createHandler({
  connect: base,
  id: arg('from', 'hello-handler'),
  onRequest: async (req) => {
    if (!req.isWebSocket) return req.respond(200, HEADERS, HELLO)
    const ws = req.accept()
    for await (const m of ws) await ws.send(m.type === 'text' ? m.text() : m.data)
  },
})
console.log(`hello handler: ${base} (PULL -out, ROUTER -out-stream, PUB -in), answering as ${handler.id}`)

const stop = (): void => {
  handler.close().then(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
