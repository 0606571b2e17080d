#!/usr/bin/env node
// zhttp-req-peer: an independent req-mode ZHTTP handler process for end-to-end tests
// (zhttp.md 1.4, 4.11). Runs under Node with the zeromq npm package, like zhttp-peer.mjs, and
// speaks the same stdio protocol, so test/helpers/harness-peer.ts drives both.
//
//   --type router   ROUTER: receives [peer, "", T...]; replies [peer, "", T...] (checklist 10)
//   --type rep      REP: receives T...; the socket adds the envelope back (checklist 11)
//   --endpoint EP   repeatable; connected (default) or bound (--bind)
//
// stdout events: ready, zmq (sock "req"), packet (sock "req", envelope = the frames before
// the payload, delimiter included), ack, error, auto (see zhttp-peer.mjs).
// stdin commands:
//   {"cmd":"send","packet":<value>,"envelope"?:[b64...],"tag"?}
//       ROUTER: frames = envelope (default: the envelope of the last request) + payload;
//       REP: the payload alone, answering the request it holds.
//   {"cmd":"sendFrames","frames":[b64...],"tag"?}   ROUTER only: exactly these frames
//   {"cmd":"quit"}
// --auto hello answers every request with 200 "hello world\n".

import zmq from 'zeromq'
import { emit, sendQueue, serveCommands } from './peer-stdio.mjs'
import { decodePayload, encode, isPlainObject } from './tnetstring-codec.mjs'

function fail(msg) {
  process.stderr.write(`zhttp-req-peer: ${msg}\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const o = { type: 'router', endpoints: [], mode: 'connect', auto: '' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--type') o.type = val()
    else if (a === '--endpoint') o.endpoints.push(val())
    else if (a === '--bind') o.mode = 'bind'
    else if (a === '--connect') o.mode = 'connect'
    else if (a === '--auto') o.auto = val()
    else fail(`unknown argument ${a}`)
  }
  if (o.type !== 'router' && o.type !== 'rep') fail(`--type must be router or rep, got ${o.type}`)
  if (o.endpoints.length === 0) fail('--endpoint is required')
  if (o.auto !== '' && o.auto !== 'hello') fail(`unknown --auto mode ${o.auto}`)
  return o
}

const opts = parseArgs(process.argv.slice(2))
const isRep = opts.type === 'rep'

const sock = isRep ? new zmq.Reply({ linger: 200 }) : new zmq.Router({ linger: 200 })
for (const type of ['accept', 'bind', 'connect', 'connect:retry', 'disconnect', 'handshake']) {
  sock.events.on(type, (e) => emit({ ev: 'zmq', sock: 'req', event: type, address: e.address ?? null }))
}

let quitting = false
let lastEnvelope = []
// REP: a request is held until it is answered; the next receive waits for that.
let answered = null
let answer = () => {}

function payloadOf(packet) {
  return Buffer.concat([Buffer.from('T', 'latin1'), encode(packet)])
}

async function pump() {
  for (;;) {
    const frames = await sock.receive()
    const payload = frames[frames.length - 1]
    const envelope = frames.slice(0, -1)
    lastEnvelope = envelope
    const d = decodePayload(payload)
    emit({
      ev: 'packet',
      sock: 'req',
      frames: frames.length,
      envelope: envelope.map((f) => f.toString('base64')),
      raw: payload.toString('base64'),
      ...d,
    })
    if (isRep) answered = new Promise((res) => (answer = res))
    if (opts.auto === 'hello') autoHello(d.packet)
    if (answered !== null) await answered
  }
}

const queue = sendQueue(sock)
const sendFrames = (frames) => queue.send(frames)

async function reply(packet, envelope) {
  if (isRep) {
    if (answered === null) throw new Error('REP: no request to answer')
    await sendFrames([payloadOf(packet)])
    answered = null
    answer()
    return
  }
  const env = envelope ? envelope.map((b) => Buffer.from(b, 'base64')) : lastEnvelope
  await sendFrames([...env, payloadOf(packet)])
}

function autoHello(packet) {
  if (!isPlainObject(packet) || typeof packet.id !== 'string') return
  const body = { id: packet.id, code: 200, reason: 'OK', headers: [['Content-Type', 'text/plain']], body: 'hello world\n' }
  reply(body).then(
    () => emit({ ev: 'auto', id: packet.id }),
    (e) => emit({ ev: 'error', message: `auto reply failed: ${e.message}` }),
  )
}

async function runCommand(cmd) {
  if (cmd.cmd === 'send') await reply(cmd.packet, cmd.envelope)
  else if (cmd.cmd === 'sendFrames') {
    if (isRep) throw new Error('sendFrames needs --type router')
    await sendFrames(cmd.frames.map((b) => Buffer.from(String(b), 'base64')))
  } else throw new Error(`unknown cmd ${JSON.stringify(cmd.cmd)}`)
}

async function shutdown(code) {
  if (quitting) return
  quitting = true
  await queue.idle()
  sock.close()
  setTimeout(() => process.exit(code), 100)
}

for (const ep of opts.endpoints) {
  if (opts.mode === 'bind') await sock.bind(ep)
  else sock.connect(ep)
}
pump().catch((e) => quitting || emit({ ev: 'error', message: `req: ${e.message}` }))

serveCommands(runCommand, shutdown)

emit({ ev: 'ready', type: opts.type, mode: opts.mode, endpoints: opts.endpoints })
