// The handler's diagnostics: a pluggable log function and a rate limit for the lines that an
// unruly gateway could trigger at line rate (malformed or unexpected packets).

/** Where the handler's log lines go; default: warn and error to console.error. */
export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void

/** Malformed-packet lines logged per window at most; the rest are counted and summarised. */
export const MALFORMED_LOG_LINES_PER_WINDOW = 10
export const MALFORMED_LOG_WINDOW_MS = 10_000

export const defaultLog: LogFn = (level, message) => {
  if (level === 'warn' || level === 'error') console.error(`[zgate/handler] ${level}: ${message}`)
}

/** Lets MALFORMED_LOG_LINES_PER_WINDOW lines through per window, then says how many it held. */
export class RateLimitedLog {
  private windowStart = 0
  private lines = 0
  private suppressed = 0

  constructor(private readonly log: LogFn) {}

  warn(now: number, message: string): void {
    if (now - this.windowStart >= MALFORMED_LOG_WINDOW_MS) {
      if (this.suppressed > 0) this.log('warn', `${this.suppressed} more such lines suppressed`)
      this.windowStart = now
      this.lines = 0
      this.suppressed = 0
    }
    if (this.lines < MALFORMED_LOG_LINES_PER_WINDOW) {
      this.lines++
      this.log('warn', message)
    } else {
      this.suppressed++
    }
  }
}
