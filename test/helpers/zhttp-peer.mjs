#!/usr/bin/env node
// zhttp-peer: an independent ZHTTP handler process for end-to-end tests.
//
// Runs under Node (the zeromq npm addon works there, not under Bun). It plays the
// handler side of a server-mode (zclient) stream set, zhttp.md 1.2 / 1.3:
//
//   PULL    connect <base>-out          first packet of every session   (single frame T...)
//   ROUTER  connect <base>-out-stream   later packets, identity = --from ([id, "", T...])
//   XPUB    connect <base>-in           everything we send, "<instance> T..."
//
// XPUB is wire-compatible with PUB (a SUB accepts either) and additionally hands us
// the gateway's subscription message, so "the gateway can hear us" becomes an event
// instead of a sleep. With a tcp base the three endpoints are P, P+1, P+2.
//
// The tnetstring codec (tnetstring-codec.mjs, the reference codec every test uses) is written
// from zhttp.md 2.3 independently of src/zhttp/tnetstring.ts, so a bug there cannot hide itself.
//
// stdio protocol, one JSON object per line.
// stdout events:
//   {"ev":"ready","from":..,"instance":..,"endpoints":{pull,router,pub},"mode":"connect"|"bind"}
//   {"ev":"zmq","sock":"pull"|"router"|"pub","event":"connect"|"handshake"|...,"address":..}
//   {"ev":"subscribe","topic":<text or {$b64}>,"on":true|false}
//   {"ev":"packet","sock":"pull"|"router","frames":n,"envelope":[b64...],"raw":b64,
//    "packet":<decoded>|null,"error"?:msg,"trailing"?:n}
//   {"ev":"ack","tag":..}           after a command carrying "tag" was carried out
//   {"ev":"error","message":..,"tag"?:..}
//   {"ev":"auto","id":..}           --auto answered a session (hello: `hello world\n`; echo: the
//                                   body is `<uri> <id>` of the request)
// stdin commands:
//   {"cmd":"send","packet":<value>,"address"?:string,"tag"?:any}
//   {"cmd":"sendRaw","b64":string,"tag"?:any}   (one frame, exactly these bytes)
//   {"cmd":"quit"}
// JSON → tnetstring: string → byte string (UTF-8), {"$b64":s} → byte string, integer →
// `#`, other number or {"$float":n} → `^`, {"$int":"digits"} → `#`, bool → `!`,
// null → `~`, array → `]`, object → `}` (insertion order), {"$map":[[k,v],..]} → `}` with
// exact pairs, {"$raw":b64} → spliced in as an already-encoded element.
// tnetstring → JSON: byte string → text if valid UTF-8 else {"$b64"}, integer → number
// (or {"$int":"digits"} beyond 2^53), float → {"$float":n}, bool, null, list, map → object.

import zmq from 'zeromq'
import { emit, sendQueue, serveCommands } from './peer-stdio.mjs'
import { bytesToJson, decodePayload, encode, isPlainObject } from './tnetstring-codec.mjs'

// ---------------------------------------------------------------------------------------
// command line

function parseArgs(argv) {
  const o = { base: '', from: 'handler-1', instance: 'condure', mode: 'connect', auto: '' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--base') o.base = val()
    else if (a === '--from') o.from = val()
    else if (a === '--instance') o.instance = val()
    else if (a === '--connect') o.mode = 'connect'
    else if (a === '--bind') o.mode = 'bind'
    else if (a === '--auto') o.auto = val()
    else fail(`unknown argument ${a}`)
  }
  if (!o.base) fail('--base is required')
  if (o.auto !== '' && o.auto !== 'hello' && o.auto !== 'echo') fail(`unknown --auto mode ${o.auto}`)
  if (Buffer.byteLength(o.from) === 0 || Buffer.byteLength(o.from) > 255) fail('--from must be 1..255 bytes')
  return o
}

// zhttp.md 1.2, server-mode column.
function expandBase(base) {
  if (base.startsWith('ipc://')) {
    return { pull: `${base}-out`, router: `${base}-out-stream`, pub: `${base}-in` }
  }
  const m = /^tcp:\/\/(.+):([0-9]+)$/.exec(base)
  if (m) {
    const p = Number(m[2])
    return { pull: `tcp://${m[1]}:${p}`, router: `tcp://${m[1]}:${p + 1}`, pub: `tcp://${m[1]}:${p + 2}` }
  }
  fail(`base must be ipc://PATH or tcp://HOST:PORT, got ${base}`)
}

function fail(msg) {
  process.stderr.write(`zhttp-peer: ${msg}\n`)
  process.exit(2)
}

// ---------------------------------------------------------------------------------------
// main

const opts = parseArgs(process.argv.slice(2))
const endpoints = expandBase(opts.base)

const pull = new zmq.Pull({ linger: 0 })
const router = new zmq.Router({ routingId: opts.from, linger: 0 })
const pub = new zmq.XPublisher({ sendHighWaterMark: 0, linger: 200 })
pub.verbosity = 'allSubs'
const socks = { pull, router, pub }

const WATCHED_EVENTS = [
  'accept', 'bind', 'bind:error', 'connect', 'connect:retry', 'disconnect', 'handshake',
  'handshake:error:protocol', 'handshake:error:auth', 'handshake:error:other',
]
for (const [name, sock] of Object.entries(socks)) {
  for (const type of WATCHED_EVENTS) {
    sock.events.on(type, (e) => emit({ ev: 'zmq', sock: name, event: type, address: e.address ?? null }))
  }
}

let quitting = false

// PULL delivers [payload]; ROUTER delivers [gateway-identity, "", payload].
async function pumpPackets(name, sock) {
  for await (const frames of sock) {
    const payload = frames[frames.length - 1]
    const d = decodePayload(payload)
    emit({
      ev: 'packet',
      sock: name,
      frames: frames.length,
      envelope: frames.slice(0, -1).map((f) => f.toString('base64')),
      raw: payload.toString('base64'),
      ...d,
    })
    if (name === 'pull' && opts.auto !== '') autoHello(d.packet)
  }
}

async function pumpSubscriptions() {
  for await (const [msg] of pub) {
    if (msg.length === 0) continue
    emit({ ev: 'subscribe', on: msg[0] === 1, topic: bytesToJson(msg.subarray(1)) })
  }
}

const pubQueue = sendQueue(pub)
const publish = (bytes) => pubQueue.send(bytes)

function packetFrame(packet, address) {
  return Buffer.concat([Buffer.from(`${address} T`, 'utf8'), encode(packet)])
}

function autoHello(packet) {
  if (!isPlainObject(packet) || packet.type !== undefined || typeof packet.id !== 'string') return
  const reply = {
    from: opts.from,
    id: packet.id,
    seq: 0,
    code: 200,
    reason: 'OK',
    headers: [['Content-Type', 'text/plain']],
    // `echo` names the request, so that a client can tell its own response from another's.
    body: opts.auto === 'echo' ? `${packet.uri} ${packet.id}` : 'hello world\n',
  }
  publish(packetFrame(reply, opts.instance)).then(
    () => emit({ ev: 'auto', id: packet.id }),
    (e) => emit({ ev: 'error', message: `auto reply failed: ${e.message}` }),
  )
}

async function runCommand(cmd) {
  if (cmd.cmd === 'send') await publish(packetFrame(cmd.packet, cmd.address ?? opts.instance))
  else if (cmd.cmd === 'sendRaw') await publish(Buffer.from(String(cmd.b64), 'base64'))
  else throw new Error(`unknown cmd ${JSON.stringify(cmd.cmd)}`)
}

async function shutdown(code) {
  if (quitting) return
  quitting = true
  // Give queued PUB frames a moment to leave (linger) before the process goes away.
  await pubQueue.idle()
  for (const s of Object.values(socks)) s.close()
  setTimeout(() => process.exit(code), 100)
}

for (const [name, sock] of Object.entries(socks)) {
  const ep = endpoints[name]
  if (opts.mode === 'bind') await sock.bind(ep)
  else sock.connect(ep)
}

pumpPackets('pull', pull).catch((e) => quitting || emit({ ev: 'error', message: `pull: ${e.message}` }))
pumpPackets('router', router).catch((e) => quitting || emit({ ev: 'error', message: `router: ${e.message}` }))
pumpSubscriptions().catch((e) => quitting || emit({ ev: 'error', message: `pub: ${e.message}` }))

serveCommands(runCommand, shutdown)

emit({ ev: 'ready', from: opts.from, instance: opts.instance, mode: opts.mode, endpoints })
