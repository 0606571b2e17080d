// src/zmq/socket.ts's message queues over real libzmq sockets: the inbox (recvBatch: batch
// limits, oversized and held-back messages) and the outbox (flush, EAGAIN at the high-water
// mark, growth, cancelled messages, ROUTER_MANDATORY drops, errors), and that the hot path
// allocates nothing.

import { heapStats } from 'bun:jsc'
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { INBOUND_MESSAGE_SIZE_MAX_BYTES, OUTBOX_SIZE_MIN_BYTES } from '../../src/limits.ts'
import {
  FRAME_HEADER_BYTES,
  OUTBOX_SIZE_MAX_BYTES,
  ZMQ_DEALER,
  ZMQ_POLLIN,
  ZMQ_PULL,
  ZMQ_PUSH,
  ZMQ_RCVHWM,
  ZMQ_ROUTER,
  ZMQ_ROUTER_MANDATORY,
  ZMQ_ROUTING_ID,
  ZMQ_SNDHWM,
  ZmqError,
} from '../../src/zmq/socket.ts'
import {
  bytes,
  expectSample,
  flushAll,
  highWater,
  put,
  recvN,
  sample,
  take,
  text,
  until,
  WAIT_MS,
  zmqFixture,
} from '../helpers/zmq-sockets.ts'

const fx = zmqFixture()

describe('recvBatch', () => {
  test('a message larger than the space left stays pending and comes first next call', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    const push = fx.ctx.socket(ZMQ_PUSH)
    try {
      pull.bind('inproc://pending')
      push.connect('inproc://pending')
      const third = Math.floor(INBOUND_MESSAGE_SIZE_MAX_BYTES * 0.4)
      for (let i = 0; i < 3; i++) put(push, [bytes(`big${i}`), new Uint8Array(third).fill(i + 1)])
      put(push, [bytes('small')])
      await flushAll(push)
      await until(() => (pull.events() & ZMQ_POLLIN) !== 0)
      expect(pull.recvBatch()).toBe(2) // the third 40 % does not fit next to two others
      expect(text(pull.inbox.frame(1, 0))).toBe('big1')
      expect(pull.hasPending()).toBe(true)
      expect(pull.inbox.drained).toBe(false)
      expect(pull.recvBatch()).toBe(2)
      expect(pull.inbox.drained).toBe(true) // this call already met EAGAIN
      expect(text(pull.inbox.frame(0, 0))).toBe('big2')
      expect(pull.inbox.frame(0, 1)[third - 1]).toBe(3)
      expect(text(pull.inbox.frame(1, 0))).toBe('small')
      expect(pull.recvBatch()).toBe(0)
      expect(pull.recvDropped).toBe(0)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('messages larger than INBOUND_MESSAGE_SIZE_MAX_BYTES are dropped and counted', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    const push = fx.ctx.socket(ZMQ_PUSH)
    try {
      pull.bind('inproc://oversize')
      push.connect('inproc://oversize')
      const half = INBOUND_MESSAGE_SIZE_MAX_BYTES / 2
      put(push, [bytes('before')])
      put(push, [new Uint8Array(half), new Uint8Array(half + 1), bytes('tail')]) // too big in total
      put(push, [new Uint8Array(INBOUND_MESSAGE_SIZE_MAX_BYTES + 1)]) // too big in one frame
      put(push, [new Uint8Array(INBOUND_MESSAGE_SIZE_MAX_BYTES - 4), bytes('edge')]) // exactly fits
      put(push, [bytes('after')])
      await flushAll(push)
      const got = await recvN(pull, 3)
      expect(text(got[0][0])).toBe('before')
      expect(text(got[1][1])).toBe('edge')
      expect(text(got[2][0])).toBe('after')
      expect(pull.recvDropped).toBe(2)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('tiny inbox: frame and message limits hold messages back or drop them', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL, { inboxBytes: 64, inboxMessages: 2, inboxFrames: 3 })
    const push = fx.ctx.socket(ZMQ_PUSH)
    try {
      pull.bind('inproc://tiny')
      push.connect('inproc://tiny')
      put(push, [bytes('a'), bytes('b')])
      put(push, [bytes('c'), bytes('d')]) // 4 frames in total: waits for the next batch
      put(push, [bytes('1'), bytes('2'), bytes('3'), bytes('4')]) // more frames than the index
      put(push, [new Uint8Array(65)]) // more bytes than the buffer
      put(push, [bytes('e')])
      put(push, [bytes('f')])
      put(push, [bytes('g')]) // third message: over inboxMessages
      await flushAll(push)
      await until(() => (pull.events() & ZMQ_POLLIN) !== 0)
      const seen: string[] = []
      for (let k = 0; k < 10; k++) {
        const n = pull.recvBatch()
        expect(n).toBeLessThanOrEqual(2)
        for (let i = 0; i < n; i++) seen.push(take(pull, i).map(text).join('+'))
      }
      expect(seen).toEqual(['a+b', 'c+d', 'e', 'f', 'g'])
      expect(pull.recvDropped).toBe(2)
    } finally {
      push.close()
      pull.close()
    }
  })
})

// --- outbox ---

describe('flush and the outbox', () => {
  test('ROUTER_MANDATORY: messages to unknown routing ids are dropped and counted', async () => {
    const router = fx.ctx.socket(ZMQ_ROUTER)
    const dealer = fx.ctx.socket(ZMQ_DEALER)
    try {
      router.setInt(ZMQ_ROUTER_MANDATORY, 1)
      dealer.setBytes(ZMQ_ROUTING_ID, bytes('known'))
      router.bind('inproc://mandatory')
      dealer.connect('inproc://mandatory')
      put(dealer, [bytes('hello')])
      await flushAll(dealer)
      await recvN(router, 1)
      put(router, [bytes('nobody'), bytes('lost-1')])
      put(router, [bytes('known'), bytes('delivered')])
      put(router, [bytes('nobody-either'), bytes('lost-2'), bytes('lost-2b')])
      put(router, [bytes('known'), bytes('delivered-too')])
      expect(router.flush()).toBe(true)
      expect(router.sendDropped).toBe(2)
      expect(router.sent).toBe(2)
      const got = await recvN(dealer, 2)
      expect(got.map((m) => text(m[0]))).toEqual(['delivered', 'delivered-too'])
    } finally {
      dealer.close()
      router.close()
    }
  })

  test('EAGAIN at the HWM stops on a message boundary; the rest is kept and sent later', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    const push = fx.ctx.socket(ZMQ_PUSH)
    try {
      for (const s of [pull, push]) {
        s.setInt(ZMQ_SNDHWM, 10)
        s.setInt(ZMQ_RCVHWM, 10)
      }
      pull.bind('inproc://hwm')
      push.connect('inproc://hwm')
      for (let i = 0; i < 300; i++) put(push, sample(i))
      expect(push.flush()).toBe(false)
      expect(push.blocked).toBe(true)
      expect(push.sent).toBeGreaterThan(0)
      expect(push.sent).toBeLessThan(300)
      expect(push.outbox.messages).toBe(300 - push.sent)
      const got: Uint8Array[][] = []
      const deadline = Date.now() + WAIT_MS
      while (got.length < 300) {
        push.flush()
        const n = pull.recvBatch()
        for (let i = 0; i < n; i++) got.push(take(pull, i))
        if (n === 0 && Date.now() > deadline) throw new Error(`stalled at ${got.length}`)
        if (n === 0) await Bun.sleep(1)
      }
      got.forEach(expectSample)
      expect(push.outbox.pending).toBe(0)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('grows when unsent content cannot be flushed, then delivers everything in order', async () => {
    const push = fx.ctx.socket(ZMQ_PUSH)
    const pull = fx.ctx.socket(ZMQ_PULL)
    try {
      highWater(push, pull)
      const before = push.outbox.buf.length
      expect(before).toBeGreaterThanOrEqual(OUTBOX_SIZE_MIN_BYTES)
      const body = new Uint8Array(4000)
      const count = Math.ceil((3 * OUTBOX_SIZE_MIN_BYTES) / body.length)
      for (let i = 0; i < count; i++) put(push, [bytes(`g${i}`), body]) // no peer: nothing leaves
      expect(push.outbox.buf.length).toBeGreaterThan(before)
      expect(push.flush()).toBe(false)
      expect(push.blocked).toBe(true)
      pull.bind('inproc://grow')
      push.connect('inproc://grow')
      await flushAll(push)
      const got = await recvN(pull, count)
      for (let i = 0; i < count; i++) expect(text(got[i][0])).toBe(`g${i}`)
      expect(push.outbox.ensure(OUTBOX_SIZE_MAX_BYTES + 1)).toBe(false)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('cancelMessage() abandons a partial message; misuse throws RangeError', async () => {
    const push = fx.ctx.socket(ZMQ_PUSH)
    const pull = fx.ctx.socket(ZMQ_PULL)
    try {
      pull.bind('inproc://cancel')
      push.connect('inproc://cancel')
      const ob = push.outbox
      ob.beginMessage()
      ob.frameBytes(bytes('partial'), 0, 7, true)
      expect(() => push.flush()).not.toThrow() // nothing committed yet: no-op
      ob.cancelMessage()
      expect(ob.pos).toBe(0)
      expect(() => ob.endMessage()).toThrow(RangeError)
      ob.beginMessage()
      const start = ob.beginFrame()
      ob.buf.set(bytes('direct'), start)
      ob.endFrame(start + 6, false)
      expect(() => ob.beginFrame()).toThrow(RangeError) // last frame already ended
      ob.endMessage()
      ob.beginMessage()
      expect(() => push.flush()).toThrow(RangeError) // committed data but a message is open
      ob.cancelMessage()
      expect(push.flush()).toBe(true)
      const got = await recvN(pull, 1)
      expect(text(got[0][0])).toBe('direct')
    } finally {
      push.close()
      pull.close()
    }
  })

  test('the hot path (write in place, flush, recvBatch, read offsets) allocates nothing', () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    const push = fx.ctx.socket(ZMQ_PUSH)
    try {
      highWater(pull, push)
      pull.bind('inproc://alloc')
      push.connect('inproc://alloc')
      const round = (): number => {
        const ob = push.outbox
        for (let k = 0; k < 100; k++) {
          ob.ensure(FRAME_HEADER_BYTES * 2 + 210)
          ob.beginMessage()
          let d = ob.beginFrame()
          ob.buf[d] = 0x41 // 'A'
          ob.endFrame(d + 1, true)
          d = ob.beginFrame()
          for (let i = 0; i < 200; i++) ob.buf[d + i] = i
          ob.endFrame(d + 200, false)
          ob.endMessage()
        }
        push.flush()
        let sum = 0
        let n = 0
        while ((n = pull.recvBatch()) > 0) {
          for (let i = 0; i < n; i++) sum += pull.inbox.frameCount(i) + pull.inbox.frameLength(i, 1)
        }
        return sum
      }
      for (let i = 0; i < 300; i++) round() // warm up the JIT
      Bun.gc(true)
      const before = heapStats().objectCount
      let total = 0
      for (let i = 0; i < 500; i++) total += round()
      const grown = heapStats().objectCount - before
      expect(total).toBe(500 * 100 * 202)
      expect(grown).toBeLessThan(20)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('ZmqError carries a stable code, errno and the zmq_strerror text', () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    try {
      const ep = `ipc://${fx.dir}/missing-dir/x-out`
      let err: unknown
      try {
        pull.bind(ep)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ZmqError)
      const ze = err as ZmqError
      expect(ze.code).toBe('ZMQ_BIND')
      expect(ze.errno).toBe(2) // ENOENT
      expect(ze.message).toBe(`bind ${ep}: No such file or directory`)
      expect(() => pull.connect('bogus://x')).toThrow(ZmqError)
    } finally {
      pull.close()
    }
    expect(() => pull.flush()).not.toThrow() // empty outbox: nothing to do
    expect(() => pull.recvBatch()).toThrow(/socket is closed/)
  })
})
