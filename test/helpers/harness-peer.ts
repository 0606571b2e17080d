// ZHTTP handler peers for the e2e harness: startPeer() runs test/helpers/zhttp-peer.mjs (stream
// mode) or zhttp-req-peer.mjs (req mode, with `req` options) under Node and exposes the packets it receives (queued for next(), filtered by PacketFilter) and
// the packets it sends; plus helpers that read decoded packet fields.

import { join } from 'node:path'
import type { Subprocess } from 'bun'
import type { Gateway } from './harness-gateway.ts'
import { GATEWAY_READY_TIMEOUT_MS } from './harness-gateway.ts'
import {
  LogTail,
  onCleanup,
  PROCESS_KILL_WAIT_MS,
  REPO_ROOT,
  spawnLogged,
  stopProcess,
  untrackProcess,
} from './harness-process.ts'
import { DEFAULT_WAIT_MS, Notifier, settlesWithin, sleep, withTimeout } from './harness-wait.ts'
import { rawHttp } from './raw-http.ts'
import type { RawConn } from './raw-http.ts'

export const PEER_SCRIPT = join(REPO_ROOT, 'test/helpers/zhttp-peer.mjs')
export const REQ_PEER_SCRIPT = join(REPO_ROOT, 'test/helpers/zhttp-req-peer.mjs')

const PEER_READY_TIMEOUT_MS = 10_000
const PEER_SEND_ACK_TIMEOUT_MS = 5_000
const PROBE_HOST = 'zgate-harness-probe'

/** A decoded tnetstring value as the peer reports it (zhttp-peer.mjs header). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
export type ZPacket = { [key: string]: Json }
/** Outgoing values may also hold raw bytes; they are sent as {"$b64": ...}. */
export type OutValue = Json | Uint8Array | OutValue[] | { [key: string]: OutValue }

export interface PeerPacket {
  sock: 'pull' | 'router' | 'req'
  /** Number of ZeroMQ frames (1 on PULL, 3 on ROUTER; req: 3 on a ROUTER peer, 1 on REP). */
  frames: number
  /** Frames before the payload, base64 (ROUTER: sender identity, empty delimiter). */
  envelope: string[]
  /** The exact payload frame, `T<tnetstring>`. */
  raw: Uint8Array
  /** Decoded payload; {} when it could not be decoded (see `error`). */
  packet: ZPacket
  error?: string
  /** Bytes after the top-level tnetstring, when any. */
  trailing?: number
  /** Arrival index over all packets of this peer. */
  index: number
}

export interface PeerEvent {
  ev: string
  [key: string]: Json | undefined
}

/**
 * A predicate, or packet fields that must deep-equal; a key set to undefined must be absent
 * and `$sock` matches the socket.
 */
export type PacketFilter =
  | ((p: PeerPacket) => boolean)
  | ({ $sock?: 'pull' | 'router' | 'req' } & { [field: string]: Json | undefined })

export interface PeerOptions {
  /** Stream-mode spec base (zhttp-peer.mjs); ignored with `req`. */
  base: string
  /** A req-mode handler instead (zhttp-req-peer.mjs): a ROUTER or REP on these endpoints. */
  req?: { type: 'router' | 'rep'; endpoints: string[] }
  from?: string
  instance?: string
  auto?: 'hello' | 'echo'
  /** Bind the endpoints instead of connecting (for a gateway run with --zclient-connect). */
  bind?: boolean
  readyTimeoutMs?: number
}

export interface Peer {
  proc: Subprocess
  pid: number
  from: string
  instance: string
  /** Removes and returns the first queued packet matching `filter` (waits, bounded). */
  next(filter?: PacketFilter, timeoutMs?: number): Promise<PeerPacket>
  /** Resolves after `ms` if no matching packet arrived; rejects with it otherwise. */
  expectNone(filter?: PacketFilter, ms?: number): Promise<void>
  /** Every packet received so far (including consumed and probe ones). */
  packets(): PeerPacket[]
  /** Packets received but not yet taken by next(). */
  queued(): PeerPacket[]
  /** Non-packet events: ready, zmq socket events, subscribe, ack, error, auto. */
  events(): PeerEvent[]
  /** The peer's stderr lines (plus any non-JSON stdout line). */
  stderr(): string[]
  /**
   * Publishes `<address ?? instance> T<packet>` and waits until the peer has sent it. A req
   * peer replies instead: after `envelope` (base64 frames; default the last request's).
   */
  send(packet: { [key: string]: OutValue }, opts?: { address?: string; envelope?: string[] }): Promise<void>
  /** Req ROUTER peer only: sends exactly these frames as one message. */
  sendFrames(frames: (Uint8Array | string)[]): Promise<void>
  /** Publishes exactly these bytes (a string is UTF-8 encoded) as one frame. */
  sendRaw(bytes: Uint8Array | string): Promise<void>
  /** Waits until all three sockets did a ZMTP handshake and the gateway subscribed `<instance> `. */
  waitLinked(timeoutMs?: number): Promise<void>
  /** Forget link state so waitLinked() waits for a (re)started gateway. */
  resetLinked(): void
  stop(): Promise<number | null>
}

function toWire(v: OutValue): Json {
  if (v instanceof Uint8Array) return { $b64: Buffer.from(v).toString('base64') }
  if (Array.isArray(v)) return v.map(toWire)
  if (v !== null && typeof v === 'object') {
    const o: { [key: string]: Json } = {}
    for (const [k, val] of Object.entries(v)) o[k] = toWire(val)
    return o
  }
  return v
}

function matches(filter: PacketFilter | undefined, p: PeerPacket): boolean {
  if (filter === undefined) return true
  if (typeof filter === 'function') return filter(p)
  for (const [k, want] of Object.entries(filter)) {
    if (k === '$sock') {
      if (p.sock !== want) return false
    } else if (want === undefined) {
      if (k in p.packet) return false
    } else if (!Bun.deepEquals(p.packet[k], want)) {
      return false
    }
  }
  return true
}

function describeFilter(f: PacketFilter | undefined): string {
  if (f === undefined) return ''
  return ` matching ${typeof f === 'function' ? f.toString() : JSON.stringify(f)}`
}

function describePacket(p: PeerPacket): string {
  const s = JSON.stringify(p.error ? { error: p.error, raw: Buffer.from(p.raw).toString('latin1') } : p.packet)
  return `  #${p.index} ${p.sock}: ${s.length > 300 ? `${s.slice(0, 300)}...` : s}`
}

export async function startPeer(opts: PeerOptions): Promise<Peer> {
  const from = opts.from ?? 'handler-1'
  const instance = opts.instance ?? 'condure'
  const node = Bun.which('node')
  if (node === null) throw new Error('startPeer: node is not installed')
  const args = opts.req
    ? [REQ_PEER_SCRIPT, '--type', opts.req.type, ...opts.req.endpoints.flatMap((e) => ['--endpoint', e])]
    : [PEER_SCRIPT, '--base', opts.base, '--from', from, '--instance', instance]
  args.push(opts.bind ? '--bind' : '--connect')
  if (opts.auto) args.push('--auto', opts.auto)
  const spawned = spawnLogged([node, ...args], { cwd: REPO_ROOT, stdin: 'pipe' }, `peer-${from}`)
  const proc = spawned.proc as Subprocess<'pipe', number, number>

  const history: PeerPacket[] = []
  const queue: PeerPacket[] = []
  const events: PeerEvent[] = []
  const errLines: string[] = []
  const probeIds = new Set<string>()
  let dead = false // set after the final read of the peer's output
  const isDead = () => dead
  const hasExited = () => proc.exitCode !== null || proc.signalCode !== null
  const n = new Notifier(() => (isDead() ? `peer exited (code ${proc.exitCode})` : undefined))
  const wake = () => n.wake()
  let linked = { pull: false, router: false, pub: false, sub: false, req: false }
  const linkedNow = () => (opts.req ? linked.req : linked.pull && linked.router && linked.pub && linked.sub)
  let ready = false
  let tagSeq = 0
  const acks = new Map<number, { res: () => void; rej: (e: Error) => void }>()

  const onLine = (line: string) => {
    let ev: PeerEvent
    try {
      ev = JSON.parse(line) as PeerEvent
    } catch {
      errLines.push(`stdout: ${line}`)
      return
    }
    if (ev.ev === 'packet') {
      const packet = ev.packet !== null && typeof ev.packet === 'object' && !Array.isArray(ev.packet) ? ev.packet : {}
      const p: PeerPacket = {
        sock: ev.sock === 'router' || ev.sock === 'req' ? ev.sock : 'pull',
        frames: Number(ev.frames),
        envelope: (ev.envelope as string[] | undefined) ?? [],
        raw: new Uint8Array(Buffer.from(String(ev.raw), 'base64')),
        packet,
        index: history.length,
      }
      if (typeof ev.error === 'string') p.error = ev.error
      if (typeof ev.trailing === 'number') p.trailing = ev.trailing
      history.push(p)
      const id = typeof packet.id === 'string' ? packet.id : ''
      if (typeof packet.uri === 'string' && packet.uri.includes(`//${PROBE_HOST}`)) probeIds.add(id)
      if (!probeIds.has(id)) queue.push(p)
    } else {
      events.push(ev)
      if (ev.ev === 'ready') ready = true
      else if (ev.ev === 'zmq') {
        const sock = ev.sock as 'pull' | 'router' | 'pub' | 'req'
        if (ev.event === 'handshake') linked[sock] = true
        else if (ev.event === 'disconnect') {
          linked[sock] = false
          if (sock === 'pub') linked.sub = false
        }
      } else if (ev.ev === 'subscribe' && ev.topic === `${instance} `) linked.sub = ev.on === true
      else if ((ev.ev === 'ack' || ev.ev === 'error') && typeof ev.tag === 'number') {
        const a = acks.get(ev.tag)
        acks.delete(ev.tag)
        if (ev.ev === 'ack') a?.res()
        else a?.rej(new Error(`peer: ${String(ev.message)}`))
      }
    }
    wake()
  }
  const tails = [new LogTail(spawned.outPath, onLine), new LogTail(spawned.errPath, (l) => errLines.push(l))]
  void proc.exited.then(() => {
    for (const t of tails) t.close()
    untrackProcess(proc)
    dead = true
    for (const a of acks.values()) a.rej(new Error(`peer exited (code ${proc.exitCode})`))
    acks.clear()
    wake()
  })
  const dumpState = () => {
    const q = queue.length ? queue.map(describePacket).join('\n') : '  (none)'
    const tail = [
      ...events.slice(-8).map((e) => `  ${JSON.stringify(e)}`),
      ...errLines.slice(-8).map((l) => `  stderr: ${l}`),
    ].join('\n')
    const recent = history.slice(-5).map(describePacket).join('\n') || '  (none)'
    return `queued packets:\n${q}\nlast packets received (taken or not):\n${recent}\nlast events:\n${tail}`
  }
  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    n.waitFor(check, timeoutMs, () => `peer ${from}: ${what}\n${dumpState()}`)

  const write = (obj: Json) => {
    if (hasExited()) throw new Error(`peer exited (code ${proc.exitCode})\n${dumpState()}`)
    proc.stdin.write(`${JSON.stringify(obj)}\n`)
    proc.stdin.flush()
  }
  const command = async (obj: { [key: string]: Json }): Promise<void> => {
    const tag = ++tagSeq
    const p = new Promise<void>((res, rej) => acks.set(tag, { res, rej }))
    write({ ...obj, tag })
    return withTimeout(p, PEER_SEND_ACK_TIMEOUT_MS, () => `ack of ${obj.cmd} #${tag}`).finally(() => acks.delete(tag))
  }

  let stopping: Promise<number | null> | undefined
  const peer: Peer = {
    proc,
    pid: proc.pid,
    from,
    instance,
    next: (filter, timeoutMs = DEFAULT_WAIT_MS) =>
      waitFor(
        () => {
          const i = queue.findIndex((p) => matches(filter, p))
          return i < 0 ? undefined : queue.splice(i, 1)[0]
        },
        timeoutMs,
        `next packet${describeFilter(filter)}`,
      ),
    expectNone: async (filter, ms = 1000) => {
      const start = history.length
      await sleep(ms)
      const candidates = history.slice(start).concat(queue)
      const hit = candidates.find((p) => !probeIds.has(String(p.packet.id)) && matches(filter, p))
      if (hit) throw new Error(`expected no matching packet, got:\n${describePacket(hit)}`)
    },
    packets: () => history.slice(),
    queued: () => queue.slice(),
    events: () => events.slice(),
    stderr: () => errLines.slice(),
    send: (packet, o) => {
      const cmd: { [key: string]: Json } = { cmd: 'send', packet: toWire(packet) }
      if (o?.address !== undefined) cmd.address = o.address
      if (o?.envelope !== undefined) cmd.envelope = o.envelope
      return command(cmd)
    },
    sendFrames: (frames) => command({ cmd: 'sendFrames', frames: frames.map((f) => Buffer.from(f).toString('base64')) }),
    sendRaw: (bytes) => command({ cmd: 'sendRaw', b64: Buffer.from(bytes).toString('base64') }),
    waitLinked: (timeoutMs = GATEWAY_READY_TIMEOUT_MS) =>
      waitFor(
        () => (linkedNow() ? true : undefined),
        timeoutMs,
        `link ${JSON.stringify(linked)}`,
      ).then(() => {}),
    resetLinked: () => {
      linked = { pull: false, router: false, pub: false, sub: false, req: false }
    },
    stop: () => {
      stopping ??= (async () => {
        if (!hasExited()) {
          try {
            write({ cmd: 'quit' })
            proc.stdin.end()
          } catch {
            // already gone
          }
          await settlesWithin(proc.exited, PROCESS_KILL_WAIT_MS)
        }
        return stopProcess(proc, 'SIGTERM', PROCESS_KILL_WAIT_MS)
      })()
      return stopping
    },
  }
  onCleanup(() => peer.stop().then(() => {}))
  try {
    await waitFor(() => (ready ? true : undefined), opts.readyTimeoutMs ?? PEER_READY_TIMEOUT_MS, 'ready')
  } catch (e) {
    await peer.stop()
    throw e
  }
  return peer
}

/**
 * Sends probe requests until one gets a 200 (needs a peer in `auto: 'hello'` mode). Probe
 * packets (Host zgate-harness-probe) never enter the peer's next() queue.
 */
export async function waitUntilServing(gw: Gateway, peer: Peer, timeoutMs = GATEWAY_READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    let c: RawConn | undefined
    try {
      c = await rawHttp(gw.port, `GET /probe HTTP/1.1\r\nHost: ${PROBE_HOST}\r\nConnection: close\r\n\r\n`)
      const r = await c.readResponse(Math.min(1000, Math.max(deadline - Date.now(), 1)))
      if (r.status === 200) return
      last = r.statusLine
    } catch (e) {
      last = e instanceof Error ? e.message.split('\n')[0]! : String(e)
    } finally {
      c?.close()
    }
    await sleep(50)
  }
  throw new Error(`gateway on port ${gw.port} not serving via peer ${peer.from} within ${timeoutMs} ms: ${last}`)
}

// ---------------------------------------------------------------------------------------
// packet helpers

/** Bytes of a decoded byte-string value (text or {"$b64"}); empty for absent. */
export function bytesOf(v: Json | undefined): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0)
  if (typeof v === 'string') return new TextEncoder().encode(v)
  if (typeof v === 'object' && !Array.isArray(v) && typeof v.$b64 === 'string') {
    return new Uint8Array(Buffer.from(v.$b64, 'base64'))
  }
  throw new Error(`not a byte string: ${JSON.stringify(v)}`)
}

/** A packet's `headers` as [name, value] text pairs. */
export function headerPairs(p: ZPacket): [string, string][] {
  const h = p.headers
  if (!Array.isArray(h)) return []
  return h.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error(`bad header entry ${JSON.stringify(pair)}`)
    return [new TextDecoder().decode(bytesOf(pair[0])), new TextDecoder().decode(bytesOf(pair[1]))]
  })
}
