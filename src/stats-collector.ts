// Every worker's counters summed, for --stats and the debug summary line (issue 5 parts 3 and
// 6): worker 0's own `stats` plus a snapshot asked of each other worker, which answers
// `{ kind: 'stats', seq, stats }` (worker-thread.ts). A worker that does not answer within
// STATS_COLLECT_TIMEOUT_MS is left out of that sum rather than holding the scrape.

import { addStats, Stats, stats } from './stats.ts'

/** How long a scrape waits for the other workers' snapshots. */
const STATS_COLLECT_TIMEOUT_MS = 500

interface Pending {
  sum: Stats
  left: number
  done: (s: Stats) => void
  timer: ReturnType<typeof setTimeout>
}

export class StatsCollector {
  private seq = 0
  private readonly pending = new Map<number, Pending>()

  /** `threads`: workers 1..N-1, filled in as they start (the array is read at each collect). */
  constructor(private readonly threads: readonly Worker[]) {}

  /** The sum over all workers (worker 0's counters alone without other workers). */
  collect(): Promise<Stats> {
    const sum = new Stats()
    addStats(sum, stats)
    if (this.threads.length === 0) return Promise.resolve(sum)
    const seq = ++this.seq
    return new Promise((resolve) => {
      const done = (s: Stats): void => {
        clearTimeout(p.timer)
        this.pending.delete(seq)
        resolve(s)
      }
      const p: Pending = { sum, left: this.threads.length, done, timer: setTimeout(() => done(sum), STATS_COLLECT_TIMEOUT_MS) }
      this.pending.set(seq, p)
      for (const t of this.threads) t.postMessage({ kind: 'stats', seq })
    })
  }

  /** A worker's answer to collect() number `seq`. */
  onReply(seq: number, snapshot: Stats): void {
    const p = this.pending.get(seq)
    if (p === undefined) return // late: that scrape has been answered already
    addStats(p.sum, snapshot)
    if (--p.left === 0) p.done(p.sum)
  }
}
