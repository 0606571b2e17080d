// The `--stats` endpoint: Prometheus text format (version 0.0.4) of every worker's counters
// (stats.ts, summed by stats-collector.ts) at `GET /metrics`, on a TCP address or a unix socket. It is a separate Bun.serve
// server with its own handler, so the client listeners' code paths never see its requests.

import type { Server as BunServer } from 'bun'
import { unlinkSync } from 'node:fs'
import type { StatsEndpoint } from './config.ts'
import { prometheusText } from './stats.ts'
import type { Stats } from './stats.ts'

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export class StatsServer {
  private readonly server: BunServer<undefined>

  /** `collect`: every worker's counters summed (stats-collector.ts). */
  constructor(
    private readonly ep: StatsEndpoint,
    collect: () => Promise<Stats>,
  ) {
    const fetch = async (req: Request): Promise<Response> => {
      const url = new URL(req.url)
      if (url.pathname !== '/metrics') return new Response('not found\n', { status: 404 })
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return new Response('method not allowed\n', { status: 405, headers: { Allow: 'GET, HEAD' } })
      }
      return new Response(prometheusText(await collect()), { headers: { 'Content-Type': CONTENT_TYPE } })
    }
    if (ep.path !== '') {
      try {
        unlinkSync(ep.path) // a stale socket file from an earlier run, as for `local` listeners
      } catch {
        // none there
      }
      this.server = Bun.serve({ unix: ep.path, fetch })
    } else {
      this.server = Bun.serve({ hostname: ep.host, port: ep.port, fetch, reusePort: false })
    }
  }

  /** The bound address for the log line. */
  where(): string {
    if (this.ep.path !== '') return `"${this.ep.path}" (pathname)`
    const h = this.ep.host.includes(':') ? `[${this.ep.host}]` : this.ep.host
    return `${h}:${this.server.port}`
  }

  close(): void {
    this.server.stop(true)
    if (this.ep.path !== '') {
      try {
        unlinkSync(this.ep.path)
      } catch {
        // already gone
      }
    }
  }
}
