// Start-up and shutdown of `zgate serve` (zhttp.md 4.12, 7.4, 7.5): log `starting...`, bind the
// ZeroMQ sockets, the listeners and the --stats endpoint (any failure: one `[ERR]` line, exit
// 1), log `started`. On SIGINT/SIGTERM/SIGQUIT log `stopping...` and stop accepting; requests
// in flight get up to --shutdown-timeout seconds to finish (idle connections close at once,
// WebSocket sessions get 1001); then the rest are cancelled (batched per handler) and closed,
// the ipc and unix socket files zgate bound are removed, `stopped` is logged, exit 0.
// A second signal during shutdown exits at once with status 1.

import type { Config } from './config.ts'
import { log, setLogLevel, ERROR, INFO } from './log.ts'
import { Server } from './conn/server.ts'
import { UnixSocketSetupError } from './conn/unix-socket.ts'
import { SpecsError } from './zhttp/endpoints.ts'
import { SHUTDOWN_GRACE_MS } from './limits.ts'
import { StatsServer } from './stats-server.ts'
import { startSummaryLog } from './stats.ts'

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
  return l.path !== '' ? `failed to bind ${l.path}: ${(err as Error).message}` : bindErrorText(err, l.host, l.port)
}

export function serve(cfg: Config): void {
  setLogLevel(cfg.logLevel)
  log(INFO, 'zgate', 'starting...')
  let server: Server
  try {
    server = new Server(cfg, 0)
  } catch (err) {
    const kind = err instanceof SpecsError ? err.kind : 'stream'
    log(ERROR, 'zgate', `failed to set zhttp client ${kind} specs: ${(err as Error).message}`)
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
  let statsServer: StatsServer | null = null
  if (cfg.stats !== null) {
    const ep = cfg.stats
    try {
      statsServer = new StatsServer(ep)
    } catch (err) {
      log(ERROR, 'zgate', ep.path !== '' ? `failed to bind stats ${ep.path}: ${(err as Error).message}` : `stats: ${bindErrorText(err, ep.host, ep.port)}`)
      server.close()
      process.exit(1)
    }
    log(INFO, 'zgate::stats', `stats on ${statsServer.where()}`)
  }
  const summary = startSummaryLog(cfg.statsSummaryMs)
  log(INFO, 'zgate', 'started')

  let stopping = false
  /** Cancels what is left, drains the outboxes (bounded), releases everything, exits 0. */
  const finish = (): void => {
    server.shutdown()
    const deadline = performance.now() + SHUTDOWN_GRACE_MS
    const drain = (): void => {
      if (!server.stream.flush() && performance.now() < deadline) {
        setTimeout(drain, SHUTDOWN_POLL_MS)
        return
      }
      server.close()
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
    server.beginShutdown()
    const graceEnd = performance.now() + graceMs
    const waitGrace = (): void => {
      if (server.inFlight() && performance.now() < graceEnd) {
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
