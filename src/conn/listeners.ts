// A worker's client listeners (zhttp.md 4.1, 7.3): Bun.listen on TCP or unix sockets, plain or
// TLS, with one socket handler object per listener (no per-connection closures). Accepted
// sockets go to the worker's Acceptor; their events go to the connection stored in `s.data`.
// This is the only code that calls Bun.listen for clients and the only code that wires TLS
// (through tls/identities.ts, which owns Bun's TLS hooks).

import type { SocketHandler, TCPSocketListener, TCPSocketListenOptions, TLSOptions, UnixSocketListener } from 'bun'
import { unlinkSync } from 'node:fs'
import type { Config, ListenSpec } from '../config.ts'
import { MODE_REQ } from '../config.ts'
import { log, logEnabled, DEBUG, INFO, WARN } from '../log.ts'
import { stats } from '../stats.ts'
import { TlsIdentities, listenerTls } from '../tls/identities.ts'
import type { NativeContext } from '../tls/identities.ts'
import type { ClientIo, ClientSocket } from './client-io.ts'
import { applyOwnership } from './unix-socket.ts'

/** Where accepted sockets go; `now` is refreshed before each connection event. */
export interface Acceptor {
  now: number
  /** A new client on a stream (`req` false) or req listener; sets s.data or closes s. */
  accept(s: ClientSocket, req: boolean, secure: boolean): void
}

/** Bun's socket handler, with the SNI hook of TLS listeners (tls/identities.ts). */
type ClientHandler = SocketHandler<ClientIo | null> & {
  serverName?: (data: unknown, name: string) => NativeContext | undefined
}

type Listener = TCPSocketListener<ClientIo | null> | UnixSocketListener<ClientIo | null>

export class Listeners {
  /** Unix socket files bound, removed at exit. */
  readonly unixPaths: string[] = []
  private readonly list: Listener[] = []
  /** Certificates of the `tls` listeners, made by the first one (zhttp.md 7.3). */
  private tlsIds: TlsIdentities | null = null

  constructor(
    private readonly cfg: Config,
    private readonly worker: number,
    private readonly acceptor: Acceptor,
  ) {}

  /** Actual ports of the TCP listeners, in listen order (port 0 binds an ephemeral one). */
  get boundPorts(): number[] {
    return this.list.map((l) => ('port' in l ? l.port : 0))
  }

  /** Stops accepting; open connections are not touched. */
  stop(): void {
    for (const l of this.list) l.stop(false)
  }

  listen(spec: ListenSpec): void {
    const handler = this.handlerFor(spec)
    let tls: TLSOptions | undefined
    if (spec.tls) {
      const t = listenerTls(this.tlsIdentities(), spec.defaultCert)
      tls = t.tls
      handler.serverName = t.serverName
      // With a handshake handler Bun calls `open` at accept, before the handshake, so a
      // client that never completes one still meets the session timer.
      handler.handshake = onHandshake
    }
    if (spec.path !== '') {
      try {
        unlinkSync(spec.path)
      } catch {
        // no stale socket file
      }
      this.list.push(Bun.listen<ClientIo | null>({ unix: spec.path, socket: handler, data: null, allowHalfOpen: true, tls }))
      this.unixPaths.push(spec.path)
      applyOwnership(spec)
      log(INFO, 'zgate::server', `listening on "${spec.path}" (pathname)`)
      return
    }
    const shared = this.cfg.workerLoops > 1 && spec.mode !== MODE_REQ
    // bun-types 1.x declares reusePort on connect options only; Bun.listen honours it.
    const opts: TCPSocketListenOptions<ClientIo | null> & { reusePort: boolean } = {
      hostname: spec.host,
      port: spec.port,
      // With --workers N every worker binds the same stream port (SO_REUSEPORT) and the
      // kernel spreads new connections over them (zhttp.md 4.1); req ports are worker 0's.
      exclusive: !shared,
      reusePort: shared,
      // zgate decides what a client's EOF means (connection.onClientEnd), not Bun.
      allowHalfOpen: true,
      socket: handler,
      data: null,
      tls,
    }
    const l = Bun.listen<ClientIo | null>(opts)
    this.list.push(l)
    const shown = spec.host.includes(':') ? `[${spec.host}]` : spec.host
    log(INFO, 'zgate::server', `listening on ${shown}:${l.port}`)
  }

  /** The socket handler of one listener: events go to the connection in `s.data`. */
  private handlerFor(spec: ListenSpec): ClientHandler {
    const acceptor = this.acceptor
    const req = spec.mode === MODE_REQ
    const mode = spec.mode
    const secure = spec.tls
    return {
      binaryType: 'uint8array',
      open(s: ClientSocket): void {
        stats.connectionsAccepted++
        acceptor.now = performance.now()
        acceptor.accept(s, req, secure)
        if (s.data !== null) stats.connectionsOpen[mode]++
      },
      data(s: ClientSocket, chunk: Uint8Array): void {
        const c = s.data
        if (c === null) return
        stats.bytesIn += chunk.length
        acceptor.now = performance.now()
        c.onData(chunk)
      },
      drain(s: ClientSocket): void {
        const c = s.data
        if (c !== null) c.onDrain()
      },
      close(s: ClientSocket): void {
        const c = s.data
        if (c === null) return
        s.data = null
        stats.connectionsOpen[mode]--
        acceptor.now = performance.now()
        c.onSocketClose()
      },
      end(s: ClientSocket): void {
        const c = s.data
        if (c !== null) c.onClientEnd()
      },
      error(_s: ClientSocket, err: Error): void {
        if (logEnabled(DEBUG)) log(DEBUG, 'zgate::server', `client socket error: ${err.message}`)
      },
    }
  }

  /**
   * This worker's TLS identities, loaded and checked on first use (a bad certificate stops
   * start-up with TlsSetupError, zhttp.md 7.3).
   */
  private tlsIdentities(): TlsIdentities {
    if (this.tlsIds !== null) return this.tlsIds
    const ids = new TlsIdentities(this.cfg.tlsIdentitiesDir)
    const defaults = this.cfg.listen.filter((l) => l.tls && l.defaultCert !== '').map((l) => l.defaultCert)
    const n = ids.preload(defaults)
    if (this.worker === 0) {
      if (n === 0) log(WARN, 'zgate::tls', `no tls identities in ${ids.dir}: handshakes fail until some are added`)
      else log(INFO, 'zgate::tls', `tls identities: ${n} loaded from ${ids.dir}`)
    }
    this.tlsIds = ids
    return ids
  }
}

/** A failed TLS handshake (Bun closes the socket next); counted and logged at debug level. */
function onHandshake(s: ClientSocket, ok: boolean, err: Error | null): void {
  if (ok) return
  stats.tlsHandshakeFailures++
  if (logEnabled(DEBUG)) {
    log(DEBUG, 'zgate::server', `tls handshake failed (sni ${s.getServername() || 'none'}): ${err === null ? 'unknown' : err.message}`)
  }
}
