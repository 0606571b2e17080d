// LoopLag (src/time/loop-lag.ts): the gauge is the worst lateness of the housekeeping tick over
// the current and the previous window, 0 once the tick stops; fed with explicit times.

import { describe, expect, test } from 'bun:test'
import { LoopLag, LOOP_LAG_WINDOW_MS } from '../../src/time/loop-lag.ts'

const PERIOD_MS = 100

describe('LoopLag', () => {
  test('on-time ticks read 0; a late tick reads its lateness in seconds', () => {
    const lag = new LoopLag(PERIOD_MS)
    lag.start(1000)
    expect(lag.tick(1100)).toBe(0)
    expect(lag.tick(1200)).toBe(0)
    expect(lag.tick(1550)).toBeCloseTo(0.25, 9)
    // An early tick (a timer catching up) is not negative lag, and the worst one stays.
    expect(lag.tick(1600)).toBeCloseTo(0.25, 9)
  })

  test('the worst lateness is kept for the rest of its window and the whole next one', () => {
    const lag = new LoopLag(PERIOD_MS)
    lag.start(0)
    let t = 0
    const tickTo = (until: number, late = 0): number => {
      let v = 0
      while (t + PERIOD_MS + late <= until) {
        t += PERIOD_MS + late
        v = lag.tick(t)
        late = 0
      }
      return v
    }
    expect(tickTo(1000, 40)).toBeCloseTo(0.04, 9)
    // Still inside the first window, then through the second: the 40 ms stays.
    expect(tickTo(LOOP_LAG_WINDOW_MS - 100)).toBeCloseTo(0.04, 9)
    expect(tickTo(2 * LOOP_LAG_WINDOW_MS - 100)).toBeCloseTo(0.04, 9)
    // Two windows on, it has aged out.
    expect(tickTo(2 * LOOP_LAG_WINDOW_MS + 200)).toBe(0)
  })

  test('stop() reads 0, and the first tick after a restart is not late against the old one', () => {
    const lag = new LoopLag(PERIOD_MS)
    lag.start(0)
    expect(lag.tick(400)).toBeCloseTo(0.3, 9)
    expect(lag.stop()).toBe(0)
    lag.start(60_000)
    expect(lag.tick(60_100)).toBe(0)
  })
})
