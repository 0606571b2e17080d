#!/usr/bin/env node
// ws-lib-client: a WebSocket client built on the `ws` npm package, run under Node (Bun swaps
// `ws` for its own implementation, which would not be the well-known client we want to check
// the gateway against). Driven by test/helpers/ws-lib.ts over stdio, one JSON object a line.
//
// argv: <url> <options JSON>   options: the `ws` ClientOptions (perMessageDeflate, headers ...)
//                              plus "protocols": [..] and "caFile": a CA to verify wss:// with
// stdout events:
//   {"ev":"open","status":101,"headers":{..},"extensions":"..","protocol":".."}
//   {"ev":"unexpected-response","status":n,"headers":{..}}
//   {"ev":"message","binary":bool,"length":n,"sha1":hex,"b64"?:s}   (b64 up to B64_MAX bytes)
//   {"ev":"ping"|"pong","b64":s}
//   {"ev":"close","code":n,"reason":s}
//   {"ev":"error","message":s}
//   {"ev":"ack","tag":t}                   after a command with "tag" was handed to `ws`
// stdin commands:
//   {"cmd":"send","b64"?:s,"pattern"?:n,"binary":bool,"fin"?:bool,"compress"?:bool,"tag"?:t}
//   {"cmd":"ping"|"pong","b64":s,"tag"?:t}
//   {"cmd":"close","code"?:n,"reason"?:s,"tag"?:t}
//   {"cmd":"burst","seed":n,"count":n,"min":n,"max":n,"window":n}
//   {"cmd":"quit"}
// "pattern": n sends patternBytes(n) (same definition as in ws-lib.ts), so a test can push
// a 1 MiB message without a 1.4 MB command line.
// "burst" sends burstMessage(seed, 0 .. count-1, min, max) (ws-burst.mjs), at most `window`
// of them awaiting a message back; from then on message events carry no b64.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { burstMessage } from './ws-burst.mjs'

const B64_MAX = 65_536

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`)
}

function patternBytes(n) {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff
  return b
}

const [url, optsText] = process.argv.slice(2)
const opts = JSON.parse(optsText ?? '{}')
const protocols = opts.protocols ?? []
delete opts.protocols
if (opts.caFile !== undefined) {
  opts.ca = readFileSync(opts.caFile)
  delete opts.caFile
}
const ws = new WebSocket(url, protocols, opts)
let upgradeHeaders = {}
let upgradeStatus = 0

ws.on('upgrade', (res) => {
  upgradeStatus = res.statusCode
  upgradeHeaders = res.headers
})
ws.on('open', () =>
  emit({ ev: 'open', status: upgradeStatus, headers: upgradeHeaders, extensions: ws.extensions, protocol: ws.protocol }),
)
ws.on('unexpected-response', (_req, res) => {
  emit({ ev: 'unexpected-response', status: res.statusCode, headers: res.headers })
  res.resume()
  ws.terminate()
})
/** The burst in progress: its parameters and how many messages went out / came back. */
let burst = null

function burstSend() {
  while (burst.sent < burst.count && burst.sent - burst.received < burst.window) {
    const m = burstMessage(burst.seed, burst.sent++, burst.min, burst.max)
    ws.send(m.bytes, { binary: m.binary })
  }
}

ws.on('message', (data, isBinary) => {
  const buf = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)])
  const ev = { ev: 'message', binary: isBinary, length: buf.length, sha1: createHash('sha1').update(buf).digest('hex') }
  if (buf.length <= B64_MAX && burst === null) ev.b64 = buf.toString('base64')
  emit(ev)
  if (burst !== null) {
    burst.received++
    burstSend()
  }
})
ws.on('ping', (d) => emit({ ev: 'ping', b64: d.toString('base64') }))
ws.on('pong', (d) => emit({ ev: 'pong', b64: d.toString('base64') }))
ws.on('close', (code, reason) => emit({ ev: 'close', code, reason: reason.toString('utf8') }))
ws.on('error', (e) => emit({ ev: 'error', message: e.message }))

function run(cmd) {
  const data = cmd.pattern !== undefined ? patternBytes(cmd.pattern) : Buffer.from(cmd.b64 ?? '', 'base64')
  if (cmd.cmd === 'send') {
    const o = { binary: cmd.binary === true, fin: cmd.fin !== false }
    if (cmd.compress !== undefined) o.compress = cmd.compress
    ws.send(data, o)
  } else if (cmd.cmd === 'ping') ws.ping(data)
  else if (cmd.cmd === 'pong') ws.pong(data)
  else if (cmd.cmd === 'close') ws.close(cmd.code, cmd.reason)
  else if (cmd.cmd === 'burst') {
    burst = { seed: cmd.seed, count: cmd.count, min: cmd.min, max: cmd.max, window: cmd.window, sent: 0, received: 0 }
    burstSend()
  }
  else if (cmd.cmd === 'quit') {
    ws.terminate()
    setTimeout(() => process.exit(0), 50)
    return
  } else throw new Error(`unknown cmd ${cmd.cmd}`)
  if (cmd.tag !== undefined) emit({ ev: 'ack', tag: cmd.tag })
}

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (line.trim() === '') return
  try {
    run(JSON.parse(line))
  } catch (e) {
    emit({ ev: 'error', message: `command failed: ${e instanceof Error ? e.message : String(e)}` })
  }
})
// Never outlive the test process.
rl.on('close', () => {
  ws.terminate()
  setTimeout(() => process.exit(0), 50)
})
