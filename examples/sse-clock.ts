#!/usr/bin/env bun
// A server-sent-events clock: each client gets the time every --interval ms (default 1000) until
// it leaves; the library sends keep-alives for the held stream and aborts req.signal when the
// client goes. `bun examples/run.ts sse-clock`, then `curl -N localhost:8000/`.
//   bun examples/sse-clock.ts --base ipc:///tmp/zgate/client [--interval 1000]

import { createHandler } from 'zgate/handler'

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const base = arg('base', 'ipc://client')
const intervalMs = Number(arg('interval', '1000'))

const handler = await createHandler({
  connect: base,
  onRequest: async (req) => {
    const res = req.stream(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
    let n = 0
    while (!req.signal.aborted) {
      // write() resolves once the gateway's credits let the event out: a slow client slows us.
      await res.write(`id: ${++n}\ndata: ${new Date().toISOString()}\n\n`).catch(() => {})
      await new Promise((r) => setTimeout(r, intervalMs))
    }
    console.log(`sse-clock: ${req.id} left after ${n} events`)
  },
})
console.log(`sse-clock: serving ${base} as ${handler.id}`)
process.on('SIGTERM', () => handler.close().then(() => process.exit(0)))
process.on('SIGINT', () => handler.close().then(() => process.exit(0)))
