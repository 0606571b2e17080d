// A worker's record of bad handler input: packets it drops and responses it refuses. Each is
// counted (stats.ts) and may be logged, but all their warnings share one rate limit
// (log-limiter.ts): a handler that sends thousands of bad packets a second gets a few lines
// and one summary per interval, never a line per packet. The summary is written from the
// housekeeping tick, which keeps running (`pending`) until it has been.

import { log, logEnabled, WARN } from '../log.ts'
import { LogLimiter } from '../log-limiter.ts'
import { INBOUND_MESSAGE_SIZE_MAX_BYTES } from '../limits.ts'
import { INVALID_REASONS } from '../http/response-check.ts'
import { stats, DROP_TOO_LARGE } from '../stats.ts'
import type { HandlerFaults } from './worker-context.ts'

export class HandlerFaultLog implements HandlerFaults {
  private readonly limiter: LogLimiter

  constructor(
    /** The worker's clock (its `now`, refreshed per event). */
    private readonly clock: { readonly now: number },
    intervalMs: number,
    /** Makes sure the housekeeping tick runs (it writes the summary line). */
    private readonly wakeTick: () => void,
  ) {
    this.limiter = new LogLimiter(WARN, 'zgate::server', 'bad handler packets', intervalMs)
  }

  warnAllowed(level: number): boolean {
    if (!logEnabled(level)) return false
    if (this.limiter.allow(this.clock.now)) return true
    this.wakeTick()
    return false
  }

  tooLarge(n: number): void {
    if (n <= 0) return
    // Received from a handler, so counted in; never read, so dropped.
    stats.handlerPacketsIn += n
    stats.handlerPacketsDropped[DROP_TOO_LARGE] += n
    for (let i = 0; i < n; i++) {
      if (this.warnAllowed(WARN)) log(WARN, 'zgate::server', `handler packet over ${INBOUND_MESSAGE_SIZE_MAX_BYTES} bytes dropped`)
    }
  }

  invalidResponse(reason: number, outcome: string): void {
    stats.handlerResponsesInvalid[reason]++
    if (this.warnAllowed(WARN)) log(WARN, 'zgate::server', `invalid handler response (${INVALID_REASONS[reason]}): ${outcome}`)
  }

  /** Some warnings wait for their summary line: the tick must keep running. */
  get pending(): boolean {
    return this.limiter.pending
  }

  /** From the housekeeping tick: the summary line once an interval is over. */
  flush(now: number): void {
    this.limiter.flush(now)
  }
}
