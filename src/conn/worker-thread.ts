// Entry of workers 1..N-1 of `--workers N` (zhttp.md 4.1): one Bun Worker thread per worker,
// each an event loop of its own with its own slots, timers and keep-alives. It shares worker
// 0's libzmq context (its sockets are its own: only this thread touches them) and listens on
// the same TCP ports with SO_REUSEPORT. Messages with worker 0 (the main thread):
//   in:  { kind: 'start', cfg, worker, capacity, ctx, listen, nonce }, { kind: 'begin' } (shutdown grace:
//        stop accepting, finish what is in flight), { kind: 'stop' }, { kind: 'close' },
//        { kind: 'stats', seq } (a --stats scrape)
//   out: { kind: 'ready' } | { kind: 'error', text } | { kind: 'idle' } (nothing in flight)
//        | { kind: 'stats', seq, stats } (this worker's counters, stats.ts)
//        | { kind: 'stopped' } (cancels queued)
//        | { kind: 'closed' } (sockets closed: worker 0 may terminate the context)

import type { Config, ListenSpec } from '../config.ts'
import { setLogLevel } from '../log.ts'
import { stats } from '../stats.ts'
import { SHUTDOWN_GRACE_MS } from '../limits.ts'
import { Server } from './server.ts'
import { setIdNonce } from '../zhttp/session-id.ts'

/** How often a stopping worker retries sending its cancels. */
const STOP_POLL_MS = 20

export interface WorkerStart {
  kind: 'start'
  cfg: Config
  worker: number
  capacity: number
  ctx: number
  listen: ListenSpec[]
  /** Worker 0's session-id nonce: one per process (src/zhttp/session-id.ts). */
  nonce: string
}

declare const self: Worker

let server: Server | null = null

function stop(): void {
  const s = server
  if (s === null) {
    postMessage({ kind: 'stopped' })
    return
  }
  s.shutdown()
  const deadline = performance.now() + SHUTDOWN_GRACE_MS
  const finish = (): void => {
    if (!s.stream.flush() && performance.now() < deadline) {
      setTimeout(finish, STOP_POLL_MS)
      return
    }
    // Sockets stay open: worker 0 still reads what they queued, then ends the process.
    postMessage({ kind: 'stopped' })
  }
  setTimeout(finish, STOP_POLL_MS)
}

/** The shutdown grace (app.ts): stop accepting, report `idle` once nothing is in flight. */
function begin(): void {
  const s = server
  if (s !== null) s.beginShutdown()
  const poll = (): void => {
    if (s !== null && s.inFlight()) {
      setTimeout(poll, STOP_POLL_MS)
      return
    }
    postMessage({ kind: 'idle' })
  }
  poll()
}

self.onmessage = (
  e: MessageEvent<WorkerStart | { kind: 'begin' } | { kind: 'stop' } | { kind: 'close' } | { kind: 'stats'; seq: number }>,
): void => {
  const m = e.data
  if (m.kind === 'stats') {
    postMessage({ kind: 'stats', seq: m.seq, stats })
    return
  }
  if (m.kind === 'begin') {
    begin()
    return
  }
  if (m.kind === 'stop') {
    stop()
    return
  }
  if (m.kind === 'close') {
    if (server !== null) server.close()
    postMessage({ kind: 'closed' })
    return
  }
  try {
    setLogLevel(m.cfg.logLevel)
    setIdNonce(m.nonce)
    server = new Server(m.cfg, m.worker, m.capacity, m.ctx)
    for (const l of m.listen) server.listen(l)
    postMessage({ kind: 'ready' })
  } catch (err) {
    postMessage({ kind: 'error', text: (err as Error).message })
  }
}
