// Handing requests to the application: the callback form (errors answered, logged, counted;
// a returned web Response sent) or the queue behind async iteration (bounded: past it the
// handler answers 503 itself).

import { HandlerError } from './errors.ts'
import type { LogFn } from './log.ts'
import { PENDING_REQUESTS_MAX } from './options.ts'
import { RESOLVED, type Request } from './request.ts'
import { reasonPhrase } from './response.ts'

const TEXT_PLAIN: [string, string][] = [['Content-Type', 'text/plain']]

export class Delivery {
  private readonly pending: Request[] = []
  private head = 0
  private waiter: ((r: Request | null) => void) | null = null
  private ended = false
  /** Application errors so far. */
  appErrors = 0

  constructor(
    private readonly onRequest: ((req: Request) => unknown) | undefined,
    private readonly log: LogFn,
  ) {}

  deliver(req: Request): void {
    if (this.onRequest !== undefined) {
      let r: unknown
      try {
        r = this.onRequest(req)
      } catch (err) {
        this.appError(req, err)
        return
      }
      // respond()'s settled promise needs no reaction (the common case: no closures per request).
      if (r === RESOLVED || r === undefined) return
      if (r instanceof Promise) r.then((v) => this.result(req, v), (err) => this.appError(req, err))
      else this.result(req, r)
      return
    }
    const w = this.waiter
    if (w !== null) {
      this.waiter = null
      w(req)
      return
    }
    if (this.pending.length - this.head >= PENDING_REQUESTS_MAX) {
      req.respond(503, TEXT_PLAIN, 'Service Unavailable\n').catch(() => {})
      return
    }
    this.pending.push(req)
  }

  private result(req: Request, v: unknown): void {
    if (typeof Response !== 'undefined' && v instanceof Response && !req.responded) {
      req.send(v).catch((err) => this.appError(req, err))
    }
  }

  /** An exception escaped application code: answer it (500 or the error's status), log it. */
  appError(req: Request, err: unknown): void {
    this.appErrors++
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err)
    this.log('error', `request ${req.method} ${req.uri} (${req.id}) failed: ${text}`)
    const s = req.session
    if (s.ended) return
    if (!req.responded) {
      const status = err instanceof HandlerError ? err.status : 500
      req.respond(status, TEXT_PLAIN, `${reasonPhrase(status)}\n`).catch(() => {})
    } else {
      s.cancel('application-error')
    }
  }

  /** The next queued request, or null once ended. */
  next(): Promise<Request | null> {
    if (this.head < this.pending.length) {
      const r = this.pending[this.head++]
      if (this.head === this.pending.length) {
        this.pending.length = 0
        this.head = 0
      }
      return Promise.resolve(r)
    }
    if (this.ended) return Promise.resolve(null)
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }

  /** No more requests: a waiting iterator ends. */
  end(): void {
    this.ended = true
    const w = this.waiter
    this.waiter = null
    if (w !== null) w(null)
  }
}
