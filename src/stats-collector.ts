// Every worker's counters summed, for --stats and the debug summary line (issue 5 parts 3 and
// 6): worker 0's own `stats` plus a snapshot asked of each other worker, which answers
// `{ kind: 'stats', seq, stats }` (worker-thread.ts). A worker that does not answer within
// STATS_COLLECT_TIMEOUT_MS (busy, or dead) counts with its last snapshot, so that no `_total`
// ever goes down between scrapes (Prometheus would read a counter reset).

import { addStats, Stats, stats } from './stats.ts'

/** How long a scrape waits for the other workers' snapshots. */
const STATS_COLLECT_TIMEOUT_MS = 500

interface Pending {
  left: number
  done: () => void
}

export class StatsCollector {
  private seq = 0
  private readonly pending = new Map<number, Pending>()
  /** The latest snapshot of each other worker, by its index in `threads`. */
  private readonly latest: Array<Stats | undefined> = []

  /** `threads`: workers 1..N-1, filled in as they start (the array is read at each collect). */
  constructor(private readonly threads: readonly Worker[]) {}

  /** The sum over all workers (worker 0's counters alone without other workers). */
  collect(): Promise<Stats> {
    if (this.threads.length === 0) return Promise.resolve(this.sum())
    const seq = ++this.seq
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), STATS_COLLECT_TIMEOUT_MS)
      const finish = (): void => {
        clearTimeout(timer)
        this.pending.delete(seq)
        resolve(this.sum())
      }
      this.pending.set(seq, { left: this.threads.length, done: finish })
      for (const t of this.threads) t.postMessage({ kind: 'stats', seq })
    })
  }

  /** Worker `index`'s answer to collect() number `seq` (a late one still updates `latest`). */
  onReply(index: number, seq: number, snapshot: Stats): void {
    this.latest[index] = snapshot
    const p = this.pending.get(seq)
    if (p !== undefined && --p.left === 0) p.done()
  }

  private sum(): Stats {
    const s = new Stats()
    addStats(s, stats)
    for (const w of this.latest) if (w !== undefined) addStats(s, w)
    return s
  }
}
