// StatsCollector (src/stats-collector.ts): the other workers' snapshots are summed with worker
// 0's counters; a worker that does not answer in time counts with its last snapshot, so the
// sums never go down; a late answer serves the next scrape.

import { expect, test } from 'bun:test'
import { StatsCollector } from '../../src/stats-collector.ts'
import { Stats, stats } from '../../src/stats.ts'

/** A stand-in for a worker thread: records the requests, answers when told to. */
class FakeWorker {
  readonly asked: number[] = []
  postMessage(m: { kind: string; seq: number }): void {
    expect(m.kind).toBe('stats')
    this.asked.push(m.seq)
  }
}

function snapshot(requests: number, dropped: number): Stats {
  const s = new Stats()
  s.requestsStream = requests
  s.handlerPacketsDropped[1] = dropped
  return structuredClone(s) // what crosses postMessage: a plain object with the same fields
}

test('sums every worker; a silent worker counts with its last snapshot; late answers are kept', async () => {
  const base = stats.requestsStream
  const a = new FakeWorker()
  const b = new FakeWorker()
  const c = new StatsCollector([a, b] as unknown as Worker[])

  const first = c.collect()
  c.onReply(0, a.asked[0]!, snapshot(10, 1))
  c.onReply(1, b.asked[0]!, snapshot(5, 2))
  const s1 = await first
  expect(s1.requestsStream).toBe(base + 15)
  expect(s1.handlerPacketsDropped[1]).toBe(stats.handlerPacketsDropped[1] + 3)

  // b does not answer: the scrape ends at the timeout with b's previous snapshot.
  const second = c.collect()
  c.onReply(0, a.asked[1]!, snapshot(12, 1))
  const t0 = performance.now()
  const s2 = await second
  expect(performance.now() - t0).toBeGreaterThanOrEqual(400)
  expect(s2.requestsStream).toBe(base + 17)

  // b's late answer to the second scrape serves the third one too.
  c.onReply(1, b.asked[1]!, snapshot(9, 2))
  const third = c.collect()
  c.onReply(0, a.asked[2]!, snapshot(12, 1))
  c.onReply(1, b.asked[2]!, snapshot(9, 2))
  expect((await third).requestsStream).toBe(base + 21)
})

test('without other workers the sum is worker 0 alone, at once', async () => {
  const c = new StatsCollector([])
  const s = await c.collect()
  expect(s.requestsStream).toBe(stats.requestsStream)
  expect(s).not.toBe(stats)
})
