// Event-loop lag as the housekeeping tick sees it (`zgate_event_loop_lag_seconds`): how much
// later than its period a tick ran, the worst over a window. The tick waits behind the same
// JS thread as every socket and ZeroMQ callback, so a tick that runs 50 ms late means other
// work queued at that moment waited about as long. Four numbers per worker, nothing allocated.
//
// The tick stops while no connection is open (housekeeping.ts); then nothing can wait, the gauge is
// 0, and the first tick after a restart has no earlier tick to be late against.

/** The gauge is the worst lag of the current window and the one before it, so 10–20 s back. */
export const LOOP_LAG_WINDOW_MS = 10_000

export class LoopLag {
  private lastTickAt = -1
  private windowStart = 0
  private windowMax = 0
  private previousMax = 0

  constructor(private readonly periodMs: number) {}

  /** The tick (re)starts at `now`. */
  start(now: number): void {
    this.lastTickAt = now
    this.windowStart = now
  }

  /** A tick runs at `now`; returns the gauge in seconds. */
  tick(now: number): number {
    if (this.lastTickAt >= 0) {
      const late = now - this.lastTickAt - this.periodMs
      if (late > this.windowMax) this.windowMax = late
    }
    this.lastTickAt = now
    if (now - this.windowStart >= LOOP_LAG_WINDOW_MS) {
      // A gap of two windows or more (a long stall) still reports its own lateness, which
      // this very tick measured.
      this.previousMax = this.windowMax
      this.windowMax = 0
      this.windowStart = now
    }
    return Math.max(this.windowMax, this.previousMax) / 1000
  }

  /** The tick stops (no connection open); returns the gauge, 0. */
  stop(): number {
    this.lastTickAt = -1
    this.windowMax = 0
    this.previousMax = 0
    return 0
  }
}
