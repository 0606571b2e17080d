#!/usr/bin/env bun
// A WebSocket chat room: every text message is broadcast to everyone else in the room; joins
// and leaves are announced. Clients are pinged every --ping ms; one that does not answer within
// --pong ms is dropped (the Transceiver's rule). `bun examples/run.ts chat-room`, then
// `websocat ws://localhost:8000/` in two terminals.
//   bun examples/chat-room.ts --base ipc:///tmp/zgate/client [--ping 30000] [--pong 10000]

import { createHandler, type WebSocket } from 'zgate/handler'

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const base = arg('base', 'ipc://client')
const room = new Map<WebSocket, string>()
let next = 0

function broadcast(from: WebSocket | null, text: string): void {
  for (const ws of room.keys()) if (ws !== from && ws.open) ws.send(text).catch(() => {})
}

const handler = await createHandler({
  connect: base,
  pingIntervalMs: Number(arg('ping', '30000')),
  pongTimeoutMs: Number(arg('pong', '10000')),
  onRequest: async (req) => {
    if (!req.isWebSocket) return req.respond(426, { 'Content-Type': 'text/plain' }, 'chat needs a WebSocket\n')
    const ws = req.accept()
    const name = req.query.get('name') ?? `guest${++next}`
    room.set(ws, name)
    broadcast(ws, `* ${name} joined`)
    await ws.send(`* welcome ${name}, ${room.size} here`)
    ws.closed.then((info) => {
      room.delete(ws)
      broadcast(null, `* ${name} left (${info.by})`)
      console.log(`chat-room: ${name} left: ${info.by} ${info.code}`)
    })
    for await (const m of ws) if (m.type === 'text') broadcast(ws, `${name}: ${m.text()}`)
  },
})
console.log(`chat-room: serving ${base} as ${handler.id}`)
process.on('SIGTERM', () => handler.close().then(() => process.exit(0)))
process.on('SIGINT', () => handler.close().then(() => process.exit(0)))
