#!/usr/bin/env node
// tls-client: one TLS connection made with Node's `tls` module (OpenSSL, a TLS stack other
// than the one inside Bun), for test/helpers/tls-client.ts. It sends `request` once the
// handshake is done and reads until the server closes, then prints one JSON line:
//   {"ok":true,"authorized":bool,"cn":s,"altNames":s,"protocol":s,"servername":s|false,
//    "bytes":n,"sha1":hex,"head":s}              head: the first HEAD_MAX bytes, latin1
//   {"ok":false,"code":s,"message":s,"secure":bool}  secure: the handshake had completed
//
// argv: <options JSON> with host, port, servername (omit for no SNI), caFile, request,
//       pauseMs (read nothing for this long after the request: backpressure), timeoutMs.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:tls'

const HEAD_MAX = 65_536
const o = JSON.parse(process.argv[2] ?? '{}')
const hash = createHash('sha1')
const head = []
let headBytes = 0
let bytes = 0
let secure = false
let done = false

function finish(obj) {
  if (done) return
  done = true
  process.stdout.write(`${JSON.stringify(obj)}\n`)
  process.exit(0)
}

const timer = setTimeout(() => finish({ ok: false, code: 'TIMEOUT', message: `no close within ${o.timeoutMs} ms`, secure }), o.timeoutMs ?? 10_000)
const sock = connect({
  host: o.host,
  port: o.port,
  ca: o.caFile ? readFileSync(o.caFile) : undefined,
  rejectUnauthorized: o.caFile !== undefined,
  // Node sends no SNI for an IP host; an explicit servername asks for one.
  ...(o.servername === undefined ? {} : { servername: o.servername }),
})
let peer = null
sock.on('secureConnect', () => {
  secure = true
  peer = sock.getPeerCertificate()
  sock.write(o.request ?? '')
  if (o.pauseMs > 0) {
    sock.pause()
    setTimeout(() => sock.resume(), o.pauseMs)
  }
})
sock.on('data', (d) => {
  bytes += d.length
  hash.update(d)
  if (headBytes < HEAD_MAX) {
    head.push(d.subarray(0, HEAD_MAX - headBytes))
    headBytes += Math.min(d.length, HEAD_MAX - headBytes)
  }
})
sock.on('error', (e) => {
  clearTimeout(timer)
  finish({ ok: false, code: e.code ?? 'ERROR', message: e.message, secure })
})
sock.on('close', () => {
  clearTimeout(timer)
  finish({
    ok: secure,
    ...(secure ? {} : { code: 'CLOSED', message: 'closed before the handshake completed', secure }),
    authorized: sock.authorized,
    cn: peer?.subject?.CN ?? '',
    altNames: peer?.subjectaltname ?? '',
    protocol: sock.getProtocol?.() ?? '',
    bytes,
    sha1: hash.digest('hex'),
    head: Buffer.concat(head).toString('latin1'),
  })
})
