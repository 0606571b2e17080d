// The e2e harness's Notifier (test/helpers/harness-wait.ts). Peer.next() waits with a check
// that splices the matching packet off a queue, so a waiter must stop checking the moment
// it has settled: two packets that arrive in one poll (two wake() calls before the promise's
// reactions run) used to hand the second to the already-resolved waiter, which dropped it.

import { describe, expect, test } from 'bun:test'
import { Notifier } from '../helpers/harness-wait.ts'

const WAIT_MS = 200

/** A queue with a Peer.next()-style consuming wait. */
function consumingQueue(dead: () => string | undefined = () => undefined) {
  const queue: string[] = []
  const n = new Notifier(dead)
  return {
    queue,
    n,
    push(...items: string[]) {
      queue.push(...items)
      n.wake()
    },
    next: (match: (s: string) => boolean = () => true, timeoutMs = WAIT_MS) =>
      n.waitFor(
        () => {
          const i = queue.findIndex(match)
          return i < 0 ? undefined : queue.splice(i, 1)[0]
        },
        timeoutMs,
        () => `an item; queued ${JSON.stringify(queue)}`,
      ),
  }
}

describe('harness Notifier', () => {
  test('two arrivals in one poll: the second stays queued for the next waiter', async () => {
    const q = consumingQueue()
    const first = q.next()
    // Both wakes run synchronously, before `first`'s reactions can run.
    q.push('a')
    q.push('b')
    expect(q.queue).toEqual(['b'])
    expect(await first).toBe('a')
    expect(await q.next()).toBe('b')
  })

  test('many arrivals in one poll reach successive waiters in order', async () => {
    const q = consumingQueue()
    const got: string[] = []
    const reader = (async () => {
      for (let i = 0; i < 6; i++) got.push(await q.next())
    })()
    for (const c of 'uvwxyz') q.push(c)
    await reader
    expect(got).toEqual([...'uvwxyz'])
    expect(q.queue).toEqual([])
  })

  test('one wake with two items and two waiters: each waiter takes one', async () => {
    const q = consumingQueue()
    const w1 = q.next()
    const w2 = q.next()
    q.push('a', 'b')
    expect(await Promise.all([w1, w2])).toEqual(['a', 'b'])
    expect(q.queue).toEqual([])
  })

  test('an item already queued resolves at once and is taken once', async () => {
    const q = consumingQueue()
    q.queue.push('a', 'b')
    const w = q.next()
    q.n.wake()
    expect(await w).toBe('a')
    expect(q.queue).toEqual(['b'])
  })

  test('a timed-out waiter says what it waited for and takes nothing later', async () => {
    const q = consumingQueue()
    await expect(q.next(() => true, 20)).rejects.toThrow('timed out after 20 ms: an item; queued []')
    q.push('late')
    expect(q.queue).toEqual(['late'])
  })

  test('dead() rejects a pending waiter, which then takes nothing', async () => {
    let why: string | undefined
    const q = consumingQueue(() => why)
    const w = q.next()
    why = 'peer exited (code 1)'
    q.n.wake()
    await expect(w).rejects.toThrow('peer exited (code 1) while waiting for an item')
    why = undefined
    q.push('x')
    expect(q.queue).toEqual(['x'])
  })

  test('a throwing check rejects the waiter and is not called again', async () => {
    const n = new Notifier(() => undefined)
    let calls = 0
    const w = n.waitFor(
      () => {
        calls++
        if (calls === 2) throw new Error('bad input')
        return undefined
      },
      WAIT_MS,
      () => 'anything',
    )
    n.wake()
    n.wake()
    await expect(w).rejects.toThrow('bad input')
    expect(calls).toBe(2)
  })
})
