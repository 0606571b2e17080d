// Bounded waiting for the e2e harness: sleep, timeouts, and the Notifier that wakes waiters
// when a child process, peer or socket delivered new input. No side effects at import.

/** How long harness waits run when the caller gives no timeout. */
export const DEFAULT_WAIT_MS = 5_000

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Resolves true when `p` settles within `ms`, else false; the timer never outlives it. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const t = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms)
  })
  const done = p.then(
    () => true as const,
    () => true as const,
  )
  return Promise.race([done, t]).finally(() => clearTimeout(timer))
}

/** Races `p` against a timer; rejects with `what()` (evaluated lazily) on timeout. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

/**
 * Wakes bounded waiters whenever new input arrived. `waitFor(check)` resolves with the first
 * non-undefined `check()` result; `dead()` returning a reason rejects early.
 *
 * A `check` may consume what it matched (Peer.next() splices a packet off its queue), so it
 * must run for no waiter that has already settled: a settled waiter is marked done and its
 * waker removed synchronously, before the resolve, reject or timeout is delivered. Otherwise
 * two arrivals in one poll (two wake() calls before the promise's reactions run) would let
 * the first waiter consume the second item and drop it. (Harness modules only.)
 */
export class Notifier {
  private readonly waiters = new Set<() => void>()
  constructor(private readonly dead: () => string | undefined) {}

  wake(): void {
    for (const w of this.waiters) w()
  }

  waitFor<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const settle = () => {
        done = true
        this.waiters.delete(waker)
        clearTimeout(timer)
      }
      const waker = () => {
        if (done) return
        let v: T | undefined
        try {
          v = check()
        } catch (e) {
          settle()
          return reject(e)
        }
        if (v !== undefined) {
          settle()
          return resolve(v)
        }
        const why = this.dead()
        if (why === undefined) return
        settle()
        reject(new Error(`${why} while waiting for ${what()}`))
      }
      this.waiters.add(waker)
      waker()
      if (done) return
      timer = setTimeout(() => {
        if (done) return
        settle()
        reject(new Error(`timed out after ${timeoutMs} ms: ${what()}`))
      }, timeoutMs)
    })
  }
}
