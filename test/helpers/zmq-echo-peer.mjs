// An independent ZeroMQ peer for interoperability tests. Runs under NODE with the zeromq
// npm package (its JS API crashes inside Bun, so it must never be imported by zgate).
//
//   node zmq-echo-peer.mjs push <endpoint> <count>
//     connect a PUSH to <endpoint>, send <count> messages [`msg-<i>`, u32le i, 300 bytes
//     of (i & 0xff)], print "sent <count>", then stay alive until killed.
//   node zmq-echo-peer.mjs echo <endpoint>
//     bind a ROUTER to <endpoint>, print "ready", and send every message back to its
//     sender unchanged until killed.

import * as zmq from 'zeromq'

const [mode, endpoint, countText] = process.argv.slice(2)

async function push() {
  const count = Number(countText)
  const sock = new zmq.Push({ sendHighWaterMark: 100000 })
  sock.connect(endpoint)
  for (let i = 0; i < count; i++) {
    const n = Buffer.alloc(4)
    n.writeUInt32LE(i)
    await sock.send([`msg-${i}`, n, Buffer.alloc(300, i & 0xff)])
  }
  process.stdout.write(`sent ${count}\n`)
}

async function echo() {
  const sock = new zmq.Router()
  await sock.bind(endpoint)
  process.stdout.write('ready\n')
  for await (const frames of sock) await sock.send(frames)
}

// Keep running until the test kills us, so queued messages are never cut off by an exit.
const keepAlive = setInterval(() => {}, 60_000)
const run = mode === 'push' ? push : mode === 'echo' ? echo : null
if (run === null) {
  process.stderr.write(`unknown mode ${mode}\n`)
  clearInterval(keepAlive)
  process.exit(2)
}
run().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`)
  process.exit(1)
})
