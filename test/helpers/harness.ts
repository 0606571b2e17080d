// End-to-end harness: gateway processes (zgate or Debian's condure), ZHTTP handler peers
// (test/helpers/zhttp-peer.mjs under Node) and raw TCP clients, for bun:test files.
//
// Invariants:
// - Every wait is bounded; a timeout error says what was waited for and what arrived.
// - Processes are only ever signalled through the Subprocess objects this module spawned
//   (their own PID); cleanup() and a process 'exit' hook reap whatever is still alive.
// - Sockets are loopback TCP or ipc under a directory from tmpDir().

import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import type { Socket, Subprocess } from 'bun'

export const REPO_ROOT = resolve(import.meta.dir, '../..')
export const PEER_SCRIPT = join(REPO_ROOT, 'test/helpers/zhttp-peer.mjs')

const GATEWAY_READY_TIMEOUT_MS = 10_000
const PROCESS_STOP_TIMEOUT_MS = 12_000 // condure may spend up to 10 s sending cancels (zhttp.md 4.12)
const PROCESS_KILL_WAIT_MS = 3_000
const PEER_READY_TIMEOUT_MS = 10_000
const PEER_SEND_ACK_TIMEOUT_MS = 5_000
const DEFAULT_WAIT_MS = 5_000
const CONNECT_TIMEOUT_MS = 5_000
const IPC_PATH_MAX = 100 // sun_path is 108 bytes; leave room for "-out-stream"
const PROBE_HOST = 'zgate-harness-probe'
const READY_LINE = /\] started$/
const SIGNAL_HANDLER_WAIT_MS = 2_000
const TAIL_POLL_MS = 5 // how often child log files are polled for new lines

// ---------------------------------------------------------------------------------------
// cleanup registry

type Cleanup = () => Promise<void> | void
const cleanups: Cleanup[] = []
const liveProcs = new Set<Subprocess>()

const liveDirs = new Set<string>()

// Last resort, synchronous: SIGKILL what is still running and remove temp dirs.
function killAll(): void {
  for (const p of liveProcs) p.kill('SIGKILL')
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
}
process.on('exit', killAll)
// 'exit' does not run when the test process itself is killed by a signal (ctrl-c, a CI
// timeout); gateways would then outlive it (peers exit on their own when stdin closes).
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
  process.on(sig, () => {
    killAll()
    process.exit(128 + num)
  })
}

/** Runs every registered cleanup (stop processes, close sockets, remove temp dirs). */
export async function cleanup(): Promise<void> {
  const list = cleanups.splice(0).reverse()
  for (const fn of list) {
    try {
      await fn()
    } catch (e) {
      console.error('harness cleanup:', e)
    }
  }
}

// ---------------------------------------------------------------------------------------
// small utilities

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Resolves true when `p` settles within `ms`, else false; the timer never outlives it. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const t = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms)
  })
  const done = p.then(
    () => true as const,
    () => true as const,
  )
  return Promise.race([done, t]).finally(() => clearTimeout(timer))
}

/** Races `p` against a timer; rejects with `what()` (evaluated lazily) on timeout. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

/**
 * Wakes bounded waiters whenever new input arrived. `waitFor(check)` resolves with the first
 * non-undefined `check()` result; `dead()` returning a reason rejects early.
 */
class Notifier {
  private readonly waiters = new Set<() => void>()
  constructor(private readonly dead: () => string | undefined) {}

  wake(): void {
    for (const w of this.waiters) w()
  }

  waitFor<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    let waker: () => void = () => {}
    const p = new Promise<T>((res, rej) => {
      waker = () => {
        try {
          const v = check()
          if (v !== undefined) return res(v)
        } catch (e) {
          return rej(e)
        }
        const why = this.dead()
        if (why !== undefined) rej(new Error(`${why} while waiting for ${what()}`))
      }
      this.waiters.add(waker)
      waker()
    })
    return withTimeout(p, timeoutMs, what).finally(() => this.waiters.delete(waker))
  }
}

/** A unique directory under os.tmpdir() (or /tmp if that path is too long for ipc). */
export function tmpDir(prefix = 'zgate-e2e-'): string {
  let root = tmpdir()
  if (root.length + prefix.length + 40 > IPC_PATH_MAX) root = '/tmp'
  const dir = mkdtempSync(join(root, prefix))
  liveDirs.add(dir)
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true })
    liveDirs.delete(dir)
  })
  return dir
}

function tryListen(port: number): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } })
  const p = server.port
  server.stop(true)
  return p
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  return tryListen(0)
}

/** A port P such that P, P+1 and P+2 are free (for tcp:// spec bases, zhttp.md 1.2). */
export function freeTcpBase(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = freePort()
    if (p + 2 > 65535) continue
    try {
      tryListen(p + 1)
      tryListen(p + 2)
      return p
    } catch {
      // taken; try another
    }
  }
  throw new Error('freeTcpBase: no run of 3 free ports found')
}

/**
 * Follows a log file a child process writes to. Children write their stdout/stderr to files
 * rather than pipes: a pipe's ReadableStream in bun 1.4.5 was seen to stall for good
 * mid-run (no data, no EOF), while a file can always be re-read, and once the process has
 * exited one last poll yields every line it wrote.
 */
class LogTail {
  private readonly fd: number
  private pos = 0
  private partial = ''
  private readonly dec = new TextDecoder()
  private readonly timer: ReturnType<typeof setInterval>
  private closed = false

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
  ) {
    this.fd = openSync(path, 'r')
    this.timer = setInterval(() => this.poll(), TAIL_POLL_MS)
    this.timer.unref()
  }

  poll(): void {
    if (this.closed) return
    const size = fstatSync(this.fd).size
    while (this.pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(size - this.pos, 1 << 16))
      const n = readSync(this.fd, buf, 0, buf.length, this.pos)
      if (n <= 0) break
      this.pos += n
      this.partial += this.dec.decode(buf.subarray(0, n), { stream: true })
      let nl = this.partial.indexOf('\n')
      while (nl >= 0) {
        this.onLine(this.partial.slice(0, nl).replace(/\r$/, ''))
        this.partial = this.partial.slice(nl + 1)
        nl = this.partial.indexOf('\n')
      }
    }
  }

  /** Final read (call after the writer exited); emits a trailing unterminated line too. */
  close(): void {
    if (this.closed) return
    this.poll()
    this.closed = true
    clearInterval(this.timer)
    closeSync(this.fd)
    this.partial += this.dec.decode()
    if (this.partial !== '') this.onLine(this.partial)
    this.partial = ''
  }
}

let logDir = ''
let logSeq = 0

/** Spawns `cmd` with stdout and stderr going to fresh files under one temp dir. */
function spawnLogged(
  cmd: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; stdin: 'pipe' | 'ignore' },
  name: string,
): { proc: Subprocess<'pipe' | 'ignore', number, number>; outPath: string; errPath: string } {
  if (logDir === '') {
    logDir = tmpDir('zgate-e2e-logs-')
    cleanups.push(() => {
      logDir = ''
    })
  }
  const base = join(logDir, `${++logSeq}-${name}`)
  const outPath = `${base}.out`
  const errPath = `${base}.err`
  const out = openSync(outPath, 'w')
  const err = openSync(errPath, 'w')
  try {
    const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env, stdin: opts.stdin, stdout: out, stderr: err })
    liveProcs.add(proc)
    return { proc, outPath, errPath }
  } finally {
    closeSync(out)
    closeSync(err)
  }
}

async function stopProcess(proc: Subprocess, signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill(signal)
    if (!(await settlesWithin(proc.exited, timeoutMs))) proc.kill('SIGKILL')
  }
  await settlesWithin(proc.exited, PROCESS_KILL_WAIT_MS)
  liveProcs.delete(proc)
  return proc.exitCode
}

// ---------------------------------------------------------------------------------------
// gateway processes

/** Commands that start a gateway; the harness appends the condure-style flags. */
export function gatewayCommands(): { zgate: string[]; condure: string[] } {
  const bun = basename(process.execPath).startsWith('bun') ? process.execPath : 'bun'
  return { zgate: [bun, 'src/main.ts', 'serve'], condure: ['condure'] }
}

export interface GatewayTarget {
  name: 'zgate' | 'condure'
  cmd: string[]
  /** Empty when the target can run here, otherwise why it is skipped. */
  skipReason: string
}

/**
 * Gateways e2e files run against when ZGATE_E2E_GATEWAYS is unset: the reference and zgate,
 * so every e2e case compares the two. ZGATE_E2E_GATEWAYS=condure (or =zgate) narrows it.
 */
export const DEFAULT_GATEWAYS: readonly GatewayTarget['name'][] = ['condure', 'zgate']

/**
 * The gateways e2e files should run against (ZGATE_E2E_GATEWAYS, comma-separated, else
 * DEFAULT_GATEWAYS). A target whose program is missing here gets a skipReason: condure when
 * no `condure` is on PATH, zgate when src/main.ts does not exist.
 */
export function gatewayTargets(): GatewayTarget[] {
  const cmds = gatewayCommands()
  const env = process.env.ZGATE_E2E_GATEWAYS
  const wanted = env ? env.split(',').map((s) => s.trim()).filter(Boolean) : DEFAULT_GATEWAYS
  const out: GatewayTarget[] = []
  for (const name of wanted) {
    if (name === 'condure') {
      const ok = Bun.which('condure') !== null
      const skipReason = ok ? '' : 'condure is not installed (apt-get install condure)'
      out.push({ name, cmd: cmds.condure, skipReason })
    } else if (name === 'zgate') {
      const ok = Bun.file(join(REPO_ROOT, 'src/main.ts')).size > 0
      out.push({ name, cmd: cmds.zgate, skipReason: ok ? '' : 'src/main.ts does not exist yet' })
    } else {
      throw new Error(`ZGATE_E2E_GATEWAYS: unknown gateway ${name}`)
    }
  }
  return out
}

export type ListenTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string }

/** The listeners named by the `--listen` flags in `args` (condure syntax). */
export function listenTargets(args: string[]): ListenTarget[] {
  const out: ListenTarget[] = []
  for (let i = 0; i < args.length; i++) {
    let v: string | undefined
    if (args[i] === '--listen') v = args[++i]
    else if (args[i]?.startsWith('--listen=')) v = args[i]!.slice('--listen='.length)
    if (v === undefined) continue
    const [addr = '', ...params] = v.split(',')
    if (params.includes('local') || addr.includes('/')) {
      out.push({ kind: 'unix', path: addr })
      continue
    }
    const m = /^\[(.+)\]:(\d+)$/.exec(addr) ?? /^(.+):(\d+)$/.exec(addr)
    let host = m ? m[1]! : '127.0.0.1'
    const port = Number(m ? m[2] : addr)
    if (host === '0.0.0.0') host = '127.0.0.1'
    if (host === '::') host = '::1'
    out.push({ kind: 'tcp', host, port })
  }
  return out
}

export interface GatewayOptions {
  args: string[]
  /** Program and leading arguments; default gatewayCommands().zgate. */
  cmd?: string[]
  cwd?: string
  env?: Record<string, string>
  /** Wait for `listening on` lines, `readyLine` and a TCP connect to each listener (default true). */
  waitReady?: boolean
  /**
   * Logged once start-up is complete (condure and zgate: `[INFO] ... [<target>] started`);
   * signals sent before it may hit default handlers. null: do not wait for it.
   */
  readyLine?: RegExp | null
  readyTimeoutMs?: number
}

export interface Gateway {
  proc: Subprocess
  pid: number
  /** First TCP listener port from --listen (0 if none). */
  port: number
  listeners: ListenTarget[]
  /** stdout and stderr lines so far, in arrival order. */
  lines(stream?: 'stdout' | 'stderr'): string[]
  /** Index to pass as `since` to waitForLine to ignore earlier lines. */
  mark(): number
  waitForLine(re: RegExp, timeoutMs?: number, since?: number): Promise<string>
  exited: Promise<number | null>
  /** Sends `signal`, waits (bounded, SIGKILL fallback), returns the exit code (null if killed). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const cmd = [...(opts.cmd ?? gatewayCommands().zgate), ...opts.args]
  const env = { ...process.env, ...opts.env }
  const spawned = spawnLogged(cmd, { cwd: opts.cwd ?? REPO_ROOT, env, stdin: 'ignore' }, 'gateway')
  const proc = spawned.proc
  const all: { stream: 'stdout' | 'stderr'; line: string }[] = []
  // Set only after the final read of the log files, so no line is missed by a waiter.
  let dead = false
  const isDead = () => dead
  const dump = () => {
    const exit = proc.exitCode ?? proc.signalCode ?? 'running'
    return `${cmd.join(' ')}\n  exit=${exit}\n  ${all.map((l) => l.line).join('\n  ')}`
  }
  const n = new Notifier(() => (isDead() ? `gateway exited (${proc.exitCode ?? proc.signalCode})` : undefined))
  const tails = (['stdout', 'stderr'] as const).map(
    (stream) =>
      new LogTail(stream === 'stdout' ? spawned.outPath : spawned.errPath, (line) => {
        all.push({ stream, line })
        n.wake()
      }),
  )
  const exited = proc.exited.then(() => {
    for (const t of tails) t.close()
    liveProcs.delete(proc)
    dead = true
    n.wake()
    return proc.exitCode
  })

  const waitForLine = (re: RegExp, timeoutMs = DEFAULT_WAIT_MS, since = 0): Promise<string> =>
    n.waitFor(
      () => all.slice(since).find((l) => re.test(l.line))?.line,
      timeoutMs,
      () => `a line matching ${re}:\n${dump()}`,
    )

  let stopping: Promise<number | null> | undefined
  const listeners = listenTargets(opts.args)
  const tcp = listeners.find((l) => l.kind === 'tcp')
  const gw: Gateway = {
    proc,
    pid: proc.pid,
    port: tcp?.kind === 'tcp' ? tcp.port : 0,
    listeners,
    lines: (stream) => all.filter((l) => !stream || l.stream === stream).map((l) => l.line),
    mark: () => all.length,
    waitForLine,
    exited,
    stop: (signal = 'SIGTERM', timeoutMs = PROCESS_STOP_TIMEOUT_MS) => {
      stopping ??= stopProcess(proc, signal, timeoutMs).then(async (code) => {
        await settlesWithin(exited, PROCESS_KILL_WAIT_MS)
        return code
      })
      return stopping
    },
  }
  cleanups.push(() => gw.stop().then(() => {}))

  if (opts.waitReady ?? true) {
    const deadline = Date.now() + (opts.readyTimeoutMs ?? GATEWAY_READY_TIMEOUT_MS)
    const want = Math.max(listeners.length, 1)
    try {
      await n.waitFor(
        () => (all.filter((l) => /listening on/.test(l.line)).length >= want ? true : undefined),
        Math.max(deadline - Date.now(), 1),
        () => `${want} "listening on" line(s)`,
      )
      const readyLine = opts.readyLine === undefined ? READY_LINE : opts.readyLine
      if (readyLine) await waitForLine(readyLine, Math.max(deadline - Date.now(), 1))
      await waitSignalHandlers(proc.pid, Math.min(SIGNAL_HANDLER_WAIT_MS, Math.max(deadline - Date.now(), 1)))
      for (const l of listeners) await probeConnect(l, deadline)
    } catch (e) {
      await gw.stop('SIGKILL')
      throw new Error(`gateway did not become ready: ${e instanceof Error ? e.message : e}\n${dump()}`)
    }
  }
  return gw
}

// Signal numbers on Linux; bit (n - 1) of /proc/PID/status SigCgt is set once n is caught.
const STOP_SIGNALS = { SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 }

/** Whether `pid` has handlers installed for SIGINT, SIGQUIT and SIGTERM; null if unknown. */
export async function stopSignalsHandled(pid: number): Promise<boolean | null> {
  let status: string
  try {
    status = await Bun.file(`/proc/${pid}/status`).text()
  } catch {
    return null
  }
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)
  if (!m) return null
  const caught = BigInt(`0x${m[1]}`)
  return Object.values(STOP_SIGNALS).every((n) => (caught >> BigInt(n - 1)) & 1n)
}

/**
 * condure logs `started` a moment before it installs its signal handlers, so a SIGTERM
 * sent right after the line kills it outright. Wait (bounded) until the kernel reports the
 * handlers; if they never appear, carry on and let the test see the default disposition.
 */
async function waitSignalHandlers(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await stopSignalsHandled(pid)) !== false) return
    await sleep(5)
  }
}

/** Connects (and immediately closes) until the listener accepts or the deadline passes. */
async function probeConnect(l: ListenTarget, deadline: number): Promise<void> {
  let last = ''
  while (Date.now() < deadline) {
    try {
      const c = await rawHttp(l.kind === 'tcp' ? { host: l.host, port: l.port } : { unix: l.path }, undefined, {
        connectTimeoutMs: Math.max(deadline - Date.now(), 1),
      })
      c.close()
      return
    } catch (e) {
      last = e instanceof Error ? e.message : String(e)
      await sleep(50)
    }
  }
  throw new Error(`cannot connect to ${JSON.stringify(l)}: ${last}`)
}

// ---------------------------------------------------------------------------------------
// ZHTTP peers

/** A decoded tnetstring value as the peer reports it (zhttp-peer.mjs header). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
export type ZPacket = { [key: string]: Json }
/** Outgoing values may also hold raw bytes; they are sent as {"$b64": ...}. */
export type OutValue = Json | Uint8Array | OutValue[] | { [key: string]: OutValue }

export interface PeerPacket {
  sock: 'pull' | 'router'
  /** Number of ZeroMQ frames (1 on PULL, 3 on ROUTER). */
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
  | ({ $sock?: 'pull' | 'router' } & { [field: string]: Json | undefined })

export interface PeerOptions {
  base: string
  from?: string
  instance?: string
  auto?: 'hello'
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
  /** Publishes `<address ?? instance> T<packet>` and waits until the peer has sent it. */
  send(packet: { [key: string]: OutValue }, opts?: { address?: string }): Promise<void>
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
  const args = [PEER_SCRIPT, '--base', opts.base, '--from', from, '--instance', instance]
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
  let linked = { pull: false, router: false, pub: false, sub: false }
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
        sock: ev.sock === 'router' ? 'router' : 'pull',
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
        const sock = ev.sock as 'pull' | 'router' | 'pub'
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
    liveProcs.delete(proc)
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
      return command(cmd)
    },
    sendRaw: (bytes) => command({ cmd: 'sendRaw', b64: Buffer.from(bytes).toString('base64') }),
    waitLinked: (timeoutMs = GATEWAY_READY_TIMEOUT_MS) =>
      waitFor(
        () => (linked.pull && linked.router && linked.pub && linked.sub ? true : undefined),
        timeoutMs,
        `link ${JSON.stringify(linked)}`,
      ).then(() => {}),
    resetLinked: () => {
      linked = { pull: false, router: false, pub: false, sub: false }
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
  cleanups.push(() => peer.stop().then(() => {}))
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
// raw TCP client

export interface CloseInfo {
  /** fin: the server closed; reset: ECONNRESET; error: another socket error; local: we closed. */
  how: 'fin' | 'reset' | 'error' | 'local'
  error?: string
}

export interface RawConn {
  localPort: number
  /** Queues bytes (a string is latin1: one char per byte, so "\xff" is byte 0xff). */
  write(data: string | Uint8Array): void
  /**
   * Waits until the bytes received since connect satisfy `until` (a RegExp tested on their
   * latin1 text, a minimum byte count, or a predicate) and returns all of them. Rejects on
   * timeout or when the connection closes first.
   */
  readUntil(until: RegExp | number | ((all: Uint8Array) => boolean), timeoutMs?: number): Promise<Uint8Array>
  /** Next complete response after the previous one read this way (1xx count as responses). */
  readResponse(timeoutMs?: number, opts?: { head?: boolean }): Promise<HttpResponse>
  received(): Uint8Array
  text(): string
  closed: Promise<CloseInfo>
  readonly isClosed: boolean
  waitClosed(timeoutMs?: number): Promise<CloseInfo>
  /** Half-close: send FIN, keep reading. */
  end(): void
  /** Abortive close (RST). */
  reset(): void
  /** Close both directions. */
  close(): void
}

type RawTarget = number | { port: number; host?: string } | { unix: string }

export async function rawHttp(
  target: RawTarget,
  initial?: string | Uint8Array,
  opts: { connectTimeoutMs?: number } = {},
): Promise<RawConn> {
  let buf = new Uint8Array(4096)
  let len = 0
  let cursor = 0
  let pending: Uint8Array[] = []
  let closeInfo: CloseInfo | undefined
  let resolveClosed: (c: CloseInfo) => void = () => {}
  const closed = new Promise<CloseInfo>((r) => (resolveClosed = r))
  const n = new Notifier(() => (closeInfo ? `connection closed (${describeClose(closeInfo)})` : undefined))
  const wake = () => n.wake()
  const finish = (c: CloseInfo) => {
    if (closeInfo) return
    closeInfo = c
    resolveClosed(c)
    wake()
  }
  const flush = (s: Socket<undefined>) => {
    while (pending.length > 0) {
      const head = pending[0]!
      const n = s.write(head)
      if (n < 0) return
      if (n < head.length) {
        pending[0] = head.subarray(n)
        return
      }
      pending.shift()
    }
  }
  const handlers = {
    data(_s: Socket<undefined>, chunk: Uint8Array) {
      if (len + chunk.length > buf.length) {
        const nb = new Uint8Array(Math.max(buf.length * 2, len + chunk.length))
        nb.set(buf.subarray(0, len))
        buf = nb
      }
      buf.set(chunk, len)
      len += chunk.length
      wake()
    },
    drain: (s: Socket<undefined>) => flush(s),
    end: () => finish({ how: 'fin' }),
    close: (_s: Socket<undefined>, err?: Error) => finish(err ? classify(err) : { how: 'fin' }),
    error: (_s: Socket<undefined>, err: Error) => finish(classify(err)),
  }
  const t = typeof target === 'number' ? { host: '127.0.0.1', port: target } : target
  const describe = 'unix' in t ? t.unix : `${t.host ?? '127.0.0.1'}:${t.port}`
  const connecting =
    'unix' in t
      ? Bun.connect({ unix: t.unix, socket: handlers })
      : Bun.connect({ hostname: t.host ?? '127.0.0.1', port: t.port, socket: handlers })
  const connectMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
  const sock = await withTimeout(connecting, connectMs, () => `connect to ${describe}`)
  cleanups.push(() => conn.close())
  const received = () => buf.slice(0, len)
  const dump = () => JSON.stringify(Buffer.from(buf.subarray(0, len)).toString('latin1').slice(-2000))

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    n.waitFor(check, timeoutMs, () => `${what}; received ${len} bytes: ${dump()}`)

  const conn: RawConn = {
    localPort: 'localPort' in sock ? sock.localPort : 0,
    write(data) {
      if (closeInfo && closeInfo.how === 'local') throw new Error('write after close')
      pending.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
      flush(sock)
    },
    readUntil(until, timeoutMs = DEFAULT_WAIT_MS) {
      const test =
        typeof until === 'number'
          ? () => len >= until
          : until instanceof RegExp
            ? () => until.test(Buffer.from(buf.subarray(0, len)).toString('latin1'))
            : () => until(buf.subarray(0, len))
      return waitFor(() => (test() ? received() : undefined), timeoutMs, `data matching ${String(until)}`)
    },
    readResponse(timeoutMs = DEFAULT_WAIT_MS, o = {}) {
      return waitFor(
        () => {
          const view = buf.subarray(cursor, len)
          const n = responseLength(view, o)
          if (n >= 0) {
            cursor += n
            return parseHttpResponse(view.slice(0, n))
          }
          if (closeInfo && closeInfo.how !== 'local' && n === UNTIL_CLOSE) {
            cursor = len
            return parseHttpResponse(view.slice())
          }
          return undefined
        },
        timeoutMs,
        'a complete HTTP response',
      )
    },
    received,
    text: () => new TextDecoder().decode(buf.subarray(0, len)),
    closed,
    get isClosed() {
      return closeInfo !== undefined
    },
    waitClosed: (timeoutMs = DEFAULT_WAIT_MS) =>
      withTimeout(closed, timeoutMs, () => `server to close ${describe}; received ${len} bytes: ${dump()}`),
    end() {
      if (!closeInfo) sock.shutdown()
    },
    reset() {
      if (!closeInfo) sock.terminate()
      finish({ how: 'local' })
    },
    close() {
      pending = []
      if (!closeInfo) sock.end()
      finish({ how: 'local' })
    },
  }
  if (initial !== undefined) conn.write(initial)
  return conn
}

function classify(err: Error): CloseInfo {
  const code = (err as Error & { code?: string }).code ?? ''
  const how = code === 'ECONNRESET' || /reset/i.test(err.message) ? 'reset' : 'error'
  return { how, error: `${code} ${err.message}`.trim() }
}

function describeClose(c: CloseInfo): string {
  return c.error ? `${c.how}: ${c.error}` : c.how
}

// ---------------------------------------------------------------------------------------
// HTTP response parsing

export interface HttpResponse {
  version: string
  status: number
  reason: string
  statusLine: string
  /** Header fields in order, name case preserved. */
  headers: [string, string][]
  /** Raw bytes after the head (still chunk-encoded if chunked). */
  rawBody: Uint8Array
  /** De-chunked body when Transfer-Encoding is chunked and complete, else rawBody. */
  body: Uint8Array
  chunked: boolean
  /** The whole response as received. */
  raw: Uint8Array
  header(name: string): string | undefined
  headerAll(name: string): string[]
  bodyText(): string
}

const CRLFCRLF = Buffer.from('\r\n\r\n')
/** responseLength(): the response is delimited by the connection closing. */
export const UNTIL_CLOSE = -2

/** Splits status line, headers and body. Throws if the head is incomplete. */
export function parseHttpResponse(bytes: Uint8Array): HttpResponse {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const end = b.indexOf(CRLFCRLF)
  if (end < 0) throw new Error(`incomplete response head: ${JSON.stringify(b.toString('latin1').slice(0, 500))}`)
  const lines = b.toString('latin1', 0, end).split('\r\n')
  const statusLine = lines[0]!
  const m = /^(HTTP\/\d\.\d) (\d{1,3}) ?(.*)$/.exec(statusLine)
  if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`)
  const headers: [string, string][] = lines.slice(1).map((l) => {
    const i = l.indexOf(':')
    if (i < 0) throw new Error(`bad header line: ${JSON.stringify(l)}`)
    return [l.slice(0, i), l.slice(i + 1).trim()]
  })
  const find = (name: string) => headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v)
  const rawBody = bytes.slice(end + 4)
  const chunked = find('transfer-encoding').some((v) => /(^|,)\s*chunked\s*$/i.test(v))
  const dc = chunked ? dechunk(rawBody) : null
  const body = dc ? dc.body : rawBody
  return {
    version: m[1]!,
    status: Number(m[2]),
    reason: m[3]!,
    statusLine,
    headers,
    rawBody,
    body,
    chunked,
    raw: bytes.slice(),
    header: (name) => find(name)[0],
    headerAll: find,
    bodyText: () => new TextDecoder().decode(body),
  }
}

export interface Dechunked {
  body: Uint8Array
  /** Sizes of the data chunks, in order (the final 0 excluded). */
  chunkSizes: number[]
  trailers: [string, string][]
  /** Bytes of `bytes` that the chunked encoding used. */
  consumed: number
}

/** Decodes a chunked body; null if incomplete. Throws on malformed framing. */
export function dechunk(bytes: Uint8Array): Dechunked | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const parts: Uint8Array[] = []
  const chunkSizes: number[] = []
  let pos = 0
  for (;;) {
    const eol = b.indexOf('\r\n', pos)
    if (eol < 0) return null
    const sizeText = b.toString('latin1', pos, eol).split(';')[0]!.trim()
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) {
      throw new Error(`bad chunk size line ${JSON.stringify(b.toString('latin1', pos, eol))}`)
    }
    const size = parseInt(sizeText, 16)
    pos = eol + 2
    if (size === 0) break
    if (pos + size + 2 > b.length) return null
    if (b[pos + size] !== 13 || b[pos + size + 1] !== 10) throw new Error(`chunk of ${size} bytes not followed by CRLF`)
    parts.push(bytes.subarray(pos, pos + size))
    chunkSizes.push(size)
    pos += size + 2
  }
  const trailers: [string, string][] = []
  for (;;) {
    const eol = b.indexOf('\r\n', pos)
    if (eol < 0) return null
    const line = b.toString('latin1', pos, eol)
    pos = eol + 2
    if (line === '') break
    const i = line.indexOf(':')
    trailers.push([line.slice(0, i), line.slice(i + 1).trim()])
  }
  return { body: new Uint8Array(Buffer.concat(parts)), chunkSizes, trailers, consumed: pos }
}

/**
 * Byte length of the first complete response in `bytes`; -1 if more bytes are needed;
 * UNTIL_CLOSE if the head is complete and the body runs until the connection closes.
 * `head`: the request was HEAD (no body whatever the headers say).
 */
export function responseLength(bytes: Uint8Array, opts: { head?: boolean } = {}): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const end = b.indexOf(CRLFCRLF)
  if (end < 0) return -1
  const headLen = end + 4
  const r = parseHttpResponse(bytes.subarray(0, headLen))
  if (opts.head || (r.status >= 100 && r.status < 200) || r.status === 204 || r.status === 304) return headLen
  if (r.chunked) {
    const d = dechunk(bytes.subarray(headLen))
    return d ? headLen + d.consumed : -1
  }
  const cl = r.header('content-length')
  if (cl !== undefined) {
    const n = Number(cl)
    return b.length >= headLen + n ? headLen + n : -1
  }
  return UNTIL_CLOSE
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
