// Start-up and shutdown of `zgate serve` (zhttp.md 4.12, 7.4, 7.5): log `starting...`, bind the
// ZeroMQ sockets and the listeners (any failure: one `[ERR]` line, exit 1), log `started`;
// on SIGINT/SIGTERM/SIGQUIT log `stopping...`, stop accepting, cancel live sessions, close
// everything, remove the ipc and unix socket files zgate bound, log `stopped`, exit 0.
// A second signal during shutdown exits at once with status 1.

import type { Config } from './config.ts'
import { log, setLogLevel, ERROR, INFO } from './log.ts'
import { Server } from './conn/server.ts'
import { SpecsError } from './zhttp/endpoints.ts'
import { SHUTDOWN_GRACE_MS } from './limits.ts'

/** Shutdown polls the outboxes this often while cancels drain. */
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
      const text = l.path !== '' ? `failed to bind ${l.path}: ${(err as Error).message}` : bindErrorText(err, l.host, l.port)
      log(ERROR, 'zgate', text)
      server.close()
      process.exit(1)
    }
  }
  log(INFO, 'zgate', 'started')

  let stopping = false
  const stop = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    log(INFO, 'zgate', 'stopping...')
    server.shutdown()
    const deadline = performance.now() + SHUTDOWN_GRACE_MS
    const finish = (): void => {
      if (!server.stream.flush() && performance.now() < deadline) {
        setTimeout(finish, SHUTDOWN_POLL_MS)
        return
      }
      server.close()
      log(INFO, 'zgate', 'stopped')
      process.exit(0)
    }
    setTimeout(finish, SHUTDOWN_POLL_MS)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  process.on('SIGQUIT', stop)
}
