// Start-up and shutdown of `zgate serve` (zhttp.md 4.12, 7.4, 7.5): log `starting...`, bind the
// ZeroMQ sockets, the listeners and the --stats endpoint (any failure: one `[ERR]` line, exit
// 1), log `started`. On SIGINT/SIGTERM/SIGQUIT log `stopping...` and stop accepting; requests
// in flight get up to --shutdown-timeout seconds to finish (idle connections close at once,
// WebSocket sessions get 1001); then the rest are cancelled (batched per handler) and closed,
// the ipc and unix socket files zgate bound are removed, `stopped` is logged, exit 0.
// A second signal during shutdown exits at once with status 1.

import type { Config, ListenSpec } from './config.ts'
import { MODE_REQ } from './config.ts'
import { log, setLogLevel, ERROR, INFO } from './log.ts'
import { Server } from './conn/server.ts'
import { UnixSocketSetupError } from './conn/unix-socket.ts'
import { TlsSetupError } from './tls/identities.ts'
import { SpecsError } from './zhttp/endpoints.ts'
import { SHUTDOWN_GRACE_MS } from './limits.ts'
import { StatsServer } from './stats-server.ts'
import { startSummaryLog } from './stats.ts'
import type { Stats } from './stats.ts'
import { StatsCollector } from './stats-collector.ts'
import { startupErrorText } from './startup-errors.ts'
import { ZmqLoadError } from './zmq/errors.ts'
import { idNonce } from './zhttp/session-id.ts'

/** Shutdown polls the connections (grace) and the outboxes (cancels) this often. */
const SHUTDOWN_POLL_MS = 20

function bindErrorText(err: unknown, host: string, port: number): string {
  const e = err as { code?: string; message?: string }
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  if (e.code === 'EADDRINUSE') return `failed to bind ${where}: Address already in use (os error 98)`
  if (e.code === 'EACCES') return `failed to bind ${where}: Permission denied (os error 13)`
  if (e.code === 'EADDRNOTAVAIL') {
    return `failed to bind ${where}: Cannot assign requested address (os error 99)`
  }
  return `failed to bind ${where}: ${e.message ?? String(err)}`
}

function listenErrorText(err: unknown, l: Config['listen'][number]): string {
  if (err instanceof UnixSocketSetupError) return `failed to set up ${l.path}: ${err.message}`
  if (err instanceof TlsSetupError) return err.message
  return l.path !== '' ? `failed to bind ${l.path}: ${(err as Error).message}` : bindErrorText(err, l.host, l.port)
}

/**
 * The entry of workers 1..N-1, relative to this file. A compiled zgate (scripts/build.ts)
 * embeds it as a second entry point, at the same place relative to the main module (both
 * builds keep src/ as the root), so this one URL works from source and from dist/zgate.
 */
export const WORKER_ENTRY = './conn/worker-thread.ts'

/** Workers 1..N-1 (worker-thread.ts) and how many have finished their shutdown. */
interface OtherWorkers {
  threads: Worker[]
  /** Workers with nothing in flight during the shutdown grace. */
  idle: number
  stopped: number
  closed: number
}

/**
 * Starts workers 1..N-1 on the TCP stream listeners worker 0 bound (same ports: SO_REUSEPORT;
 * unix and req listeners stay with worker 0). `started` runs once all are listening.
 */
function startWorkers(cfg: Config, server: Server, capacity: number, others: OtherWorkers, collector: StatsCollector, started: () => void): void {
  if (cfg.workerLoops === 1) {
    started()
    return
  }
  const ports = server.boundPorts
  const listen: ListenSpec[] = []
  cfg.listen.forEach((l, i) => {
    if (l.path === '' && l.mode !== MODE_REQ) listen.push({ ...l, port: ports[i] })
  })
  let ready = 0
  for (let w = 1; w < cfg.workerLoops; w++) {
    const t = new Worker(new URL(WORKER_ENTRY, import.meta.url).href)
    const index = w - 1
    t.onmessage = (e: MessageEvent<{ kind: string; text?: string; seq?: number; stats?: Stats }>): void => {
      const m = e.data
      if (m.kind === 'stats') collector.onReply(index, m.seq ?? 0, m.stats as Stats)
      else if (m.kind === 'ready' && ++ready === cfg.workerLoops - 1) started()
      else if (m.kind === 'idle') others.idle++
      else if (m.kind === 'stopped') others.stopped++
      else if (m.kind === 'closed') others.closed++
      else if (m.kind === 'error') {
        log(ERROR, 'zgate', `worker ${w} failed to start: ${m.text ?? ''}`)
        server.close(false)
        process.exit(1)
      }
    }
    // An exception escaping a worker's event loop ends that thread; say so (its clients drop).
    t.onerror = (e: ErrorEvent): void => log(ERROR, 'zgate', `worker ${w} failed: ${e.message}`)
    t.postMessage({ kind: 'start', cfg, worker: w, capacity, ctx: server.contextPointer, listen, nonce: idNonce() })
    others.threads.push(t)
  }
}

export function serve(cfg: Config): void {
  setLogLevel(cfg.logLevel)
  log(INFO, 'zgate', 'starting...')
  let server: Server
  // Condure's division of the limits between workers (zhttp.md 4.1); config checks >= workers.
  const capacity = Math.floor(cfg.streamMaxconn / cfg.workerLoops)
  try {
    server = new Server(cfg, 0, capacity)
  } catch (err) {
    // No libzmq is not a bad spec: say what failed and what to do (startup-errors.ts).
    if (err instanceof ZmqLoadError) log(ERROR, 'zgate', startupErrorText(err))
    else {
      const kind = err instanceof SpecsError ? err.kind : 'stream'
      log(ERROR, 'zgate', `failed to set zhttp client ${kind} specs: ${(err as Error).message}`)
    }
    process.exit(1)
  }
  for (const l of cfg.listen) {
    try {
      server.listen(l)
    } catch (err) {
      log(ERROR, 'zgate', listenErrorText(err, l))
      server.close()
      process.exit(1)
    }
  }
  const others: OtherWorkers = { threads: [], idle: 0, stopped: 0, closed: 0 }
  const collector = new StatsCollector(others.threads)
  const collect = () => collector.collect()
  let statsServer: StatsServer | null = null
  if (cfg.stats !== null) {
    const ep = cfg.stats
    try {
      statsServer = new StatsServer(ep, collect)
    } catch (err) {
      log(ERROR, 'zgate', ep.path !== '' ? `failed to bind stats ${ep.path}: ${(err as Error).message}` : `stats: ${bindErrorText(err, ep.host, ep.port)}`)
      server.close()
      process.exit(1)
    }
    log(INFO, 'zgate::stats', `stats on ${statsServer.where()}`)
  }
  const summary = startSummaryLog(cfg.statsSummaryMs, collect)
  startWorkers(cfg, server, capacity, others, collector, () => {
    log(INFO, 'zgate', 'started')
  })

  let stopping = false
  /** Cancels what is left in every worker, drains (bounded), releases everything, exits 0. */
  const finish = (): void => {
    for (const w of others.threads) w.postMessage({ kind: 'stop' })
    server.shutdown()
    const deadline = performance.now() + SHUTDOWN_GRACE_MS
    let closing = false
    const drain = (): void => {
      // The other workers' cancels pass through worker 0's relay (worker-relay.ts). Once all
      // have queued theirs, one more pump takes what is left in the inproc pipes, and only
      // then may they close their sockets (a closed inproc socket drops what it queued).
      if (server.relay !== null) server.relay.pump()
      const n = others.threads.length
      if (!closing && others.stopped === n) {
        closing = true
        for (const w of others.threads) w.postMessage({ kind: 'close' })
      }
      if ((others.closed < n || !server.stream.flush()) && performance.now() < deadline) {
        setTimeout(drain, SHUTDOWN_POLL_MS)
        return
      }
      // zmq_ctx_term waits for every socket of every thread: skip it if a worker is stuck.
      server.close(others.closed === n)
      if (statsServer !== null) statsServer.close()
      log(INFO, 'zgate', 'stopped')
      process.exit(0)
    }
    setTimeout(drain, SHUTDOWN_POLL_MS)
  }
  const stop = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    log(INFO, 'zgate', 'stopping...')
    if (summary !== null) clearInterval(summary)
    const graceMs = cfg.shutdownTimeoutS * 1000
    if (graceMs === 0) {
      finish() // Condure's behaviour: cancel everything now
      return
    }
    // Every worker stops accepting and lets its requests in flight finish; each other worker
    // says `idle` once it has none left.
    server.beginShutdown()
    for (const w of others.threads) w.postMessage({ kind: 'begin' })
    const graceEnd = performance.now() + graceMs
    const waitGrace = (): void => {
      const busy = server.inFlight() || others.idle < others.threads.length
      if (busy && performance.now() < graceEnd) {
        setTimeout(waitGrace, SHUTDOWN_POLL_MS)
        return
      }
      finish()
    }
    waitGrace()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  process.on('SIGQUIT', stop)
}
