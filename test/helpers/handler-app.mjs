// A handler application on zgate/handler for the e2e tests, plain JavaScript so that the same
// file runs under Bun (the library's TypeScript source, bun:ffi transport) and under Node ≥ 20
// (the built dist/, zeromq transport). Events go to stdout as JSON lines.
//
//   node|bun test/helpers/handler-app.mjs --stream ipc://DIR/zs [--req ipc://DIR/zr] [--id ID]
//       [--ping-interval MS] [--pong-timeout MS] [--keep-alive MS]
//
// Routes: /            hello world
//         /echo        the request body back (X-Length: its size)
//         /info        the request as JSON
//         /sse         three server-sent events 20 ms apart
//         /hold        a response held open until the client leaves (reports `aborted`)
//         /slow        reads the body at ?rate bytes/s, reports its RSS while doing so
//         /boom        throws (the library answers 500)
//         WebSocket    echo; the text `close-me` makes the handler close with 4001

import { createHandler } from 'zgate/handler'

const args = process.argv.slice(2)
const opt = (name) => {
  const out = []
  for (let i = 0; i < args.length; i++) if (args[i] === `--${name}`) out.push(args[i + 1])
  return out
}
const num = (name) => (opt(name).length ? Number(opt(name)[0]) : undefined)
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const connect = []
for (const b of opt('stream')) connect.push(b)
for (const r of opt('req')) connect.push({ req: r })

const h = await createHandler({
  connect,
  id: opt('id')[0],
  pingIntervalMs: num('ping-interval'),
  pongTimeoutMs: num('pong-timeout'),
  keepAliveIntervalMs: num('keep-alive'),
  log: (level, message) => level !== 'debug' && emit({ ev: 'log', level, message }),
  onRequest: async (req) => {
    if (req.isWebSocket) {
      const ws = req.accept({ headers: { 'X-Handler': 'zgate-handler' } })
      ws.closed.then((info) => emit({ ev: 'ws-closed', id: ws.id, ...info }))
      for await (const m of ws) {
        if (m.type === 'text' && m.text() === 'close-me') {
          await ws.close(4001, 'asked')
          break
        }
        await ws.send(m.type === 'text' ? m.text() : m.data)
      }
      return
    }
    switch (req.path) {
      case '/':
        return req.respond(200, { 'Content-Type': 'text/plain' }, 'hello world\n')
      case '/echo': {
        const body = await req.bytes(16 << 20)
        return req.respond(200, [['Content-Type', 'application/octet-stream'], ['X-Length', String(body.length)]], body)
      }
      case '/info':
        return req.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({
          method: req.method,
          uri: req.uri,
          path: req.path,
          query: [...req.query],
          headers: req.headers.toArray(),
          cookies: req.headers.getAll('cookie'),
          peer: req.peer,
          id: req.id,
          from: req.from,
          runtime: typeof Bun === 'undefined' ? 'node' : 'bun',
        }))
      case '/sse': {
        const res = req.stream(200, { 'Content-Type': 'text/event-stream' })
        for (let i = 1; i <= 3; i++) {
          await res.write(`data: ${i}\n\n`)
          await sleep(20)
        }
        return res.end()
      }
      case '/hold': {
        req.stream(200, { 'Content-Type': 'text/plain' })
        await new Promise((r) => req.signal.addEventListener('abort', r))
        emit({ ev: 'aborted', id: req.id, reason: req.signal.reason?.message })
        return
      }
      case '/slow': {
        // Reads the body at ?rate bytes/s, sampling this process's RSS as it goes.
        const rate = Number(req.query.get('rate') ?? '1000000')
        const held = () => {
          const m = process.memoryUsage()
          return m.heapUsed + m.external
        }
        const rssStart = process.memoryUsage().rss
        const heldStart = held()
        let rssMax = rssStart
        let heldMax = heldStart
        let bytes = 0
        const t0 = Date.now()
        // Collect garbage every 4 MB so the RSS shows what is retained, not what awaits the
        // collector (each chunk is a fresh copy the application owns).
        const gc = typeof Bun !== 'undefined' ? () => Bun.gc(true) : globalThis.gc
        let nextGc = 4 << 20
        for await (const chunk of req.body) {
          bytes += chunk.length
          if (gc && bytes >= nextGc) {
            gc()
            heldMax = Math.max(heldMax, held())
            nextGc += 4 << 20
          }
          rssMax = Math.max(rssMax, process.memoryUsage().rss)
          const ahead = (bytes / rate) * 1000 - (Date.now() - t0)
          if (ahead > 0) await sleep(ahead)
        }
        return req.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ bytes, rssStart, rssMax, heldStart, heldMax, ms: Date.now() - t0 }))
      }
      case '/boom':
        throw new Error('boom')
      default:
        return req.respond(404, { 'Content-Type': 'text/plain' }, 'not found\n')
    }
  },
})
const ready = await h.ready(10_000)
emit({ ev: 'ready', ready, id: h.id, runtime: typeof Bun === 'undefined' ? 'node' : 'bun' })

const stop = async () => {
  await h.close()
  emit({ ev: 'closed' })
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
