#!/usr/bin/env bun
// Handoff demo, process one: accepts each request, starts the response ("accepted by ..."),
// then hands the live session to the finisher over a unix socket (--to). The finisher writes
// the rest on the same client connection. `bun examples/run.ts handoff`.
//   bun examples/handoff/accept.ts --base ipc:///tmp/zgate/client --to /tmp/zgate/finisher.sock

import { connect } from 'node:net'
import { createHandler } from 'zgate/handler'

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const base = arg('base', 'ipc://client')
const to = arg('to', '/tmp/zgate-finisher.sock')

function send(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(to, () => c.end(`${line}\n`, () => resolve()))
    c.on('error', reject)
  })
}

const handler = await createHandler({
  connect: base,
  onRequest: async (req) => {
    if (req.isWebSocket) {
      const ws = req.accept()
      const first = await ws.receive()
      await ws.send(`accepted by ${process.pid}: ${first?.text()}`)
      return send(JSON.stringify(await ws.handoff()))
    }
    const res = req.stream(200, { 'Content-Type': 'text/plain' })
    await res.write(`accepted by ${process.pid}\n`)
    await send(JSON.stringify(await req.handoff()))
  },
})
console.log(`handoff/accept: serving ${base} as ${handler.id}, handing off to ${to}`)
process.on('SIGTERM', () => handler.close().then(() => process.exit(0)))
process.on('SIGINT', () => handler.close().then(() => process.exit(0)))
