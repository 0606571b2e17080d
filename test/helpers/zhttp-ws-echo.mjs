#!/usr/bin/env node
// zhttp-ws-echo: a credit-exact ZHTTP WebSocket echo handler (zhttp.md 5), run under Node with
// the zeromq npm package, independent of zgate's code. Used by the e2e tests and by
// bench/autobahn.sh; it works with any gateway speaking ZHTTP (zgate, condure).
//
//   node zhttp-ws-echo.mjs --base ipc:///tmp/x/zs [--from NAME] [--instance ID]
//                          [--credits BYTES] [--piece-max BYTES]
//
// PULL connect <base>-out, ROUTER (identity NAME) connect <base>-out-stream, PUB connect
// <base>-in (tcp://HOST:P: P, P+1, P+2). Prints "ready" once started.
//
// Flow control, both ways exact:
// - the 101 grants --credits bytes (default 262144) of client messages; a byte is handed back
//   only once its echo went to the gateway, so at most --credits bytes are ever held here;
// - ping, pong and close payloads count against those credits too (the gateway deducts
//   them, zhttp.md 5.4) and are handed back at once;
// - echoes are sent only within the credits the gateway granted (its first packet's
//   `credits`, then its `credit` packets), split into pieces of at most --piece-max bytes with
//   `more`, keeping the content-type and message boundaries.
// Ping gets pong, close gets the same close back and ends the session, cancel ends it. A plain
// HTTP request gets `200 ok` (readiness probes). Counters go to stderr at exit.

import zmq from 'zeromq'

function parseArgs(argv) {
  const o = { base: '', from: 'ws-echo', instance: 'condure', credits: 262_144, pieceMax: 65_536 }
  for (let i = 0; i < argv.length; i++) {
    const val = () => {
      if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`)
      return argv[++i]
    }
    const a = argv[i]
    if (a === '--base') o.base = val()
    else if (a === '--from') o.from = val()
    else if (a === '--instance') o.instance = val()
    else if (a === '--credits') o.credits = Number(val())
    else if (a === '--piece-max') o.pieceMax = Number(val())
    else fail(`unknown argument ${a}`)
  }
  if (!o.base) fail('--base is required')
  if (!(o.credits > 0) || !(o.pieceMax > 0)) fail('--credits and --piece-max must be positive')
  return o
}

function fail(msg) {
  process.stderr.write(`zhttp-ws-echo: ${msg}\n`)
  process.exit(2)
}

function endpoints(base) {
  if (base.startsWith('ipc://')) return { pull: `${base}-out`, router: `${base}-out-stream`, pub: `${base}-in` }
  const m = /^tcp:\/\/(.+):([0-9]+)$/.exec(base)
  if (!m) fail(`base must be ipc://PATH or tcp://HOST:PORT, got ${base}`)
  const p = Number(m[2])
  return { pull: `tcp://${m[1]}:${p}`, router: `tcp://${m[1]}:${p + 1}`, pub: `tcp://${m[1]}:${p + 2}` }
}

// --- tnetstring (zhttp.md 2.3): byte strings stay Buffers both ways -------------------------

function tnFrame(data, type) {
  return Buffer.concat([Buffer.from(`${data.length}:`, 'latin1'), data, Buffer.from(type, 'latin1')])
}

function tnEncode(v) {
  if (Buffer.isBuffer(v)) return tnFrame(v, ',')
  if (typeof v === 'string') return tnFrame(Buffer.from(v, 'utf8'), ',')
  if (typeof v === 'number') return tnFrame(Buffer.from(String(v), 'latin1'), '#')
  if (typeof v === 'boolean') return tnFrame(Buffer.from(String(v), 'latin1'), '!')
  if (Array.isArray(v)) return tnFrame(Buffer.concat(v.map(tnEncode)), ']')
  const parts = []
  for (const [k, x] of Object.entries(v)) parts.push(tnEncode(k), tnEncode(x))
  return tnFrame(Buffer.concat(parts), '}')
}

/** Decodes the tnetstring at buf[pos]: { value, end }; throws on malformed input. */
function tnDecode(buf, pos) {
  const colon = buf.indexOf(0x3a, pos)
  if (colon < 0 || colon - pos > 10) throw new Error('bad length')
  const len = Number(buf.toString('latin1', pos, colon))
  const start = colon + 1
  const end = start + len
  if (!Number.isInteger(len) || end >= buf.length) throw new Error('bad length')
  const data = buf.subarray(start, end)
  const type = buf[end]
  let value
  if (type === 0x2c) value = data // ','
  else if (type === 0x23) value = Number(data.toString('latin1')) // '#'
  else if (type === 0x21) value = data.toString('latin1') === 'true' // '!'
  else if (type === 0x7e) value = null // '~'
  else if (type === 0x5e) value = Number(data.toString('latin1')) // '^'
  else if (type === 0x5d || type === 0x7d) {
    const items = []
    for (let p = start; p < end; ) {
      const r = tnDecode(buf.subarray(0, end + 1), p)
      items.push(r.value)
      p = r.end
    }
    if (type === 0x5d) value = items
    else {
      value = new Map()
      for (let i = 0; i + 1 < items.length; i += 2) value.set(items[i].toString('utf8'), items[i + 1])
    }
  } else throw new Error(`bad type byte ${type}`)
  return { value, end: end + 1 }
}

// --- sessions -----------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2))
const ep = endpoints(opts.base)
const pull = new zmq.Pull({ linger: 0 })
const router = new zmq.Router({ routingId: opts.from, linger: 0 })
const pub = new zmq.Publisher({ sendHighWaterMark: 0, linger: 200 })
const stats = { sessions: 0, plain: 0, messagesIn: 0, bytesIn: 0, bytesOut: 0, pings: 0, closes: 0, cancels: 0, badPackets: 0, seqErrors: 0 }

/** id → session */
const sessions = new Map()

// zeromq.js allows one pending send per socket: chain them.
let sendChain = Promise.resolve()
function publish(address, fields) {
  const frame = Buffer.concat([Buffer.from(`${address} T`, 'latin1'), tnEncode(fields)])
  sendChain = sendChain.then(() => pub.send(frame)).catch((e) => fail(`send: ${e.message}`))
}

function send(s, fields) {
  publish(opts.instance, { from: opts.from, id: s.id, seq: s.outSeq++, ...fields })
}

/** Echo bytes within the gateway's credits; the bytes sent go back to the client side as credits. */
function flush(s) {
  let returned = 0
  while (s.held.length > 0) {
    const head = s.held[0]
    if (head.bytes.length > 0 && s.credits <= 0) break
    const n = Math.min(head.bytes.length, s.credits, opts.pieceMax)
    const whole = n === head.bytes.length
    const p = {}
    if (head.binary) p['content-type'] = 'binary'
    if (n > 0) p.body = head.bytes.subarray(0, n)
    if (!whole || head.more) p.more = true
    send(s, p)
    s.credits -= n
    returned += n
    stats.bytesOut += n
    if (whole) s.held.shift()
    else head.bytes = head.bytes.subarray(n)
  }
  if (returned > 0) send(s, { type: 'credit', credits: returned })
}

function onFirst(p) {
  const id = p.get('id')
  const from = p.get('from')
  if (!Buffer.isBuffer(id) || !Buffer.isBuffer(from)) {
    stats.badPackets++
    return
  }
  const uri = String(p.get('uri') ?? '')
  const s = { id, outSeq: 0, inSeq: Number(p.get('seq') ?? 0) + 1, credits: Number(p.get('credits') ?? 0), held: [] }
  if (!uri.startsWith('ws')) {
    stats.plain++
    send(s, { code: 200, reason: 'OK', headers: [['Content-Type', 'text/plain']], body: 'ok\n' })
    return
  }
  stats.sessions++
  sessions.set(id.toString('latin1'), s)
  send(s, { code: 101, reason: 'Switching Protocols', credits: opts.credits })
}

function onLater(p) {
  const id = p.get('id')
  if (!Buffer.isBuffer(id)) return // a multi-id keep-alive: nothing to answer
  const key = id.toString('latin1')
  const s = sessions.get(key)
  if (s === undefined) return
  const seq = p.get('seq')
  if (typeof seq === 'number') {
    if (seq !== s.inSeq) stats.seqErrors++
    s.inSeq = seq + 1
  }
  const credits = p.get('credits')
  if (typeof credits === 'number' && credits > 0) s.credits += credits
  const type = p.get('type')
  const kind = type === undefined ? 'data' : type.toString('latin1')
  const body = p.get('body') ?? Buffer.alloc(0)
  if (kind === 'data') {
    const more = p.get('more') === true
    const ct = p.get('content-type')
    if (!more) stats.messagesIn++
    stats.bytesIn += body.length
    s.held.push({ bytes: body, binary: ct !== undefined && ct.toString('latin1') === 'binary', more })
  } else if (kind === 'ping' || kind === 'pong') {
    if (kind === 'ping') {
      stats.pings++
      send(s, { type: 'pong', ...(body.length > 0 ? { body } : {}) })
    }
    if (body.length > 0) send(s, { type: 'credit', credits: body.length })
  } else if (kind === 'close') {
    stats.closes++
    flush(s)
    const c = { type: 'close' }
    const code = p.get('code')
    if (typeof code === 'number') c.code = code
    if (body.length > 0) c.body = body
    send(s, c)
    sessions.delete(key)
    return
  } else if (kind === 'cancel' || kind === 'error') {
    stats.cancels++
    sessions.delete(key)
    return
  }
  flush(s)
}

function handle(frame, first) {
  if (frame.length < 2 || frame[0] !== 0x54) {
    stats.badPackets++
    return
  }
  let p
  try {
    p = tnDecode(frame, 1).value
  } catch {
    stats.badPackets++
    return
  }
  if (!(p instanceof Map)) {
    stats.badPackets++
    return
  }
  if (first) onFirst(p)
  else onLater(p)
}

async function pump(sock, first) {
  for await (const frames of sock) handle(frames[frames.length - 1], first)
}

let stopping = false
function stop() {
  if (stopping) return
  stopping = true
  process.stderr.write(`zhttp-ws-echo: ${JSON.stringify(stats)}\n`)
  sendChain.finally(() => {
    for (const s of [pull, router, pub]) s.close()
    setTimeout(() => process.exit(0), 100)
  })
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

pull.connect(ep.pull)
router.connect(ep.router)
pub.connect(ep.pub)
pump(pull, true).catch((e) => stopping || fail(`pull: ${e.message}`))
pump(router, false).catch((e) => stopping || fail(`router: ${e.message}`))
process.stdout.write('ready\n')
