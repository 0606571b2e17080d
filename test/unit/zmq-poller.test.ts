// ZmqPoller (src/zmq/socket.ts) over real libzmq sockets: readiness and rearm, a blocked
// sender resuming, an idle poller's CPU use, and interoperability with an independent peer, the
// zeromq npm package under Node (test/helpers/zmq-echo-peer.mjs).

import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import {
  ZMQ_DEALER,
  ZMQ_LINGER,
  ZMQ_PULL,
  ZMQ_PUSH,
  ZMQ_RCVHWM,
  ZMQ_SNDHWM,
  ZmqPoller,
} from '../../src/zmq/socket.ts'
import {
  bytes,
  expectSample,
  flushAll,
  HAVE_NODE,
  put,
  recvN,
  sample,
  take,
  text,
  until,
  zmqFixture,
} from '../helpers/zmq-sockets.ts'

const fx = zmqFixture()

describe('ZmqPoller', () => {
  test('onReady fires when a message arrives and not again until rearm()', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    const push = fx.ctx.socket(ZMQ_PUSH)
    let calls = 0
    const poller = new ZmqPoller(() => calls++)
    try {
      pull.bind('inproc://poller')
      push.connect('inproc://poller')
      poller.add(pull)
      poller.start()
      // Connecting may leave commands on the fd: settle into an armed, idle state.
      await Bun.sleep(30)
      while (pull.recvBatch() > 0) {}
      poller.rearm()
      await Bun.sleep(30)
      const base = calls
      put(push, [bytes('one')])
      push.flush()
      await until(() => calls === base + 1)
      put(push, [bytes('two')])
      push.flush()
      await Bun.sleep(100)
      expect(calls).toBe(base + 1) // not re-armed: no second call
      const got = await recvN(pull, 2)
      expect(got.map((m) => text(m[0]))).toEqual(['one', 'two'])
      poller.rearm()
      await Bun.sleep(50)
      expect(calls).toBe(base + 1) // drained and idle
      put(push, [bytes('three')])
      push.flush()
      await until(() => calls === base + 2)
      // rearm() without draining re-notifies at once (input already waiting).
      poller.rearm()
      await until(() => calls === base + 3)
      expect(text((await recvN(pull, 1))[0][0])).toBe('three')
    } finally {
      poller.stop()
      push.close()
      pull.close()
    }
  })

  test('a blocked sender registered with the poller resumes when the peer drains', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    const push = fx.ctx.socket(ZMQ_PUSH)
    const poller = new ZmqPoller(() => {
      push.flush() // the only place this test sends from
      poller.rearm()
    })
    try {
      for (const s of [pull, push]) {
        s.setInt(ZMQ_SNDHWM, 10)
        s.setInt(ZMQ_RCVHWM, 10)
      }
      pull.bind('inproc://resume')
      push.connect('inproc://resume')
      poller.add(push)
      poller.start()
      for (let i = 0; i < 300; i++) put(push, sample(i))
      expect(push.flush()).toBe(false)
      const got: Uint8Array[][] = []
      await until(() => {
        const n = pull.recvBatch()
        for (let i = 0; i < n; i++) got.push(take(pull, i))
        return got.length === 300
      })
      got.forEach(expectSample)
      expect(push.outbox.pending).toBe(0)
    } finally {
      poller.stop()
      push.close()
      pull.close()
    }
  })

  test.skipIf(!HAVE_NODE)('interop: messages PUSHed by the zeromq npm package under Node arrive via the poller', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    pull.setInt(ZMQ_LINGER, 0)
    const ep = fx.bindFresh(pull, 'tcp')
    const count = 500
    const got: Uint8Array[][] = []
    const poller = new ZmqPoller(() => {
      do {
        const n = pull.recvBatch()
        for (let i = 0; i < n; i++) got.push(take(pull, i))
      } while (!pull.inbox.drained)
      poller.rearm()
    })
    poller.add(pull)
    poller.start()
    const peer = Bun.spawn(['node', join(import.meta.dir, '..', 'helpers', 'zmq-echo-peer.mjs'), 'push', ep, String(count)], {
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      await until(() => got.length >= count, 15_000)
      expect(got.length).toBe(count)
      for (let i = 0; i < count; i++) {
        expect(text(got[i][0])).toBe(`msg-${i}`)
        expect(new DataView(got[i][1].buffer).getUint32(0, true)).toBe(i)
        expect(got[i][2].length).toBe(300)
        expect(got[i][2][299]).toBe(i & 0xff)
      }
      expect(poller.wakeups()).toBeGreaterThan(0)
    } finally {
      process.kill(peer.pid, 'SIGKILL')
      await peer.exited
      poller.stop()
      pull.close()
    }
  })

  test.skipIf(!HAVE_NODE)('interop: a DEALER talks to a Node ROUTER echo peer', async () => {
    const ep = `ipc://${fx.dir}/echo`
    const peer = Bun.spawn(['node', join(import.meta.dir, '..', 'helpers', 'zmq-echo-peer.mjs'), 'echo', ep], {
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const dealer = fx.ctx.socket(ZMQ_DEALER)
    try {
      const reader = peer.stdout.getReader()
      const first = await Promise.race([reader.read(), Bun.sleep(10_000).then(() => null)])
      expect(first !== null && text(first.value ?? new Uint8Array()).includes('ready')).toBe(true)
      reader.releaseLock()
      dealer.connect(ep)
      for (let i = 0; i < 100; i++) put(dealer, [bytes(`echo-${i}`), new Uint8Array(i)])
      await flushAll(dealer)
      const got = await recvN(dealer, 100, 10_000)
      for (let i = 0; i < 100; i++) {
        expect(text(got[i][0])).toBe(`echo-${i}`)
        expect(got[i][1].length).toBe(i)
      }
    } finally {
      process.kill(peer.pid, 'SIGKILL')
      await peer.exited
      dealer.close()
    }
  })

  test('idle: with the poller running and no traffic, CPU time grows < 50 ms in 1 s', async () => {
    const pull = fx.ctx.socket(ZMQ_PULL)
    const poller = new ZmqPoller(() => {
      while (pull.recvBatch() > 0) {}
      poller.rearm()
    })
    try {
      pull.bind(`ipc://${fx.dir}/idle`)
      poller.add(pull)
      poller.start()
      await Bun.sleep(50)
      const before = process.cpuUsage()
      await Bun.sleep(1_000)
      const used = process.cpuUsage(before)
      expect((used.user + used.system) / 1000).toBeLessThan(50)
      expect(poller.wakeups()).toBeLessThan(5)
    } finally {
      poller.stop()
      pull.close()
    }
  })
})
