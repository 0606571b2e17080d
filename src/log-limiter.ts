// A rate limit for log lines about one kind of repeated event (bad handler packets: one
// misbehaving handler can send thousands a second, and one line each would bury every other
// line and cost a write per packet). Within each interval the first LOG_BURST_LINES_MAX events
// are logged as they come; the rest are only counted, and when the interval ends one summary
// line says how many were left out:
//   `and 7085 more bad handler packets in the last 10 s`
//
// Invariants:
// - An interval opens at the first event after a quiet period and lasts `intervalMs`; the
//   next event after it opens a new one.
// - allow() allocates nothing (a comparison and an increment): the caller builds its message
//   only when allow() said yes.
// - No timer of its own: the owner's housekeeping tick calls flush(now), which writes the
//   summary once the interval is over; allow() writes it too if an event comes first. While
//   `pending` is true the owner must keep ticking.

import { log } from './log.ts'

/** Lines logged per interval before the rest are only counted. */
export const LOG_BURST_LINES_MAX = 10
/** Length of one interval (a summary line at most once per interval). */
export const LOG_LIMIT_INTERVAL_MS = 10_000

const MS_PER_S = 1000

export class LogLimiter {
  /** Start of the open interval; -1 while none is open. */
  private openedAt = -1
  private logged = 0
  /** Events counted but not logged in the open interval. */
  private suppressed = 0

  constructor(
    readonly level: number,
    readonly target: string,
    /** Plural noun phrase for the summary line, e.g. `bad handler packets`. */
    readonly what: string,
    readonly intervalMs = LOG_LIMIT_INTERVAL_MS,
    readonly linesMax = LOG_BURST_LINES_MAX,
  ) {}

  /** True when the caller should log this event now; false when it was only counted. */
  allow(now: number): boolean {
    if (this.openedAt >= 0 && now - this.openedAt >= this.intervalMs) this.flush(now)
    if (this.openedAt < 0) {
      this.openedAt = now
      this.logged = 0
    }
    if (this.logged < this.linesMax) {
      this.logged++
      return true
    }
    this.suppressed++
    return false
  }

  /** Some events wait for their summary line: the owner must keep calling flush(). */
  get pending(): boolean {
    return this.suppressed > 0
  }

  /** Closes the interval once it is over, with its summary line when events were left out. */
  flush(now: number): void {
    if (this.openedAt < 0 || now - this.openedAt < this.intervalMs) return
    if (this.suppressed > 0) {
      log(this.level, this.target, `and ${this.suppressed} more ${this.what} in the last ${this.intervalMs / MS_PER_S} s`)
    }
    this.openedAt = -1
    this.suppressed = 0
  }
}
