// src/zmq/socket.ts over real libzmq sockets: loading libzmq, every socket pattern over inproc,
// ipc (temp dir) and tcp loopback, and integer arguments across the FFI. The inbox and outbox
// are in zmq-queues.test.ts, the poller (with the Node interoperability peer) in
// zmq-poller.test.ts.

import { describe, expect, test } from 'bun:test'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ZMQ_DEALER,
  ZMQ_PUB,
  ZMQ_PULL,
  ZMQ_PUSH,
  ZMQ_ROUTER,
  ZMQ_ROUTER_MANDATORY,
  ZMQ_ROUTING_ID,
  ZMQ_SUB,
  ZMQ_SUBSCRIBE,
  ZmqContext,
} from '../../src/zmq/socket.ts'
import {
  bytes,
  expectSample,
  highWater,
  MESSAGES,
  put,
  recvN,
  sample,
  text,
  until,
  WAIT_MS,
  zmqFixture,
} from '../helpers/zmq-sockets.ts'

const fx = zmqFixture()
const enc = new TextEncoder()
const dec = new TextDecoder()

describe('loadZmq', () => {
  const ffiPath = join(import.meta.dir, '..', '..', 'src', 'zmq', 'ffi.ts')
  const script = `const m = await import(${JSON.stringify(ffiPath)});
try { const z = m.loadZmq(); console.log('OK ' + z.version + ' ' + z.path) }
catch (e) { console.log(e.code + ' ' + e.message) }`

  test('finds libzmq from any cwd (bun link / bunx) and prefers the zeromq package', async () => {
    const p = Bun.spawn([process.execPath, '-e', script], { cwd: tmpdir(), stdout: 'pipe', env: { ...process.env } })
    const out = (await new Response(p.stdout).text()).trim()
    await p.exited
    expect(out).toStartWith('OK 4.')
    expect(out).toContain(join('node_modules', 'zeromq', 'build'))
  })

  test('when nothing loads, one ZmqLoadError names every candidate tried', async () => {
    const env = { ...process.env, ZGATE_LIBZMQ: '/nonexistent/libzmq.so.5' }
    const p = Bun.spawn([process.execPath, '-e', script], { cwd: tmpdir(), stdout: 'pipe', env })
    const out = (await new Response(p.stdout).text()).trim()
    await p.exited
    expect(out).toStartWith('ZMQ_LOAD Could not load libzmq; tried: /nonexistent/libzmq.so.5 (')
    expect(out.split('\n').length).toBe(1)
  })
})

// --- transports ---

for (const transport of ['inproc', 'ipc', 'tcp']) {
  describe(`${transport} transport`, () => {
    test('PUSH→PULL: 1000 multipart messages in one flush arrive intact and in order', async () => {
      const pull = fx.ctx.socket(ZMQ_PULL)
      const push = fx.ctx.socket(ZMQ_PUSH)
      try {
        highWater(pull, push)
        push.connect(fx.bindFresh(pull, transport))
        for (let i = 0; i < MESSAGES; i++) put(push, sample(i))
        expect(push.outbox.messages).toBe(MESSAGES)
        expect(push.flush()).toBe(true) // one crossing sent all of them
        expect(push.sent).toBe(MESSAGES)
        expect(push.outbox.pending).toBe(0)
        const got = await recvN(pull, MESSAGES)
        got.forEach(expectSample)
      } finally {
        push.close()
        pull.close()
      }
    })

    test('DEALER↔ROUTER: requests carry the routing id, replies route back', async () => {
      const router = fx.ctx.socket(ZMQ_ROUTER)
      const dealer = fx.ctx.socket(ZMQ_DEALER)
      try {
        highWater(router, dealer)
        router.setInt(ZMQ_ROUTER_MANDATORY, 1)
        dealer.setBytes(ZMQ_ROUTING_ID, bytes('dealer-1'))
        dealer.connect(fx.bindFresh(router, transport))
        for (let i = 0; i < MESSAGES; i++) put(dealer, sample(i))
        expect(dealer.flush()).toBe(true)
        const requests = await recvN(router, MESSAGES)
        for (let i = 0; i < MESSAGES; i++) {
          expect(text(requests[i][0])).toBe('dealer-1')
          expectSample(requests[i].slice(1), i)
          put(router, [requests[i][0], ...requests[i].slice(1)])
        }
        expect(router.flush()).toBe(true)
        expect(router.sendDropped).toBe(0)
        const replies = await recvN(dealer, MESSAGES)
        replies.forEach(expectSample)
      } finally {
        dealer.close()
        router.close()
      }
    })

    test('PUB→SUB: only messages matching the subscription prefix arrive', async () => {
      const pub = fx.ctx.socket(ZMQ_PUB)
      const sub = fx.ctx.socket(ZMQ_SUB)
      try {
        highWater(pub, sub)
        sub.setBytes(ZMQ_SUBSCRIBE, bytes('a.'))
        sub.connect(fx.bindFresh(pub, transport))
        // Subscriptions propagate asynchronously: probe until one gets through.
        const deadline = Date.now() + WAIT_MS
        for (;;) {
          put(pub, [bytes('a.probe')])
          pub.flush()
          await Bun.sleep(5)
          if (sub.recvBatch() > 0) break
          if (Date.now() > deadline) throw new Error('subscription never propagated')
        }
        await Bun.sleep(20)
        while (sub.recvBatch() > 0) {} // late probes
        for (let i = 0; i < MESSAGES; i++) put(pub, [bytes(i % 2 === 0 ? `a.${i}` : `b.${i}`), bytes(`body${i}`)])
        expect(pub.flush()).toBe(true)
        const got = await recvN(sub, MESSAGES / 2)
        for (let k = 0; k < got.length; k++) {
          expect(text(got[k][0])).toBe(`a.${2 * k}`)
          expect(text(got[k][1])).toBe(`body${2 * k}`)
        }
        await Bun.sleep(20)
        expect(sub.recvBatch()).toBe(0) // no b.* slipped through
      } finally {
        sub.close()
        pub.close()
      }
    })
  })
}

describe('FFI integer arguments', () => {
  // Bun's FFI passed 0 for an i32 argument whose JS number was held as a double; the outbox's
  // `committed` once came out that way under load and every flush sent nothing, forever.
  test('a send length held as a double still reaches C', () => {
    const c = new ZmqContext()
    try {
      const pull = c.socket(ZMQ_PULL)
      const push = c.socket(ZMQ_PUSH)
      pull.bind('inproc://zgate-test-double-len')
      push.connect('inproc://zgate-test-double-len')
      const ob = push.outbox
      ob.ensure(64)
      ob.beginMessage()
      ob.frameBytes(enc.encode('hello'), 0, 5, false)
      ob.endMessage()
      // A value read from a Float64Array is a double inside JSC.
      ob.committed = new Float64Array([ob.committed])[0]
      expect(push.flush()).toBe(true)
      expect(push.sent).toBe(1)
      let n = 0
      for (let i = 0; i < 100 && n === 0; i++) n = pull.recvBatch()
      expect(n).toBe(1)
      expect(dec.decode(pull.inbox.frame(0, 0))).toBe('hello')
    } finally {
      c.close()
    }
  })
})
