#!/usr/bin/env bun
// Handoff demo, process two: receives handed-off sessions on a unix socket (--listen) and
// finishes them: the rest of an HTTP response, or the rest of a WebSocket conversation.
//   bun examples/handoff/finish.ts --base ipc:///tmp/zgate/client --listen /tmp/zgate/finisher.sock

import { rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { createHandler, type HandoffState } from 'zgate/handler'

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const base = arg('base', 'ipc://client')
const path = arg('listen', '/tmp/zgate-finisher.sock')

const handler = await createHandler({ connect: { stream: base, newRequests: false } })

async function finish(state: HandoffState): Promise<void> {
  const req = handler.resume(state)
  if (state.kind === 'websocket') {
    const ws = req.accept()
    for await (const m of ws) await ws.send(`finished by ${process.pid}: ${m.text()}`)
    return
  }
  const res = req.stream(200)
  await res.write(`finished by ${process.pid}\n`)
  await res.end()
}

rmSync(path, { force: true })
const server = createServer((c) => {
  let text = ''
  c.setEncoding('utf8')
  c.on('data', (d) => (text += d))
  c.on('end', () => {
    for (const line of text.split('\n')) if (line) finish(JSON.parse(line)).catch((e) => console.error(e))
  })
})
server.listen(path, () => console.log(`handoff/finish: ${base} as ${handler.id}, sessions from ${path}`))
process.on('SIGTERM', () => handler.close().then(() => process.exit(0)))
process.on('SIGINT', () => handler.close().then(() => process.exit(0)))
