// A worker's housekeeping (zhttp.md 4.8, 4.12): the timer wheel and its tick, and the packets
// sent to many sessions at once, batched per handler address: keep-alives spread over each
// keep-alive period, and the cancels of a shutdown.
//
// Invariants:
// - Every connection timer is one integer handle into one wheel (both connection kinds: req
//   slots are numbered after the stream slots). No setTimeout per connection.
// - The tick runs every TICK_MS while any connection exists (or a rate-limited log line
//   waits for its summary, handler-faults.ts), and stops when none does, so an idle gateway
//   has no wake-ups at all.
// - Each keep-alive period visits every stream slot once, a slice per tick.

import { TICK_MS, BATCH_IDS_MAX } from '../limits.ts'
import { log, ERROR } from '../log.ts'
import { stats } from '../stats.ts'
import type { Slab } from '../mem/slab.ts'
import { LoopLag } from '../time/loop-lag.ts'
import { TimerWheel } from '../time/timer-wheel.ts'
import type { StreamClient } from '../zhttp/stream-client.ts'
import type { ClientIo } from './client-io.ts'
import type { Connection } from './connection.ts'
import { ST_ACTIVE, WS_OPEN } from './states.ts'
import type { TimerOwner } from './worker-context.ts'

/** Timer entries allocated up front; the wheel grows by doubling beyond it. */
const TIMERS_INITIAL = 1024

/** What housekeeping needs of its worker. */
export interface HousekeepingHost {
  now: number
  /** The connection whose slot number the wheel handed back (either kind). */
  timerTarget(slot: number): ClientIo | undefined
  /** No connection of either kind is open, and nothing waits for the tick. */
  idle(): boolean
  /** Once per tick, after the timers: the worker's own periodic work (a log summary). */
  onTick(now: number): void
  scheduleFlush(): void
}

export class Housekeeping {
  private readonly wheel: TimerWheel
  private tickTimer: ReturnType<typeof setInterval> | null = null
  private kaCursor = 0
  /** How late the tick runs: the event-loop lag gauge (zgate_event_loop_lag_seconds). */
  private readonly lag = new LoopLag(TICK_MS)
  // Keep-alive batch scratch (zhttp.md 4.8): up to BATCH_IDS_MAX ids per packet.
  private readonly batchSlots = new Int32Array(BATCH_IDS_MAX)
  private readonly batchCounters = new Float64Array(BATCH_IDS_MAX)
  private readonly batchSeqs = new Float64Array(BATCH_IDS_MAX)
  private readonly tickBound = (): void => this.tick()

  constructor(
    private readonly host: HousekeepingHost,
    private readonly conns: Slab<Connection>,
    private readonly stream: StreamClient,
    private readonly keepAliveIntervalMs: number,
  ) {
    this.wheel = new TimerWheel(TIMERS_INITIAL, TICK_MS, host.now)
  }

  // --- timers ------------------------------------------------------------------------

  armTimer(c: TimerOwner, at: number): void {
    if (c.timer >= 0) {
      if (c.timerAt <= at) return // fires earlier and re-arms itself then
      this.wheel.remove(c.timer)
    }
    c.timer = this.wheel.add(at, c.slot)
    c.timerAt = at
  }

  disarmTimer(c: TimerOwner): void {
    if (c.timer < 0) return
    this.wheel.remove(c.timer)
    c.timer = -1
  }

  /** A connection exists: make sure the tick runs. */
  wake(): void {
    if (this.tickTimer !== null) return
    this.tickTimer = setInterval(this.tickBound, TICK_MS)
    this.lag.start(performance.now())
  }

  stop(): void {
    if (this.tickTimer === null) return
    clearInterval(this.tickTimer)
    this.tickTimer = null
    stats.eventLoopLag = this.lag.stop()
  }

  private tick(): void {
    try {
      this.runTick()
    } catch (err) {
      log(ERROR, 'zgate::server', `housekeeping error: ${(err as Error).message}`)
    }
  }

  private runTick(): void {
    const now = performance.now()
    const host = this.host
    host.now = now
    stats.eventLoopLag = this.lag.tick(now)
    this.wheel.update(now)
    for (let slot = this.wheel.takeExpired(); slot >= 0; slot = this.wheel.takeExpired()) {
      const c = host.timerTarget(slot)
      if (c === undefined) continue
      c.timer = -1
      c.onTimer(now)
    }
    this.sendKeepAlives()
    host.onTick(now)
    if (host.idle()) this.stop() // no wake-ups at all until the next connection
  }

  // --- batches -----------------------------------------------------------------------

  /**
   * Visits the next slice of slots so each session is visited once per keep-alive period
   * (45 s); sessions with a known handler get a keep-alive, batched per handler (zhttp.md 4.8).
   */
  private sendKeepAlives(): void {
    const slots = this.conns.capacity
    // Slices per period: each tick visits ceil(slots / slices) slots.
    const slice = Math.ceil(slots / Math.max(1, Math.floor(this.keepAliveIntervalMs / TICK_MS)))
    const end = Math.min(this.kaCursor + slice, slots)
    if (this.sendBatched('keep-alive', this.kaCursor, end, isKeepAliveTarget)) this.host.scheduleFlush()
    this.kaCursor = end >= slots ? 0 : end
  }

  /**
   * Sends `type` to every session in slots [from, end) that `select` accepts, grouped per
   * handler address into packets of at most BATCH_IDS_MAX ids. Each listed session consumes
   * one seq, only once its packet is in the outbox. True when anything was sent.
   */
  sendBatched(type: string, from: number, end: number, select: (c: Connection) => boolean): boolean {
    const conns = this.conns
    let any = false
    for (let i = from; i < end; i++) {
      const first = conns.held(i)
      if (first === undefined || first.batched || !select(first)) continue
      const h = first.handler
      let count = 0
      for (let j = i; j < end; j++) {
        const c = conns.held(j)
        if (c === undefined || c.batched || c.handler !== h || !select(c)) continue
        c.batched = true
        this.batchSlots[count] = c.slot
        this.batchCounters[count] = c.counter
        this.batchSeqs[count] = c.outSeq
        if (++count === BATCH_IDS_MAX) {
          this.emitBatch(h, type, count)
          count = 0
        }
      }
      if (count > 0) this.emitBatch(h, type, count)
      any = true
    }
    for (let i = from; i < end; i++) {
      const c = conns.held(i)
      if (c !== undefined) c.batched = false
    }
    return any
  }

  private emitBatch(h: number, type: string, count: number): void {
    if (!this.stream.sendBatch(h, type, this.batchSlots, this.batchCounters, this.batchSeqs, count)) return
    for (let k = 0; k < count; k++) (this.conns.held(this.batchSlots[k]) as Connection).outSeq++
  }
}

export function isKeepAliveTarget(c: Connection): boolean {
  return c.state === ST_ACTIVE && c.handler >= 0 && !c.paused
}

export function isCancelTarget(c: Connection): boolean {
  return c.state === ST_ACTIVE && c.handler >= 0
}

export function isWsCancelTarget(c: Connection): boolean {
  return isCancelTarget(c) && c.wsState === WS_OPEN
}
