// Hello world (and WebSocket echo) on zgate/handler for bench/handler-lib.sh: the same answer
// as the shared C stream handler (`200 OK`, Content-Type text/plain, `hello world\n`), and the
// same echo as bench/handlers/zhttp_ws_echo_handler.c. Plain JavaScript so that Bun and Node
// run the same file (Node needs `bun run build:handler` first).
//   bun|node bench/handlers/hello-lib.mjs ipc:///tmp/x/zs

import { createHandler } from 'zgate/handler'

const base = process.argv[2] ?? 'ipc://client'
const BODY = new TextEncoder().encode('hello world\n')
const HEADERS = [['Content-Type', 'text/plain']]

const handler = await createHandler({
  connect: base,
  id: `bench-lib-${process.pid}`,
  onRequest: async (req) => {
    if (!req.isWebSocket) return req.respond(200, HEADERS, BODY)
    const ws = req.accept()
    for await (const m of ws) await ws.send(m.type === 'text' ? m.text() : m.data)
  },
})
process.stdout.write(`hello-lib: ${base} (${typeof Bun === 'undefined' ? 'node' : 'bun'})\n`)
const stop = () => handler.close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
